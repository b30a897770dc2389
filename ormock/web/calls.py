"""A request as plain values (`Call`), and a JSON answer (`Answer`): the video API (`api`) and
the control API read requests through `Call`, and every error leaves through `error_answer`, so
each rule about a request (its namespace, its URLs, its error rendering, its `Retry-After`) is
written once. `PollAnswers.answer` answers a poll.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .._asgi import body_headers
from ..service import wire
from ..service.wire import dumps
from .errors import retry_headers

if TYPE_CHECKING:
    from ..scenario.loader import Scenario
    from ..service.faults import Faults, Limited
    from ..service.jobs import Job, View
    from ..service.store import JobStore


def decoded(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Raw header pairs as text (latin-1, as HTTP/1.1 carries them)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


class Call:
    """What a handler needs of a request: method, path, query, headers (as the server gave them:
    bytes, names in lower case as ASGI has servers send them, in the order received), and where
    it was addressed. Headers are decoded only when read: a poll reads four of them.

    A plain class (not a frozen dataclass): one is built for every request, and a frozen
    dataclass sets each field through `object.__setattr__`. Nothing changes a call once built."""

    __slots__ = ("_named", "method", "path", "query", "raw_headers", "root_path", "scheme", "server")

    def __init__(self, scope: dict[str, Any]) -> None:
        """The call an ASGI scope describes (every path builds it this way)."""
        raw = scope["headers"]
        self.raw_headers: list[tuple[bytes, bytes]] = raw if isinstance(raw, list) else list(raw)
        self._named: dict[bytes, bytes] = dict(self.raw_headers)
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        raw_query = scope.get("query_string", b"")
        self.query: dict[str, str] = (
            dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)) if raw_query else {}
        )
        self.scheme: str = scope.get("scheme", "http")
        self.root_path: str = scope.get("root_path", "")
        self.server: tuple[str, int | None] | None = scope.get("server")

    def header(self, name: str) -> str | None:
        """The last value of header `name` (given in lower case)."""
        value = self._named.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    @property
    def declares_body(self) -> bool:
        """Whether the headers announce a body (HTTP/1.1: a length above 0, or a chunked one;
        without either a request has none)."""
        length = self._named.get(b"content-length")
        return b"transfer-encoding" in self._named or (length is not None and length.strip() not in (b"", b"0"))

    @property
    def headers(self) -> list[tuple[str, str]]:
        return decoded(self.raw_headers)

    @property
    def test_id(self) -> str:
        """The namespace: `X-Test-Id`, or the `testId` query parameter (URLs ormock hands out carry it)."""
        return self.header("x-test-id") or self.query.get("testId") or ""

    @property
    def addressed(self) -> tuple[str, str | None, str, tuple[str, int | None] | None]:
        """What `base` is made of (cheaper to compare than to build)."""
        return self.scheme, self.header("host"), self.root_path, self.server

    @property
    def base(self) -> str:
        """The API root as the client addressed it (the bound address when it sent no Host)."""
        return wire.api_root(self.scheme, self.header("host"), self.root_path, self.server)


@dataclass(frozen=True, slots=True)
class Answer:
    """A JSON answer: status, body, extra headers, and what the journal says of it."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    scripted: str | None = None  # the rule whose scripted `respond` this is
    wait: float | None = None  # the Retry-After it carries, in the client's seconds
    seen: str | None = None  # a poll's: the job status it carries
    content_type: str | None = "application/json"  # None for an answer with no body at all
    # The ASGI response headers, built once: a poll's answer is kept and sent again (see `polled`).
    asgi_headers: list[tuple[bytes, bytes]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = body_headers(self.content_type, len(self.body))
        headers += [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]
        object.__setattr__(self, "asgi_headers", headers)


def error_answer(
    code: int,
    message: str | None = None,
    wait: float | None = None,
    scripted: str | None = None,
    metadata: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """The service's error envelope; `wait` is a `Retry-After` in the client's seconds, `headers`
    any others it carries."""
    body = wire.error(code, message, metadata)
    sent = retry_headers(wait) | (headers or {})
    return Answer(code, dumps(body), sent, body["error"]["message"], scripted, wait)


SCRIPTED_LIMIT = 20  # the X-RateLimit-Limit of a scripted 429 in a scenario with no rate limit


def rate_limit_headers(
    store: JobStore, test_id: str, wait: float | None, limited: Limited | None = None
) -> dict[str, str]:
    """The `X-RateLimit-*` headers of a 429 (docs/scenarios.md, "Rate limits"): the rate limiter's
    own figures when it refused (`limited`), else the scenario's limit (or `SCRIPTED_LIMIT`), none
    remaining, and a reset when the client's wait (`wait`, its seconds) is over. The reset is the
    client's unix time in milliseconds."""
    clock = store.clock
    now = clock.client_time(clock.time())
    if limited is not None:
        limit, remaining, reset_in = limited.limit, limited.remaining, clock.client_seconds(limited.full_in)
    else:
        rate = store.scenario_for(test_id).server.rate_limit
        limit, remaining, reset_in = (rate.requests if rate else SCRIPTED_LIMIT), 0, wait or 0.0
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil((now + reset_in) * 1000)),
    }


def job_object(store: JobStore, faults: Faults, job: Job, view: View, base: str, scenario: Scenario) -> dict[str, Any]:
    """The job object for a poll that got through (of a job whose test id follows `scenario`), with
    keyless URLs while they last."""
    gone = job.gone_at(view, scenario.server.output_ttl)
    if gone is None:
        return wire.job(job, view, base)
    expires = int(store.clock.client_time(gone))
    signed = [faults.signed_query(job, index, expires) for index in range(view.step.outputs)]
    return wire.job(job, view, base, expires, signed)


class PollAnswers:
    """The answer to a poll that has been counted, kept per job while the job stands still: the job
    object changes only with the job's step, its status and the URL the client used, and polls are
    the hot path. It holds at most one answer per job the store holds: a reset drops those of the
    jobs it removes."""

    def __init__(self, store: JobStore, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self._kept: dict[int, tuple[Any, Answer]] = {}  # id(job) -> (what the answer depends on, it)
        store.on_reset.append(self._forget)

    def __len__(self) -> int:
        return len(self._kept)

    def _forget(self, test_id: str | None) -> None:
        if test_id is None:
            self._kept.clear()
            return
        space = self.store.find_space(test_id)
        for job in space.jobs.values() if space is not None else ():
            self._kept.pop(id(job), None)

    def answer(self, job: Job, view: View, call: Call, scenario: Scenario) -> Answer:
        """The answer to a poll that saw `view`: the job object, or the error its timeline's
        current step scripts (with its `Retry-After` in the client's seconds)."""
        step = view.error_step
        store = self.store
        if step is not None:
            code = step.respond or 500
            wait = store.clock.client_seconds(step.retry_after) if step.retry_after is not None else None
            limits = rate_limit_headers(store, job.test_id, wait) if code == 429 else None
            message = wire.scripted_message(code, step.message)
            return error_answer(code, message, wait, scripted=job.rule.name, headers=limits)
        key = (view.index, view.status, view.since, call.addressed, id(scenario))
        kept = self._kept.get(id(job))
        if kept is None or kept[0] != key:
            body = dumps(job_object(store, self.faults, job, view, call.base, scenario))
            kept = self._kept[id(job)] = (key, Answer(200, body, seen=view.status))
        return kept[1]
