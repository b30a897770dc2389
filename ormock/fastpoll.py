"""The hot path: plain polls answered straight from ASGI, before Quart's request machinery.

Polls are what clients send most, and Quart's per-request context costs more than everything
ormock does for a poll. `FastPolls` wraps the app: a `GET /api/v1/videos/{id}` with a good key,
for a job that exists, with no rate limit and no scripted faults in play, is answered here with
the very functions the Quart route uses (`store.poll`, `answer`, `note`). Anything else (errors,
faults, other paths) goes on to Quart unchanged, before any poll is counted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from . import routes, wire
from .auth import key_problem
from .errors import retry_headers
from .jobs import Job, JobStore, View

ASGIApp = Callable[..., Awaitable[None]]


class FastPolls:
    def __init__(
        self,
        inner: ASGIApp,
        store: JobStore,
        answer: Callable[[Job, View, str], dict[str, Any]],
        note: Callable[..., object],
    ) -> None:
        self.inner, self.store, self.answer, self.note = inner, store, answer, note

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not await self._poll(scope, send):
            await self.inner(scope, receive, send)

    async def _poll(self, scope: dict[str, Any], send: Any) -> bool:
        """Answers the request if it is a plain poll; False hands it on untouched."""
        path: str = scope["path"]
        job_id = routes.job_id_in(path)
        scenario = self.store.scenario
        if job_id is None or path.endswith("/content") or scenario.faults or scenario.server.rate_limit:
            return False
        started = time.perf_counter()
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if key_problem(headers.get("authorization", ""), scenario.api_keys) is not None:
            return False
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        test_id = headers.get("x-test-id") or query.get("testId") or ""
        job = self.store.get(job_id, test_id)
        if job is None or job.rule.faults:
            return False
        view = self.store.poll(job)
        try:
            status, payload, extra, error = self._render(scope, headers, job, view)
        except Exception:  # never a traceback to the client: the same 500 the Quart app would send
            logging.getLogger("ormock").exception("unhandled error on GET %s", path)
            status, extra, error = 500, [], wire.MESSAGES[500]
            payload = json.dumps(wire.error(500)).encode()
        response_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": response_headers + extra})
        await send({"type": "http.response.body", "body": payload})
        self.note(
            test_id, started, method="GET", path=path, query=query, status=status, headers=list(headers.items()),
            body=None, job_id=job.id, rule=job.rule, error=error, scripted=job.rule.name if view.fault else None,
        )  # fmt: skip
        return True

    def _render(
        self, scope: dict[str, Any], headers: dict[str, str], job: Job, view: View
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], str | None]:
        """Status, body, extra headers and error message of a poll's answer."""
        if view.fault is not None:  # an error step of the timeline, answered as the Quart route would
            status = view.fault.respond or 500
            body = wire.error(status, view.fault.message)
            wait = view.fault.retry_after
            seconds = self.store.clock.client_seconds(wait) if wait is not None else None
            extra = [(name.lower().encode(), value.encode()) for name, value in retry_headers(seconds).items()]
            return status, json.dumps(body, separators=(",", ":")).encode(), extra, body["error"]["message"]
        base = wire.api_root(
            scope.get("scheme", "http"), headers.get("host"), scope.get("root_path", ""), scope.get("server")
        )
        return 200, json.dumps(self.answer(job, view, base), separators=(",", ":")).encode(), [], None
