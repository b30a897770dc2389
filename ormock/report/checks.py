"""The client report: what each client did wrong, derived from the journal and the jobs alone.

A **client** is an API key (shown redacted) with its test id and user agent. Each client gets a
verdict (`pass`, `warn` or `fail`) on every check of `CHECKS`, with the evidence: which job, which
requests (journal `seq`s), which times. Nothing is kept for the report on the request path: it
reads the journal entries the server keeps anyway (so it sees what the journal still holds: the
last `--journal-max` requests of each test id) and the jobs' timelines. docs/client-report.md
says what each check looks at and why it matters.

`build(store)` makes the report as a plain dict (what `GET /__ormock/report` answers); `junit`,
`markdown` and `summary` render it.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from .. import safe
from ..scenario.loader import TERMINAL
from ..scenario.schema import CheckName
from ..service.clock import ManualClock
from ..service.jobs import Job
from ..service.journal import Entry
from ..service.store import JobStore, Space

# the checks, in the order a report lists them: named once, where a scenario may silence them
CHECKS: tuple[str, ...] = get_args(CheckName)
RANK = {"pass": 0, "warn": 1, "fail": 2}
CLIENT_ERRORS = (400, 401, 402, 404)
NO_WAIT = 0.1  # real seconds: a retry sooner than this did not wait at all


@dataclass
class Finding:
    check: str
    verdict: str  # "warn" or "fail"
    summary: str
    job: str | None = None
    requests: list[int] = field(default_factory=list)  # journal seqs
    times: list[float] = field(default_factory=list)  # scenario clock


def _finding(check: str, verdict: str, summary: str, job: str | None, evidence: Iterable[Entry]) -> Finding:
    """A finding whose evidence is these journal entries (each once, in the order given): their
    seqs and their times."""
    shown = list({entry.seq: entry for entry in evidence}.values())
    # a job id can be what a client put in a path: every renderer gets it escaped, as the summary
    job_shown = safe.shown(job, 80) if job is not None else None
    return Finding(check, verdict, summary, job_shown, [e.seq for e in shown], [e.time for e in shown])


def _key(entry: Entry) -> str:
    """The API key an entry was sent with."""
    return entry.key


def _signature(entry: Entry) -> tuple[Any, ...]:
    """What makes two requests the same request: method, path, query, key and body."""
    body = json.dumps(entry.body, sort_keys=True, default=str) if entry.body is not None else ""
    return entry.method, entry.path, tuple(sorted(entry.query.items())), _key(entry), body


def _next_same(entries: list[Entry], wanted: Iterable[int]) -> dict[int, list[int]]:
    """For each index in `wanted`, the later indexes of entries that are the same request."""
    wanted = list(wanted)
    routes_wanted = {(entries[i].method, entries[i].path) for i in wanted}
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        if (entry.method, entry.path) in routes_wanted:
            groups[_signature(entry)].append(index)
    found: dict[int, list[int]] = {}
    for index in wanted:
        same = groups[_signature(entries[index])]
        found[index] = same[bisect.bisect_right(same, index) :]
    return found


class _Judge:
    """The checks of one test id: its journal, split by client, against its jobs."""

    def __init__(self, store: JobStore, test_id: str, entries: list[Entry]) -> None:
        self.store = store
        self.test_id = test_id
        self.entries = entries
        self.scenario = store.scenario_for(test_id)
        self.settings = self.scenario.report
        self.speed = store.clock.speed
        # the clock a client waits on: real time, but under a manual clock time moves only when the
        # test moves it, and what it is told (Retry-After) is in that clock's seconds
        self.manual = isinstance(store.clock, ManualClock)
        self.waited_on = "scenario time" if self.manual else "real time"
        self.jobs: dict[str, Job] = {}
        space = store.find_space(test_id)
        if space is not None:
            self.jobs = space.jobs
        # whose job is it: the key and user agent of its submit
        self.owner: dict[str, tuple[str, str]] = {}
        for entry in entries:
            if entry.what == "submit" and entry.status == 202 and entry.job_id:
                self.owner[entry.job_id] = (entry.key, entry.agent)

    def between(self, first: Entry, then: Entry) -> float:
        """Seconds a client waited between two requests, on the clock it waits on (`waited_on`)."""
        return then.time - first.time if self.manual else then.wall - first.wall

    def silenced(self, check: str, job_id: str | None) -> bool:
        if check in self.settings.silence:
            return True
        job = self.jobs.get(job_id or "")
        return job is not None and check in job.rule.silence

    def client_of(self, entry: Entry) -> tuple[str, str]:
        """Whose request it is: its key and user agent; a webhook delivery, and a poll or download
        without the key that submitted its job, count against the client that submitted it."""
        owner = self.owner.get(entry.job_id or "")
        if entry.kind == "webhook" or (
            owner is not None
            and entry.what in ("poll", "download")
            and _key(entry) != owner[0]
            and "signature" not in entry.query
        ):
            return owner or ("", "")
        return entry.key, entry.agent

    def findings(self) -> dict[tuple[str, str], list[Finding]]:
        by_client: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for entry in self.entries:
            by_client[self.client_of(entry)].append(entry)
        found: dict[tuple[str, str], list[Finding]] = {}
        for client, entries in by_client.items():
            self._sort(entries)
            results: list[Finding] = []
            for check in (
                self.poll_interval,
                self.polls_after_the_end,
                self.retry_after,
                self.retried_client_errors,
                self.no_backoff,
                self.never_downloaded,
                self.too_early,
                self.keyless,
                self.duplicates,
                self.webhooks,
            ):
                results += [f for f in check(client, entries) if not self.silenced(f.check, f.job)]
            found[client] = results
        return found

    def _sort(self, entries: list[Entry]) -> None:
        """One pass over a client's entries: what the checks look at, by kind."""
        self.api: list[Entry] = []
        self.polls: dict[str, list[Entry]] = defaultdict(list)
        self.downloads: dict[str, list[Entry]] = defaultdict(list)
        self.submits: list[Entry] = []
        self.webhook_tries: dict[str, list[Entry]] = defaultdict(list)
        # in the order the requests came: a request is journalled when it ends (a hang much later)
        entries.sort(key=lambda entry: (entry.time, entry.seq))
        for entry in entries:
            action = entry.what
            if action == "webhook":
                if entry.job_id:
                    self.webhook_tries[entry.job_id].append(entry)
                continue
            self.api.append(entry)
            if action == "poll":
                if entry.job_id in self.jobs:
                    self.polls[entry.job_id].append(entry)
            elif action == "download":
                if entry.job_id:
                    self.downloads[entry.job_id].append(entry)
            elif action == "submit" and entry.status == 202 and entry.job_id:
                self.submits.append(entry)

    # --- the checks -------------------------------------------------------------------------------
    def poll_interval(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        least = self.settings.min_poll_interval
        for job_id, polls in self.polls.items():
            gaps = [b.time - a.time for a, b in itertools.pairwise(polls)]
            close = [(a, b) for (a, b), gap in zip(itertools.pairwise(polls), gaps, strict=True) if gap < least]
            if not close:
                continue
            median = statistics.median(gaps)
            verdict = "fail" if median < least else "warn"
            yield _finding(
                "poll interval",
                verdict,
                f"polled {len(polls)} times, {len(close)} of them within {least:g} s of the last (scenario time; "
                f"median gap {median:.2f} s, shortest {min(gaps):.2f} s)",
                job_id,
                (e for pair in close[:5] for e in pair),
            )

    def polls_after_the_end(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for job_id, polls in self.polls.items():
            ended = next((i for i, e in enumerate(polls) if e.seen in TERMINAL), None)
            if ended is None:
                continue
            late = polls[ended + 1 :]
            if late:
                yield _finding(
                    "polls after the end",
                    "fail" if len(late) > 1 else "warn",
                    f"polled {len(late)} more time(s) after it reported {polls[ended].seen}",
                    job_id,
                    (polls[ended], *late[:5]),
                )

    def retry_after(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = self.api
        by_target: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for index, entry in enumerate(api):
            by_target[(entry.what, entry.job_id)].append(index)
        for index, told in enumerate(api):
            if told.retry_after is None:
                continue
            same = by_target[(told.what, told.job_id)]
            position = bisect.bisect_right(same, index)
            after = api[same[position]] if position < len(same) else None
            if after is not None and self.between(told, after) < told.retry_after - 0.001:
                yield _finding(
                    "retry-after",
                    "fail",
                    f"sent {after.what} again {self.between(told, after):.3f} s after a {told.status} that said "
                    f"Retry-After {told.retry_after:g} s ({self.waited_on})",
                    told.job_id,
                    (told, after),
                )

    def retried_client_errors(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = self.api
        later = _next_same(api, (i for i, e in enumerate(api) if e.status in CLIENT_ERRORS))
        for index, after in later.items():
            refused = api[index]
            again = api[after[0]] if after else None
            if again is not None:
                yield _finding(
                    "retried client errors",
                    "fail",
                    f"sent {refused.method} {safe.shown(refused.path, 80)} again unchanged after a {refused.status}"
                    f" ({safe.shown(refused.error or '', 80)})",
                    refused.job_id,
                    (refused, again),
                )

    def no_backoff(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = self.api
        seen_chains: set[int] = set()

        def broken(entry: Entry) -> bool:
            return entry.status >= 500 or entry.complete is False or (entry.fault or "").endswith(("reset", "%"))

        later_same = _next_same(api, (i for i, e in enumerate(api) if broken(e) and e.retry_after is None))
        for index, after in later_same.items():
            first = api[index]
            if first.seq in seen_chains:
                continue
            chain = [first]
            for position in after:
                chain.append(api[position])
                if not broken(api[position]):
                    break
            seen_chains.update(e.seq for e in chain)
            gaps = [self.between(a, b) for a, b in itertools.pairwise(chain)]
            # no wait at all (each retry within 0.1 s), or waits that never grow
            flat = all(gap < NO_WAIT for gap in gaps) or all(b <= a * 1.1 for a, b in itertools.pairwise(gaps))
            if len(gaps) >= 2 and flat:
                yield _finding(
                    "5xx without backoff",
                    "fail",
                    f"retried {first.method} {safe.shown(first.path, 80)} {len(gaps)} times after "
                    f"{first.status or 'a drop'} at intervals that did not grow "
                    f"({', '.join(f'{g:.3f}' for g in gaps)} s)",
                    first.job_id,
                    chain,
                )

    def never_downloaded(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        downloads = self.downloads
        for job_id, (key, _) in self.owner.items():
            if key != client[0] or job_id not in self.jobs:
                continue
            job = self.jobs[job_id]
            view = self.store.peek(job)
            if view.status != "completed":
                continue
            got = downloads.get(job_id, [])
            gone = [e for e in got if e.status == 410]
            if any(e.status == 200 and e.complete for e in got):
                continue
            if gone:
                yield _finding(
                    "never downloaded",
                    "fail",
                    "fetched its content only after it had expired (410)",
                    job_id,
                    gone,
                )
            else:  # the evidence: the poll that told the client it had completed, and any partial downloads
                told = [e for e in self.polls.get(job_id, []) if e.seen == "completed"][:1] + got
                yield _finding(
                    "never downloaded",
                    "warn",
                    "completed, but its content was never fetched whole",
                    job_id,
                    told,
                )

    def too_early(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for entry in itertools.chain.from_iterable(self.downloads.values()):
            if entry.status == 409:
                why = f"asked for content while {safe.shown(entry.error or '')}"
                yield _finding("downloaded too early", "fail", why, entry.job_id, (entry,))

    def keyless(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for entry in itertools.chain(*self.polls.values(), *self.downloads.values()):
            if not entry.job_id or entry.job_id not in self.owner or entry.key == client[0]:
                continue
            if "signature" in entry.query:  # a keyless signed link: meant to be used without the key
                continue
            owner_key = self.owner[entry.job_id][0]
            if _key(entry) != owner_key:
                what = "no key" if not _key(entry) else f"key {safe.key(_key(entry))}"
                yield _finding(
                    "keyless requests",
                    "fail",
                    f"{entry.what} with {what}, not the key that submitted it ({safe.key(owner_key)})",
                    entry.job_id,
                    (entry,),
                )

    def duplicates(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        submits = self.submits
        ended_at: dict[str, int] = {}
        for job_id, polls in self.polls.items():
            ended = next((e.seq for e in polls if e.seen in TERMINAL), None)
            if ended is not None:
                ended_at[job_id] = ended
        before: dict[tuple[Any, ...], list[Entry]] = defaultdict(list)
        for later in submits:
            same = before[_signature(later)]
            earlier = next((e for e in same if ended_at.get(e.job_id or "", 1 << 62) > later.seq), None)
            if earlier is not None:
                yield _finding(
                    "duplicate submits",
                    "warn",
                    f"submitted the same body again while job {earlier.job_id} had not ended",
                    later.job_id,
                    (earlier, later),
                )
            same.append(later)

    def webhooks(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for job_id, tries in self.webhook_tries.items():
            job = self.jobs.get(job_id)
            forged = job is not None and (job.rule.webhook.bad_signature or job.rule.webhook.stale_timestamp)
            accepted = [e for e in tries if 200 <= e.status < 300]
            if forged and accepted:
                why = "a bad signature" if job and job.rule.webhook.bad_signature else "a stale timestamp"
                yield _finding(
                    "webhook receiver",
                    "fail",
                    f"the receiver accepted (2xx) a delivery with {why}",
                    job_id,
                    accepted,
                )
            elif not forged and not accepted and len(tries) > self.scenario.webhooks.retries:
                yield _finding(
                    "webhook receiver",
                    "fail",
                    f"no delivery got a 2xx ({len(tries)} attempt(s): {safe.shown(tries[-1].error or '')})",
                    job_id,
                    tries,
                )


def build(store: JobStore, test_id: str | None = None) -> dict[str, Any]:
    """The report of every client (of one test id, if given)."""
    return _build(store, test_id)


def judge(store: JobStore, entries: list[Entry]) -> list[tuple[str, str, str | None, str]]:
    """(verdict, check, job, summary) of every finding in `entries` (the dashboard's recent ones)."""
    by_space: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_space[entry.test_id].append(entry)
    found = []
    for test_id, mine in by_space.items():
        for findings in _Judge(store, test_id, mine).findings().values():
            found += [(f.verdict, f.check, f.job, f.summary) for f in findings]
    return found


async def build_yielding(store: JobStore, test_id: str | None = None) -> dict[str, Any]:
    """`build` on a server's event loop: it gives the loop back to other clients between two
    namespaces, so one report costs other clients at most what one namespace's journal (its
    `--journal-max` entries) takes to judge."""
    clients: list[dict[str, Any]] = []
    for space in store.spaces(test_id):
        clients += _judged_clients(store, space)
        await asyncio.sleep(0)
    return _report(clients)


def _build(store: JobStore, test_id: str | None) -> dict[str, Any]:
    clients: list[dict[str, Any]] = []
    for space in store.spaces(test_id):
        clients += _judged_clients(store, space)
    return _report(clients)


def _judged_clients(store: JobStore, space: Space) -> list[dict[str, Any]]:
    clients: list[dict[str, Any]] = []
    judge = _Judge(store, space.test_id, list(space.journal))
    for (key, agent), found in judge.findings().items():
        checks: list[dict[str, Any]] = []
        by_check: dict[str, list[Finding]] = defaultdict(list)
        for finding in found:
            by_check[finding.check].append(finding)
        for check in CHECKS:
            mine = by_check[check]
            verdict = max((f.verdict for f in mine), key=RANK.__getitem__, default="pass")
            checks.append(
                {
                    "check": check,
                    "verdict": verdict,
                    "evidence": [
                        {"job": f.job, "summary": f.summary, "requests": f.requests, "times": f.times} for f in mine
                    ],
                }
            )
        overall = max((str(c["verdict"]) for c in checks), key=RANK.__getitem__, default="pass")
        clients.append(
            {
                "client": {
                    "key": safe.key(key),
                    "test_id": safe.shown(space.test_id, 120),
                    "user_agent": safe.shown(agent, 120),
                },
                "verdict": overall,
                "checks": checks,
            }
        )
    return clients


def _report(clients: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {verdict: 0 for verdict in RANK}
    for client in clients:
        for check in client["checks"]:
            counts[check["verdict"]] += 1
    return {"clients": clients, "counts": counts, "checks": list(CHECKS)}
