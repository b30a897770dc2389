"""The control API under `/__ormock/`, for test suites: see what clients did, move the clock,
force a job's status, wait for a status, start over.

It is a class of handlers (`Control`; the recorder has its own, `record.RecorderControl`) and one
route table (`ROUTES`) that names each handler: `control_app` builds a Quart app from the rows
whose handler a handlers object has, behind one guard (`ControlGuard`) for both.

Requests may name a namespace with `X-Test-Id` (or `?testId=`); without one, listings and resets
cover every namespace. With an admin token set, every control request needs
`Authorization: Bearer <token>`. Bad input gets the same JSON error envelope as the API.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import json
import logging
import math
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from .. import safe
from .._asgi import ASGIApp, Receive, Scope, Send
from ..scenario.loader import STATUSES, TERMINAL, ScenarioError, parse, parse_rules
from ..service import wire
from ..service.changes import Changes, job_key
from ..service.credits import Credits
from ..service.jobs import Job
from ..service.store import JobStore, Refused
from . import routes
from .calls import Answer, Call, error_answer
from .errors import Failure, parse_json
from .limits import CONTROL_BODY, send_json

_DUE_MARGIN = 0.001  # seconds a waiter sleeps past its step's end, so the step has ended when it looks


class Route(NamedTuple):
    method: str
    path: str  # under /__ormock, in Quart's syntax
    handler: str  # the name of the method on the handlers object


ROUTES = (
    Route("GET", "/health", "health"),
    Route("GET", "/report", "client_report"),
    Route("GET", "/credits", "balances"),
    Route("GET", "/jobs", "list_jobs"),
    Route("GET", "/jobs/<job_id>", "show_job"),
    Route("POST", "/jobs/<job_id>/status", "set_status"),
    Route("POST", "/clock/advance", "advance_clock"),
    Route("GET", "/requests", "list_requests"),
    Route("GET", "/wait", "wait"),
    Route("POST", "/reset", "reset"),
    Route("GET", "/rules", "list_rules"),
    Route("POST", "/rules", "add_rules"),
    Route("DELETE", "/rules", "remove_rules"),
    Route("DELETE", "/rules/<path:name>", "remove_rule"),
    Route("GET", "/scenario", "show_scenario"),
    Route("PUT", "/scenario", "set_scenario"),
    Route("DELETE", "/scenario", "drop_scenario"),
    Route("POST", "/record/save", "save_recording"),
)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(wire.dumps(body), status, headers, content_type="application/json")


def _answer(answer: Answer) -> Response:
    return Response(answer.body, answer.status, answer.headers, content_type="application/json")


async def _failure(exc: Failure) -> Response:
    return _answer(error_answer(exc.code, exc.message, metadata=exc.metadata))


async def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    response = _answer(error_answer(code, wire.MESSAGES.get(code, exc.name)))
    allowed = getattr(exc, "valid_methods", None)  # a 405 says what the path takes (RFC 9110)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


async def _crash(exc: Exception) -> Response:
    logging.getLogger("ormock").exception("unhandled error on %s %s", request.method, request.path)
    return _answer(error_answer(500))


def control_app(handlers: object, admin_token: str | None, allow: tuple[str, ...]) -> ASGIApp:
    """The control API over `handlers`: a row of `ROUTES` is served where `handlers` has its
    method, behind the guard."""
    app = Quart("ormock")
    app.config["MAX_CONTENT_LENGTH"] = CONTROL_BODY  # BodyLimits refuses larger bodies before Quart reads them
    for route in ROUTES:
        handler = getattr(handlers, route.handler, None)
        if handler is not None:
            app.add_url_rule("/__ormock" + route.path, route.handler, handler, methods=[route.method])
    app.register_error_handler(Failure, _failure)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    return ControlGuard(app, admin_token, allow)


class ControlGuard:
    """In front of the control API: refuses what a web page could send (see `foreign`) and, with
    an admin token set, a request without it."""

    def __init__(self, inner: ASGIApp, admin_token: str | None, allow: tuple[str, ...]) -> None:
        self.inner = inner
        self.admin_token = admin_token
        self.allow = allow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.refusal(Call(scope))
            if problem is not None:
                await send_json(send, problem.code, wire.error(problem.code, problem.message))
                return
        await self.inner(scope, receive, send)

    def refusal(self, call: Call) -> Failure | None:
        problem = foreign(call.header("host") or "", call.header("origin"), call.scheme, self.allow)
        if problem is not None:
            return Failure(403, problem)
        if self.admin_token is not None and not hmac.compare_digest(
            (call.header("authorization") or "").encode(), f"Bearer {self.admin_token}".encode()
        ):
            return Failure(401, "the control API needs Authorization: Bearer <admin token>")
        return None


def _namespace() -> str | None:
    return request.headers.get("X-Test-Id") or request.args.get("testId")


async def _json_object() -> dict[str, Any]:
    raw = await request.get_data(as_text=False)
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise Failure(400, "the request body must be a JSON object")
    return body


PAGE = 1000  # jobs in one answer of GET /__ormock/jobs, at most
MAX_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: past it no date can be shown


def _count(value: str, name: str, most: int | None) -> int:
    number = safe.whole_number(value, 12)
    if number is None:
        raise Failure(400, f"{name} must be a whole number, not '{safe.shown(value, 40)}'")
    if most is not None and not 1 <= number <= most:
        raise Failure(400, f"{name} must be between 1 and {most}, not {number}")
    return number


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Failure(400, f"{name} must be a number, not {json.dumps(value)}")
    try:
        number = float(value)
    except ValueError:
        raise Failure(400, f"{name} must be a number, not {json.dumps(value)}") from None
    if not math.isfinite(number) or number < 0:
        raise Failure(400, f"{name} must be a finite number of seconds, zero or more, not {value}")
    return number


_LOCAL_NAMES = ("localhost", "localhost.")


def _is_local_host(host: str) -> bool:
    """A Host that names this machine or an address: never a name a web page could rebind."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def foreign(host: str, origin: str | None, scheme: str, allow: tuple[str, ...]) -> str | None:
    """Why a control request must be refused, or None. Web pages the user visits must not drive
    the control API: a cross-origin request (any `Origin` but the server's own) and a `Host` that is
    a name other than localhost (DNS rebinding) are refused unless `--control-allow` names them."""
    if "*" in allow:
        return None
    if origin is not None and origin != f"{scheme}://{host}" and origin not in allow:
        return (
            f"cross-origin requests to the control API are refused (Origin {safe.shown(origin, 80)}); "
            "start ormock with --control-allow ORIGIN to allow one"
        )
    if host and not _is_local_host(host) and host.rsplit(":", 1)[0] not in allow:
        return (
            f"the control API answers only to localhost and addresses, not Host {safe.shown(host, 80)}; "
            "start ormock with --control-allow HOST to allow it"
        )
    return None


class Control:
    """The simulated service's control handlers: each reads Quart's `request` and returns a
    `Response` (the rows of `ROUTES` name them)."""

    def __init__(self, store: JobStore, changes: Changes, credits: Credits) -> None:
        self.store = store
        self.changes = changes
        self.credits = credits

    def _find(self, job_id: str) -> Job:
        job = self.store.get(job_id, _namespace())
        if job is None:
            raise Failure(404, f"no job {job_id}" + (f" under test id {_namespace()}" if _namespace() else ""))
        return job

    def _info(self, job: Job) -> dict[str, Any]:
        return wire.job_info(job, self.store.peek(job))

    async def health(self) -> Response:
        store = self.store
        clock = {
            "mode": "manual" if type(store.clock).__name__ == "ManualClock" else "scaled",
            "speed": store.clock.speed,
            "time": store.clock.time(),
        }
        return json_response(
            {
                "status": "ok",
                "jobs": len(store),
                "clock": clock,
                "scenario": str(store.scenario.path) if store.scenario.path else None,
                "notices": list(store.notices),
            }
        )

    async def client_report(self) -> Response:
        """The client report (docs/client-report.md): every client, or those of `?test_id=`."""
        from ..report.checks import build_yielding

        test_id = request.args.get("test_id", _namespace())
        return json_response(await build_yielding(self.store, test_id))

    async def balances(self) -> Response:
        """The credit balances of this test id; `?key=` adds the account of that API key."""
        test_id = _namespace() or ""
        answer: dict[str, Any] = {"data": self.credits.accounts(test_id)}
        key = request.args.get("key")
        if key is not None:
            account = self.credits.account(test_id, key)
            answer["key"] = None if account is None else self.credits.accounts(test_id, account)[0]
        return json_response(answer)

    async def list_jobs(self) -> Response:
        """Jobs oldest first, a page at a time: `?limit=` (default and most 1000), `?offset=`;
        `next_offset` is where the next page starts, null on the last."""
        limit = _count(request.args.get("limit", str(PAGE)), "limit", PAGE)
        offset = _count(request.args.get("offset", "0"), "offset", None)
        namespace = _namespace()
        if namespace is None:
            everything: Iterable[Job] = self.store.jobs()
        else:
            space = self.store.find_space(namespace)
            everything = space.jobs.values() if space is not None else ()
        page = list(itertools.islice(everything, offset, offset + limit + 1))
        more = len(page) > limit
        return json_response(
            {"data": [self._info(job) for job in page[:limit]], "next_offset": offset + limit if more else None}
        )

    async def show_job(self, job_id: str) -> Response:
        return json_response(self._info(self._find(job_id)))

    async def set_status(self, job_id: str) -> Response:
        job = self._find(job_id)
        body = await _json_object()
        status = body.get("status")
        if status not in STATUSES:
            raise Failure(400, f"status must be one of {', '.join(STATUSES)}, not {json.dumps(status)}")
        error = body.get("error")
        if error is not None and not isinstance(error, str):
            raise Failure(400, "error must be a string")
        if error is not None and status not in TERMINAL - {"completed"}:
            raise Failure(400, "error goes with failed, cancelled or expired")
        self.store.force(job, status, error)
        self.changes.notify(job_key(job.test_id, job.id))
        return json_response(self._info(job))

    async def advance_clock(self) -> Response:
        seconds = await seconds_to_advance(self.store.clock.time())
        self.store.clock.advance(seconds)
        self.changes.notify()
        return json_response({"time": self.store.clock.time(), "advanced": seconds})

    async def list_requests(self) -> Response:
        job_id = request.args.get("job")
        path = request.args.get("path")
        kind = request.args.get("kind")
        since = request.args.get("since")
        after = safe.whole_number(since) if since is not None else None
        if since is not None and after is None:
            raise Failure(400, f"since must be a journal sequence number, not '{safe.shown(since, 40)}'")
        entries = self.store.journal(_namespace())
        if job_id:
            entries = [e for e in entries if e.job_id == job_id]
        if path:
            entries = [e for e in entries if e.path.startswith(path)]
        if kind:
            entries = [e for e in entries if e.kind == kind]
        if after is not None:
            entries = [e for e in entries if e.seq > after]
        return json_response({"data": [wire.entry(e) for e in entries]})

    async def wait(self) -> Response:
        job_id = request.args.get("job")
        wanted = request.args.get("status")
        if not job_id:
            raise Failure(400, "job is required: /__ormock/wait?job=<id>&status=<status>&timeout=<seconds>")
        if wanted not in STATUSES:
            raise Failure(400, f"status must be one of {', '.join(STATUSES)}, not {json.dumps(wanted)}")
        timeout = _number(request.args.get("timeout", "10"), "timeout")
        job = self._find(job_id)
        deadline = time.monotonic() + timeout
        while True:
            view = self.store.peek(job)
            if view.status == wanted:
                return json_response(self._info(job))
            if view.status in TERMINAL:
                raise Failure(409, f"job {job_id} ended as {view.status}; it will never be {wanted}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(408, f"job {job_id} is still {view.status} after {timeout:g} s, not {wanted}")
            # parked until a request about the job, a clock move, or the end of its timed step
            if job.forced is None and view.step.hold is not None:
                due = view.since + view.step.hold - self.store.clock.time()
                left = min(left, self.store.clock.client_seconds(max(due, 0.0)) + _DUE_MARGIN)
            await self.changes.wait(job_key(job.test_id, job.id), left)

    # --- scripting a test id at runtime -------------------------------------------------------
    async def list_rules(self) -> Response:
        """The rules this test id tries, in order, a page at a time like `list_jobs`."""
        limit = _count(request.args.get("limit", str(PAGE)), "limit", PAGE)
        offset = _count(request.args.get("offset", "0"), "offset", None)
        found = itertools.islice(self.store.rules_in_effect(_namespace() or ""), offset, offset + limit + 1)
        page = [wire.rule_info(*item) for item in found]
        more = len(page) > limit
        return json_response({"data": page[:limit], "next_offset": offset + limit if more else None})

    async def add_rules(self) -> Response:
        """Adds `[[rule]]` tables (TOML, or JSON `{"rules": [...]}`) for this test id, tried before
        all its other rules; 400 with every problem when any rule is invalid, and nothing added."""
        test_id = _namespace() or ""
        body = await _rules_body()
        scenario = self.store.scenario_for(test_id)
        try:
            rules, warnings = await asyncio.to_thread(parse_rules, body, scenario, "POST /__ormock/rules")
            self.store.add_rules(test_id, rules)
        except ScenarioError as exc:
            raise _refusal("the rules were not added", exc) from None
        except Refused as exc:
            raise Failure(400, str(exc)) from None
        names = [rule.name for rule in rules.rules]
        _note(test_id, "added rule" + _names(names))
        added = itertools.islice(self.store.rules_in_effect(test_id), len(names))  # first in the order tried
        data = [wire.rule_info(pick, source, matched) for pick, source, matched in added]
        body_out = {"data": data, "warnings": [p.as_json("POST /__ormock/rules") for p in warnings]}
        return json_response(body_out, 201)

    async def remove_rules(self) -> Response:
        test_id = _namespace() or ""
        gone = self.store.remove_rules(test_id)
        if gone:
            _note(test_id, "removed rule" + _names(gone))
        return json_response({"removed": gone})

    async def remove_rule(self, name: str) -> Response:
        test_id = _namespace() or ""
        gone = self.store.remove_rules(test_id, {name})
        if not gone:
            where = f" under test id {safe.shown(test_id, 60)}" if test_id else ""
            raise Failure(404, f"no rule named {safe.shown(name, 80)!r} was added at runtime{where}")
        _note(test_id, "removed rule" + _names(gone))
        return json_response({"removed": gone})

    async def show_scenario(self) -> Response:
        test_id = _namespace() or ""
        scenario = self.store.scenario_for(test_id)
        own = scenario is not self.store.scenario
        return json_response({"test_id": test_id, "own": own, "name": scenario.name, "text": scenario.text})

    async def set_scenario(self) -> Response:
        """Gives this test id a scenario of its own (a whole file's TOML): its rules, default,
        faults, credits, rate limit, keys and webhooks. Jobs it has already keep their rules."""
        test_id = _namespace() or ""
        text = _text(await _raw_body(), "a scenario")
        server = self.store.scenario
        source = "PUT /__ormock/scenario"
        try:
            scenario = await asyncio.to_thread(
                parse, text, None, server.content_dirs, folder=server.base, source=source, confined=True
            )
            self.store.set_scenario(test_id, scenario)
        except ScenarioError as exc:
            raise _refusal("the scenario was not set", exc) from None
        except Refused as exc:
            raise Failure(400, str(exc)) from None
        _note(test_id, f"set its own scenario ({len(scenario.rules)} rules)")
        warnings = [p.as_json(source) for p in scenario.warnings]
        return json_response({"test_id": test_id, "rules": len(scenario.rules), "warnings": warnings})

    async def drop_scenario(self) -> Response:
        test_id = _namespace() or ""
        if self.store.drop_scenario(test_id):
            _note(test_id, "went back to the server's scenario")
        return json_response({"test_id": test_id, "own": False})

    async def reset(self) -> Response:
        namespace = _namespace()
        self.store.reset(namespace)
        self.changes.notify()
        return json_response({"reset": namespace if namespace is not None else "all"})


MAX_PROBLEMS = 100  # problems one refusal lists, at most


def _refusal(what: str, exc: ScenarioError) -> Failure:
    """A 400 whose `metadata.problems` lists every problem found (errors and warnings)."""
    problems = [p.as_json(exc.source) for p in exc.problems[:MAX_PROBLEMS]]
    first = exc.errors[0].text() if exc.errors else "invalid"
    count = len(exc.errors)
    message = f"{what}: {first}" + (f" (and {count - 1} more problems)" if count > 1 else "")
    return Failure(400, message, metadata={"problems": problems})


async def _rules_body() -> str | dict[str, Any]:
    """The body of POST /rules: TOML text, or JSON `{"rules": [...]}` read as `{"rule": [...]}`."""
    raw = await _raw_body()
    kind = (request.content_type or "").lower()
    if "json" in kind or ("toml" not in kind and raw.lstrip()[:1] == b"{"):
        body = parse_json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
            shape = '{"rules": [ {...}, ... ]}'
            raise Failure(400, f"a JSON body must be {shape}, each rule with the keys of a [[rule]] table")
        unknown = [key for key in body if key != "rules"]
        if unknown:
            raise Failure(400, f'a JSON body holds only "rules", not {json.dumps(unknown[0])}')
        return {"rule": body["rules"]}
    return _text(raw, "rules")


async def _raw_body() -> bytes:
    raw = await request.get_data(as_text=False)
    return raw if isinstance(raw, bytes) else raw.encode()


def _text(raw: bytes, what: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(400, f"{what} must be TOML, UTF-8 text (or, for rules, JSON)") from None
    if "\x00" in text:
        raise Failure(400, f"{what} must be TOML text: this body holds NUL bytes")
    return text


def _names(names: list[str]) -> str:
    shown = ", ".join(safe.shown(name, 60) for name in names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ("s " if len(names) > 1 else " ") + shown + more


def _note(test_id: str, text: str) -> None:
    """Says what a control request changed, for the journal of `test_id`, the log and the dashboard
    (see `App._serve_control`)."""
    noted = request.scope.get(routes.NOTE)
    if isinstance(noted, list):
        noted.append((test_id, text))


async def seconds_to_advance(now: float) -> float:
    """The `seconds` of a clock-advance body: a finite span that keeps the clock showable."""
    body = await _json_object()
    seconds = _number(body.get("seconds"), "seconds")
    if now + seconds > MAX_TIME:
        raise Failure(400, f"seconds: {seconds:g} would take the clock past 9999-12-31, the last time ormock can show")
    return seconds
