"""Answers whose body is sent a piece at a time: a download (whole, cut short by a fault, or slowed
down) and a deliberately dropped connection. Plain values over async iterators; `app` sends them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from .._asgi import body_headers
from ..scenario.loader import Fault
from ..service.faults import InjectedDrop

CHUNK = 256 * 1024


@dataclass(slots=True)
class Streamed:
    """A status, headers and a body that arrives in chunks. A body that raises `InjectedDrop`
    drops the connection on purpose. `finish(bytes sent, whether all went out)` is called once
    the body has ended, however (whole, cut by a fault, or abandoned by a client that went away);
    without it the request is journalled then as it is."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: AsyncIterator[bytes]
    size: int = 0
    finish: Callable[[int, bool], None] | None = None


class Content:
    """A download's bytes: a scenario's file, read as it is sent, or a generated MP4 in memory."""

    def __init__(self, data: bytes | None = None, path: Path | None = None) -> None:
        self.data = data
        self.path = path
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
                if rate is not None:  # the wait comes first: the body ends with its last chunk
                    await asyncio.sleep(len(chunk) / rate)
                yield chunk

    def answer(self, fault: Fault | None, finish: Callable[[int, bool], None]) -> Streamed:
        """The 200 answer, shaped by a download fault: dropped at once, truncated, or slow; `finish`
        as `Streamed` says."""
        body: AsyncIterator[bytes]
        if fault is not None and (fault.reset or fault.truncate is not None):
            keep = 0 if fault.reset else int(self.size * (fault.truncate or 0))
            body = then_drop(self.chunks(keep))
        elif fault is not None and fault.slow is not None:
            body = self.chunks(rate=fault.slow)
        else:
            body = self.chunks()
        return Streamed(200, body_headers("video/mp4", self.size), body, self.size, finish)


async def then_drop(head: AsyncIterator[bytes] | None = None) -> AsyncIterator[bytes]:
    """`head`, then a dropped connection. An empty chunk goes first, so every server has sent the
    status line and headers before the drop (Granian holds them until the body starts, and would
    turn a drop before it into a 500 of its own)."""
    yield b""
    if head is not None:
        async for chunk in head:
            yield chunk
    raise InjectedDrop()


def dropping(content_type: str, length: int) -> Streamed:
    """An answer that promises `length` bytes, then drops the connection: a reset mid-response."""
    return Streamed(200, body_headers(content_type, length), then_drop())
