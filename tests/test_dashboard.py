"""The dashboard, rendered into a recording Console from a store with a fixed clock and fixed jobs,
and once end to end: `ormock serve` in a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import httpx
from conftest import KEY, SCENARIOS, SEEDANCE
from rich.console import Console

from ormock.dashboard import render, take


def screen(mock, width: int = 140, height: int = 50) -> str:
    snap = take(mock.store, "http://ormock.test/api/v1", started=0.0, wall_now=90.0)
    console = Console(record=True, width=width, height=height, force_terminal=True, color_system="truecolor")
    console.print(render(snap, width, height))
    return console.export_text()


async def test_header_counts_statuses_and_rows_with_active_jobs_first(mock):
    done = await mock.job_id(prompt="no download")
    await mock.poll(done)
    await mock.poll(done)  # completed now
    failed = await mock.job_id(prompt="cancel me")
    busy = await mock.job_id(prompt="golden retriever")
    mock.clock.advance(5)
    text = screen(mock)
    assert "ormock http://ormock.test/api/v1" in text
    assert "seedance.toml" in text and "up 1m30s" in text and "manual clock" in text
    assert re.search(r"pending 0\s+in_progress 1\s+completed 1\s+failed 0\s+cancelled 1\s+expired 0", text)
    rows = [line for line in text.splitlines() if any(job[-8:] in line for job in (done, failed, busy))]
    assert busy[-8:] in rows[0] and "in_progress" in rows[0] and "happy path" in rows[0]
    assert "42.0s" in rows[0]  # until the next step: 45 s in_progress, 3 s of it gone
    assert any(done[-8:] in row and "completed" in row for row in rows)
    assert any(failed[-8:] in row and "cancelled" in row for row in rows)


async def test_status_colours(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    snap = take(mock.store, "http://x/api/v1", started=0.0, wall_now=1.0)
    console = Console(record=True, width=140, height=40, force_terminal=True, color_system="truecolor")
    console.print(render(snap, 140, 40))
    styled = console.export_text(styles=True)
    row = next(line for line in styled.splitlines() if job_id[-8:] in line)
    assert "\x1b[33mpending" in row  # yellow
    await mock.http.post(f"/__ormock/jobs/{job_id}/status", json={"status": "failed"})
    snap = take(mock.store, "http://x/api/v1", started=0.0, wall_now=1.0)
    console.print(render(snap, 140, 40))
    styled = console.export_text(styles=True)
    assert "\x1b[31mfailed" in next(line for line in styled.splitlines() if job_id[-8:] in line)  # red


async def test_rows_are_capped_to_the_terminal_height(mock):
    for _ in range(40):
        await mock.job_id()
    text = screen(mock, height=30)
    assert len(text.splitlines()) <= 30
    match = re.search(r"\+(\d+) more", text)
    assert match
    shown = sum(1 for line in text.splitlines() if re.search(r"│ \S{8}  default", line))
    assert shown + int(match.group(1)) == 40


async def test_client_behaviour_worth_flagging(make_mock):
    mock = make_mock(file="seedance.toml")
    fast = await mock.job_id(prompt="fail")
    mock.clock.advance(2)
    for _ in range(6):  # three in_progress polls, the failure, then two more after the end
        await mock.poll(fast)
    undownloaded = await mock.job_id(prompt="no download")
    await mock.poll(undownloaded)
    await mock.poll(undownloaded)
    refused = await mock.job_id(prompt="no download")
    await mock.poll(refused)
    await mock.poll(refused)
    await mock.download(refused)
    await mock.submit(duration=20)
    mock.clock.advance(120)
    text = screen(mock, width=160)
    assert f"{fast[-8:]} polled 2 more time(s) after it was failed" in text
    assert f"{undownloaded[-8:]} completed 2m00s ago and was never downloaded" in text
    assert f"{refused[-8:]} download refused with 401" in text
    assert "submit rejected with 400: duration 20 is not supported by bytedance/seedance-2.0; supported: 4-15" in text


async def test_fast_polling_is_flagged_relative_to_the_scenario_clock(make_mock):
    from ormock.clock import ScaledClock

    mock = make_mock("")
    mock.store.clock = ScaledClock(speed=1)  # a running clock; polls below are taken as 1 s apart
    job_id = await mock.job_id()
    job = mock.store.get(job_id)
    job.polls, job.first_poll_at, job.last_poll_at = 5, 100.0, 104.0
    assert f"{job_id[-8:]} polled every 1.0s (the service asks for 10-30 s)" in screen(mock)
    job.first_poll_at = 40.0  # every 16 s: fine
    assert "polled every" not in screen(mock)


async def test_latest_requests_pane(mock):
    job_id = await mock.job_id()
    await mock.poll(job_id)
    await mock.http.get("/api/v1/videos/gen-vid-0-none", headers=KEY)
    text = screen(mock)
    assert re.search(r"POST\s+/api/v1/videos\s+202", text)
    assert re.search(rf"GET\s+/api/v1/videos/{job_id}\s+200", text)
    assert re.search(r"GET\s+/api/v1/videos/gen-vid-0-none\s+404", text)


async def test_narrow_terminal_still_renders(mock):
    for prompt in ("golden retriever", "cancel", "fail"):
        await mock.job_id(prompt=prompt)
    text = screen(mock, width=60, height=20)
    assert all(len(line) <= 60 for line in text.splitlines())
    assert "pending" in text


def in_a_terminal(*args: str) -> tuple[subprocess.Popen, int]:
    """`ormock serve seedance.toml --port 0 ARGS` with a pseudo-terminal as its stdio."""
    parent, child = pty.openpty()
    os.set_blocking(parent, False)
    env = {**os.environ, "COLUMNS": "140", "LINES": "40", "TERM": "xterm-256color"}
    command = [sys.executable, "-m", "ormock", "serve", str(SCENARIOS / "seedance.toml"), "--port", "0", *args]
    proc = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    return proc, parent


def reader(parent: int):
    seen = b""

    def read_until(pattern: bytes, limit: float = 20.0) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if re.search(pattern, seen):
                return seen
            ready, _, _ = select.select([parent], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(parent, 65536)
                except OSError:
                    break
        raise AssertionError(f"never saw {pattern!r}; last output: {seen[-2000:]!r}")

    return read_until


def test_serve_in_a_pseudo_terminal_shows_a_job_reach_completed():
    proc, parent = in_a_terminal("--speed", "100000")
    read_until = reader(parent)
    try:
        url = re.search(rb"http://127\.0\.0\.1:\d+/api/v1", read_until(rb"/api/v1")).group().decode()
        with httpx.Client(base_url=url, headers=KEY) as http:
            job_id = http.post("/videos", json={"model": SEEDANCE, "prompt": "golden retriever"}).json()["id"]
            for _ in range(2000):
                if http.get(f"/videos/{job_id}").json()["status"] == "completed":
                    break
                time.sleep(0.01)
        plain = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
        read_until(job_id[-8:].encode() + rb"[^\n]*completed")  # the row, in the raw frame
        assert re.search(job_id[-8:].encode() + rb".*completed", plain.sub(b"", read_until(rb"completed")))
        proc.terminate()
        proc.wait(10)
        read_until(rb"\x1b\[\?1049l", limit=5)  # the alternate screen is left: the terminal is restored
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)
    assert proc.returncode == 0


def test_no_dashboard_in_a_terminal_prints_plain_lines():
    proc, parent = in_a_terminal("--no-dashboard")
    read_until = reader(parent)
    try:
        url = re.search(rb"http://127\.0\.0\.1:\d+/api/v1", read_until(rb"/api/v1")).group().decode()
        httpx.post(url + "/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
        output = read_until(rb"POST /api/v1/videos 202")
        assert b"\x1b[?1049h" not in output  # no alternate screen
        proc.terminate()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)


async def test_webhook_attempts_show_in_the_requests_pane_and_failures_are_flagged(mock):
    job_id = await mock.job_id()
    for status, error in ((500, "the receiver answered 500"), (200, None)):
        mock.store.record(
            "", kind="webhook", method="POST", path="http://127.0.0.1:9000/hooks", query={}, status=status,
            job_id=job_id, rule="default", latency_ms=1.0, headers=[], body={}, error=error,
        )  # fmt: skip
    text = screen(mock)
    assert re.search(r"hook\s+http://127\.0\.0\.1:9000/hooks\s+500", text)
    assert f"{job_id[-8:]} webhook attempt failed: the receiver answered 500" in text


async def test_scripted_answers_are_marked_with_their_rule(mock):
    job_id = await mock.job_id(prompt="no download")  # download = { respond = 401, times = 1 }
    await mock.poll(job_id)
    await mock.poll(job_id)
    assert (await mock.download(job_id)).status_code == 401
    assert (await mock.download(job_id, headers={})).status_code == 401  # a real keyless download
    text = screen(mock, width=200)
    assert f"{job_id[-8:]} download refused with 401 (scripted by rule download refused)" in text
    assert "scripted: download refused" in text
    assert f"{job_id[-8:]} download refused with 401: Missing Authentication header" in text
