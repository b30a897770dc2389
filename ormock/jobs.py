"""Jobs and the store that holds them.

A job's status is never set by a background task: it is derived, whenever someone looks, from the
job's timeline, the clock and the polls it has answered. `Job.step`, `step_started` and
`step_polls` only cache how far that derivation has got, so time-based steps end exactly when the
scenario says (not when someone next polls) and poll-based steps end on the poll that uses them up.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass

from .catalogue import VideoModel
from .clock import Clock
from .output import Output, describe_output, estimate_cost
from .scenario import Respond, Rule, Scenario, Step, Timeline
from .submit import Submission

_ALPHANUMERICS = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class View:
    """Where a job stands: the step in force, the status a poll reports, and since when."""

    index: int
    step: Step
    status: str
    since: float

    @property
    def fault(self) -> Step | None:
        """The error step answering polls now, if any."""
        return self.step if self.step.respond is not None else None


@dataclass(slots=True)
class Job:
    id: str
    rule: Rule
    timeline: Timeline
    submission: Submission
    model: VideoModel
    output: Output
    estimated_cost: float | None
    created_at: float
    polls: int = 0
    downloads: int = 0
    last_poll_at: float | None = None
    step: int = 0
    step_started: float = 0.0
    step_polls: int = 0

    def settle(self, now: float) -> None:
        """Move past every time-based step that has run out by `now`."""
        steps = self.timeline.steps
        while True:
            step = steps[self.step]
            if step.terminal or step.hold is None:
                return
            end = self.step_started + step.hold
            if now < end:
                return
            self.step, self.step_started, self.step_polls = self.step + 1, end, 0

    def view(self, now: float) -> View:
        self.settle(now)
        return View(self.step, self.timeline.steps[self.step], self.timeline.shown[self.step], self.step_started)

    def count_poll(self, now: float) -> View:
        """The view this poll sees; the poll then counts toward a poll-based step."""
        seen = self.view(now)
        self.polls += 1
        self.last_poll_at = now
        held = seen.step.polls_held
        if held is not None and not seen.step.terminal:
            self.step_polls += 1
            if self.step_polls >= held:
                self.step, self.step_started, self.step_polls = self.step + 1, now, 0
        return seen

    @property
    def final(self) -> Step:
        return self.timeline.steps[-1]

    def cost(self) -> float | None:
        return self.final.cost if self.final.cost is not None else self.estimated_cost

    def gone_at(self, view: View) -> float | None:
        """When a completed job's output stops being downloadable, if ever."""
        if view.status != "completed" or view.step.available_for is None:
            return None
        return view.since + view.step.available_for


def _due(fault: Respond | None, count: int) -> Respond | None:
    """`fault` if it applies to the `count`-th time (counting from 1)."""
    if fault is None or (fault.times is not None and count > fault.times):
        return None
    return fault


class JobStore:
    """Every job of a running server, and the counters rules need."""

    def __init__(self, scenario: Scenario, clock: Clock, seed: int | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self._random = random.Random(seed)
        self._jobs: dict[str, Job] = {}
        self._order: list[Job] = []
        self._matched: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._order))

    def _new_id(self, now: float) -> str:
        while True:
            tail = "".join(self._random.choices(_ALPHANUMERICS, k=20))
            job_id = f"gen-vid-{int(now)}-{tail}"
            if job_id not in self._jobs:
                return job_id

    def submit(self, sub: Submission) -> tuple[Rule, Job | Respond]:
        """The rule that takes `sub`, and a new job or the error the rule answers the submit with."""
        rule = self.scenario.pick(sub)
        count = self._matched[rule.name] = self._matched.get(rule.name, 0) + 1
        fault = _due(rule.submit, count)
        if fault is not None:
            return rule, fault
        now = self.clock.time()
        model = self.scenario.models[sub.model]
        job = Job(
            id=self._new_id(now),
            rule=rule,
            timeline=self.scenario.timeline(rule),
            submission=sub,
            model=model,
            output=describe_output(model, sub),
            estimated_cost=estimate_cost(model, sub),
            created_at=now,
            step_started=now,
        )
        self._jobs[job.id] = job
        self._order.append(job)
        return rule, job

    def since(self, count: int) -> list[Job]:
        """The jobs created after the first `count`, oldest first."""
        return self._order[count:]

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def poll(self, job: Job) -> View:
        return job.count_poll(self.clock.time())

    def peek(self, job: Job) -> View:
        return job.view(self.clock.time())

    def download(self, job: Job) -> Respond | None:
        """Counts a download attempt; the error its rule answers it with, if any."""
        job.downloads += 1
        return _due(job.rule.download, job.downloads)

    def matched(self, rule_name: str) -> int:
        return self._matched.get(rule_name, 0)
