"""A real `ormock serve` in a child process, on a free port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Served:
    """A running `ormock serve`: its base URL and what it has printed so far."""

    base_url: str
    proc: subprocess.Popen
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def line(self, text: str, limit: float = 15.0) -> str:
        """The first printed line containing `text`; the limit only bounds a failing test."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for line in list(self.stdout):
                if text in line:
                    return line
            time.sleep(0.01)
        raise AssertionError(f"no line with {text!r} in {self.stdout}")


def _drain(stream: IO[str], into: list[str], first: queue.Queue | None = None) -> None:
    for line in stream:
        if first is not None:
            first.put(line)
            first = None
        into.append(line.rstrip("\n"))
    if first is not None:
        first.put("")


@contextmanager
def running(scenario: str | Path | None, *args: str, startup_timeout: float = 20.0) -> Iterator[Served]:
    """Starts `ormock serve SCENARIO --port 0 ARGS` (no SCENARIO for None) and stops it with SIGTERM
    afterwards.

    The base URL is the first line the server prints. Output is drained by threads so a chatty
    server never blocks on a full pipe. On the way out the server must stop cleanly: exit 0, no
    traceback on stderr.
    """
    named = [] if scenario is None else [str(scenario)]
    command = [sys.executable, "-m", "ormock", "serve", *named, "--port", "0", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first: queue.Queue[str] = queue.Queue()
    served = Served("", proc)
    threads = [
        threading.Thread(target=_drain, args=(proc.stdout, served.stdout, first), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, served.stderr), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        try:
            line = first.get(timeout=startup_timeout).strip()
        except queue.Empty:
            raise AssertionError(f"ormock serve printed nothing within {startup_timeout} s") from None
        if line.startswith("{"):  # --log-format json: the first line is a JSON event holding the URL
            line = json.loads(line)["url"]
        assert line.startswith("http://127.0.0.1:") and line.endswith("/api/v1"), (line, served.stderr)
        served.base_url = line
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in threads:
            thread.join(timeout=5)
    assert proc.returncode == 0, (proc.returncode, served.stderr[-20:])
    assert not any("Traceback" in line for line in served.stderr), served.stderr


# An upstream for `ormock record` tests: one rule per ending a recording must keep.
UPSTREAM = """
[[rule]]
name = "completes"
match = { prompt = "complete" }
timeline = [{ status = "in_progress", polls = 2 }, { status = "completed", cost = 0.5 }]

[[rule]]
name = "fails"
match = { prompt = "fail" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "Provider returned error: boom" }]

[[rule]]
name = "cancelled"
match = { prompt = "cancel" }
timeline = [{ status = "pending", polls = 1 }, { status = "cancelled" }]

[[rule]]
name = "expired"
match = { prompt = "expire" }
timeline = [{ status = "pending", polls = 2 }, { status = "expired" }]

[[rule]]
name = "revoked"
match = { prompt = "revoked" }
timeline = [
  { status = "in_progress", polls = 1 },
  { respond = 401, polls = 1, message = "User not found." },
  { status = "in_progress", polls = 1 },
  { status = "completed" },
]

[[rule]]
name = "busy"
match = { prompt = "busy" }
submit = { respond = 429, retry_after = 7, times = 1 }
timeline = [{ status = "completed" }]
"""


@contextmanager
def recording(upstream: str, out: Path, *args: str):
    command = [
        sys.executable,
        "-m",
        "ormock",
        "record",
        "--upstream",
        upstream,
        "--out",
        str(out),
        "--port",
        "0",
        "--clock",
        "manual",
        *args,
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    base = proc.stdout.readline().strip() if proc.stdout else ""
    assert base.startswith("http://127.0.0.1:"), (base, proc.stderr.read() if proc.stderr else "")
    holder: dict = {"base": base}
    try:
        yield holder
    finally:
        proc.send_signal(signal.SIGTERM)
        out_text, err_text = proc.communicate(timeout=20)
        holder["stdout"], holder["stderr"], holder["code"] = out_text, err_text, proc.returncode
