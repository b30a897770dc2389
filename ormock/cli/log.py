"""Plain log lines for `ormock serve` without the dashboard: one per request and one per status
change, as text or as JSON lines (`--log-format json`).

Both read what the app and the job store already record; neither changes a job. A status change
is reported before the first request line after it, or within a tenth of a second when no request
comes, stamped with when it happened in real time, with every status the job passed through in
between, so a fast clock still shows each step and the log reads in the order things happened.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from .. import safe
from ..service.clock import ManualClock
from ..service.jobs import Job
from ..service.journal import Entry
from ..service.store import JobStore
from ..service.watcher import StatusWatcher

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

    With `write`, events are gathered and written together a few times a second (`flush`), one
    write for many requests, and a request's line is only formatted then: on the hot path a
    request costs an append. At most `MAX_PENDING` events wait; past that they are flushed at
    once. Without `write`, each line goes to `emit` at once.
    """

    MAX_PENDING = 10_000

    def __init__(self, emit: Emit | None = None, json_lines: bool = False, write: Emit | None = None) -> None:
        self.json_lines = json_lines
        self._write = write
        self._pending: list[str | Entry] = []  # status lines, and requests to be formatted at the flush
        self._emit = emit
        # Called before each request line, so the status changes a request may see come first.
        self.catch_up: Callable[[], None] = lambda: None

    def flush(self, most: int | None = None) -> bool:
        """Writes the waiting events, or the first `most` of them; True if some still wait."""
        if not self._pending:
            return False
        if most is None or most >= len(self._pending):
            pending, self._pending = self._pending, []
        else:
            pending, self._pending = self._pending[:most], self._pending[most:]
        if self._write is not None:
            text = "\n".join(item if isinstance(item, str) else self.line(item) for item in pending) + "\n"
            self._write(text)
        return bool(self._pending)

    def request(self, entry: Entry) -> None:
        # A poll's own line comes before any change it caused (it used up a poll-count step); what it
        # saw was reported before it was counted. Any other request sees what happened before it.
        if entry.what == "poll":
            self.emit(entry)
            self.catch_up()
        else:
            self.catch_up()
            self.emit(entry)

    def emit(self, item: str | Entry) -> None:
        """A line now (without `write`), or an event for the next flush."""
        if self._emit is not None:
            self._emit(item if isinstance(item, str) else self.line(item))
            return
        self._pending.append(item)
        if len(self._pending) >= self.MAX_PENDING:
            self.flush()

    def line(self, entry: Entry) -> str:
        """A request's line, stamped with when it came."""
        path, job = safe.shown(entry.full_path), safe.shown(entry.job_id) if entry.job_id else None
        if self.json_lines:
            event = {
                "event": "request",
                "time": entry.wall,
                "method": entry.method,
                "path": path,
                "status": entry.status,
                "latency_ms": entry.latency_ms,
                "job": job,
                "rule": entry.rule,
                "fault": entry.fault,
                "scripted": entry.scripted,
                "error": entry.error,
            }
            if entry.note is not None:
                event |= {"note": entry.note, "test_id": entry.test_id}
            if entry.complete is not None:
                event |= {"bytes": entry.sent, "complete": entry.complete}
            return json.dumps(event)
        line = f"{entry.method} {path} {entry.status}"
        if job and job not in line:
            line += f" -> {job}"
        if entry.rule:
            line += f" [{entry.rule}]"
        if entry.error and entry.status >= 400:  # why it was refused, in a few words
            line += f": {safe.shown(entry.error, 80)}"
        if entry.scripted:
            line += f" (scripted by rule {entry.scripted})"
        if entry.fault:
            line += f" (injected fault: {entry.fault})"
        if entry.complete is False:
            line += f" (cut off after {entry.sent} bytes)"
        if entry.note is not None:
            line += f" ({safe.shown(entry.note)}{_for_test(entry.test_id)})"
        return f"{_stamp(entry.wall)}  {line}  {entry.latency_ms:.1f} ms"

    def status(self, job: Job, before: str | None, after: str, when: float | None = None) -> None:
        """A status line, stamped `when` (real unix time the change happened; default now)."""
        now = time.time() if when is None else min(when, time.time())
        if self.json_lines:
            event = {
                "event": "status",
                "time": now,
                "job": job.id,
                "test_id": job.test_id,
                "rule": job.rule.name,
                "from": before,
                "to": after,
            }
            self.emit(json.dumps(event))
        else:
            self.emit(f"{_stamp(now)}  {job.id}  [{job.rule.name}]  {before or 'submitted'} -> {after}")


def _for_test(test_id: str) -> str:
    return f" for test id {safe.shown(test_id, 60)!r}" if test_id else " for requests without a test id"


def follow_statuses(store: JobStore, lines: Lines) -> Callable[[], None]:
    """Makes `lines` report each status change before any request line that comes after it (a poll
    that uses up a poll-count step changes the status after its own answer, so that change follows
    its line), and returns the reporter, for changes no request sees to be looked for too."""
    watcher = StatusWatcher(store)
    manual = isinstance(store.clock, ManualClock)

    def report() -> None:
        for change in watcher.changes():
            # A manual clock's times are not the wall's: such a change is stamped when it is seen.
            when = None if manual else store.clock.client_time(change.at)
            lines.status(change.job, change.before, change.after, when)

    lines.catch_up = report
    # What a poll is about to see has happened before it: report it before the poll changes anything.
    store.before_poll.append(report)
    return report


async def watch_statuses(store: JobStore, lines: Lines, interval: float = 0.1, batch: int = 64) -> None:
    """Reports status changes as they happen, and flushes the lines a few times a second, `batch`
    events at a time with a millisecond between slices: formatting a tenth of a second of a busy
    server's lines at once held every request up for milliseconds (under Granian, whose threads
    need the interpreter to hand a request over, even slices with no real pause between did)."""
    report = follow_statuses(store, lines)
    try:
        while True:
            report()
            while lines.flush(batch):
                await asyncio.sleep(0.001)
            await asyncio.sleep(interval)
    finally:
        lines.catch_up = lambda: None
        store.before_poll.remove(report)
