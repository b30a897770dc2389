"""Plain log lines for `ormock serve`: one per request and one per status change.

Both read what the app and the job store already record; neither changes a job. A status change
is reported when the watcher sees it (a few times a second), with every status the job passed
through in between, so a fast clock still shows each step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .jobs import Job, JobStore
from .scenario import TERMINAL

Emit = Callable[[str], None]


def _stamp() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


class RequestLines(logging.Handler):
    """Turns the app's request records into lines: time, method, path, status, latency, job."""

    def __init__(self, emit: Emit) -> None:
        super().__init__()
        self.emit_line = emit

    def emit(self, record: logging.LogRecord) -> None:
        latency = getattr(record, "latency", 0.0) * 1000
        line = record.getMessage()
        job = getattr(record, "job_id", None)
        if job and job not in line:
            line += f" -> {job}"
        rule = getattr(record, "rule", None)
        if rule:
            line += f" [{rule}]"
        self.emit_line(f"{_stamp()}  {line}  {latency:.1f} ms")


def attach_request_lines(emit: Emit) -> RequestLines:
    handler = RequestLines(emit)
    logger = logging.getLogger("ormock.requests")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


class StatusWatcher:
    """Finds the status changes of every job since it last looked."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._known = 0  # jobs of the store already taken in
        self._generation = store.generation
        self._open: dict[int, tuple[Job, int, str | None]] = {}  # (job, step index, status) last reported

    def changes(self) -> list[str]:
        if self._generation != self.store.generation:  # a reset: start over
            self._generation, self._known, self._open = self.store.generation, 0, {}
        fresh = self.store.since(self._known)
        self._known += len(fresh)
        for job in fresh:
            self._open[id(job)] = (job, -1, None)
        lines = []
        for key, (job, last, before) in list(self._open.items()):
            view = self.store.peek(job)
            if view.index == last and view.status == before:
                continue
            shown = job.timeline.shown[max(last, 0) : view.index + 1] if job.forced is None else (view.status,)
            for status in shown:
                if status != before:
                    lines.append(f"{_stamp()}  {job.id}  [{job.rule.name}]  {before or 'submitted'} -> {status}")
                    before = status
            if view.status in TERMINAL:
                del self._open[key]
            else:
                self._open[key] = (job, view.index, before)
        return lines


async def watch_statuses(store: JobStore, emit: Emit, interval: float = 0.1) -> None:
    watcher = StatusWatcher(store)
    while True:
        for line in watcher.changes():
            emit(line)
        await asyncio.sleep(interval)
