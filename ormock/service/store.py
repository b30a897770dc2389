"""The store: every job of a running server and every request's journal entry, by namespace (test
id), each bounded (docs/limits.md)."""

from __future__ import annotations

import dataclasses
import string
from collections import deque
from collections.abc import Callable, Iterator
from random import Random
from typing import Any, NamedTuple

from .. import safe
from ..scenario.loader import Pick, Respond, Rule, RuleSet, Scenario, Timeline
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
MAX_ADDED_RULES = 100  # rules one namespace may have added at runtime (docs/limits.md)
MAX_SCRIPTED = 1_000  # namespaces holding rules added at runtime or a scenario of their own, at once


class Refused(ValueError):
    """A change to a namespace's rules or scenario that would pass a bound (docs/limits.md)."""


class Choice(NamedTuple):
    """The rule a submit met: its timeline, whether a test added it at runtime, and the error its
    `submit` answers this time, if any."""

    rule: Rule
    timeline: Timeline
    added: bool
    refusal: Respond | None


class Space:
    """One test's world: its jobs, its journal, its rules' match counts and the rules its test added
    at runtime. (A scenario of its own, if it has one, is the store's `own`.)"""

    def __init__(self, test_id: str, seed: int | None, journal_max: int) -> None:
        self.test_id = test_id
        self.seed = seed
        self._random: Random | None = None
        self._fault_random: Random | None = None
        self.jobs: dict[str, Job] = {}
        self.matched: dict[str, int] = {}  # submits each scenario rule took, by name
        self.added = RuleSet()  # rules added at runtime, in the order they are tried
        self.added_matched: dict[str, int] = {}  # submits each of those took, by name
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
        self._scripted: dict[str, None] = {}  # namespaces with added rules or a scenario of their own
        self.own: dict[str, Scenario] = {}  # the namespaces' own scenarios (PUT /__ormock/scenario)
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

    def scenario_for(self, test_id: str) -> Scenario:
        """The scenario namespace `test_id` follows: its own, else the server's."""
        return self.own.get(test_id, self.scenario) if self.own else self.scenario  # one test per poll

    def pick(self, sub: Submission, test_id: str = "") -> tuple[Pick, bool]:
        """The rule that takes `sub` in namespace `test_id`, and whether a test added it at
        runtime: those are tried first, then its scenario's rules, then the default. It changes
        nothing, so it may run in a worker thread."""
        space = self._spaces.get(test_id)
        if space is not None and space.added:
            found = space.added.first(sub, space.added_matched)
            if found is not None:
                return found, True
        return self.scenario_for(test_id).find(sub, space.matched if space is not None else {}), False

    def choose(self, sub: Submission, test_id: str = "", picked: tuple[Pick, bool] | None = None) -> Choice:
        """The rule that takes `sub` (`picked`, when `pick` found it already), counted as taking it."""
        space = self.space(test_id)
        (rule, timeline), added = picked or self.pick(sub, test_id)
        counts = space.added_matched if added else space.matched
        if rule.uses is not None and counts.get(rule.name, 0) >= rule.uses:  # used up while it was picked
            (rule, timeline), added = self.pick(sub, test_id)
            counts = space.added_matched if added else space.matched
        count = counts[rule.name] = counts.get(rule.name, 0) + 1
        return Choice(rule, timeline, added, due(rule.submit, count))

    def create(self, sub: Submission, choice: Choice, test_id: str = "", base_url: str = "") -> Job:
        """A new job for `sub`, following the timeline of the rule it met from now."""
        space = self.space(test_id)
        now = self.clock.time()
        scenario = self.scenario_for(test_id)
        model = scenario.models[sub.model]
        job = Job(
            id=self._new_id(space, now),
            rule=choice.rule,
            timeline=choice.timeline,
            submission=dataclasses.replace(sub, prompt=sub.prompt[:KEPT_PROMPT]),  # matched already
            model=model,
            output=describe_output(model, sub),
            estimated_cost=estimate_cost(model, sub),
            created_at=now,
            test_id=test_id,
            base_url=base_url,
            callback_url=sub.callback_url or scenario.webhooks.url,
            relative_links=(choice.rule.links or scenario.server.links) == "relative",
            step_started=now,
        )
        space.jobs[job.id] = job
        self._empty.pop(test_id, None)
        self._order[id(job)] = job
        for listener in self.on_create:
            listener(job)
        return job

    def cost_of(self, sub: Submission, choice: Choice, test_id: str = "") -> float | None:
        """What a job of the rule `sub` met will cost when it completes."""
        final = choice.timeline.steps[-1]
        if final.cost is not None:
            return final.cost
        return estimate_cost(self.scenario_for(test_id).models[sub.model], sub)

    # --- scripting a namespace at runtime (the control API's /rules and /scenario) -------------
    def _scripting(self, test_id: str) -> Space:
        space = self.space(test_id)
        if not space.added and test_id not in self.own and len(self._scripted) >= MAX_SCRIPTED:
            raise Refused(f"{MAX_SCRIPTED} test ids hold rules or scenarios of their own already; reset some first")
        self._scripted[test_id] = None
        return space

    def add_rules(self, test_id: str, rules: RuleSet) -> RuleSet:
        """Puts `rules` before the namespace's other added rules, in their own order; an added rule
        of the same name is replaced (its count starts again). Returns the added rules now."""
        space = self._scripting(test_id)
        names = {rule.name for rule in rules.rules}
        kept = space.added.without(names)
        if len(rules) + len(kept) > MAX_ADDED_RULES:
            raise Refused(
                f"a test id may have at most {MAX_ADDED_RULES} rules added at runtime "
                f"({len(kept)} are, and this adds {len(rules)}); remove some first"
            )
        space.added = rules.then(kept)
        for name in names:
            space.added_matched.pop(name, None)
        return space.added

    def remove_rules(self, test_id: str, names: set[str] | None = None) -> list[str]:
        """Removes the namespace's added rules named (all for None); returns the names removed.
        Jobs they made keep them."""
        space = self._spaces.get(test_id)
        if space is None:
            return []
        gone = [rule.name for rule in space.added.rules if names is None or rule.name in names]
        space.added = space.added.without(gone)
        if not space.added and test_id not in self.own:
            self._scripted.pop(test_id, None)
        for name in gone:
            space.added_matched.pop(name, None)
        return gone

    def rules_in_effect(self, test_id: str) -> Iterator[tuple[Pick, str, int]]:
        """Every rule namespace `test_id` tries, in order (those added at runtime, its scenario's,
        the default), each with where it comes from (`runtime` or the scenario's name) and how many
        submits it has taken."""
        space = self._spaces.get(test_id)
        scenario = self.scenario_for(test_id)
        if space is not None:
            for rule, timeline in zip(space.added.rules, space.added.timelines, strict=True):
                yield Pick(rule, timeline), "runtime", space.added_matched.get(rule.name, 0)
        matched = space.matched if space is not None else {}
        for rule, timeline in zip(scenario.rules, scenario.ruleset.timelines, strict=True):
            yield Pick(rule, timeline), scenario.name, matched.get(rule.name, 0)
        yield scenario.fallback, scenario.name, matched.get("default", 0)

    def set_scenario(self, test_id: str, scenario: Scenario | None) -> None:
        """Gives the namespace a scenario of its own (None: the server's again); its scenario
        rules', faults' and rate limit's counts start again."""
        space = self._scripting(test_id) if scenario is not None else self.space(test_id)
        if scenario is None:
            self.own.pop(test_id, None)
        else:
            self.own[test_id] = scenario
        space.matched.clear()
        space.fault_counts.clear()
        space.buckets.clear()
        if scenario is None and not space.added:
            self._scripted.pop(test_id, None)

    def drop_scenario(self, test_id: str) -> bool:
        """The namespace follows the server's scenario again; False if it had none of its own."""
        if test_id not in self.own:
            return False
        self.set_scenario(test_id, None)
        return True

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
            self._scripted.clear()
            self.own.clear()
            self._journal_count = 0
            self._order = {}
        else:
            self._empty.pop(test_id, None)
            self._written.pop(test_id, None)
            self._scripted.pop(test_id, None)
            self.own.pop(test_id, None)
            space = self._spaces.pop(test_id, None)
            self._journal_count -= len(space.journal) if space is not None else 0
            for job in space.jobs.values() if space is not None else ():
                del self._order[id(job)]
