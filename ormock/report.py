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

import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from . import safe
from .auth import bearer_key
from .jobs import Entry, Job, JobStore
from .scenario import TERMINAL

CHECKS = (
    "poll interval",
    "polls after the end",
    "retry-after",
    "retried client errors",
    "5xx without backoff",
    "never downloaded",
    "downloaded too early",
    "keyless requests",
    "duplicate submits",
    "webhook receiver",
)
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


def redact_key(key: str | None) -> str:
    """An API key as a report shows it: enough to tell keys apart, not enough to use one."""
    if not key:
        return "(no key)"
    if len(key) <= 8:
        return "[redacted]"
    return f"{key[:6]}…{key[-4:]}"


def _header(entry: Entry, name: str) -> str:
    for key, value in entry.headers:
        if key.lower() == name:
            return value
    return ""


def _key(entry: Entry) -> str:
    return bearer_key(_header(entry, "authorization")) or ""


def _same_request(a: Entry, b: Entry) -> bool:
    """Sent again unchanged: the same method, path, query, key and body."""
    return (a.method, a.path, a.query, _key(a), json.dumps(a.body, sort_keys=True, default=str)) == (
        b.method, b.path, b.query, _key(b), json.dumps(b.body, sort_keys=True, default=str),
    )  # fmt: skip


class _Judge:
    """The checks of one test id: its journal, split by client, against its jobs."""

    def __init__(self, store: JobStore, test_id: str, entries: list[Entry]) -> None:
        self.store, self.test_id = store, test_id
        self.entries = entries
        self.settings = store.scenario.report
        self.speed = store.clock.speed
        self.jobs: dict[str, Job] = {}
        space = store.find_space(test_id)
        if space is not None:
            self.jobs = space.jobs
        # whose job is it: the key and user agent of its submit
        self.owner: dict[str, tuple[str, str]] = {}
        for entry in entries:
            if entry.action == "submit" and entry.status == 202 and entry.job_id:
                self.owner[entry.job_id] = (_key(entry), _header(entry, "user-agent"))

    def silenced(self, check: str, job_id: str | None) -> bool:
        if check in self.settings.silence:
            return True
        job = self.jobs.get(job_id or "")
        return job is not None and check in job.rule.silence

    def client_of(self, entry: Entry) -> tuple[str, str]:
        """Whose request it is: its key and user agent; a webhook delivery, and a poll or download
        without the key that submitted its job, count against the client that submitted it."""
        owner = self.owner.get(entry.job_id or "")
        if entry.kind == "webhook" or (owner is not None and entry.action in ("poll", "download")
                                       and _key(entry) != owner[0] and "signature" not in entry.query):  # fmt: skip
            return owner or ("", "")
        return _key(entry), _header(entry, "user-agent")

    def findings(self) -> dict[tuple[str, str], list[Finding]]:
        by_client: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for entry in self.entries:
            by_client[self.client_of(entry)].append(entry)
        found: dict[tuple[str, str], list[Finding]] = {}
        for client, entries in by_client.items():
            results: list[Finding] = []
            for check in (self.poll_interval, self.polls_after_the_end, self.retry_after, self.retried_client_errors,
                          self.no_backoff, self.never_downloaded, self.too_early, self.keyless, self.duplicates,
                          self.webhooks):  # fmt: skip
                results += [f for f in check(client, entries) if not self.silenced(f.check, f.job)]
            found[client] = results
        return found

    # --- the checks -------------------------------------------------------------------------------
    def _polls(self, entries: list[Entry]) -> dict[str, list[Entry]]:
        polls: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.action == "poll" and entry.job_id and entry.job_id in self.jobs:
                polls[entry.job_id].append(entry)
        return polls

    def poll_interval(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        least = self.settings.min_poll_interval
        for job_id, polls in self._polls(entries).items():
            gaps = [b.time - a.time for a, b in itertools.pairwise(polls)]
            close = [(a, b) for (a, b), gap in zip(itertools.pairwise(polls), gaps, strict=True) if gap < least]
            if not close:
                continue
            median = statistics.median(gaps)
            verdict = "fail" if median < least else "warn"
            yield Finding(
                "poll interval", verdict,
                f"polled {len(polls)} times, {len(close)} of them within {least:g} s of the last (scenario time; "
                f"median gap {median:.2f} s, shortest {min(gaps):.2f} s)",
                job_id, [e.seq for pair in close[:5] for e in pair], [e.time for pair in close[:5] for e in pair],
            )  # fmt: skip

    def polls_after_the_end(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for job_id, polls in self._polls(entries).items():
            ended = next((i for i, e in enumerate(polls) if e.seen in TERMINAL), None)
            if ended is None:
                continue
            late = polls[ended + 1 :]
            if late:
                yield Finding(
                    "polls after the end", "fail" if len(late) > 1 else "warn",
                    f"polled {len(late)} more time(s) after it reported {polls[ended].seen}", job_id,
                    [polls[ended].seq, *(e.seq for e in late[:5])], [polls[ended].time, *(e.time for e in late[:5])],
                )  # fmt: skip

    def retry_after(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = [e for e in entries if e.kind == "api"]
        for index, told in enumerate(api):
            if told.retry_after is None:
                continue
            after = next((e for e in api[index + 1 :] if e.action == told.action and e.job_id == told.job_id), None)
            if after is not None and after.wall - told.wall < told.retry_after - 0.001:
                yield Finding(
                    "retry-after", "fail",
                    f"sent {after.action} again {after.wall - told.wall:.3f} s after a {told.status} that said "
                    f"Retry-After {told.retry_after:g} s (real time)", told.job_id,
                    [told.seq, after.seq], [told.time, after.time],
                )  # fmt: skip

    def retried_client_errors(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = [e for e in entries if e.kind == "api"]
        for index, refused in enumerate(api):
            if refused.status not in CLIENT_ERRORS:
                continue
            again = next((e for e in api[index + 1 :] if _same_request(refused, e)), None)
            if again is not None:
                yield Finding(
                    "retried client errors", "fail",
                    f"sent {refused.method} {safe.shown(refused.path, 80)} again unchanged after a {refused.status}"
                    f" ({safe.shown(refused.error or '', 80)})", refused.job_id,
                    [refused.seq, again.seq], [refused.time, again.time],
                )  # fmt: skip

    def no_backoff(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        api = [e for e in entries if e.kind == "api"]
        seen_chains: set[int] = set()
        for index, first in enumerate(api):
            broken = first.status >= 500 or first.fault in ("reset", "truncate") or first.complete is False
            if not broken or first.seq in seen_chains or first.retry_after is not None:
                continue
            chain = [first]
            for later in api[index + 1 :]:
                if _same_request(first, later):
                    chain.append(later)
                    if not (later.status >= 500 or later.complete is False):
                        break
            seen_chains.update(e.seq for e in chain)
            gaps = [b.wall - a.wall for a, b in itertools.pairwise(chain)]
            # no wait at all (each retry within 0.1 s), or waits that never grow
            flat = all(gap < NO_WAIT for gap in gaps) or all(b <= a * 1.1 for a, b in itertools.pairwise(gaps))
            if len(gaps) >= 2 and flat:
                yield Finding(
                    "5xx without backoff", "fail",
                    f"retried {first.method} {safe.shown(first.path, 80)} {len(gaps)} times after "
                    f"{first.status or 'a drop'} at intervals that did not grow "
                    f"({', '.join(f'{g:.3f}' for g in gaps)} s)", first.job_id,
                    [e.seq for e in chain], [e.time for e in chain],
                )  # fmt: skip

    def never_downloaded(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        downloads: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.action == "download" and entry.job_id:
                downloads[entry.job_id].append(entry)
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
                yield Finding("never downloaded", "fail", "fetched its content only after it had expired (410)",
                              job_id, [e.seq for e in gone], [e.time for e in gone])  # fmt: skip
            else:  # the evidence: the poll that told the client it had completed, and any partial downloads
                told = [e for e in entries if e.job_id == job_id and e.seen == "completed"][:1] + got
                yield Finding("never downloaded", "warn", "completed, but its content was never fetched whole",
                              job_id, [e.seq for e in told], [e.time for e in told])  # fmt: skip

    def too_early(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for entry in entries:
            if entry.action == "download" and entry.status == 409:
                why = f"asked for content while {safe.shown(entry.error or '')}"
                yield Finding("downloaded too early", "fail", why, entry.job_id, [entry.seq], [entry.time])

    def keyless(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        for entry in entries:
            if entry.action not in ("poll", "download") or not entry.job_id or entry.job_id not in self.owner:
                continue
            if "signature" in entry.query:  # a keyless signed link: meant to be used without the key
                continue
            owner_key = self.owner[entry.job_id][0]
            if _key(entry) != owner_key:
                what = "no key" if not _key(entry) else f"key {redact_key(_key(entry))}"
                yield Finding("keyless requests", "fail",
                              f"{entry.action} with {what}, not the key that submitted it ({redact_key(owner_key)})",
                              entry.job_id, [entry.seq], [entry.time])  # fmt: skip

    def duplicates(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        submits = [e for e in entries if e.action == "submit" and e.status == 202 and e.job_id]
        ended_at: dict[str, int] = {}
        for entry in entries:
            if entry.action == "poll" and entry.seen in TERMINAL and entry.job_id not in ended_at:
                ended_at[entry.job_id or ""] = entry.seq
        for index, later in enumerate(submits):
            for earlier in submits[:index]:
                running = ended_at.get(earlier.job_id or "", 1 << 62) > later.seq
                if running and _same_request(earlier, later):
                    yield Finding("duplicate submits", "warn",
                                  f"submitted the same body again while job {earlier.job_id} had not ended",
                                  later.job_id, [earlier.seq, later.seq], [earlier.time, later.time])  # fmt: skip
                    break

    def webhooks(self, client: tuple[str, str], entries: list[Entry]) -> Iterable[Finding]:
        attempts: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.kind == "webhook" and entry.job_id:
                attempts[entry.job_id].append(entry)
        for job_id, tries in attempts.items():
            job = self.jobs.get(job_id)
            forged = job is not None and (job.rule.webhook.bad_signature or job.rule.webhook.stale_timestamp)
            accepted = [e for e in tries if 200 <= e.status < 300]
            if forged and accepted:
                why = "a bad signature" if job and job.rule.webhook.bad_signature else "a stale timestamp"
                yield Finding("webhook receiver", "fail", f"the receiver accepted (2xx) a delivery with {why}",
                              job_id, [e.seq for e in accepted], [e.time for e in accepted])  # fmt: skip
            elif not forged and not accepted and len(tries) > self.store.scenario.webhooks.retries:
                yield Finding("webhook receiver", "fail",
                              f"no delivery got a 2xx ({len(tries)} attempt(s): {safe.shown(tries[-1].error or '')})",
                              job_id, [e.seq for e in tries], [e.time for e in tries])  # fmt: skip


def build(store: JobStore, test_id: str | None = None) -> dict[str, Any]:
    """The report of every client (of one test id, if given)."""
    clients: list[dict[str, Any]] = []
    spaces = store.spaces(test_id)
    for space in spaces:
        judge = _Judge(store, space.test_id, list(space.journal))
        for (key, agent), found in judge.findings().items():
            checks: list[dict[str, Any]] = []
            for check in CHECKS:
                mine = [f for f in found if f.check == check]
                verdict = max((f.verdict for f in mine), key=RANK.__getitem__, default="pass")
                checks.append({
                    "check": check, "verdict": verdict,
                    "evidence": [{"job": f.job, "summary": f.summary, "requests": f.requests, "times": f.times}
                                 for f in mine],
                })  # fmt: skip
            overall = max((str(c["verdict"]) for c in checks), key=RANK.__getitem__, default="pass")
            clients.append({
                "client": {"key": redact_key(key), "test_id": space.test_id, "user_agent": safe.shown(agent, 120)},
                "verdict": overall, "checks": checks,
            })  # fmt: skip
    counts = {verdict: 0 for verdict in RANK}
    for client in clients:
        for check in client["checks"]:
            counts[check["verdict"]] += 1
    return {"clients": clients, "counts": counts, "checks": list(CHECKS)}


def failures(report: dict[str, Any], at_least: str = "fail") -> list[str]:
    """One line per broken check at `at_least` or worse, with its first evidence."""
    lines = []
    for client in report["clients"]:
        who = _who(client["client"])
        for check in client["checks"]:
            if RANK[check["verdict"]] >= RANK[at_least]:
                first = check["evidence"][0] if check["evidence"] else {}
                job = f"job {first.get('job')}: " if first.get("job") else ""
                seqs = ", ".join(str(s) for s in first.get("requests", []))
                where = f" [requests {seqs}]" if seqs else ""
                lines.append(
                    f"{check['verdict'].upper()} {check['check']} ({who}): {job}{first.get('summary', '')}{where}"
                )
    return lines


def _who(client: dict[str, str]) -> str:
    parts = [client["key"]]
    if client["test_id"]:
        parts.append(f"test id {client['test_id']}")
    if client["user_agent"]:
        parts.append(client["user_agent"])
    return ", ".join(parts)


def summary(report: dict[str, Any]) -> str:
    """The report in a few lines for a terminal."""
    if not report["clients"]:
        return "client report: no client sent a request"
    lines = [f"client report: {len(report['clients'])} client(s); checks: {report['counts']['pass']} pass, "
             f"{report['counts']['warn']} warn, {report['counts']['fail']} fail"]  # fmt: skip
    for client in report["clients"]:
        lines.append(f"  {client['verdict'].upper():4}  {_who(client['client'])}")
    lines += ["  " + line for line in failures(report, "warn")]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Client report", "", f"Checks: {report['counts']['pass']} pass, {report['counts']['warn']} warn, "
             f"{report['counts']['fail']} fail. What each check means: docs/client-report.md.", ""]  # fmt: skip
    for client in report["clients"]:
        lines += [f"## {client['verdict'].upper()}: {_who(client['client'])}", "", "| check | verdict | evidence |",
                  "| --- | --- | --- |"]  # fmt: skip
        for check in client["checks"]:
            evidence = "<br>".join(
                f"{('job `' + e['job'] + '`: ') if e['job'] else ''}{e['summary']} (requests {e['requests']})".replace(
                    "|", "\\|"
                )
                for e in check["evidence"]
            )
            lines.append(f"| {check['check']} | {check['verdict']} | {evidence} |")
        lines.append("")
    return "\n".join(lines)


def junit(report: dict[str, Any]) -> str:
    """JUnit XML: a test suite per client, a test case per check; a `fail` is a failure, a `warn`
    passes with its evidence in system-out."""
    suites = []
    total = sum(len(c["checks"]) for c in report["clients"])
    failed = sum(1 for c in report["clients"] for k in c["checks"] if k["verdict"] == "fail")
    for client in report["clients"]:
        name = _who(client["client"])
        cases = []
        for check in client["checks"]:
            text = "\n".join(
                f"{('job ' + e['job'] + ': ') if e['job'] else ''}{e['summary']} (requests {e['requests']})"
                for e in check["evidence"]
            )
            case = f'    <testcase classname={quoteattr("ormock." + name)} name={quoteattr(check["check"])} time="0"'
            if check["verdict"] == "fail":
                case += (
                    f">\n      <failure message={quoteattr(text.splitlines()[0] if text else check['check'])}"
                    f' type="ormock.client-check">{_xml(text)}</failure>\n    </testcase>'
                )
            elif check["verdict"] == "warn":
                case += f">\n      <system-out>{_xml('warn: ' + text)}</system-out>\n    </testcase>"
            else:
                case += " />"
            cases.append(case)
        fails = sum(1 for k in client["checks"] if k["verdict"] == "fail")
        suites.append(f"  <testsuite name={quoteattr(name)} tests=\"{len(client['checks'])}\" failures=\"{fails}\" "
                      f"errors=\"0\" skipped=\"0\" time=\"0\">\n" + "\n".join(cases) + "\n  </testsuite>")  # fmt: skip
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ormock client report" tests="{total}" '
            f'failures="{failed}" errors="0" time="0">\n' + "\n".join(suites) + "\n</testsuites>\n")  # fmt: skip


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def render(report: dict[str, Any], suffix: str) -> str:
    """The report as the file extension asks: .json, .xml (JUnit) or .md."""
    if suffix == ".xml":
        return junit(report)
    if suffix == ".md":
        return markdown(report)
    return json.dumps(report, indent=2)
