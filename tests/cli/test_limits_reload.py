"""`--watch` never takes a half-written file: an editor that truncates the file, then writes it,
is caught between the two, and the scenario in force stays until the whole file is there."""

from __future__ import annotations

import asyncio
import os

from support import FAST, SLOW, touch_newer

from ormock import ManualClock, create_app, load_scenario
from ormock.cli.watch import reload_if_changed, watch_scenario


def test_a_file_that_became_empty_is_not_loaded(tmp_path):
    path = tmp_path / "live.toml"
    path.write_text(SLOW)
    store = create_app(load_scenario(path), ManualClock()).store
    before = store.scenario
    said: list[str] = []
    touch_newer(path, "")
    reload_if_changed(path, store, None, said.append)
    assert store.scenario is before
    assert said == [f"ormock: {path} is empty (half-saved?); still serving the previous scenario"]


async def test_the_watcher_waits_until_the_file_holds_still(tmp_path):
    """A save in two steps, a look apart: the watcher sees the truncation, waits, then loads the
    whole file once it stops changing; the empty file is never served."""
    path = tmp_path / "live.toml"
    path.write_text(SLOW)
    store = create_app(load_scenario(path), ManualClock()).store
    said: list[str] = []
    served: list[str] = []
    watching = asyncio.create_task(watch_scenario(path, store, said.append, interval=0.01))
    try:
        for _ in range(3):  # the watcher has taken its first look
            await asyncio.sleep(0.01)
        stamp = path.stat().st_mtime_ns
        path.write_text("")  # the editor truncates ...
        os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
        for _ in range(500):  # until the watcher has seen the empty file hold still (bounded)
            await asyncio.sleep(0.01)
            served.append(store.scenario.default.timeline[0].status)
            if said:
                break
        touch_newer(path, FAST)  # ... then writes the whole file
        for _ in range(200):
            await asyncio.sleep(0.01)
            served.append(store.scenario.default.timeline[0].status)
            if served[-1] == "failed":
                break
    finally:
        watching.cancel()
    assert set(served[:-1]) == {"in_progress"} and served[-1] == "failed"
    assert said[0].endswith("is empty (half-saved?); still serving the previous scenario")
    assert said[-1].startswith(f"ormock: reloaded {path}")
