"""One request as the journal keeps it: what the report, the log, the dashboard and
`/__ormock/requests` read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import safe


@dataclass(slots=True)
class Entry:
    """One API request as the journal keeps it."""

    seq: int
    time: float  # scenario clock, unix seconds
    method: str
    path: str
    query: dict[str, str]
    status: int
    job_id: str | None
    rule: str | None
    latency_ms: float
    headers: list[tuple[bytes, bytes]]  # raw, as received (or sent); the journal decodes and redacts them when read
    body: Any
    error: str | None = None  # the error message answered, if any
    kind: str = "api"  # "api": a request to the video API; "control": to /__ormock; "webhook": a delivery from ormock
    fault: str | None = None  # the injected fault that shaped this answer, if any
    scripted: str | None = None  # the rule whose scripted answer this was (a `respond`), if any
    sent: int | None = None  # content downloads: the bytes of the body sent
    complete: bool | None = None  # content downloads: whether the whole body went out
    wall: float = 0.0  # real unix time the request came
    key: str = ""  # the API key it carried (never shown: the journal and the report redact it)
    agent: str = ""  # its User-Agent
    what: str = "other"  # `submit`, `poll`, `download`, `models`, `other`; `webhook` for a delivery attempt
    test_id: str = ""  # the namespace it is journalled in
    seen: str | None = None  # polls: the job status the answer carried
    retry_after: float | None = None  # the wait the answer asked for, in the client's seconds
    note: str | None = None  # control requests: what they changed ("added rules a, b")

    @property
    def full_path(self) -> str:
        """The path and query as a person may see them: secret query values redacted (a webhook's
        URL its userinfo too). Not yet escaped for a terminal: see `safe.shown`."""
        if self.kind == "webhook":
            return safe.url(self.path)
        query = safe.secret_query(self.query)
        return self.path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
