"""ASGI named once: the types every layer's signatures use, the header list of a whole body, and
the answer to a lifespan scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: a framework's app (Quart's) types its scopes and messages its own way.
ASGIApp = Callable[..., Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def replaying(body: bytes, then: Receive) -> Receive:
    """A `receive` that gives a body already read, whole, then what `then` gives (the client's
    disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return replay


def body_headers(content_type: str | None, length: int) -> Headers:
    """The headers of a body sent whole: its type (none for an answer without a body) and length."""
    headers = [(b"content-length", str(length).encode())]
    if content_type is not None:
        headers.insert(0, (b"content-type", content_type.encode()))
    return headers


async def send_whole(
    send: Send, status: int, body: bytes, content_type: str | None, extra: Headers | None = None
) -> None:
    """An answer with its whole body, straight to ASGI."""
    headers = [*body_headers(content_type, len(body)), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(
    receive: Receive,
    send: Send,
    on_startup: Callable[[], Coroutine[Any, Any, None]] | None = None,
    on_shutdown: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Answers an ASGI lifespan scope: `on_startup` runs before the startup is acknowledged,
    `on_shutdown` before the shutdown is."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if on_startup is not None:
                await on_startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
