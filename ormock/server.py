"""Running an app under Hypercorn on a real socket, with a clean stop on Ctrl-C and SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import h11
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol
from quart import Quart

from . import wire
from .tasks import supervised

GRACE = 2.0  # seconds the stop gives requests under way
PROTOCOL_ERROR = "The request is not valid HTTP/1.1 (an HTTP/1.1 request must carry a Host header)"


def _json_protocol_errors() -> None:
    """Hypercorn answers a request h11 refuses (an HTTP/1.1 request with no `Host`, a malformed
    request line) with an empty 400; ormock promises the JSON error envelope for every error.
    Only servers started here (their config carries `ormock_json_errors`) answer this way."""
    plain = H11Protocol._send_error_response

    async def send_error(self: H11Protocol, status_code: int) -> None:
        if not getattr(self.config, "ormock_json_errors", False):
            await plain(self, status_code)
            return
        body = json.dumps(wire.error(status_code, PROTOCOL_ERROR if status_code == 400 else None)).encode()
        headers = [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"), *self.config.response_headers("h11"),
        ]  # fmt: skip
        await self._send_h11_event(h11.Response(status_code=status_code, headers=headers))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())

    H11Protocol._send_error_response = send_error  # type: ignore[method-assign]


_json_protocol_errors()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. Raises OSError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    """The API root clients should use for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/api/v1"


def _quiet_stops(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connections cancelled at the stop (a hung request in flight) are not errors to print."""
    if isinstance(context.get("exception"), asyncio.CancelledError | ConnectionError):
        return
    loop.default_exception_handler(context)


async def run(
    app: Quart,
    sock: socket.socket,
    *,
    stop: asyncio.Event | None = None,
    background: dict[str, Callable[[], Coroutine[Any, Any, None]]] | None = None,
    on_ready: Callable[[], None] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve `app` on `sock` until `stop` is set or the process gets SIGINT or SIGTERM; `background`
    jobs (by name) run meanwhile, supervised (see `tasks`).

    `on_ready` runs once the signal handlers are in place, so whoever sees what it prints can stop
    the server cleanly from then on. The stop takes at most `GRACE` seconds for requests under way
    (a hung one is cut then) plus the webhook sender's own bound (`webhooks.STOP_WAIT + STOP_SEND`).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_stops)
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Off the main thread there are no signal handlers; `stop` still works.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready()
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.graceful_timeout = GRACE
    config.loglevel = "WARNING"
    config.accesslog = None
    config.ormock_json_errors = True  # type: ignore[attr-defined]
    tasks = [
        asyncio.create_task(supervised(name, job, say, give_up=stop.set)) for name, job in (background or {}).items()
    ]
    try:
        await serve(app, config, shutdown_trigger=stop.wait)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
