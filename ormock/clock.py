"""Clocks: where a job's timeline reads the time.

Every clock answers `time()` in unix seconds (a float), so job ids, `created` times and
`expires_at` values look like the service's. Only the *rate* differs: a `ScaledClock` runs
`speed` times faster than the wall clock from the moment it starts, and a `ManualClock` moves only
when told to, which is what tests use.
"""

from __future__ import annotations

import time as _time
from typing import Protocol


class Clock(Protocol):
    """What the job store needs from a clock."""

    speed: float

    def time(self) -> float:
        """Unix seconds, as the scenario sees them."""
        ...


class ScaledClock:
    """The wall clock, sped up by `speed` from the moment it is created."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self._wall_start = _time.time()
        self._mono_start = _time.monotonic()

    def time(self) -> float:
        return self._wall_start + (_time.monotonic() - self._mono_start) * self.speed


class ManualClock:
    """A clock that stands still until `advance` moves it."""

    speed = 1.0

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        self._now += seconds
