"""The HTTP layer: route a request, hand it to its endpoint (`api`), send the answer, journal it.

`create_app(scenario, clock)` returns an ASGI app serving `/api/v1/videos...` and the control API
under `/__ormock/` (see `control`). The video API is plain ASGI over plain functions; the control
API is a Quart app, built (and Quart imported) when the first control request comes, so a server
starts and answers clients without loading a web framework. Every error, including unknown routes
and crashes, leaves as the service's JSON error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from .._asgi import lifespan
from ..scenario.loader import Scenario
from ..service.changes import Changes, job_key
from ..service.clock import Clock, ScaledClock
from ..service.credits import Credits
from ..service.faults import Faults
from ..service.journal import Entry
from ..service.store import JobStore
from ..service.webhooks import Dispatcher
from ..tasks import supervised
from . import routes
from .api import Api, ClientGone, Exchange
from .calls import Answer, Call, error_answer
from .errors import Failure
from .limits import BodyLimits
from .stream import Streamed

RequestListener = Callable[[Entry], None]  # told of every request once it is answered
# Bytes a body may go out a millisecond: Granian's `send` does not wait for the client, and a pause
# lets it notice one that has gone before a whole body is queued for it.
PACE = 1024 * 1024


class App:
    """The ASGI app. What the CLI, the Simulator and tests reach into are its attributes: the
    `store`, the request `listeners`, the webhook `dispatcher`, the `faults` and `credits` keepers,
    and `say`, where the server's own notices go (the store's notices until the CLI sets it)."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock | None,
        seed: int | None,
        journal_max: int,
        admin_token: str | None,
        webhook_secret: str | None,
        control_allow: tuple[str, ...],
    ) -> None:
        self.store = store = JobStore(scenario, clock or ScaledClock(), seed, journal_max)
        self.changes = Changes()
        self.faults = Faults(store, seed)
        self.credits = Credits(store)
        self.dispatcher = Dispatcher(store, secret=webhook_secret)
        self.listeners: list[RequestListener] = []
        self.api = Api(store, self.faults, self.credits)
        self.say: Callable[[str], None] = store.notices.append
        self._control_settings = (admin_token, control_allow)
        self._control: Any = None
        self._bodies = BodyLimits(self._with_body)  # bodies are capped before anyone reads them
        self._handlers = {
            "submit": self.api.submit,
            "poll": self.api.poll,
            "download": self.api.download,
            "models": self.api.models,
        }

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith(routes.CONTROL_PREFIX):
                await self._bodies(scope, receive, send)
                return
            call = Call(scope)  # (once: under Granian each read of the scope's headers copies them)
            if call.method == "POST" or call.declares_body:  # a POST's body is read whatever its headers say
                await self._bodies(scope, receive, send)
            else:
                await self.serve(Exchange(call), receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    async def _with_body(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A request after `BodyLimits` has read as much of its body as it may bring."""
        if scope["path"].startswith(routes.CONTROL_PREFIX):
            await self._serve_control(scope, receive, send)
            return
        message = await receive()
        await self.serve(Exchange(Call(scope), message.get("body", b"")), receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """The webhook sender runs while the server does."""
        sender: list[asyncio.Task[None]] = []

        async def start() -> None:
            sender.append(asyncio.create_task(supervised("webhook sender", self.dispatcher.run, self.say)))

        async def stop() -> None:
            for task in sender:
                task.cancel()
            await asyncio.gather(*sender, return_exceptions=True)
            await self.dispatcher.shutdown()

        await lifespan(receive, send, on_startup=start, on_shutdown=stop)

    def control(self) -> Any:
        """The control API's ASGI app, built on first use (it is the one part that needs Quart)."""
        if self._control is None:
            from .control import Control, control_app

            admin_token, allow = self._control_settings
            self._control = control_app(Control(self.store, self.changes, self.credits), admin_token, allow)
        return self._control

    async def _serve_control(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A control request, answered by the control API and told to the listeners like any other;
        one that changed a test id's rules or scenario is journalled in that test id's journal too."""
        ex = Exchange(Call(scope))
        notes: list[tuple[str, str]] = []

        async def watched(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ex.status = message["status"]
            await send(message)

        try:
            await self.control()({**scope, routes.NOTE: notes}, receive, watched)
        finally:
            for test_id, text in notes:
                ex.test_id, ex.note = test_id, text
            self.record(ex)

    # --- the video API ------------------------------------------------------------------------

    async def serve(self, ex: Exchange, receive: Any, send: Any) -> None:
        """Answers an API request (or any request outside the control API) and journals it once its
        answer or stream has ended, or the client has gone, or the server cut it (status 0)."""
        ex.receive = receive
        ex.arrived = self.store.clock.time()
        try:
            reply = await self._reply(ex)
            ex.status = reply.status
            head = ex.call.method == "HEAD"
            if isinstance(reply, Answer):
                await send({"type": "http.response.start", "status": reply.status, "headers": reply.asgi_headers})
                await send({"type": "http.response.body", "body": b"" if head else reply.body})
            else:
                await _stream(reply, receive, send, head, ex)
        except ClientGone:
            ex.status = 0
        finally:
            self.record(ex)

    async def _reply(self, ex: Exchange) -> Answer | Streamed:
        handler = self._handlers.get(ex.what)
        try:
            if handler is not None:
                return await handler(ex)
            return self._unrouted(ex)
        except Failure as exc:
            return self.api.failure(ex, exc)
        except ClientGone:
            raise
        except Exception:
            logging.getLogger("ormock").exception("unhandled error on %s %s", ex.call.method, ex.call.path)
            return ex.answered(error_answer(500))

    def _unrouted(self, ex: Exchange) -> Answer:
        """A path the API does not serve (404), or a method it does not take there: 405, or for
        OPTIONS an empty answer; both say in `Allow` what the path takes (RFC 9110)."""
        methods = routes.methods(ex.call.path)
        if methods is None:
            return ex.answered(error_answer(404))
        allow = ", ".join((*methods, "OPTIONS"))
        if ex.call.method == "OPTIONS":
            return Answer(200, b"", {"Allow": allow}, content_type=None)
        found = error_answer(405)
        return ex.answered(Answer(405, found.body, {"Allow": allow}, found.error))

    # --- the journal and the log ----------------------------------------------------------------

    def record(self, ex: Exchange) -> Entry:
        """Journals a request (and tells the listeners): the one place an entry is written, for
        every request whatever answered it. A control request is told to the listeners only."""
        call, rule = ex.call, ex.rule
        took = time.perf_counter() - ex.started
        # by position, as this runs for every request (tests/web/test_journal.py checks each field)
        entry = Entry(
            0,  # seq: `keep` numbers it
            self.store.clock.time() if ex.arrived is None else ex.arrived,  # time: when it came
            call.method,  # method
            call.path,  # path
            call.query,  # query
            ex.status,  # status
            ex.job_id,  # job_id
            rule.name if rule is not None else None,  # rule
            round(took * 1000, 3),  # latency_ms
            call.raw_headers,  # headers
            ex.journal_body(),  # body
            ex.error,  # error
            "api",  # kind
            ex.fault,  # fault
            ex.scripted,  # scripted
            ex.sent,  # sent
            ex.complete,  # complete
            time.time() - took,  # wall
            ex.key,  # key
            call.header("user-agent") or "",  # agent
            ex.what,  # what
            "",  # test_id: `keep` sets it
            ex.seen,  # seen
            ex.retry_after,  # retry_after
            ex.note,  # note
        )
        if call.path.startswith("/api/v1/"):
            # a request without a good key is journalled in its namespace only if that exists already
            test_id = ex.test_id
            known = ex.authorised or ex.what == "models" or self.store.find_space(test_id) is not None
            self.store.keep(test_id if known else "", entry)
            if ex.job_id is not None:
                self.changes.notify(job_key(test_id, ex.job_id))
        elif call.path.startswith(routes.CONTROL_PREFIX):
            entry.kind = "control"
            if ex.note is not None:  # a change to a test id's rules or scenario: in its journal too
                self.store.keep(ex.test_id, entry)
        for listener in self.listeners:
            listener(entry)
        return entry


async def _stream(reply: Streamed, receive: Any, send: Any, head: bool, ex: Exchange) -> None:
    """Sends a body a chunk at a time, one turn of the event loop apart, and stops once the client
    has gone; then notes on `ex` how much went out (for a HEAD, none) and tells `reply.finish`."""
    sent = 0
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        async with contextlib.aclosing(reply.body) as body:  # type: ignore[type-var]
            if not head:
                async for chunk in body:
                    if gone.done():
                        return
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    paced, sent = sent // PACE, sent + len(chunk)
                    # lets the server's reader see a client that has gone (see PACE)
                    await asyncio.sleep(0.001 if sent // PACE != paced else 0)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()
        if gone.done() and not gone.cancelled():
            gone.exception()  # a receive that failed (the connection's end) is not an error to report
        ex.sent = sent
        ex.complete = sent == reply.size
        if reply.finish is not None:
            reply.finish(sent, ex.complete)


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def create_app(
    scenario: Scenario,
    clock: Clock | None = None,
    seed: int | None = None,
    *,
    journal_max: int = 1000,
    admin_token: str | None = None,
    webhook_secret: str | None = None,
    control_allow: tuple[str, ...] = (),
) -> App:
    """The app serving `scenario`. `control_allow` names the origins and hosts (or `*`) the control
    API also answers to, besides localhost and addresses (see `control.foreign`)."""
    return App(scenario, clock, seed, journal_max, admin_token, webhook_secret, control_allow)
