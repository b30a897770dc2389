"""Jobs and the store that holds them.

A job's status is never set by a background task: it is derived, whenever someone looks, from the
job's timeline, the clock and the polls it has answered. `Job.step`, `step_started` and
`step_polls` only cache how far that derivation has got, so time-based steps end exactly when the
scenario says (not when someone next polls) and poll-based steps end on the poll that uses them up.
"""

from __future__ import annotations

import heapq
import string
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from random import Random
from typing import Any, NamedTuple

from .. import safe
from ..scenario.catalogue import VideoModel
from ..scenario.loader import TERMINAL, Respond, Rule, Scenario, Step, Timeline
from ..scenario.submit import Submission
from .clock import Clock
from .output import Output, describe_output, estimate_cost

_ALPHANUMERICS = string.ascii_letters + string.digits
MAX_TEST_IDS = 10_000  # namespaces kept at once (docs/limits.md)
JOURNAL_TOTAL = 100_000  # journal entries kept across all namespaces
JOURNAL_HEADERS = 40  # headers kept of one request


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
    test_id: str = ""
    base_url: str = ""  # the API root the client used, for URLs sent outside a request (webhooks)
    callback_url: str | None = None  # where the ending is delivered: the request's, else the default
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
    answered: tuple[Any, Any] | None = None  # the last job object sent, encoded (see `calls.polled`)

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


def _due(fault: Respond | None, count: int) -> Respond | None:
    """`fault` if it applies to the `count`-th time (counting from 1)."""
    if fault is None or (fault.times is not None and count > fault.times):
        return None
    return fault


@dataclass(slots=True)
class Entry:
    """One API request as the journal keeps it."""

    seq: int
    time: float  # scenario clock, unix seconds
    method: str
    path: str
    query: dict[str, str]
    status: int
    job_id: str | None
    rule: str | None
    latency_ms: float
    headers: list[tuple[bytes, bytes]]  # raw, as received (or sent); the journal decodes and redacts them when read
    body: Any
    error: str | None = None  # the error message answered, if any
    kind: str = "api"  # "api": a request to ormock; "webhook": a delivery attempt from it
    fault: str | None = None  # the injected fault that shaped this answer, if any
    scripted: str | None = None  # the rule whose scripted answer this was (a `respond`), if any
    sent: int | None = None  # content downloads: the bytes of the body sent
    complete: bool | None = None  # content downloads: whether the whole body went out
    wall: float = 0.0  # real unix time the request came
    key: str = ""  # the API key it carried (never shown: the journal and the report redact it)
    agent: str = ""  # its User-Agent
    what: str = "other"  # `submit`, `poll`, `download`, `models`, `other`; `webhook` for a delivery attempt
    test_id: str = ""  # the namespace it is journalled in
    seen: str | None = None  # polls: the job status the answer carried
    retry_after: float | None = None  # the wait the answer asked for, in the client's seconds

    @property
    def full_path(self) -> str:
        """The path and query as a person may see them: secret query values redacted (a webhook's
        URL its userinfo too). Not yet escaped for a terminal: see `safe.shown`."""
        if self.kind == "webhook":
            return safe.url(self.path)
        query = safe.secret_query(self.query)
        return self.path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


class Space:
    """One test's world: its jobs, its journal and its rules' match counts."""

    def __init__(self, test_id: str, seed: int | None, journal_max: int) -> None:
        self.test_id = test_id
        self.seed = seed
        self._random: Random | None = None
        self._fault_random: Random | None = None
        self.jobs: dict[str, Job] = {}
        self.matched: dict[str, int] = {}
        self.journal: deque[Entry] = deque(maxlen=journal_max)
        self.fault_counts: dict[tuple[Any, ...], int] = {}
        self.buckets: dict[str, tuple[float, float]] = {}  # API key -> (tokens, when counted)
        self.accounts: dict[str, Any] = {}  # credit balances by account (see `credits`)
        self.holding: dict[int, Any] = {}  # id(job) -> the account its cost is held on

    @property
    def random(self) -> Random:
        """Job ids: they depend only on the seed, the test id and this namespace's own requests.
        Made on first use, so a namespace that never makes a job costs little."""
        if self._random is None:
            self._random = Random(f"{self.seed}:{self.test_id}") if self.seed is not None else Random()
        return self._random

    @property
    def fault_random(self) -> Random:
        """Faults draw from their own generator, so injecting them never changes the job ids."""
        if self._fault_random is None:
            seeded = self.seed is not None
            self._fault_random = Random(f"{self.seed}:{self.test_id}:faults") if seeded else Random()
        return self._fault_random


class JobStore:
    """Every job of a running server, by test id (`""` when a client sends none)."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        seed: int | None = None,
        journal_max: int = 1000,
        max_test_ids: int = MAX_TEST_IDS,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.seed = seed
        self.journal_max = journal_max
        self.max_test_ids = max_test_ids
        self.journal_total = max(journal_max, JOURNAL_TOTAL)
        self._journal_count = 0  # entries in all the journals together
        self._written: dict[str, Space] = {}
        self.started = clock.time()
        self.notices: deque[str] = deque(maxlen=20)  # server messages for the dashboard (e.g. reloads)
        self.on_create: list[Callable[[Job], None]] = []  # told of every new job
        self.on_touch: list[Callable[[Job], None]] = []  # told of every poll or forced status, by job
        self.on_reset: list[Callable[[str | None], None]] = []  # told of a reset: its test id, None for all
        self.before_poll: list[Callable[[], None]] = []  # called before a poll is counted (the log's catch-up)
        self._spaces: dict[str, Space] = {}
        self._empty: dict[str, None] = {}  # namespaces with no job yet, oldest first: the first to go
        self._order: dict[int, Job] = {}  # every job, oldest first, by id(job)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._order)

    def jobs(self) -> Iterator[Job]:
        """Every job, oldest first, without copying the list (do not change the store meanwhile)."""
        return iter(self._order.values())

    def space(self, test_id: str = "") -> Space:
        """The namespace `test_id`, made if need be. At most `max_test_ids` exist: past that, the
        oldest one with no job goes (its journal with it), else the oldest one (its jobs too)."""
        found = self._spaces.get(test_id)
        if found is None:
            if len(self._spaces) >= self.max_test_ids:
                self._evict()
            found = self._spaces[test_id] = Space(test_id, self.seed, self.journal_max)
            self._empty[test_id] = None
        return found

    def _evict(self) -> None:
        if self._empty:
            oldest = next(iter(self._empty))
            if not self._spaces[oldest].jobs:
                self.reset(oldest)
                return
        oldest = next(iter(self._spaces))
        count = len(self._spaces[oldest].jobs)
        self.reset(oldest)
        self.notices.append(
            f"more than {self.max_test_ids} test ids: dropped the oldest, "
            f"{safe.shown(oldest, 60)!r}, and its {count} job(s)"
        )

    def find_space(self, test_id: str) -> Space | None:
        """The namespace, if it exists (`space` makes it)."""
        return self._spaces.get(test_id)

    def spaces(self, test_id: str | None) -> list[Space]:
        """The namespace named, or all of them for None."""
        if test_id is None:
            return list(self._spaces.values())
        return [self._spaces[test_id]] if test_id in self._spaces else []

    def _new_id(self, space: Space, now: float) -> str:
        while True:
            tail = "".join(space.random.choices(_ALPHANUMERICS, k=20))
            job_id = f"gen-vid-{int(now)}-{tail}"
            if job_id not in space.jobs:
                return job_id

    def choose(self, sub: Submission, test_id: str = "") -> tuple[Rule, Respond | None]:
        """The rule that takes `sub`, and the error its `submit` answers this time, if any."""
        space = self.space(test_id)
        rule = self.scenario.pick(sub)
        count = space.matched[rule.name] = space.matched.get(rule.name, 0) + 1
        return rule, _due(rule.submit, count)

    def create(self, sub: Submission, rule: Rule, test_id: str = "", base_url: str = "") -> Job:
        """A new job for `sub`, following `rule`'s timeline from now."""
        space = self.space(test_id)
        now = self.clock.time()
        model = self.scenario.models[sub.model]
        job = Job(
            id=self._new_id(space, now),
            rule=rule,
            timeline=self.scenario.timeline(rule),
            submission=sub,
            model=model,
            output=describe_output(model, sub),
            estimated_cost=estimate_cost(model, sub),
            created_at=now,
            test_id=test_id,
            base_url=base_url,
            callback_url=sub.callback_url or self.scenario.webhooks.url,
            step_started=now,
        )
        space.jobs[job.id] = job
        self._empty.pop(test_id, None)
        self._order[id(job)] = job
        for listener in self.on_create:
            listener(job)
        return job

    def cost_of(self, sub: Submission, rule: Rule) -> float | None:
        """What a job of `rule` for `sub` will cost when it completes."""
        final = self.scenario.timeline(rule).steps[-1]
        if final.cost is not None:
            return final.cost
        return estimate_cost(self.scenario.models[sub.model], sub)

    def get(self, job_id: str, test_id: str | None = "") -> Job | None:
        """The job in namespace `test_id`, or in any namespace for None."""
        for space in self.spaces(test_id):
            if job_id in space.jobs:
                return space.jobs[job_id]
        return None

    def poll(self, job: Job) -> View:
        for hook in self.before_poll:
            hook()
        view = job.count_poll(self.clock.time())
        for listener in self.on_touch:
            listener(job)
        return view

    def peek(self, job: Job) -> View:
        return job.view(self.clock.time())

    def download(self, job: Job) -> Respond | None:
        """Counts a download attempt; the error its rule answers it with, if any."""
        job.downloads += 1
        return _due(job.rule.download, job.downloads)

    def force(self, job: Job, status: str, error: str | None = None) -> View:
        job.force(status, error, self.clock.time())
        for listener in self.on_touch:
            listener(job)
        return self.peek(job)

    def record(self, test_id: str, **fields: Any) -> Entry:
        entry = Entry(seq=0, time=self.clock.time(), **fields)
        self.keep(test_id, entry)
        return entry

    def keep(self, test_id: str, entry: Entry) -> None:
        """Adds `entry` to the journal of `test_id`, numbering it. Each namespace keeps its last
        `journal_max` entries, and all of them together at most `journal_total`: past that, the
        namespace written least recently gives up its oldest entry."""
        self._seq += 1
        entry.seq = self._seq
        entry.test_id = test_id
        if len(entry.headers) > JOURNAL_HEADERS:
            entry.headers = entry.headers[:JOURNAL_HEADERS]
        space = self.space(test_id)
        if len(space.journal) < (space.journal.maxlen or 0):
            self._journal_count += 1
        space.journal.append(entry)
        if not self._written or next(reversed(self._written)) != test_id:
            self._written.pop(test_id, None)
            self._written[test_id] = space  # namespaces by their last write, the least recent first
        while self._journal_count > self.journal_total:  # the least recently written namespace gives one up
            quiet = next(iter(self._written.values()))
            if quiet.journal:
                quiet.journal.popleft()
                self._journal_count -= 1
            if not quiet.journal:
                del self._written[quiet.test_id]

    def journal(self, test_id: str | None) -> list[Entry]:
        entries = [entry for space in self.spaces(test_id) for entry in space.journal]
        return sorted(entries, key=lambda entry: entry.seq)

    def reset(self, test_id: str | None = None) -> None:
        """Jobs, journal and match counts back to a fresh start, for one namespace or all. It costs
        time in proportion to the jobs it removes, and no one else's are touched."""
        for listener in self.on_reset:  # told first, while what goes is still there to look at
            listener(test_id)
        if test_id is None:
            self._spaces.clear()
            self._empty.clear()
            self._written.clear()
            self._journal_count = 0
            self._order = {}
        else:
            self._empty.pop(test_id, None)
            self._written.pop(test_id, None)
            space = self._spaces.pop(test_id, None)
            self._journal_count -= len(space.journal) if space is not None else 0
            for job in space.jobs.values() if space is not None else ():
                del self._order[id(job)]


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
