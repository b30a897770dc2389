"""Clocks: where a job's timeline reads the time.

Every clock answers `time()` in unix seconds (a float), so job ids, `created` times and
`expires_at` values look like the service's. Only the *rate* differs: a `ScaledClock` runs
`speed` times faster than the wall clock from the moment it starts, and a `ManualClock` moves only
when told to, which is what tests use.

What a client is told must be true in the client's own time: `client_seconds` turns a span of
scenario time into the real seconds it lasts (a `Retry-After`), `client_time` a scenario instant
into the real moment it arrives (an `expires_at`). A manual clock has no real rate: there both
are the scenario's own values, and time passes only when the test advances it.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """What the job store needs from a clock."""

    speed: float

    def time(self) -> float:
        """Unix seconds, as the scenario sees them."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the clock forward at once, as if `seconds` had passed."""
        ...

    def client_seconds(self, seconds: float) -> float:
        """How long `seconds` of scenario time last for a client."""
        ...

    def client_time(self, when: float) -> float:
        """The unix time, in the client's world, at which the scenario clock reads `when`."""
        ...


class ScaledClock:
    """The wall clock, sped up by `speed` from the moment it is created."""

    def __init__(self, speed: float = 1.0, monotonic: Callable[[], float] = _time.monotonic) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self._monotonic = monotonic  # tests pass their own, to move real time by hand
        self._wall_start = _time.time()
        self._mono_start = monotonic()
        self._skipped = 0.0

    def time(self) -> float:
        return self._wall_start + (self._monotonic() - self._mono_start) * self.speed + self._skipped

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        self._skipped += seconds

    def client_seconds(self, seconds: float) -> float:
        return seconds / self.speed

    def client_time(self, when: float) -> float:
        return self._wall_start + (when - self._wall_start - self._skipped) / self.speed


# Where a manual clock starts when runs must repeat exactly (with a seed): 2026-01-01T00:00:00Z.
FIXED_START = 1_767_225_600.0


class ManualClock:
    """A clock that stands still until `advance` moves it."""

    speed = 1.0

    def __init__(self, start: float = FIXED_START) -> None:
        self._now = start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        self._now += seconds

    def client_seconds(self, seconds: float) -> float:
        return seconds

    def client_time(self, when: float) -> float:
        return when


def choose_clock(kind: str = "scaled", speed: float = 1.0, seeded: bool = False) -> Clock:
    """The clock a server runs on: `manual` moves only when told, `scaled` is the wall clock times
    `speed`. A seeded manual clock starts at `FIXED_START`, so job ids repeat exactly from run to
    run; any other starts now."""
    if kind == "manual":
        return ManualClock(FIXED_START if seeded else _time.time())
    return ScaledClock(speed)
