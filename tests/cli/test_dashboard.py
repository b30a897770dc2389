"""The dashboard: what each job was asked and answered, at any terminal size. Rendered from a
`Board` fed by real requests (in process), and end to end: `ormock serve` in a pseudo-terminal at
80x24 and 200x50, read through a terminal emulator (pyte), stopped with Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import httpx
import pyte
import pytest
from rich.console import Console
from support import KEY, SEEDANCE

from ormock import ManualClock, create_app, parse_scenario
from ormock.cli.dashboard import Board, render, short_ids, snapshot_board

SCENARIO = """
[default]
timeline = [{ status = "in_progress", polls = 2 }, { status = "completed", cost = 0.25 }]

[[rule]]
name = "fails"
match = { prompt = "fail" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "Provider returned error" }]

[[rule]]
name = "revoked"
match = { prompt = "revoked" }
timeline = [
  { status = "in_progress", polls = 1 },
  { respond = 401, polls = 1, message = "User not found." },
  { status = "completed" },
]

[[rule]]
name = "refused download"
match = { prompt = "refused" }
timeline = [{ status = "completed" }]
download = { respond = 401, times = 1 }

[[rule]]
name = "flaky poll"
match = { prompt = "flaky" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed" }]
faults = [{ endpoint = "poll", nth = 1, respond = 503 }]
"""
PROMPTS = ("a happy one", "please fail", "revoked", "refused", "flaky")


def drive(http: httpx.Client | None, base: str, advance=lambda: None) -> dict[str, str]:
    """Each prompt's job, polled to its end at 10 s intervals, then downloaded."""
    client = http or httpx.Client(headers=KEY)
    ids = {}
    for prompt in PROMPTS:
        ids[prompt] = client.post(f"{base}/videos", json={"model": SEEDANCE, "prompt": prompt}).json()["id"]
    for prompt, job_id in ids.items():
        for _ in range(6):
            advance()
            answer = client.get(f"{base}/videos/{job_id}")
            if answer.status_code == 200 and answer.json()["status"] in ("completed", "failed"):
                break
        if answer.json().get("status") == "completed":
            client.get(f"{base}/videos/{job_id}/content")
            if prompt == "refused":
                client.get(f"{base}/videos/{job_id}/content")  # the scripted 401, then the video
    return ids


def shown_ids(ids: list[str]) -> dict[str, str]:
    """Job ids as the dashboard shows them: the end of each, after a `…` that says it is the end."""
    return {job_id: "…" + end for job_id, end in short_ids(ids).items()}


def text_of(board: Board, width: int, height: int) -> list[str]:
    console = Console(record=True, width=width, height=height, force_terminal=True, color_system="truecolor")
    console.print(
        render(snapshot_board(board, "http://127.0.0.1:8000/api/v1", started=0.0, wall_now=90.0), width, height)
    )
    return console.export_text(styles=False).rstrip("\n").split("\n")


@pytest.fixture
def served():
    app = create_app(parse_scenario(SCENARIO), ManualClock(), seed=4)
    board = Board(app.store)
    app.listeners.append(board.request)
    return app, board


async def drive_in_process(app) -> dict[str, str]:
    ids = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000", headers=KEY
    ) as http:
        for prompt in PROMPTS:
            ids[prompt] = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": prompt})).json()["id"]
        for prompt, job_id in ids.items():
            for _ in range(6):
                app.store.clock.advance(10)
                answer = await http.get(f"/api/v1/videos/{job_id}")
                if answer.status_code == 200 and answer.json()["status"] in ("completed", "failed"):
                    break
            if answer.json().get("status") == "completed":
                await http.get(f"/api/v1/videos/{job_id}/content")
                if prompt == "refused":
                    await http.get(f"/api/v1/videos/{job_id}/content")
    return ids


async def test_the_last_frame_judges_the_findings_afresh(served):
    """The live frames judge the findings every few frames; the one left on screen at the stop
    must not show a finding that no longer holds (here: a download that came after the judging)."""
    app, board = served
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000", headers=KEY
    ) as http:
        job_id = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "refused"})).json()["id"]
        await http.get(f"/api/v1/videos/{job_id}")
        snapshot_board(board, "http://x/api/v1", started=0.0)  # the first frame judges: completed, never downloaded
        assert [check for _, check, _, _ in board.findings] == ["never downloaded"]
        await http.get(f"/api/v1/videos/{job_id}/content")  # the scripted 401
        await http.get(f"/api/v1/videos/{job_id}/content")  # the video
    assert [check for _, check, _, _ in snapshot_board(board, "http://x/api/v1", started=0.0).findings] == [
        "never downloaded"
    ]
    last = snapshot_board(board, "http://x/api/v1", started=0.0, last=True)
    assert [check for _, check, _, _ in last.findings] == ["retried client errors"]  # the retry, not the download


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 50)])
async def test_each_job_on_a_line_with_what_its_polls_answered(served, width, height):
    app, board = served
    ids = await drive_in_process(app)
    lines = text_of(board, width, height)
    assert len(lines) <= height and all(len(line) <= width for line in lines)
    short = shown_ids(list(ids.values()))
    row = {
        prompt: next(line for line in lines if line.startswith(short[job_id] + " ")) for prompt, job_id in ids.items()
    }
    assert "▸▸✓" in row["a happy one"] and "$0.250" in row["a happy one"]
    assert "▸✗" in row["please fail"] and "Provider return" in row["please fail"]
    assert "▸401✓" in row["revoked"]
    assert "✓" in row["refused"]
    assert "503▸✓" in row["flaky"]
    if width >= 120:
        assert "completed" in row["a happy one"] and "failed" in row["please fail"]  # the status column


async def test_requests_name_what_they_were_and_mark_what_was_scripted_or_injected(served):
    app, board = served
    ids = await drive_in_process(app)
    lines = text_of(board, 200, 60)
    short = shown_ids(list(ids.values()))
    requests = lines[lines.index("latest requests") + 1 :]
    assert any(
        re.search(rf"download\s+{short[ids['refused']]}\s+401 .*\[scripted: refused download\]", line)
        for line in requests
    )
    assert any(re.search(rf"download\s+{short[ids['refused']]}\s+200 \d+\.\dMB in \d+ms", line) for line in requests)
    # the injected 503 is further back: the board keeps it, a taller screen shows it
    everything = [f"{e.what} {e.status} {e.fault}" for e in board.requests]
    assert "poll 503 rule flaky poll: 503" in everything
    assert lines[-1].startswith("· pending ▸ in progress ✓ completed ✗ failed")


async def test_findings_from_the_client_report_show_live(served):
    app, board = served
    store = app.store
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000", headers=KEY
    ) as http:
        job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})).json()["id"]
        for _ in range(4):
            await http.get(f"/api/v1/videos/{job}")  # no time between polls
        store.clock.advance(1)
    lines = text_of(board, 120, 30)
    short = shown_ids([job])[job]
    assert any(line.startswith(f"✗ poll interval: {short} polled 4 times") for line in lines)
    assert any(line.startswith(f"! polls after the end: {short} polled 1 more time(s)") for line in lines)


async def test_many_jobs_stay_readable(served):
    app, board = served
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000", headers=KEY
    ) as http:
        for n in range(300):
            job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": f"p{n}"})).json()["id"]
            if n % 3 == 0:
                for _ in range(3):
                    await http.get(f"/api/v1/videos/{job}")
    lines = text_of(board, 80, 24)
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    assert lines[1].startswith("300 jobs: pending 0  in_progress 200  completed 100")
    more = next(line for line in lines if line.startswith("+"))
    assert re.match(r"\+\d+ more jobs \(all: 200 in_progress, 100 completed\)", more)
    assert not any("✓" in line for line in lines[3:6])  # the rows at the top are jobs still running


# --- in a real terminal -----------------------------------------------------------------------


def in_a_terminal(scenario, columns: int, rows: int, *args: str) -> tuple[subprocess.Popen, int]:
    parent, child = pty.openpty()
    os.set_blocking(parent, False)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    command = [sys.executable, "-m", "ormock", "serve", str(scenario), "--port", "0", *args]
    proc = subprocess.Popen(
        command, stdin=child, stdout=child, stderr=child, env=env, close_fds=True, start_new_session=True
    )
    os.close(child)
    return proc, parent


class Terminal:
    """What a person sees: the pseudo-terminal's output run through a terminal emulator."""

    def __init__(self, parent: int, columns: int, rows: int) -> None:
        self.parent = parent
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""

    def pump(self, limit: float = 0.2) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.parent], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.parent, 65536)
                except OSError:
                    return
                self.raw += data
                self.stream.feed(data)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def wait_for(self, pattern: str, limit: float = 20.0) -> list[str]:
        deadline = time.monotonic() + limit  # bounds a failing test
        while time.monotonic() < deadline:
            self.pump()
            if any(re.search(pattern, line) for line in self.lines()):
                return self.lines()
        raise AssertionError(f"never saw {pattern!r} on:\n" + "\n".join(self.lines()))


@pytest.mark.parametrize(("columns", "rows"), [(80, 24), (200, 50)])
def test_serve_in_a_terminal_shows_every_job_and_leaves_the_last_frame_on_ctrl_c(tmp_path, columns, rows):
    scenario = tmp_path / "mixed.toml"
    scenario.write_text(SCENARIO)
    proc, parent = in_a_terminal(scenario, columns, rows, "--clock", "manual")
    term = Terminal(parent, columns, rows)
    try:
        url = re.search(rb"http://127\.0\.0\.1:\d+/api/v1", (term.pump(2.0), term.raw)[1]).group().decode()
        root = url.removesuffix("/api/v1")
        ids = drive(None, url, advance=lambda: httpx.post(f"{root}/__ormock/clock/advance", json={"seconds": 10}))
        short = shown_ids(list(ids.values()))
        # the last thing the client did: the flaky job's download (its row is on screen before it)
        lines = term.wait_for(rf"download\s+{short[ids['flaky']]}\s+200 \d+\.\dMB in \d+ms")
        assert len(lines) == rows and all(len(line) <= columns for line in lines)  # nothing wraps
        shown = "\n".join(lines)
        for prompt, job_id in ids.items():
            assert re.search(rf"^{short[job_id]} ", shown, re.M), (prompt, shown)
        assert re.search(rf"^{short[ids['revoked']]} .*▸401✓", shown, re.M)
        assert re.search(rf"^{short[ids['please fail']]} .*▸✗", shown, re.M)
        assert re.search(rf"^{short[ids['flaky']]} .*503▸✓", shown, re.M)
        if rows >= 50:
            assert re.search(rf"download\s+{short[ids['refused']]}\s+401 .*\[scripted: refused download\]", shown)
            assert "[injected: rule flaky poll: 503]" in shown or re.search(r"poll\s+\S+\s+503", shown)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        proc.wait(15)
        term.pump(1.0)
        after = "\n".join(term.lines())
        assert "client report:" in after and "ormock: stopped" in after  # the summary, on the normal screen
        assert b"\x1b[?1049l" in term.raw  # the alternate screen was left: the terminal is restored
        after_exit = term.raw[term.raw.rindex(b"\x1b[?1049l") :].decode("utf-8", "replace")
        final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", after_exit)
        assert re.search(rf"{short[ids['revoked']]} .*▸401✓", final)  # the last frame, printed after the exit
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)
    assert proc.returncode == 0


def test_no_dashboard_in_a_terminal_prints_plain_lines(tmp_path):
    scenario = tmp_path / "mixed.toml"
    scenario.write_text(SCENARIO)
    proc, parent = in_a_terminal(scenario, 100, 30, "--no-dashboard")
    term = Terminal(parent, 100, 30)
    try:
        url = re.search(rb"http://127\.0\.0\.1:\d+/api/v1", (term.pump(2.0), term.raw)[1]).group().decode()
        httpx.post(url + "/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
        term.wait_for(r"POST /api/v1/videos 202")
        assert b"\x1b[?1049h" not in term.raw  # no alternate screen
        proc.terminate()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)


async def test_a_frame_never_compares_tracked_jobs_field_by_field(make_mock, monkeypatch):
    """A frame split running from ended jobs with `in` on a list, comparing each tracked job (and
    its Job) field by field: 2,000 open jobs froze every client for seconds. No comparison now."""
    from ormock.cli import dashboard

    mock = make_mock('[[rule]]\nname = "ends"\nmatch = { prompt = "end" }\ntimeline = [{ status = "completed" }]\n')
    board = Board(mock.store)
    mock.app.listeners.append(board.request)
    for i in range(300):
        await mock.job_id(prompt="end" if i % 2 else "open")
    compared: list[int] = []
    monkeypatch.setattr(dashboard.Tracked, "__eq__", lambda self, other: compared.append(1) or self is other)
    snap = snapshot_board(board, "http://ormock.test/api/v1", started=0.0)
    assert compared == []
    assert len(snap.rows) == 200 and snap.rows[0].status != "completed"  # running ones first


async def test_rules_added_and_removed_at_runtime_show_with_their_test_id(served):
    app, board = served
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        body = {"rules": [{"name": "the next fails", "uses": 1, "timeline": [{"status": "failed"}]}]}
        assert (await http.post("/__ormock/rules", json=body, headers={"X-Test-Id": "w1"})).status_code == 201
        await http.delete("/__ormock/rules", headers={"X-Test-Id": "w1"})
    requests = text_of(board, 120, 40)
    assert any(
        re.search(r"control\s+/__ormock/rules\s+201 added rule the next fails \[w1\]", line) for line in requests
    )
    assert any(
        re.search(r"control\s+/__ormock/rules\s+200 removed rule the next fails \[w1\]", line) for line in requests
    )


async def test_the_screen_is_used_and_a_refused_submit_stays_in_sight(served):
    app, board = served
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000", headers=KEY
    ) as http:
        refused = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x", "duration": 99})
        assert refused.status_code == 400
        job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "a happy one"})).json()["id"]
        for _ in range(30):  # many newer requests
            await http.get("/api/v1/videos/models")
        await http.get(f"/api/v1/videos/{job}")
    lines = text_of(board, 80, 24)
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    requests = lines[lines.index("latest requests") + 1 : -1]
    assert len(requests) >= 14  # one job on the screen: the rows it does not need show requests
    assert any(re.search(r"submit\s+.*400 duration 99 is not", line) for line in requests)  # still in sight
    assert any(line.startswith("…") for line in lines)  # job ids shown as the end of the id


@pytest.mark.parametrize("width", [20, 40, 70, 100, 140])
def test_the_legend_keeps_every_glyphs_meaning_at_any_width(width):
    from ormock.cli.dashboard import GLYPHS, LEGENDS

    legend = next((text for text in LEGENDS if len(text) <= width), LEGENDS[-1])
    assert all(glyph in legend for glyph in GLYPHS.values())


def test_a_line_too_long_is_cut_with_an_ellipsis_not_mid_unit():
    from rich.text import Text

    from ormock.cli.dashboard import _fit

    assert _fit(Text("download 12.5MB in 812ms"), 20).plain == "download 12.5MB in …"
