"""Plain log lines for `ormock serve` without the dashboard: one per request and one per status
change, as text or as JSON lines (`--log-format json`).

Both read what the app and the job store already record; neither changes a job. A status change
is reported when the watcher sees it (a few times a second), with every status the job passed
through in between, so a fast clock still shows each step.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections.abc import Callable
from typing import Any

from .jobs import Job, JobStore
from .scenario import TERMINAL

Emit = Callable[[str], None]


_clock_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _stamp(now: float) -> str:
    """`HH:MM:SS.mmm` local time; the seconds part is formatted once per second."""
    second = int(now)
    if second != _clock_second[0]:
        _clock_second[0], _clock_second[1] = second, time.strftime("%H:%M:%S", time.localtime(second))
    return f"{_clock_second[1]}.{int(now % 1 * 1000):03d}"


class Lines:
    """Turns events into lines: readable text, or one JSON object per line.

    With `write`, lines are gathered and written together a few times a second (`flush`), one
    write for many requests; without it, each goes to `emit` at once.
    """

    def __init__(self, emit: Emit | None = None, json_lines: bool = False, write: Emit | None = None) -> None:
        self.json_lines = json_lines
        self._write = write
        self._pending: list[str] = []
        self.emit: Emit = emit if emit is not None else self._pending.append

    def flush(self) -> None:
        if self._pending and self._write is not None:
            text = "\n".join(self._pending) + "\n"
            self._pending.clear()
            self._write(text)

    def request(
        self, method: str, path: str, status: int, latency: float, job: str | None, rule: str | None,
        fault: str | None = None,
    ) -> None:  # fmt: skip
        now = time.time()
        if self.json_lines:
            event = {"event": "request", "time": now, "method": method, "path": path, "status": status,
                     "latency_ms": round(latency * 1000, 3), "job": job, "rule": rule, "fault": fault}  # fmt: skip
            self.emit(json.dumps(event))
            return
        line = f"{method} {path} {status}"
        if job and job not in line:
            line += f" -> {job}"
        if rule:
            line += f" [{rule}]"
        if fault:
            line += f" (injected fault: {fault})"
        self.emit(f"{_stamp(now)}  {line}  {latency * 1000:.1f} ms")

    def status(self, job: Job, before: str | None, after: str) -> None:
        now = time.time()
        if self.json_lines:
            event = {"event": "status", "time": now, "job": job.id, "test_id": job.test_id,
                     "rule": job.rule.name, "from": before, "to": after}  # fmt: skip
            self.emit(json.dumps(event))
        else:
            self.emit(f"{_stamp(now)}  {job.id}  [{job.rule.name}]  {before or 'submitted'} -> {after}")


class StatusWatcher:
    """Finds the status changes of every job since it last looked, without visiting every job:
    a job is looked at when it is new, when it was polled or forced, or when its current timed
    step is due to end."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._known = 0  # jobs of the store already taken in
        self._generation = store.generation
        self._shown: dict[int, tuple[int, str | None]] = {}  # id(job) -> (step, status) last reported
        self._due: list[tuple[float, int, Job]] = []  # (when its timed step ends, tiebreak, job)
        self._touched: dict[int, Job] = {}
        self._count = 0
        store.on_touch.append(self._touch)

    def _touch(self, job: Job) -> None:
        if id(job) in self._shown:
            self._touched[id(job)] = job

    def _schedule(self, job: Job) -> None:
        view = self.store.peek(job)
        if job.forced is None and view.step.hold is not None and view.status not in TERMINAL:
            self._count += 1
            heapq.heappush(self._due, (view.since + view.step.hold, self._count, job))

    def _look(self, job: Job, found: list[tuple[Job, str | None, str]]) -> None:
        last, before = self._shown.get(id(job), (-1, None))
        view = self.store.peek(job)
        if view.status != before or view.index != last:
            # every status passed since the last look, so a fast clock still shows each step
            passed = job.timeline.shown[max(last, 0) : view.index + 1] if job.forced is None else (view.status,)
            for status in passed:
                if status != before:
                    found.append((job, before, status))
                    before = status
        if view.status in TERMINAL:
            self._shown.pop(id(job), None)
        else:
            self._shown[id(job)] = (view.index, view.status)

    def changes(self) -> list[tuple[Job, str | None, str]]:
        """(job, status before, status after) for each change, in order."""
        if self._generation != self.store.generation:  # a reset: start over
            self._generation, self._known, self._shown, self._due, self._touched = self.store.generation, 0, {}, [], {}
        found: list[tuple[Job, str | None, str]] = []
        fresh = self.store.since(self._known)
        self._known += len(fresh)
        for job in fresh:
            self._shown[id(job)] = (-1, None)
            self._look(job, found)
            self._schedule(job)
        touched, self._touched = list(self._touched.values()), {}
        for job in touched:
            if id(job) in self._shown:
                self._look(job, found)
                self._schedule(job)
        now = self.store.clock.time()
        while self._due and self._due[0][0] <= now:
            _, _, job = heapq.heappop(self._due)
            if id(job) in self._shown:
                self._look(job, found)
                self._schedule(job)
        return found


async def watch_statuses(store: JobStore, lines: Lines, interval: float = 0.1) -> None:
    """Reports status changes, and flushes the lines written since the last look."""
    watcher = StatusWatcher(store)
    while True:
        for job, before, after in watcher.changes():
            lines.status(job, before, after)
        lines.flush()
        await asyncio.sleep(interval)
