"""Serving under Hypercorn, the default server."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import h11
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol

from ..service import wire
from . import GRACE, PROTOCOL_ERROR


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
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.config.response_headers("h11"),
        ]
        await self._send_h11_event(h11.Response(status_code=status_code, headers=headers))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())

    H11Protocol._send_error_response = send_error  # type: ignore[method-assign]


_json_protocol_errors()


async def serve(app: Any, sock: socket.socket, stop: asyncio.Event) -> None:
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.graceful_timeout = GRACE
    config.loglevel = "WARNING"
    config.accesslog = None
    config.ormock_json_errors = True  # type: ignore[attr-defined]
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)
