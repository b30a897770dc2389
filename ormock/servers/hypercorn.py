"""Serving under Hypercorn, the default server."""

from __future__ import annotations

import asyncio
import socket
from http import HTTPStatus
from typing import Any

import h11
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol

from ..service import wire

PROTOCOL_ERROR = "The request is not valid HTTP/1.1 (an HTTP/1.1 request must carry a Host header)"


def _answer_protocol_errors_in_json() -> None:
    """Hypercorn answers a request h11 refuses (an HTTP/1.1 request with no `Host`, a malformed
    request line) with an empty 400; ormock promises the JSON error envelope for every error.
    Only servers started here (their config carries `ormock_json_errors`) answer this way."""
    plain = H11Protocol._send_error_response
    if getattr(plain, "ormock", False):  # in place already (a second server in this process)
        return

    async def send_error(self: H11Protocol, status_code: int) -> None:
        if not getattr(self.config, "ormock_json_errors", False):
            await plain(self, status_code)
            return
        body = wire.dumps(wire.error(status_code, PROTOCOL_ERROR if status_code == 400 else None))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.config.response_headers("h11"),
        ]
        await self._send_h11_event(h11.Response(status_code=status_code, headers=headers))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())

    send_error.ormock = True  # type: ignore[attr-defined]
    H11Protocol._send_error_response = send_error  # type: ignore[method-assign]


REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


def _send_reason_phrases() -> None:
    """Hypercorn sends `HTTP/1.1 409 ` with no reason phrase; clients that print the status line
    show a bare code. Servers started here send the standard phrase (`409 Conflict`)."""
    plain = H11Protocol._send_h11_event
    if getattr(plain, "ormock", False):
        return

    async def send(self: H11Protocol, event: Any) -> None:
        if type(event) is h11.Response and not event.reason and getattr(self.config, "ormock_json_errors", False):
            reason = REASONS.get(event.status_code, b"")
            event = h11.Response(status_code=event.status_code, headers=event.headers, reason=reason)
        await plain(self, event)

    send.ormock = True  # type: ignore[attr-defined]
    H11Protocol._send_h11_event = send  # type: ignore[method-assign]


async def serve(app: Any, sock: socket.socket, stop: asyncio.Event, grace: float) -> None:
    """Serves `app` on `sock` until `stop`; requests under way then get `grace` seconds."""
    _answer_protocol_errors_in_json()
    _send_reason_phrases()
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.graceful_timeout = grace
    config.loglevel = "WARNING"
    config.accesslog = None
    config.ormock_json_errors = True  # type: ignore[attr-defined]
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)
