"""Finding every job's status changes without visiting every job (for webhooks, the log and the
dashboard)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import NamedTuple

from ..scenario.loader import TERMINAL
from .jobs import Job
from .store import JobStore


class Change(NamedTuple):
    """A job's status changed from `before` (None: just submitted) to `after`, at scenario time `at`
    (when several steps passed between two looks, `at` is when the last of them began)."""

    job: Job
    before: str | None
    after: str
    at: float


class StatusWatcher:
    """Finds the status changes of every job since it last looked, without visiting every job:
    a job is looked at when it is new, when a poll moved it on or it was forced, or when its
    current timed step is due to end. It holds each open job once (however often it is polled) and
    forgets a job once it has ended or its namespace is reset. `follows` picks the jobs it watches
    (the webhook sender watches only jobs with a callback URL)."""

    def __init__(self, store: JobStore, follows: Callable[[Job], bool] | None = None) -> None:
        self.store = store
        self.follows = follows
        self._fresh: list[Job] = []
        # test id -> id(job) -> (job, step index, status last reported, when it is due in `_due`)
        self._shown: dict[str, dict[int, tuple[Job, int, str | None, float | None]]] = {}
        self._due: list[tuple[float, int, Job]] = []  # (when its timed step ends, tiebreak, job)
        self._touched: dict[int, Job] = {}
        self._count = 0
        store.on_create.append(self._created)
        store.on_touch.append(self._touch)
        store.on_reset.append(self._reset)

    def _created(self, job: Job) -> None:
        if self.follows is None or self.follows(job):
            self._fresh.append(job)

    def _entry(self, job: Job) -> tuple[Job, int, str | None, float | None] | None:
        return self._shown.get(job.test_id, {}).get(id(job))

    def _touch(self, job: Job) -> None:
        shown = self._entry(job)
        # A poll that left the job on the step last reported changed nothing (a timed step's end is
        # in the due heap); only a step used up or a forced status needs a look.
        if shown is not None and (job.step != shown[1] or job.forced is not None):
            self._touched[id(job)] = job

    def _reset(self, test_id: str | None) -> None:
        if test_id is None:
            self._fresh = []
            self._shown = {}
            self._due = []
            self._touched = {}
            return
        for key in self._shown.pop(test_id, {}):
            self._touched.pop(key, None)
        self._fresh = [job for job in self._fresh if job.test_id != test_id]
        # entries of `_due` for these jobs are dropped when they come up

    def _look(self, job: Job, found: list[Change]) -> None:
        shown = self._shown.setdefault(job.test_id, {})
        _, last, before, due = shown.get(id(job), (job, -1, None, None))
        view = self.store.peek(job)
        if view.status != before or view.index != last:
            # every status passed since the last look, so a fast clock still shows each step
            passed = job.timeline.shown[max(last, 0) : view.index + 1] if job.forced is None else (view.status,)
            for status in passed:
                if status != before:
                    found.append(Change(job, before, status, view.since))
                    before = status
        if view.status in TERMINAL:
            shown.pop(id(job), None)
            return
        when = None
        if job.forced is None and view.step.hold is not None:
            when = view.since + view.step.hold
            if when != due:  # once per step, however often it is polled
                self._count += 1
                heapq.heappush(self._due, (when, self._count, job))
        shown[id(job)] = (job, view.index, view.status, when)

    def changes(self) -> list[Change]:
        """Each status change since the last look, in order."""
        found: list[Change] = []
        if not self._fresh and not self._touched and (not self._due or self._due[0][0] > self.store.clock.time()):
            return found  # what every poll that changed nothing finds: keep it cheap
        fresh, self._fresh = self._fresh, []
        for job in fresh:
            self._shown.setdefault(job.test_id, {})[id(job)] = (job, -1, None, None)
            self._look(job, found)
        touched, self._touched = list(self._touched.values()), {}
        for job in touched:
            if self._entry(job) is not None:
                self._look(job, found)
        now = self.store.clock.time()
        while self._due and self._due[0][0] <= now:
            when, _, job = heapq.heappop(self._due)
            entry = self._entry(job)
            if entry is not None and entry[3] == when:
                self._look(job, found)
        return found
