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

from .jobs import JobStore

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
        self._open: dict[str, tuple[int, str | None]] = {}  # job id -> (step index, status) last reported

    def changes(self) -> list[str]:
        fresh = self.store.since(self._known)
        self._known += len(fresh)
        for job in fresh:
            self._open[job.id] = (-1, None)
        lines = []
        for job_id, (last, before) in list(self._open.items()):
            found = self.store.get(job_id)
            if found is None:
                del self._open[job_id]
                continue
            view = self.store.peek(found)
            if view.index == last:
                continue
            for status in found.timeline.shown[max(last, 0) : view.index + 1]:
                if status != before:
                    lines.append(f"{_stamp()}  {found.id}  [{found.rule.name}]  {before or 'submitted'} -> {status}")
                    before = status
            if view.step.terminal:
                del self._open[job_id]
            else:
                self._open[job_id] = (view.index, before)
        return lines


async def watch_statuses(store: JobStore, emit: Emit, interval: float = 0.1) -> None:
    watcher = StatusWatcher(store)
    while True:
        for line in watcher.changes():
            emit(line)
        await asyncio.sleep(interval)
