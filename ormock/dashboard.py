"""The live dashboard of `ormock serve` in a terminal: every job, what clients do to it, and what
they do wrong.

`take(store, ...)` copies what the dashboard shows out of the job store into a `Snapshot` of plain
values; `render(snapshot, width, height)` turns a snapshot into Rich renderables. The runner takes
a snapshot on the event loop a few times a second (reading only) and renders it in a worker thread,
so the dashboard never drives the store and barely touches the loop that serves requests.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import safe
from .jobs import Entry, JobStore
from .scenario import STATUSES, TERMINAL

COLOURS = {
    "pending": "yellow",
    "in_progress": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "expired": "bright_black",
}
WARN = "bold yellow"
FAST_POLL = 5.0  # scenario seconds; the service documents polling every 10-30 s
UNDOWNLOADED_AFTER = 60.0  # scenario seconds in `completed` before "never downloaded" is flagged
FRAME_SECONDS = 0.5  # two frames a second: live enough for a person, light on the server


@dataclass(frozen=True)
class Row:
    id: str
    test_id: str
    rule: str
    model: str
    status: str
    in_status: float
    next_step: str
    polls: int
    since_poll: float | None
    mean_interval: float | None
    downloads: int


@dataclass(frozen=True)
class Snapshot:
    scenario: str
    base_url: str
    uptime: float
    speed: float
    manual: bool
    counts: dict[str, int]
    rows: list[Row]
    requests: list[Entry]
    warnings: list[str] = field(default_factory=list)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"


def take(store: JobStore, base_url: str, started: float, wall_now: float | None = None) -> Snapshot:
    """What the dashboard shows, read from the store without changing anything a client sees."""
    now = store.clock.time()
    manual = type(store.clock).__name__ == "ManualClock"
    counts = dict.fromkeys(STATUSES, 0)
    rows: list[Row] = []
    warnings: list[str] = []
    for job in store:
        view = store.peek(job)
        counts[view.status] += 1
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
        mean = None
        if job.polls >= 2 and job.first_poll_at is not None and job.last_poll_at is not None:
            mean = (job.last_poll_at - job.first_poll_at) / (job.polls - 1)
        since_poll = now - job.last_poll_at if job.last_poll_at is not None else None
        rows.append(
            Row(job.id, job.test_id, job.rule.name, job.model.id, view.status, now - view.since, next_step,
                job.polls, since_poll, mean, job.downloaded)
        )  # fmt: skip
        name = job.id[-8:]
        if mean is not None and not manual and job.polls >= 3 and mean < FAST_POLL:
            warnings.append(f"{name} polled every {_seconds(mean)} (the service asks for 10-30 s)")
        if job.late_polls > 1:
            warnings.append(f"{name} polled {job.late_polls - 1} more time(s) after it was {view.status}")
        if view.status == "completed" and job.downloaded == 0 and now - view.since >= UNDOWNLOADED_AFTER:
            warnings.append(f"{name} completed {_seconds(now - view.since)} ago and was never downloaded")
    warnings += list(store.notices)
    requests = store.journal(None)
    for entry in requests:
        if entry.path.endswith("/content") and entry.status == 401:
            why = f" (scripted by rule {entry.scripted})" if entry.scripted else ""
            warnings.append(f"{(entry.job_id or '?')[-8:]} download refused with 401{why}: {entry.error}")
        elif entry.kind == "webhook" and entry.error:
            warnings.append(f"{(entry.job_id or '?')[-8:]} webhook attempt failed: {entry.error}")
        elif entry.method == "POST" and entry.path == "/api/v1/videos" and entry.status == 400:
            warnings.append(f"submit rejected with 400: {entry.error}")
    rows.sort(key=lambda row: (row.status in TERMINAL, -row.in_status if row.status in TERMINAL else row.in_status))
    return Snapshot(
        scenario=str(store.scenario.path or "<scenario>"),
        base_url=base_url,
        uptime=(wall_now if wall_now is not None else time.time()) - started,
        speed=store.clock.speed,
        manual=manual,
        counts=counts,
        rows=rows,
        requests=requests[-50:],
        warnings=warnings[-50:],
    )


def _header(snap: Snapshot) -> RenderableType:
    pace = "manual clock" if snap.manual else f"speed {snap.speed:g}x"
    line = Text.assemble(("ormock ", "bold"), (snap.base_url, "bold underline"), f"  {snap.scenario}  ")
    line.append(f"up {_seconds(snap.uptime)}  {pace}")
    counts = Text()
    for status in STATUSES:
        counts.append(f"{status} {snap.counts.get(status, 0)}  ", style=COLOURS[status])
    return Group(line, counts)


def _jobs(snap: Snapshot, width: int, rows_room: int) -> RenderableType:
    wide = width >= 110
    table = Table(expand=True, box=None, pad_edge=False, header_style="bold")
    table.add_column("job", no_wrap=True, min_width=8)
    table.add_column("rule", no_wrap=True, overflow="ellipsis", ratio=2, min_width=10)
    if wide:
        table.add_column("model", no_wrap=True, overflow="ellipsis", ratio=2)
    table.add_column("status", no_wrap=True, min_width=11)
    table.add_column("in status", justify="right", no_wrap=True)
    table.add_column("next", justify="right", no_wrap=True)
    table.add_column("polls", justify="right", no_wrap=True)
    table.add_column("last poll", justify="right", no_wrap=True)
    if wide:
        table.add_column("every", justify="right", no_wrap=True)
    table.add_column("dl", justify="right", no_wrap=True)
    shown = snap.rows if len(snap.rows) <= rows_room else snap.rows[: max(rows_room - 1, 0)]
    for row in shown:
        cells: list[RenderableType] = [row.id[-8:], row.rule]
        if wide:
            cells.append(row.model)
        cells += [
            Text(row.status, style=COLOURS[row.status]),
            _seconds(row.in_status),
            row.next_step,
            str(row.polls),
            _seconds(row.since_poll),
        ]
        if wide:
            fast = row.mean_interval is not None and row.mean_interval < FAST_POLL and not snap.manual
            cells.append(Text(_seconds(row.mean_interval), style=WARN if fast and row.polls >= 3 else ""))
        cells.append(str(row.downloads))
        table.add_row(*cells)
    if len(shown) < len(snap.rows):
        table.add_row(Text(f"+{len(snap.rows) - len(shown)} more", style="dim"))
    if not snap.rows:
        table.add_row(Text("no jobs yet: submit one to " + snap.base_url + "/videos", style="dim"))
    return table


def _requests(snap: Snapshot, room: int) -> RenderableType:
    table = Table(expand=True, box=None, pad_edge=False, header_style="bold")
    table.add_column("clock", no_wrap=True, min_width=8)
    table.add_column("method", no_wrap=True, min_width=4)
    table.add_column("path", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("code", justify="right", no_wrap=True, min_width=4)
    table.add_column("ms", justify="right", no_wrap=True, min_width=5)
    table.add_column("scripted / fault", no_wrap=True, overflow="ellipsis", style="magenta", max_width=30)
    for entry in snap.requests[-room:] if room > 0 else []:
        stamp = time.strftime("%H:%M:%S", time.localtime(entry.time)) if not snap.manual else f"{entry.time:.1f}"
        code_style = "red" if entry.status >= 500 else WARN if entry.status >= 400 else "green"
        method = "hook" if entry.kind == "webhook" else entry.method
        code = Text(str(entry.status or "-"), style=code_style if entry.status else "red")
        mark = entry.fault or (f"scripted: {entry.scripted}" if entry.scripted else "")
        path = Text(safe.shown(entry.full_path))  # a Text: what a client sent is never read as markup
        table.add_row(stamp, method, path, code, f"{entry.latency_ms:.1f}", Text(mark))
    return table


def render(snap: Snapshot, width: int, height: int) -> RenderableType:
    """The whole screen for a terminal of `width` x `height`."""
    warn_room = min(len(snap.warnings), max(2, height // 6))
    request_room = max(3, min(10, height // 4))
    # header 2, panel borders and titles, the jobs table header, the warnings and requests panes
    jobs_room = max(1, height - 2 - 3 - 1 - (warn_room + 2 if warn_room else 0) - (request_room + 3))
    parts: list[RenderableType] = [
        _header(snap),
        Panel(_jobs(snap, width, jobs_room), title=f"jobs ({len(snap.rows)})", title_align="left"),
    ]
    if warn_room:
        shown = "\n".join(safe.shown(line) for line in snap.warnings[-warn_room:])
        lines = Text(shown, style=WARN, no_wrap=True, overflow="ellipsis")
        parts.append(Panel(lines, title="worth a look", title_align="left", border_style="yellow"))
    parts.append(Panel(_requests(snap, request_room), title="latest requests", title_align="left"))
    return Group(*parts)


async def run_dashboard(store: JobStore, base_url: str, console: Console) -> None:
    """Redraws the dashboard until cancelled; the terminal is restored on the way out."""
    started = time.time()
    with Live(console=console, screen=True, auto_refresh=False, redirect_stdout=False) as live:
        while True:
            snap = take(store, base_url, started)
            size = console.size
            screen = render(snap, size.width, size.height)
            await asyncio.to_thread(live.update, screen, refresh=True)
            await asyncio.sleep(FRAME_SECONDS)
