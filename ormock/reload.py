"""`serve --watch`: load the scenario again when its file changes, keeping every existing job.

An edit that doesn't load is reported with the usual messages and the scenario in force stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from .jobs import JobStore
from .scenario import ScenarioError, load


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def reload_if_changed(path: Path, store: JobStore, last: tuple[int, int] | None, say: Callable[[str], None]):
    """One look at the file: swaps in the new scenario if it changed and loads. Returns what was seen."""
    now = _signature(path)
    if now == last or now is None:
        return last
    try:
        store.scenario = load(path)
    except ScenarioError as exc:
        say(f"ormock: {path} changed but does not load; still serving the previous scenario:\n{exc}")
        return now
    say(f"ormock: reloaded {path} ({len(store.scenario.rules)} rules); existing jobs keep their timelines")
    for warning in store.scenario.warnings:
        say(warning.format(str(path)))
    return now


async def watch_scenario(path: Path, store: JobStore, say: Callable[[str], None], interval: float = 0.3) -> None:
    last = _signature(path)
    while True:
        await asyncio.sleep(interval)
        last = reload_if_changed(path, store, last, say)
