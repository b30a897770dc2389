"""A job and its status machine.

A job's status is never set by a background task: it is derived, whenever someone looks, from the
job's timeline, the clock and the polls it has answered. `Job.step`, `step_started` and
`step_polls` only cache how far that derivation has got, so time-based steps end exactly when the
scenario says (not when someone next polls) and poll-based steps end on the poll that uses them up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario.catalogue import VideoModel
from ..scenario.loader import TERMINAL, Respond, Rule, Step, Timeline
from ..scenario.submit import Submission
from .output import Output


@dataclass(frozen=True, slots=True)
class View:
    """Where a job stands: the step in force, the status a poll reports, and since when."""

    index: int
    step: Step
    status: str
    since: float

    @property
    def error_step(self) -> Step | None:
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
    test_id: str = ""
    base_url: str = ""  # the API root the client used, for URLs sent outside a request (webhooks)
    callback_url: str | None = None  # where the ending is delivered: the request's, else the default
    relative_links: bool = False  # polling_url and unsigned_urls as paths, not full URLs
    polls: int = 0
    downloads: int = 0  # download attempts that reached the job (what `download.times` counts)
    downloaded: int = 0  # downloads whose whole body went out
    first_poll_at: float | None = None
    last_poll_at: float | None = None
    late_polls: int = 0  # polls that came after the job had already reported its ending
    step: int = 0
    step_started: float = 0.0
    step_polls: int = 0
    forced: Step | None = None  # a status set through the control API: the timeline stops there
    forced_at: float = 0.0

    def settle(self, now: float) -> None:
        """Move past every time-based step that has run out by `now`."""
        if self.forced is not None:
            return
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
        if self.forced is not None:
            return View(self.step, self.forced, self.forced.status or "pending", self.forced_at)
        self.settle(now)
        return View(self.step, self.timeline.steps[self.step], self.timeline.shown[self.step], self.step_started)

    def force(self, status: str, error: str | None, now: float) -> None:
        """Show `status` from `now` on, for good (a terminal one with its error or the default)."""
        self.forced = Step.model_construct(status=status, error=error)  # type: ignore[arg-type]
        self.forced_at = now

    def count_poll(self, now: float) -> View:
        """The view this poll sees; the poll then counts toward a poll-based step."""
        seen = self.view(now)
        self.polls += 1
        if self.first_poll_at is None:
            self.first_poll_at = now
        self.last_poll_at = now
        if seen.status in TERMINAL:
            self.late_polls += 1
        held = seen.step.polls_held
        if held is not None and not seen.step.terminal and self.forced is None:
            self.step_polls += 1
            if self.step_polls >= held:
                self.step, self.step_started, self.step_polls = self.step + 1, now, 0
        return seen

    def cost(self, view: View) -> float | None:
        return view.step.cost if view.step.cost is not None else self.estimated_cost

    def gone_at(self, view: View, default_ttl: float | None = None) -> float | None:
        """When a completed job's output stops being downloadable, if ever."""
        ttl = view.step.available_for if view.step.available_for is not None else default_ttl
        if view.status != "completed" or ttl is None:
            return None
        return view.since + ttl


def due(fault: Respond | None, count: int) -> Respond | None:
    """`fault` if it applies to the `count`-th time (counting from 1)."""
    if fault is None or (fault.times is not None and count > fault.times):
        return None
    return fault
