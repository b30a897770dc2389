"""Wakes `/__ormock/wait` requests when something may have changed the job they wait on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable


class Changes:
    """`wait(key, timeout)` parks until `notify(key)` (a request about that job, a status forced on
    it) or `notify()` (the clock moved, a reset), or the timeout. A parked waiter costs nothing: it
    is woken only for its own job. It holds one event per key someone is waiting on, no more."""

    def __init__(self) -> None:
        self._events: dict[Hashable, asyncio.Event] = {}
        self._waiting: dict[Hashable, int] = {}

    def notify(self, key: Hashable | None = None) -> None:
        if key is None:
            events, self._events = list(self._events.values()), {}
        else:
            found = self._events.pop(key, None)
            events = [found] if found is not None else []
        for event in events:
            event.set()

    async def wait(self, key: Hashable, timeout: float) -> None:
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                if self._events.get(key) is event:
                    del self._events[key]


def job_key(test_id: str, job_id: str) -> tuple[str, str]:
    """What a waiter on a job waits on, and a request about it notifies."""
    return test_id, job_id
