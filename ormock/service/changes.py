"""Wakes `/__ormock/wait` requests when a request or a clock move may have changed a job."""

from __future__ import annotations

import asyncio
import contextlib


class Changes:
    """`notify()` wakes every `wait(timeout)` under way: on each journalled request and each control
    request that moves the clock or a job."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
