"""The store: every job of a running server and every request's journal entry, by namespace (test
id), each bounded (docs/limits.md)."""

from __future__ import annotations

import dataclasses
import string
from collections import deque
from collections.abc import Callable, Iterator
from random import Random
from typing import Any

from .. import safe
from ..scenario.loader import Respond, Rule, Scenario
from ..scenario.submit import Submission
from .clock import Clock
from .jobs import Job, View, due
from .journal import Entry
from .output import describe_output, estimate_cost

_ALPHANUMERICS = string.ascii_letters + string.digits
KEPT_PROMPT = 512  # characters of its prompt a job keeps once its rule is chosen (bodies are pruned alike)
MAX_TEST_IDS = 10_000  # namespaces kept at once (docs/limits.md)
JOURNAL_TOTAL = 100_000  # journal entries kept across all namespaces
JOURNAL_HEADERS = 40  # headers kept of one request


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

    def choose(self, sub: Submission, test_id: str = "", rule: Rule | None = None) -> tuple[Rule, Respond | None]:
        """The rule that takes `sub` (`rule`, when the scenario picked it already), and the error
        its `submit` answers this time, if any."""
        space = self.space(test_id)
        rule = rule or self.scenario.pick(sub)
        count = space.matched[rule.name] = space.matched.get(rule.name, 0) + 1
        return rule, due(rule.submit, count)

    def create(self, sub: Submission, rule: Rule, test_id: str = "", base_url: str = "") -> Job:
        """A new job for `sub`, following `rule`'s timeline from now."""
        space = self.space(test_id)
        now = self.clock.time()
        model = self.scenario.models[sub.model]
        job = Job(
            id=self._new_id(space, now),
            rule=rule,
            timeline=self.scenario.timeline(rule),
            submission=dataclasses.replace(sub, prompt=sub.prompt[:KEPT_PROMPT]),  # matched already
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
        return due(job.rule.download, job.downloads)

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
