"""No background task dies silently, and the server stops within a bounded time, cleanly, even with
a request hung in flight."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx
from support import KEY, SEEDANCE

from ormock.tasks import RESTARTS, supervised


async def test_a_failing_task_is_said_and_restarted_then_given_up_on():
    said: list[str] = []
    runs = 0
    stopped = asyncio.Event()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise OverflowError("year 33658 is out of range")

    await supervised("webhook sender", job, said.append, give_up=stopped.set)
    assert runs == 3 and not stopped.is_set()
    assert said == ["ormock: the webhook sender failed (OverflowError: year 33658 is out of range); restarting it"] * 2

    async def always() -> None:
        raise RuntimeError("broken")

    said.clear()
    await supervised("dashboard", always, said.append, give_up=stopped.set)
    assert stopped.is_set() and len(said) == RESTARTS
    assert said[-1] == f"ormock: the dashboard failed {RESTARTS} times in a row (RuntimeError: broken); stopping"


def test_sigterm_with_a_hung_request_stops_in_bounded_time_without_a_traceback(tmp_path):
    scenario = tmp_path / "hang.toml"
    scenario.write_text('[[fault]]\nendpoint = "poll"\nhang = true\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "ormock", "serve", str(scenario), "--port", "0", "--no-dashboard"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = proc.stdout.readline().strip() if proc.stdout else ""
    job = httpx.post(f"{base}/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY).json()["id"]
    hung = subprocess.Popen(["curl", "-s", "-m", "30", "-H", "Authorization: Bearer k", f"{base}/videos/{job}"])
    time.sleep(0.5)  # let the poll reach the server and hang there
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    took = time.monotonic() - started
    hung.wait(timeout=30)
    assert proc.returncode == 0
    assert took < 8, took  # 2 s for requests under way, at most 5 s more for webhooks (none here)
    assert "Traceback" not in err and "CancelledError" not in err, err
