"""The HTTP layer: parse the request, ask the job store, render the wire shape. Nothing else.

`create_app(scenario, clock)` returns a Quart (ASGI) app serving `/api/v1/videos...` and the
control API under `/__ormock/` (see `control`). Every error, including unknown routes and crashes,
leaves as the service's JSON error envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from quart import Quart, Response, g, request
from werkzeug.exceptions import HTTPException

from . import wire
from .clock import Clock, ScaledClock
from .control import Changes, control_api
from .errors import Failure, error_response, json_response
from .faults import HANG_SECONDS, Faults, InjectedDrop
from .jobs import Job, JobStore
from .mp4 import make_mp4
from .scenario import Fault, Rule, Scenario
from .submit import Rejected, callback_problem, check
from .webhooks import Dispatcher

log = logging.getLogger("ormock.requests")

MAX_BODY = 32 * 1024 * 1024
JOURNAL_BODY_LIMIT = 64 * 1024


def _base() -> str:
    """The API root as the client addressed it, so handed-out URLs work behind any host and port."""
    return f"{request.scheme}://{request.host}{request.root_path}/api/v1"


def _test_id() -> str:
    """The namespace of an API request: `X-Test-Id`, or the `testId` query parameter."""
    return request.headers.get("X-Test-Id") or request.args.get("testId") or ""


def _redacted(headers: Any) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} [redacted]".strip()
        shown[name.lower()] = value
    return shown


async def _journal_body() -> Any:
    try:
        raw = await request.get_data(as_text=False)
    except HTTPException:  # e.g. a body over the size limit: it was never read
        return None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        return text[:JOURNAL_BODY_LIMIT]


def _dropping(content_type: str, length: int, head: bytes = b"", rate: float | None = None) -> Response:
    """A response that promises `length` bytes, sends `head` (at `rate` bytes/s if given), then drops
    the connection: a reset mid-response with no `head`, a truncated download with some."""

    async def body() -> AsyncIterator[bytes]:
        if head:
            async for chunk in _paced(head, rate):
                yield chunk
        raise InjectedDrop()

    return Response(body(), 200, {"Content-Length": str(length)}, content_type=content_type)


async def _paced(data: bytes, rate: float | None) -> AsyncIterator[bytes]:
    """`data` in chunks, no faster than `rate` bytes per second (real time) when given."""
    chunk = 64 * 1024 if rate is None else max(1, min(64 * 1024, int(rate / 10)))
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]
        if rate is not None:
            await asyncio.sleep(chunk / rate)


def create_app(
    scenario: Scenario,
    clock: Clock | None = None,
    seed: int | None = None,
    *,
    journal_max: int = 1000,
    admin_token: str | None = None,
    webhook_secret: str | None = None,
) -> Quart:
    app = Quart("ormock")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    store = JobStore(scenario, clock or ScaledClock(), seed, journal_max)
    changes = Changes()
    app.extensions["ormock"] = store
    app.extensions["ormock.changes"] = changes
    app.register_blueprint(control_api(store, changes, admin_token))
    faults = Faults(store, seed)
    app.extensions["ormock.faults"] = faults
    dispatcher = Dispatcher(store, secret=webhook_secret)
    app.extensions["ormock.webhooks"] = dispatcher

    @app.before_serving
    async def _start_webhooks() -> None:
        app.extensions["ormock.webhooks.task"] = asyncio.create_task(dispatcher.run())

    @app.after_serving
    async def _finish_webhooks() -> None:
        task = app.extensions.pop("ormock.webhooks.task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await dispatcher.shutdown()

    listing: dict[int, str] = {}  # the models body, cached per scenario (it changes on --watch)

    def authorize() -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Failure(401, "Missing Authentication header")
        keys = store.scenario.api_keys
        if keys is not None and key.strip() not in keys:
            raise Failure(401, "Invalid API key")
        wait = faults.rate_limited(key.strip(), _test_id())
        if wait is not None:
            g.fault = "rate limit"
            raise Failure(429, "Rate limit exceeded", wait)

    async def inject(endpoint: str, rule: Rule | None = None) -> Fault | None:
        """Carries out the fault that applies here, if any. Errors are raised, delays waited out
        and hangs held; a fault that shapes the response itself (reset, truncate, slow) is
        returned for the handler to apply."""
        picked = faults.pick(endpoint, _test_id(), rule)
        if picked is None:
            return None
        fault, g.fault = picked
        if fault.respond is not None:
            raise Failure(fault.respond, fault.message, fault.retry_after)
        if fault.latency is not None:
            await asyncio.sleep(faults.jitter(fault, _test_id()))
            return None
        if fault.hang:
            await record(0)  # the request may never finish: note it now
            await asyncio.sleep(HANG_SECONDS)
            raise Failure(504, "Gateway timeout")
        return fault

    def find(job_id: str) -> Job:
        job = store.get(job_id, _test_id())
        if job is None:
            raise Failure(404, f"Video generation job {job_id} not found")
        g.job_id, g.rule = job.id, job.rule
        return job

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.job_id = g.rule = g.error = g.fault = None

    async def record(status: int) -> None:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        rule = getattr(g.get("rule"), "name", None)
        log.info(
            "%s %s %d",
            request.method,
            request.full_path.rstrip("?"),
            status,
            extra={"latency": elapsed, "job_id": g.get("job_id"), "rule": rule, "fault": g.get("fault")},
        )
        if request.path.startswith("/api/v1/"):
            store.record(
                _test_id(),
                method=request.method,
                path=request.path,
                query=dict(request.args),
                status=status,
                job_id=g.get("job_id"),
                rule=rule,
                latency_ms=round(elapsed * 1000, 3),
                headers=_redacted(request.headers),
                body=await _journal_body(),
                error=g.get("error"),
                fault=g.get("fault"),
            )
            changes.notify()

    @app.after_request
    async def _record(response: Response) -> Response:
        await record(response.status_code)
        return response

    @app.errorhandler(Failure)
    async def _failure(exc: Failure) -> Response:
        g.error = exc.message or wire.MESSAGES.get(exc.code)
        return error_response(exc.code, exc.message, exc.retry_after)

    @app.errorhandler(HTTPException)
    async def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        allowed = getattr(exc, "valid_methods", None)  # a 405 says what the path takes (RFC 9110)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return error_response(code, wire.MESSAGES.get(code, exc.name), headers=headers)

    @app.errorhandler(Exception)
    async def _crash(exc: Exception) -> Response:
        logging.getLogger("ormock").exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    @app.post("/api/v1/videos")
    async def submit() -> Response:
        if await inject("submit") is not None:
            return _dropping("application/json", 256)
        authorize()
        raw = await request.get_data()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Failure(400, f"the request body is not valid JSON: {exc}") from None
        try:
            sub = check(body, store.scenario.models)
        except Rejected as exc:
            raise Failure(400, exc.message) from None
        if sub.callback_url is not None:
            problem = callback_problem(sub.callback_url, store.scenario.webhooks.require_https)
            if problem is not None:
                raise Failure(400, problem)
        g.rule, refusal = store.choose(sub, _test_id())
        if await inject("submit", g.rule) is not None:
            return _dropping("application/json", 256)
        if refusal is not None:
            raise Failure.of(refusal)
        left = faults.credits_left(_test_id())
        if left is not None and (store.cost_of(sub, g.rule) or 0.0) > left:
            g.fault = "credits"
            raise Failure(402)
        job = store.create(sub, g.rule, _test_id(), _base())
        g.job_id = job.id
        return json_response(wire.submitted(job, _base()), 202)

    @app.get("/api/v1/videos/models")
    async def list_models() -> Response:
        if await inject("models") is not None:
            return _dropping("application/json", 4096)
        key = id(store.scenario)
        if key not in listing:
            listing.clear()
            listing[key] = json.dumps(wire.models(store.scenario.models.values()), separators=(",", ":"))
        return Response(listing[key], 200, content_type="application/json")

    @app.get("/api/v1/videos/<job_id>")
    async def poll(job_id: str) -> Response:
        if await inject("poll") is not None:
            return _dropping("application/json", 512)
        authorize()
        job = find(job_id)
        if await inject("poll", job.rule) is not None:
            return _dropping("application/json", 512)
        view = store.poll(job)
        if view.fault is not None:
            raise Failure.of(view.fault)
        gone = job.gone_at(view, store.scenario.server.output_ttl)
        if gone is None:
            return json_response(wire.job(job, view, _base()))
        expires = int(gone)
        signed = [faults.signed_query(job, index, expires) for index in range(view.step.outputs)]
        return json_response(wire.job(job, view, _base(), expires, signed))

    @app.get("/api/v1/videos/<job_id>/content")
    async def content(job_id: str) -> Response:
        server_fault = await inject("content")
        signature = request.args.get("signature")
        if signature is None:
            authorize()
        job = find(job_id)
        raw_index = request.args.get("index", "0")
        if raw_index == "null":  # the spec lets index be null: the default, 0
            raw_index = "0"
        if not raw_index.isdigit():
            raise Failure(400, f"index must be a non-negative integer, not '{raw_index}'")
        index = int(raw_index)
        if signature is not None and not faults.signature_ok(job, index, request.args.get("expires", ""), signature):
            raise Failure(403, "This download link is not valid")
        fault = await inject("content", job.rule) or server_fault
        view = store.peek(job)
        if view.status != "completed":
            raise Failure(409, f"Video generation job {job.id} is {view.status}; its content is not available")
        if index >= view.step.outputs:
            raise Failure(404, f"Video generation job {job.id} has no output {index} (it has {view.step.outputs})")
        refusal = store.download(job)
        if refusal is not None:
            raise Failure.of(refusal)
        gone = job.gone_at(view, store.scenario.server.output_ttl)
        if gone is not None and store.clock.time() >= gone:
            raise Failure(410, f"The output of video generation job {job.id} is no longer available")
        path = store.scenario.content_path(view.step)
        if path is not None:
            data = path.read_bytes()
        else:
            data = make_mp4(job.output.width, job.output.height, job.output.duration or 5)
        if fault is not None and fault.reset:
            return _dropping("video/mp4", len(data))
        if fault is not None and fault.truncate is not None:
            return _dropping("video/mp4", len(data), data[: int(len(data) * fault.truncate)])
        if fault is not None and fault.slow is not None:
            return Response(_paced(data, fault.slow), 200, {"Content-Length": str(len(data))}, content_type="video/mp4")
        return Response(data, 200, content_type="video/mp4")

    return app
