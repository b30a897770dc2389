"""The control API under `/__ormock/`, for test suites: see what clients did, move the clock,
force a job's status, wait for a status, start over.

Requests may name a namespace with `X-Test-Id` (or `?testId=`); without one, listings and resets
cover every namespace. With an admin token set, every control request needs
`Authorization: Bearer <token>`. Bad input gets the same JSON error envelope as the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from typing import Any

from quart import Blueprint, Response, request

from . import wire
from .credits import Credits
from .errors import Failure, json_response, parse_json
from .jobs import Job, JobStore
from .scenario import STATUSES, TERMINAL

_WAIT_SLICE = 0.02  # how often a waiter re-reads the clock when nothing is reported to it


class Changes:
    """Wakes `/__ormock/wait` requests when a request or a clock move may have changed a job."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def _namespace() -> str | None:
    return request.headers.get("X-Test-Id") or request.args.get("testId")


async def _json_object() -> dict[str, Any]:
    raw = await request.get_data(as_text=False)
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise Failure(400, "the request body must be a JSON object")
    return body


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


def control_api(store: JobStore, changes: Changes, admin_token: str | None, credits: Credits) -> Blueprint:
    api = Blueprint("ormock_control", __name__, url_prefix="/__ormock")

    def find(job_id: str) -> Job:
        job = store.get(job_id, _namespace())
        if job is None:
            raise Failure(404, f"no job {job_id}" + (f" under test id {_namespace()}" if _namespace() else ""))
        return job

    def info(job: Job) -> dict[str, Any]:
        return wire.job_info(job, store.peek(job))

    @api.before_request
    async def _admin() -> None:
        if admin_token is not None and request.headers.get("Authorization", "") != f"Bearer {admin_token}":
            raise Failure(401, "the control API needs Authorization: Bearer <admin token>")

    @api.get("/health")
    async def health() -> Response:
        return json_response(
            {
                "status": "ok",
                "jobs": len(store),
                "clock": {
                    "mode": "manual" if type(store.clock).__name__ == "ManualClock" else "scaled",
                    "speed": store.clock.speed,
                    "time": store.clock.time(),
                },
                "scenario": str(store.scenario.path) if store.scenario.path else None,
                "notices": list(store.notices),
            }
        )

    @api.get("/credits")
    async def balances() -> Response:
        """The credit balances of this test id; `?key=` adds the account of that API key."""
        test_id = _namespace() or ""
        answer: dict[str, Any] = {"data": credits.accounts(test_id)}
        key = request.args.get("key")
        if key is not None:
            account = credits.account(test_id, key)
            answer["key"] = None if account is None else credits.accounts(test_id, account)[0]
        return json_response(answer)

    @api.get("/jobs")
    async def jobs() -> Response:
        listed = [job for space in store.spaces(_namespace()) for job in space.jobs.values()]
        listed.sort(key=lambda job: job.created_at)
        return json_response({"data": [info(job) for job in listed]})

    @api.get("/jobs/<job_id>")
    async def one_job(job_id: str) -> Response:
        return json_response(info(find(job_id)))

    @api.post("/jobs/<job_id>/status")
    async def set_status(job_id: str) -> Response:
        job = find(job_id)
        body = await _json_object()
        status = body.get("status")
        if status not in STATUSES:
            raise Failure(400, f"status must be one of {', '.join(STATUSES)}, not {json.dumps(status)}")
        error = body.get("error")
        if error is not None and not isinstance(error, str):
            raise Failure(400, "error must be a string")
        if error is not None and status not in TERMINAL - {"completed"}:
            raise Failure(400, "error goes with failed, cancelled or expired")
        store.force(job, status, error)
        changes.notify()
        return json_response(info(job))

    @api.post("/clock/advance")
    async def advance() -> Response:
        body = await _json_object()
        seconds = _number(body.get("seconds"), "seconds")
        store.clock.advance(seconds)
        changes.notify()
        return json_response({"time": store.clock.time(), "advanced": seconds})

    @api.get("/requests")
    async def requests() -> Response:
        job_id, path = request.args.get("job"), request.args.get("path")
        since = request.args.get("since")
        if since is not None and not since.isdigit():
            raise Failure(400, f"since must be a journal sequence number, not '{since}'")
        entries = store.journal(_namespace())
        if job_id:
            entries = [e for e in entries if e.job_id == job_id]
        if path:
            entries = [e for e in entries if e.path.startswith(path)]
        if request.args.get("kind"):
            entries = [e for e in entries if e.kind == request.args["kind"]]
        if since is not None:
            entries = [e for e in entries if e.seq > int(since)]
        return json_response({"data": [wire.entry(e) for e in entries]})

    @api.get("/wait")
    async def wait() -> Response:
        job_id, wanted = request.args.get("job"), request.args.get("status")
        if not job_id:
            raise Failure(400, "job is required: /__ormock/wait?job=<id>&status=<status>&timeout=<seconds>")
        if wanted not in STATUSES:
            raise Failure(400, f"status must be one of {', '.join(STATUSES)}, not {json.dumps(wanted)}")
        timeout = _number(request.args.get("timeout", "10"), "timeout")
        job = find(job_id)
        deadline = time.monotonic() + timeout
        while True:
            status = store.peek(job).status
            if status == wanted:
                return json_response(info(job))
            if status in TERMINAL:
                raise Failure(409, f"job {job_id} ended as {status}; it will never be {wanted}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(408, f"job {job_id} is still {status} after {timeout:g} s, not {wanted}")
            await changes.wait(min(left, _WAIT_SLICE))

    @api.post("/reset")
    async def reset() -> Response:
        namespace = _namespace()
        store.reset(namespace)
        changes.notify()
        return json_response({"reset": namespace if namespace is not None else "all"})

    return api
