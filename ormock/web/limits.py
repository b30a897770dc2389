"""Request bodies, bounded before the app sees them.

Only a submit (`POST /api/v1/videos`) and the control API's POSTs and PUTs need a body. A submit may carry
up to `MAX_BODY` (frame images travel as data URLs); a control POST or PUT up to `CONTROL_BODY`; any
other request has at most its first `OTHER_BODY` bytes read (for the journal) and the rest thrown
away as it arrives. Bodies being read at once may hold `TOTAL_BODIES` between them; a body that
would go past that is answered 503 with `Retry-After`, so a flood of large uploads cannot take the
memory of the process. Errors are the service's JSON envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .._asgi import ASGIApp, replaying, send_whole
from ..service import wire
from . import routes

MAX_BODY = 32 * 1024 * 1024
CONTROL_BODY = 1024 * 1024
OTHER_BODY = 64 * 1024
TOTAL_BODIES = 128 * 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        self.status = status
        self.message = message
        self.retry_after = retry_after


def limit_for(method: str, path: str) -> int | None:
    """How many body bytes a request may bring; None: read its first `OTHER_BODY`, drop the rest."""
    if method == "POST" and path == routes.SUBMIT_PATH:
        return MAX_BODY
    if method in ("POST", "PUT") and path.startswith(routes.CONTROL_PREFIX):
        return CONTROL_BODY
    return None


class BodyLimits:
    def __init__(self, inner: ASGIApp, total: int = TOTAL_BODIES) -> None:
        self.inner = inner
        self.total = total
        self.in_flight = 0  # body bytes held by requests being read or answered now

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        held = [0]  # what this request counts in `in_flight`, grown as its body arrives
        try:
            if limit is None:
                body, rest = await self._head(receive)
            else:
                body, rest = await self._whole(scope, receive, limit, held), None
        except _Refused as refused:
            self.in_flight -= held[0]
            await _answer(send, refused)
            return
        except BaseException:
            self.in_flight -= held[0]
            raise

        try:
            await self.inner(scope, replaying(body, rest or receive), send)
        finally:
            self.in_flight -= held[0]

    async def _whole(self, scope: dict[str, Any], receive: Any, limit: int, held: list[int]) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise _Refused(413, wire.MESSAGES[413])
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Refused(400, "the client went away before its body arrived")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(413, wire.MESSAGES[413])
            if self.in_flight + len(chunk) > self.total:
                raise _Refused(503, "Too many large request bodies at once; try again shortly", 1)
            self.in_flight += len(chunk)
            held[0] += len(chunk)
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _head(self, receive: Any) -> tuple[bytes, Callable[[], Awaitable[dict[str, Any]]] | None]:
        """The first `OTHER_BODY` bytes of a body no endpoint reads; the rest is read and dropped."""
        message = await receive()
        if message["type"] != "http.request":
            return b"", _once(message, receive)
        body = message.get("body", b"")[:OTHER_BODY]
        if not message.get("more_body", False):
            return body, None

        async def dropping() -> dict[str, Any]:
            while True:
                following = await receive()
                if following["type"] != "http.request":
                    return following
                if not following.get("more_body", False):
                    return {"type": "http.request", "body": b"", "more_body": False}

        return body, dropping


def _once(message: dict[str, Any], receive: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    given = [message]

    async def again() -> dict[str, Any]:
        return given.pop() if given else await receive()

    return again


async def send_json(send: Any, status: int, body: Any, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A whole JSON answer, straight to ASGI (for what answers before, or without, the app)."""
    await send_whole(send, status, wire.dumps(body), "application/json", list(extra))


async def _answer(send: Any, refused: _Refused) -> None:
    extra = [(b"connection", b"close")]
    if refused.retry_after is not None:
        extra.append((b"retry-after", str(refused.retry_after).encode()))
    await send_json(send, refused.status, wire.error(refused.status, refused.message), tuple(extra))
