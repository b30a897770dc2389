"""`serve --watch`: load the scenario again when its file changes, keeping every existing job.

An edit that doesn't load is reported with the usual messages and the scenario in force stays.
A file is loaded only once it has stopped changing for one look (an editor that truncates, then
writes, is caught between the two), and an empty file is never taken on a reload: an empty
scenario is valid, but a scenario file that becomes empty is almost always half-saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from ..scenario.loader import ScenarioError, load
from ..service.store import JobStore


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
    if now[1] == 0:
        say(f"ormock: {path} is empty (half-saved?); still serving the previous scenario")
        return now
    try:
        loaded = load(path, store.scenario.content_dirs)
    except ScenarioError as exc:
        if _signature(path) != now:  # changed while being read: look again
            return last
        say(f"ormock: {path} changed but does not load; still serving the previous scenario:\n{exc}")
        return now
    if _signature(path) != now:  # changed while being read: look again
        return last
    store.scenario = loaded
    say(f"ormock: reloaded {path} ({len(store.scenario.rules)} rules); existing jobs keep their timelines")
    for warning in store.scenario.warnings:
        say(warning.format(str(path)))
    return now


async def watch_scenario(path: Path, store: JobStore, say: Callable[[str], None], interval: float = 0.3) -> None:
    last = seen = _signature(path)
    while True:
        await asyncio.sleep(interval)
        now = _signature(path)
        if now != seen:  # changing: wait until it has held still for one look
            seen = now
            continue
        last = reload_if_changed(path, store, last, say)
