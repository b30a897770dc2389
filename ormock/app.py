"""The HTTP layer: parse the request, ask the job store, render the wire shape. Nothing else.

`create_app(scenario, clock)` returns a Quart (ASGI) app serving `/api/v1/videos...` and the
control API under `/__ormock/` (see `control`). Every error, including unknown routes and crashes,
leaves as the service's JSON error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from quart import Quart, Response, g, request
from werkzeug.exceptions import HTTPException

from . import routes, safe, wire
from .auth import bearer_key, key_problem
from .calls import Answer, Call, error_answer, polled
from .clock import Clock, ScaledClock
from .control import Changes, control_api
from .credits import Credits
from .errors import Failure, json_response, parse_json
from .fastpoll import FastPolls
from .faults import HANG_SECONDS, Faults, InjectedDrop
from .jobs import Entry, Job, JobStore
from .limits import MAX_BODY, BodyLimits
from .mp4 import video
from .scenario import Fault, Rule, Scenario
from .submit import Rejected, callback_problem, check
from .tasks import supervised
from .webhooks import Dispatcher

RequestListener = Callable[[Entry], None]  # told of every request once it is answered

JOURNAL_BODY_LIMIT = 64 * 1024


def _call() -> Call:
    """The request being answered, read once as plain values (see `calls`)."""
    found = g.get("call")
    if found is None:
        found = g.call = Call.of(request.scope)  # type: ignore[arg-type]
    return found


def _base() -> str:
    """The API root as the client addressed it, so handed-out URLs work behind any host and port."""
    return _call().base


def _test_id() -> str:
    """The namespace of an API request: `X-Test-Id`, or the `testId` query parameter."""
    return _call().test_id


async def _journal_body() -> Any:
    """What the journal keeps of the request's body: its JSON (parsed once, by the handler where it
    read the body) cut to a bounded size, else the start of its text."""
    if "parsed" in g:
        return safe.pruned(g.parsed)
    try:
        raw = await request.get_data(as_text=False)
    except HTTPException:  # e.g. a body over the size limit: it was never read
        return None
    if not raw:
        return None
    if len(raw) <= JOURNAL_BODY_LIMIT:
        try:
            return safe.pruned(json.loads(raw))
        except (ValueError, RecursionError):
            pass
    head = raw[:JOURNAL_BODY_LIMIT]
    return safe.pruned(head.decode("utf-8", "replace") if isinstance(head, bytes) else head)


CHUNK = 256 * 1024


class _Content:
    """A download's bytes: a scenario's file, read as it is sent, or a generated MP4 in memory."""

    def __init__(self, data: bytes | None = None, path: Path | None = None) -> None:
        self.data, self.path = data, path
        self.size = len(data) if data is not None else path.stat().st_size if path is not None else 0

    async def chunks(self, limit: int | None = None, rate: float | None = None) -> AsyncIterator[bytes]:
        """Up to `limit` bytes, in chunks, no faster than `rate` bytes per second when given."""
        left = self.size if limit is None else min(limit, self.size)
        step = CHUNK if rate is None else max(1, min(CHUNK, int(rate / 10)))
        with self.path.open("rb") if self.path is not None else contextlib.nullcontext() as file:
            offset = 0
            while left > 0:
                size = min(step, left)
                chunk = file.read(size) if file is not None else (self.data or b"")[offset : offset + size]
                if not chunk:
                    break
                offset, left = offset + len(chunk), left - len(chunk)
                yield chunk
                if rate is not None:
                    await asyncio.sleep(len(chunk) / rate)

    def response(self, fault: Fault | None, finish: Callable[[int, bool], None]) -> Response:
        """The 200 answer, shaped by a download fault: dropped at once, truncated, or slow.
        `finish(bytes sent, whether all went out)` is called once the body has ended, however."""
        body: AsyncIterator[bytes]
        if fault is not None and (fault.reset or fault.truncate is not None):
            keep = 0 if fault.reset else int(self.size * (fault.truncate or 0))
            body = _then_drop(self.chunks(keep))
        elif fault is not None and fault.slow is not None:
            body = self.chunks(rate=fault.slow)
        else:
            body = self.chunks()
        headers = {"Content-Length": str(self.size)}
        return Response(_finishing(body, self.size, finish), 200, headers, content_type="video/mp4")


async def _finishing(
    body: AsyncIterator[bytes], size: int, finish: Callable[[int, bool], None]
) -> AsyncIterator[bytes]:
    """`body`, telling `finish` how much of it went out when it ends: whole, cut by a fault, or
    abandoned by a client that went away."""
    sent = 0
    try:
        async for chunk in body:
            yield chunk
            sent += len(chunk)
            # One turn of the event loop between chunks: the server's reader sees a client that has
            # gone and says so (http.disconnect), and the handler is stopped before the next read.
            await asyncio.sleep(0)
    finally:
        finish(sent, sent == size)


async def _then_drop(head: AsyncIterator[bytes] | None = None) -> AsyncIterator[bytes]:
    """`head`, then a dropped connection. An empty chunk goes first, so every server has sent the
    status line and headers before the drop (Granian holds them until the body starts, and would
    turn a drop before it into a 500 of its own)."""
    yield b""
    if head is not None:
        async for chunk in head:
            yield chunk
    raise InjectedDrop()


def _dropping(content_type: str, length: int) -> Response:
    """A response that promises `length` bytes, then drops the connection: a reset mid-response."""
    return Response(_then_drop(), 200, {"Content-Length": str(length)}, content_type=content_type)


def create_app(
    scenario: Scenario,
    clock: Clock | None = None,
    seed: int | None = None,
    *,
    journal_max: int = 1000,
    admin_token: str | None = None,
    webhook_secret: str | None = None,
    control_allow: tuple[str, ...] = (),
    fast_polls: bool = True,
) -> Quart:
    """The app serving `scenario`. `control_allow` names the origins and hosts (or `*`) the control
    API also answers to, besides localhost and addresses (see `control.foreign`). `fast_polls=False`
    sends every poll through Quart (the tests compare the two paths)."""
    app = Quart("ormock")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # BodyLimits refuses larger bodies before Quart reads them
    store = JobStore(scenario, clock or ScaledClock(), seed, journal_max)
    changes = Changes()
    app.extensions["ormock"] = store
    app.extensions["ormock.changes"] = changes
    faults = Faults(store, seed)
    app.extensions["ormock.faults"] = faults
    credits = Credits(store)
    app.extensions["ormock.credits"] = credits
    app.register_blueprint(control_api(store, changes, admin_token, credits, control_allow))
    dispatcher = Dispatcher(store, secret=webhook_secret)
    app.extensions["ormock.webhooks"] = dispatcher

    @app.before_serving
    async def _start_webhooks() -> None:
        say = app.extensions.get("ormock.say", store.notices.append)
        app.extensions["ormock.webhooks.task"] = asyncio.create_task(supervised("webhook sender", dispatcher.run, say))

    @app.after_serving
    async def _finish_webhooks() -> None:
        task = app.extensions.pop("ormock.webhooks.task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await dispatcher.shutdown()

    listing: dict[int, str] = {}  # the models body, cached per scenario (it changes on --watch)
    building = asyncio.Semaphore(2)  # generated videos being built at once
    listeners: list[RequestListener] = []
    app.extensions["ormock.listeners"] = listeners

    def authorize() -> None:
        header = request.headers.get("Authorization", "")
        problem = key_problem(header, store.scenario.api_keys)
        if problem is not None:
            raise Failure(401, problem)
        g.authorised = True
        wait = faults.rate_limited(bearer_key(header) or "", _test_id())
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
    async def _start() -> None:
        g.started = time.perf_counter()
        g.rule = g.error = g.fault = None
        # Every journal entry about a job carries its id, whatever answers it (a fault, a 401, a 404).
        g.job_id = routes.job_id_in(request.path)

    def note(test_id: str, started: float, rule: Rule | None = None, authorised: bool = True, **fields: Any) -> Entry:
        """One entry in the journal (for API requests) and one line in the log: for every request,
        on either path. `fields` are the `Entry`'s; `rule` is the `Rule` itself."""
        took = time.perf_counter() - started
        entry = Entry(
            seq=0, time=store.clock.time(), latency_ms=round(took * 1000, 3), wall=time.time() - took,
            rule=rule.name if rule is not None else None, **fields,
        )  # fmt: skip
        if entry.path.startswith("/api/v1/"):
            # a request without a good key is journalled in its namespace only if that exists already
            known = authorised or entry.action == "models" or store.find_space(test_id) is not None
            store.keep(test_id if known else "", entry)
            changes.notify()
        for listener in listeners:
            listener(entry)
        return entry

    def facts(status: int, body: Any) -> dict[str, Any]:
        """What the journal keeps of the request being answered."""
        call = _call()
        return {
            "key": bearer_key(call.header("authorization") or "") or "", "agent": call.header("user-agent") or "",
            "method": call.method, "path": call.path, "query": call.query, "status": status,
            "headers": call.raw_headers, "body": body, "job_id": g.get("job_id"),
            "rule": g.get("rule"), "error": g.get("error"), "fault": g.get("fault"), "scripted": g.get("scripted"),
            "authorised": g.get("authorised", False), "seen": g.get("seen"), "retry_after": g.get("retry_after"),
        }  # fmt: skip

    async def record(status: int) -> None:
        note(_test_id(), g.get("started", time.perf_counter()), **facts(status, await _journal_body()))

    @app.after_request
    async def _record(response: Response) -> Response:
        if not g.get("deferred"):  # a download is recorded when its body has gone out (or not)
            await record(response.status_code)
        return response

    def respond(answer: Answer) -> Response:
        g.error, g.scripted = answer.error, answer.scripted or g.get("scripted")
        g.seen, g.retry_after = answer.seen, answer.wait
        return Response(answer.body, answer.status, answer.headers, content_type="application/json")

    @app.errorhandler(Failure)
    async def _failure(exc: Failure) -> Response:
        wait = store.clock.client_seconds(exc.retry_after) if exc.retry_after is not None else None
        return respond(error_answer(exc.code, exc.message, wait))

    @app.errorhandler(HTTPException)
    async def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        response = respond(error_answer(code, wire.MESSAGES.get(code, exc.name)))
        allowed = getattr(exc, "valid_methods", None)  # a 405 says what the path takes (RFC 9110)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    async def _crash(exc: Exception) -> Response:
        logging.getLogger("ormock").exception("unhandled error on %s %s", request.method, request.path)
        return respond(error_answer(500))

    @app.post("/api/v1/videos")
    async def submit() -> Response:
        authorize()  # first: a namespace comes into being (for fault counts) only for a client with a key
        if await inject("submit") is not None:
            return _dropping("application/json", 256)
        body = g.parsed = parse_json(await request.get_data(as_text=False))
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
            g.scripted = g.rule.name
            raise Failure.of(refusal)
        cost = store.cost_of(sub, g.rule)
        account = credits.admits(_test_id(), bearer_key(request.headers.get("Authorization", "")) or "", cost)
        if account is False:
            g.fault = "credits"
            raise Failure(402)
        job = store.create(sub, g.rule, _test_id(), _base())
        if account is not True:
            credits.hold(job, account, cost)
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
        authorize()
        if await inject("poll") is not None:
            return _dropping("application/json", 512)
        job = find(job_id)
        if await inject("poll", job.rule) is not None:
            return _dropping("application/json", 512)
        return respond(polled(store, faults, job, store.poll(job), _call()))

    @app.get("/api/v1/videos/<job_id>/content")
    async def content(job_id: str) -> Response:
        signature = request.args.get("signature")
        if signature is None:
            authorize()
        server_fault = await inject("content")
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
            g.scripted = job.rule.name
            raise Failure.of(refusal)
        gone = job.gone_at(view, store.scenario.server.output_ttl)
        if gone is not None and store.clock.time() >= gone:
            raise Failure(410, f"The output of video generation job {job.id} is no longer available")
        path = store.scenario.content_path(view.step)
        if path is not None:
            content = _Content(path=path)
        else:
            # built off the event loop, one or two at a time: a large one never stalls other clients
            async with building:
                made = await asyncio.to_thread(video, job.output.width, job.output.height, job.output.duration or 5)
            content = _Content(made)
        known, test_id, started = facts(200, None), _test_id(), g.started

        def finish(sent: int, complete: bool) -> None:
            if complete:
                job.downloaded += 1
            note(test_id, started, **known, sent=sent, complete=complete)

        g.deferred = True
        return content.response(fault, finish)

    app.asgi_app = FastPolls(BodyLimits(app.asgi_app), store, faults, note, enabled=fast_polls)  # type: ignore[method-assign,assignment]
    return app
