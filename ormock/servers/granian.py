"""Serving under Granian (`pip install 'ormock[fast]'`): its HTTP handling is Rust, so the same app
answers several times the polls a second. It is embedded: the app runs on this process's event
loop, exactly as under Hypercorn, on the socket ormock bound (so `--port 0` works the same)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from granian._granian import SocketHolder
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server.embed import Server

CONNECTIONS = 16_384  # connections served at once
HEADER_SECONDS = 10  # a connection that has not sent its headers by then is closed


class _OnSocket(Server):
    """Granian's embedded server, listening on a socket bound beforehand."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(
            app,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            http=HTTPModes.http1,
            websockets=False,
            log_enabled=False,
            backlog=1024,
            # Connections served at once, and how long one may take to send its headers: with
            # Granian's defaults (the backlog, 30 s) 1,024 idle or slow connections kept every new
            # client waiting half a minute (docs/limits.md).
            backpressure=CONNECTIONS,
            http1_settings=HTTP1Settings(header_read_timeout=HEADER_SECONDS * 1000),
        )
        self._fd = os.dup(sock.fileno())
        sock.close()

    def _init_shared_socket(self) -> None:
        self._ssp = None
        self._shd = SocketHolder(self._fd, False, 1024)  # type: ignore[call-arg,assignment]  # (fd, uds, backlog)
        self._sfd = self._fd  # type: ignore[assignment]


async def serve(app: Any, sock: socket.socket, stop: asyncio.Event, grace: float) -> None:
    """Serves until `stop`; then requests under way get `grace` seconds before they are cut (Granian
    would wait for a hung one for ever), and the app's own shutdown (webhooks) its bound."""
    for name in ("_granian", "granian"):  # its own notices would break into the dashboard and the log
        logging.getLogger(name).setLevel(logging.ERROR)
    under_way: set[asyncio.Task[Any]] = set()

    async def tracked(scope: dict[str, Any], receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await app(scope, receive, send)
            return
        under_way.add(task)
        try:
            await app(scope, receive, send)
        finally:
            under_way.discard(task)

    server = _OnSocket(tracked, sock)
    running = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not running.done():
        server.signal_handler_interrupt()
        if under_way:
            await asyncio.wait(list(under_way), timeout=grace)
            for task in list(under_way):
                task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(running), 6.0)  # the app's shutdown (webhooks) included
        running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running  # (the socket's descriptor is Granian's now: it closes it)
