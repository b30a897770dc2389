"""The live dashboard of `ormock serve` in a terminal, built around one question: what did my
client do to each job, and what did it get back?

- `Board` gathers what the screen shows as requests are answered (it is a request listener: one
  append per request) and as statuses change (a `StatusWatcher`, so a frame costs in proportion to
  what changed, never to the number of jobs). It keeps the last `TRACKED` jobs, each with a strip
  of what its polls answered, the last `RECENT` requests, and the counts per status.
- `snapshot_board(board)` copies a frame's worth of plain values out of it (a `Snapshot`), on the event loop;
  `render(snapshot, width, height)` lays them out for a terminal of that size, in a worker thread.
  Everything a client sent is escaped (`safe.shown`) and drawn as plain Text, never as markup.
- Findings come from the client report (`report`), over the recent requests, every few frames.

At 80x24 nothing wraps: columns shrink and the most interesting jobs (running ones, then ones
with findings, then the latest) win the rows; wider and taller terminals add columns and rows.
On exit the last frame is printed to the normal screen, so it can be scrolled back to.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from .. import report, safe
from ..scenario.loader import STATUSES, TERMINAL
from ..service.clock import ManualClock
from ..service.jobs import Job
from ..service.journal import Entry
from ..service.store import JobStore
from ..service.watcher import StatusWatcher

if TYPE_CHECKING:
    from ..web.record import Recorder

COLOURS = {
    "pending": "yellow",
    "in_progress": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "expired": "bright_black",
}
GLYPHS = {"pending": "·", "in_progress": "▸", "completed": "✓", "failed": "✗", "cancelled": "⊘", "expired": "⌀"}
# the legend, as wide as the screen allows: a narrower one keeps every glyph's meaning, in fewer words
LEGENDS = (
    "· pending ▸ in progress ✓ completed ✗ failed ⊘ cancelled ⌀ expired  401 an error answered  ⇣ downloads"
    "  …id: the end of a job id",
    "· pending ▸ in progress ✓ completed ✗ failed ⊘ cancelled ⌀ expired  401 an error  ⇣ downloads",
    "·pending ▸running ✓done ✗failed ⊘cancelled ⌀expired 401 error ⇣dl",
    "· pend ▸ run ✓ ok ✗ fail ⊘ canc ⌀ exp",
)
PINNED = 3  # refused submits kept in sight among the latest requests (they make no job to show)
WARN = "bold yellow"
FRAME_SECONDS = 0.5  # two frames a second: live enough for a person, light on the server
TRACKED = 2000  # jobs the dashboard remembers (the most recently active)
STRIP = 64  # polls remembered per job
RECENT = 64  # requests remembered
JUDGED = 2000  # recent requests the live findings are drawn from
FINDINGS_EVERY = 4  # frames between two runs of the client report


@dataclass(eq=False)  # one per job: compared by identity, never field by field
class Tracked:
    job: Job
    strip: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=STRIP))  # (glyph, style)
    polls: int = 0
    downloads: int = 0
    download_ms: float | None = None
    touched: int = 0  # the seq of the last request about it


class Board:
    """What the dashboard shows, kept up as the server works (see the module's docstring)."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.jobs: OrderedDict[str, Tracked] = OrderedDict()
        self.requests: deque[Entry] = deque(maxlen=RECENT)
        self.refused: deque[Entry] = deque(maxlen=PINNED)  # submits answered with an error: no job shows them
        self.judged: deque[Entry] = deque(maxlen=JUDGED)
        self.counts = dict.fromkeys(STATUSES, 0)
        self.findings: list[tuple[str, str, str | None, str]] = []  # (verdict, check, job, summary)
        self._watcher = StatusWatcher(store)
        self._frames = 0
        store.on_create.append(self._created)
        store.on_reset.append(self._reset)

    def _created(self, job: Job) -> None:
        self.jobs[job.id] = Tracked(job)
        self.jobs.move_to_end(job.id)
        while len(self.jobs) > TRACKED:
            self.jobs.popitem(last=False)

    def _reset(self, test_id: str | None) -> None:
        if test_id is None:
            self.jobs.clear()
            self.counts = dict.fromkeys(STATUSES, 0)
        else:
            for job_id in [k for k, t in self.jobs.items() if t.job.test_id == test_id]:
                del self.jobs[job_id]
            space = self.store.find_space(test_id)
            for job in space.jobs.values() if space is not None else ():
                self.counts[self.store.peek(job).status] -= 1
        self.requests.clear()
        self.judged.clear()

    def request(self, entry: Entry) -> None:
        """A request listener: one append for the requests pane, one for the job's strip."""
        self.requests.append(entry)
        if entry.kind == "api":
            self.judged.append(entry)
            if entry.what == "submit" and entry.status >= 400:
                self.refused.append(entry)
        tracked = self.jobs.get(entry.job_id or "")
        if tracked is None:
            return
        tracked.touched = entry.seq
        self.jobs.move_to_end(tracked.job.id)
        action = entry.what
        if action == "poll":
            tracked.polls += 1
            if entry.status == 200 and entry.seen:
                tracked.strip.append((GLYPHS.get(entry.seen, "?"), COLOURS.get(entry.seen, "")))
            else:
                tracked.strip.append((str(entry.status), "bold red" if entry.status >= 500 else WARN))
        elif action == "download" and entry.status == 200 and entry.complete:
            tracked.downloads += 1
            tracked.download_ms = entry.latency_ms

    def refresh(self, findings: bool = False) -> None:
        """Brings the counts up to date: only the jobs that changed are looked at. The findings
        are judged again every `FINDINGS_EVERY` frames, or now when `findings` says so."""
        for change in self._watcher.changes():
            if change.before is not None:
                self.counts[change.before] -= 1
            self.counts[change.after] += 1
        self._frames += 1
        if findings or self._frames % FINDINGS_EVERY == 1:
            self.findings = _findings(self.store, list(self.judged))


def _findings(store: JobStore, entries: list[Entry]) -> list[tuple[str, str, str | None, str]]:
    found = report.judge(store, entries)
    found.sort(key=lambda f: (f[0] != "fail", f[1]))
    return found


@dataclass(frozen=True)
class Row:
    id: str
    test_id: str
    rule: str
    model: str
    status: str
    in_status: float
    next_step: str
    strip: tuple[tuple[str, str], ...]
    end: str  # the error, or the cost
    downloads: int
    download_ms: float | None
    flagged: bool


@dataclass(frozen=True)
class Snapshot:
    scenario: str
    base_url: str
    uptime: float
    speed: float
    manual: bool
    counts: dict[str, int]
    total: int
    rows: list[Row]
    requests: list[Entry]
    findings: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    refused: list[Entry] = field(default_factory=list)  # the latest refused submits, oldest first


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"


def snapshot_board(
    board: Board, base_url: str, started: float, wall_now: float | None = None, rows: int = 200, last: bool = False
) -> Snapshot:
    """A frame's worth of plain values, read from the board (and the jobs it shows) on the loop.
    The `last` frame, the one left on screen, has its findings judged afresh."""
    board.refresh(findings=last)
    store = board.store
    now = store.clock.time()
    flagged = {job for _, _, job, _ in board.findings if job}
    running: list[Tracked] = []
    ended: list[Tracked] = []
    for tracked in board.jobs.values():  # one pass: a frame costs what the board holds, once
        (ended if store.peek(tracked.job).status in TERMINAL else running).append(tracked)
    # running ones first (the latest first), then ended ones with findings, then the latest others
    ended.sort(key=lambda t: (t.job.id not in flagged, -t.touched))
    chosen = (running[::-1] + ended)[:rows]
    made = []
    for tracked in chosen:
        job = tracked.job
        view = store.peek(job)
        step = view.step
        if view.status in TERMINAL:
            next_step = "-"
        elif job.forced is not None:
            next_step = "held"
        elif step.hold is not None:
            next_step = _seconds(view.since + step.hold - now)
        else:
            left = (step.polls_held or 0) - job.step_polls
            next_step = f"{left} poll" + ("s" if left != 1 else "")
        if view.status == "completed":
            cost = job.cost(view)
            end = f"${cost:.3f}" if cost is not None else "cost n/a"
        else:
            end = view.step.error_text or "" if view.status in TERMINAL else ""
        made.append(
            Row(
                job.id,
                job.test_id,
                job.rule.name,
                job.model.id,
                view.status,
                now - view.since,
                next_step,
                tuple(tracked.strip),
                end,
                tracked.downloads,
                tracked.download_ms,
                job.id in flagged,
            )
        )
    return Snapshot(
        scenario=str(store.scenario.path.name if store.scenario.path else "built-in default"),
        base_url=base_url,
        uptime=(wall_now if wall_now is not None else time.time()) - started,
        speed=store.clock.speed,
        manual=isinstance(store.clock, ManualClock),
        counts=dict(board.counts),
        total=len(store),
        rows=made,
        requests=list(board.requests),
        findings=list(board.findings),
        notices=list(store.notices),
        refused=list(board.refused),
    )


def short_ids(ids: list[str], least: int = 4) -> dict[str, str]:
    """The shortest suffix of each id (at least `least` characters) that no other id here ends with."""
    found = {}
    for job_id in ids:
        size = least
        while size < len(job_id) and any(o != job_id and o.endswith(job_id[-size:]) for o in ids):
            size += 1
        found[job_id] = job_id[-size:]
    return found


def _cell(text: str, width: int, style: str = "", right: bool = False) -> Text:
    shown = safe.shown(text)
    if len(shown) > width:
        shown = shown[: max(0, width - 1)] + "…" if width > 0 else ""
    padded = shown.rjust(width) if right else shown.ljust(width)
    return Text(padded, style=style)


def _line(*parts: Text) -> Text:
    line = Text(no_wrap=True, overflow="crop")
    for part in parts:
        line.append_text(part)
    return line


def _fit(line: Text, width: int) -> Text:
    """`line`, cut to `width` with an ellipsis where it is cut (never a bare `0.7m` for `0.7ms`)."""
    line.truncate(width, overflow="ellipsis")
    line.no_wrap = True
    return line


def _strip(strip: tuple[tuple[str, str], ...], width: int) -> Text:
    """The glyphs of a job's polls, the latest last; the start is cut first."""
    out = Text()
    pieces = list(strip)
    total = sum(len(glyph) for glyph, _ in pieces)
    if total > width:
        while pieces and total > width - 1:
            total -= len(pieces[0][0])
            pieces.pop(0)
        out.append("…", style="dim")
    for glyph, style in pieces:
        out.append(glyph, style=style)
    out.pad_right(max(0, width - out.cell_len))
    return out


def _header(snap: Snapshot, width: int) -> list[Text]:
    pace = "manual clock" if snap.manual else f"speed {snap.speed:g}x"
    facts = f"  {safe.shown(snap.scenario, 40)}  {pace}  up {_seconds(snap.uptime)}"
    top = _line(Text("ormock ", style="bold"), Text(snap.base_url, style="bold underline"), Text(facts))
    counts = Text(no_wrap=True, overflow="crop")
    counts.append(f"{snap.total} job{'' if snap.total == 1 else 's'}: ", style="bold")
    for status in STATUSES:
        counts.append(f"{status} {snap.counts.get(status, 0)}  ", style=COLOURS[status])
    return [_fit(top, width), _fit(counts, width)]


def _jobs(snap: Snapshot, width: int, room: int) -> list[Text]:
    shown = snap.rows[:room] if len(snap.rows) <= room else snap.rows[: max(room - 1, 0)]
    ids = {job_id: "…" + end for job_id, end in short_ids([row.id for row in shown]).items()}
    id_width = max([5, *(len(s) for s in ids.values())])
    wide = width >= 120
    rule_width = max(8, min(24, width // 6))
    end_width = max(8, min(36, width // 5))
    status_width = 11 if wide else 0
    model_width = 22 if width >= 160 else 0
    fixed = id_width + 1 + rule_width + 1 + (status_width + 1 if wide else 0) + (model_width + 1 if model_width else 0)
    fixed += 1 + end_width + 1 + 8  # end text, downloads
    strip_width = max(6, width - fixed)
    title = [_cell("…id", id_width, "bold"), Text(" "), _cell("rule", rule_width, "bold"), Text(" ")]
    if model_width:
        title += [_cell("model", model_width, "bold"), Text(" ")]
    if wide:
        title += [_cell("status", status_width, "bold"), Text(" ")]
    title += [
        _cell("polls, in order", strip_width, "bold"),
        Text(" "),
        _cell("error / cost", end_width, "bold"),
        Text(" "),
        _cell("⇣", 8, "bold"),
    ]
    lines = [_fit(_line(*title), width)]
    for row in shown:
        parts = [
            _cell(ids[row.id], id_width, WARN if row.flagged else "bold"),
            Text(" "),
            _cell(row.rule, rule_width),
            Text(" "),
        ]
        if model_width:
            parts += [_cell(row.model, model_width, "dim"), Text(" ")]
        if wide:
            parts += [_cell(row.status, status_width, COLOURS[row.status]), Text(" ")]
        end_style = "red" if row.status in TERMINAL - {"completed"} else "green"
        downloaded = f"{row.downloads}" + (f" {row.download_ms:.0f}ms" if row.download_ms is not None else "")
        parts += [
            _strip(row.strip, strip_width),
            Text(" "),
            _cell(row.end, end_width, end_style),
            Text(" "),
            _cell(downloaded if row.downloads else "-", 8, "green" if row.downloads else "dim"),
        ]
        lines.append(_fit(_line(*parts), width))
    hidden = snap.total - len(shown)
    if hidden > 0:
        by_status = ", ".join(f"{n} {s}" for s, n in snap.counts.items() if n)
        lines.append(_fit(Text(f"+{hidden} more jobs (all: {by_status})", style="dim"), width))
    if not snap.rows:
        lines.append(_fit(Text("no jobs yet: submit one to " + snap.base_url + "/videos", style="dim"), width))
    return lines


def _findings_lines(snap: Snapshot, width: int, room: int, ids: dict[str, str]) -> list[Text]:
    lines = []
    for verdict, check, job, text in snap.findings[:room]:
        mark = Text("✗ " if verdict == "fail" else "! ", style="bold red" if verdict == "fail" else WARN)
        who = Text(f"{ids.get(job or '', (job or '')[-6:])} " if job else "", style="bold")
        lines.append(_fit(_line(mark, Text(f"{check}: ", style=WARN), who, Text(safe.shown(text))), width))
    for notice in snap.notices[-max(0, room - len(lines)) :] if room > len(lines) else []:
        lines.append(_fit(Text(safe.shown(notice), style="magenta"), width))
    return lines


def _latest(snap: Snapshot, room: int) -> list[Entry]:
    """The latest `room` requests, with the latest refused submits kept among them (a refused submit
    makes no job, so nothing else on the screen would show it once newer requests came)."""
    if room <= 0:
        return []
    latest = snap.requests[-room:]
    shown = {entry.seq for entry in latest}
    pinned = [entry for entry in snap.refused[-min(PINNED, room // 2) :] if entry.seq not in shown]
    if not pinned:
        return latest
    return sorted(pinned + latest[len(pinned) :], key=lambda entry: entry.seq)


def _requests_lines(snap: Snapshot, width: int, room: int, ids: dict[str, str]) -> list[Text]:
    lines = []
    for entry in _latest(snap, room):
        stamp = time.strftime("%H:%M:%S", time.localtime(entry.wall)) if entry.wall else "--:--:--"
        what = entry.kind if entry.kind in ("webhook", "control") else entry.what
        if entry.job_id in ids:
            job = ids[entry.job_id or ""]
        elif entry.job_id:  # a job not on screen, or one that does not exist: as much of its id as fits
            job = safe.shown(entry.job_id, 28)
        else:
            job = safe.shown(entry.full_path, 48) if what in ("other", "webhook", "control") else ""
        code_style = "red" if entry.status >= 500 or entry.status == 0 else WARN if entry.status >= 400 else "green"
        parts = [
            Text(f"{stamp} "),
            _cell(what, 9, "bold"),
            Text(job + " "),
            Text(f"{entry.status or '---'} ", style=code_style),
        ]
        if entry.note:
            where = f" [{entry.test_id}]" if entry.test_id else ""
            parts.append(Text(f"{safe.shown(entry.note + where, 60)} ", style="magenta"))
        elif entry.seen:
            parts.append(Text(f"{entry.seen} ", style=COLOURS.get(entry.seen, "")))
        elif entry.error:
            parts.append(Text(f"{safe.shown(entry.error, 40)} ", style=code_style))
        took = f"{entry.latency_ms:.1f}ms"
        if entry.what == "download" and entry.sent is not None:
            took = f"{entry.sent / 1e6:.1f}MB in {entry.latency_ms:.0f}ms" + ("" if entry.complete else " cut off")
        parts.append(Text(took + " ", style="dim"))
        if entry.scripted:
            parts.append(Text(f"[scripted: {safe.shown(entry.scripted, 30)}]", style="magenta"))
        if entry.fault:
            parts.append(Text(f"[injected: {safe.shown(entry.fault, 40)}]", style="magenta"))
        lines.append(_fit(_line(*parts), width))
    return lines


def render(snap: Snapshot, width: int, height: int) -> RenderableType:
    """The whole screen for a terminal of `width` x `height`: no line longer than `width`, no more
    lines than `height`."""
    width = max(20, width)
    height = max(8, height)
    header = _header(snap, width)
    finding_room = min(len(snap.findings) + min(len(snap.notices), 2), max(1, height // 6))
    # the screen's rows: the header, the jobs' title, the findings, the requests' title, the legend ...
    free = height - len(header) - 1 - (finding_room + 1 if finding_room else 0) - 1 - 1
    # ... then the jobs, as many as there are while the requests keep a few rows, and the rest requests
    least_requests = max(2, min(10, height // 5))
    job_room = max(1, min(max(1, len(snap.rows)), free - least_requests))
    request_room = max(least_requests, free - job_room)
    jobs = _jobs(snap, width, job_room)
    ids = {job_id: "…" + end for job_id, end in short_ids([row.id for row in snap.rows[:job_room]]).items()}
    parts: list[Text] = [*header, *jobs]
    if finding_room:
        parts.append(
            _fit(Text("worth a look  (✗ fail, ! warn: ormock docs client-report)", style="bold yellow"), width)
        )
        parts += _findings_lines(snap, width, finding_room, ids)
    parts.append(_fit(Text("latest requests", style="bold"), width))
    parts += _requests_lines(snap, width, request_room, ids)
    legend = next((text for text in LEGENDS if len(text) <= width), LEGENDS[-1])
    parts.append(_fit(Text(legend, style="dim"), width))
    return Group(*parts[:height])


async def run_dashboard(board: Board, base_url: str, console: Console) -> None:
    """Redraws the dashboard of `ormock serve` until cancelled (see `run_live`)."""
    started = time.time()
    await run_live(
        lambda: snapshot_board(board, base_url, started),
        console,
        lambda: snapshot_board(board, base_url, started, last=True),
    )


async def run_live(
    frame: Callable[[], Snapshot], console: Console, final: Callable[[], Snapshot] | None = None
) -> None:
    """Redraws the snapshots `frame` takes until cancelled; then the terminal is restored and the
    last frame (`final`'s, taken then, when given) is printed to the normal screen, where it stays.
    (`ormock record` uses it too.)"""
    last: Snapshot | None = None
    try:
        with Live(console=console, screen=True, auto_refresh=False, redirect_stdout=False) as live:
            while True:
                last = frame()
                size = console.size
                screen = render(last, size.width, size.height)
                await asyncio.to_thread(live.update, screen, refresh=True)
                await asyncio.sleep(FRAME_SECONDS)
    finally:
        if final is not None:
            last = final()
        if last is not None:
            size = console.size
            console.print(render(last, size.width, max(8, size.height - 8)))


def snapshot_recording(recorder: Recorder, base_url: str, started: float) -> Snapshot:
    """A dashboard frame of the jobs being recorded: each real job with
    what its polls answered, its ending and its content, and the latest requests."""
    counts = dict.fromkeys(COLOURS, 0)
    rows = []
    now = recorder.clock.time()
    for recorded in reversed(list(recorder.jobs.values())[-200:]):
        statuses = [p.job_status for p in recorded.polls if p.status == 200 and p.job_status]
        status = statuses[-1] if statuses else "pending"
        counts[status] = counts.get(status, 0) + 1
        strip = tuple(
            (GLYPHS.get(p.job_status, "?"), COLOURS.get(p.job_status, ""))
            if p.status == 200 and p.job_status
            else (str(p.status), "bold red" if p.status >= 500 else WARN)
            for p in recorded.polls[-64:]
        )
        last = recorded.polls[-1] if recorded.polls else None
        if status == "completed":
            end = f"${last.cost:.3f}" if last and last.cost is not None else "cost n/a"
        else:
            end = (last.error or "") if last and status in TERMINAL else ""
        rows.append(
            Row(
                recorded.job_id,
                "",
                str(recorded.body.get("prompt", ""))[:40] or "-",
                str(recorded.body.get("model")),
                status,
                now - (last.at if last else recorded.submitted),
                "-",
                strip,
                end,
                1 if recorded.content_complete else 0,
                None,
                False,
            )
        )
    return Snapshot(
        scenario=f"recording {recorder.upstream}",
        base_url=base_url,
        uptime=time.time() - started,
        speed=1.0,
        manual=False,
        counts=counts,
        total=len(recorder.jobs),
        rows=rows,
        requests=list(recorder.seen),
    )
