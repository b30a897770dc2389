"""The hot path: plain polls answered straight from ASGI, before Quart's request machinery.

Polls are what clients send most, and Quart's per-request context costs more than everything
ormock does for a poll. `FastPolls` wraps the app: a `GET /api/v1/videos/{id}` with a good key,
for a job that exists, with no rate limit and no scripted faults in play, is answered here with
the very functions the Quart route uses (`Call.of`, `store.poll`, `calls.polled`, `note`), so the
answer and the journal entry are the same bytes either way (tests/test_one_poll_path.py). Anything
else (errors, faults, rate limits, other paths) goes on to Quart unchanged, before any poll is
counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import routes
from .auth import bearer_key, problem_with
from .calls import Call, error_answer, polled
from .faults import Faults
from .jobs import JobStore

ASGIApp = Callable[..., Awaitable[None]]


class FastPolls:
    def __init__(
        self, inner: ASGIApp, store: JobStore, faults: Faults, note: Callable[..., object], enabled: bool = True
    ) -> None:
        self.inner, self.store, self.faults, self.note, self.enabled = inner, store, faults, note, enabled

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self.enabled or scope["type"] != "http" or scope["method"] != "GET" or not await self._poll(scope, send):
            await self.inner(scope, receive, send)

    async def _poll(self, scope: dict[str, Any], send: Any) -> bool:
        """Answers the request if it is a plain poll; False hands it on untouched."""
        path: str = scope["path"]
        job_id = routes.job_id_in(path)
        scenario = self.store.scenario
        if job_id is None or path.endswith("/content") or scenario.faults or scenario.server.rate_limit:
            return False
        started = time.perf_counter()
        call = Call.of(scope)
        key = bearer_key(call.header("authorization") or "")
        if problem_with(key, scenario.api_keys) is not None:
            return False
        test_id = call.test_id
        job = self.store.get(job_id, test_id)
        if job is None or job.rule.faults:
            return False
        view = self.store.poll(job)
        try:
            answer = polled(self.store, self.faults, job, view, call)
        except Exception:  # never a traceback to the client: the same 500 the Quart app would send
            logging.getLogger("ormock").exception("unhandled error on GET %s", path)
            answer = error_answer(500)
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.asgi_headers})
        await send({"type": "http.response.body", "body": answer.body})
        self.note(
            test_id, started, method="GET", path=path, query=call.query, status=answer.status, what="poll",
            key=key or "", agent=call.header("user-agent") or "",
            headers=call.raw_headers, body=None, job_id=job.id, rule=job.rule, error=answer.error,
            scripted=answer.scripted, authorised=True, seen=answer.seen, retry_after=answer.wait,
        )  # fmt: skip
        return True
