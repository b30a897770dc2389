"""A recording replayed while the machine is busy: does the replaying client see what the recorded
client saw, every time? (docs/recording.md; the measurement goes in docs/performance.md.)

An upstream `ormock serve` on the wall clock (its scenario: refused submits, a 401 mid-job, failed,
cancelled and completed jobs, a download refused once) is recorded through `ormock record` by a
client polling every INTERVAL seconds on a fixed schedule; then the recording is served and the same
client replays it RUNS times while one process per core spins. Each run's sequence of answers
(statuses, errors, content hashes) is compared with the recorded one.

    python bench/replay_under_load.py              # 5 replays under load, 0.2 s polls
    python bench/replay_under_load.py --interval 0.1 --runs 10
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PY = sys.executable
KEY = {"Authorization": "Bearer sk-or-bench-replay"}
MODEL = "bytedance/seedance-2.0"
UPSTREAM = """
[[rule]]
name = "completes"
match = { prompt = "completes" }
timeline = [{ status = "pending", for = "0.5s" }, { status = "in_progress", for = "1s" }, { status = "completed" }]

[[rule]]
name = "fails"
match = { prompt = "fails" }
timeline = [{ status = "in_progress", for = "0.7s" }, { status = "failed", error = "boom" }]

[[rule]]
name = "cancelled"
match = { prompt = "cancelled" }
timeline = [{ status = "pending", for = "0.5s" }, { status = "cancelled" }]

[[rule]]
name = "revoked"
match = { prompt = "revoked" }
timeline = [
  { status = "in_progress", for = "0.5s" },
  { respond = 401, message = "User not found." },
  { status = "in_progress", for = "0.5s" },
  { status = "completed" },
]
download = { respond = 502, times = 1 }

[[rule]]
name = "busy"
match = { prompt = "busy" }
submit = { respond = 429, retry_after = 1, times = 2 }
timeline = [{ status = "completed" }]

[[rule]]
name = "blocked"
match = { prompt = "blocked" }
submit = { respond = 402 }
"""
SESSION = [("completes", 1), ("fails", 1), ("cancelled", 1), ("revoked", 1), ("busy", 3), ("blocked", 1)]


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, "-m", "ormock", *args, "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def session(base: str, interval: float) -> list[tuple]:
    """Every answer, in order; each job polled at submit + k * interval, k = 1, 2, ..."""
    seen: list[tuple] = []
    with httpx.Client(base_url=base, headers=KEY, timeout=10) as http:
        for prompt, tries in SESSION:
            for _ in range(tries):
                answer = http.post("/videos", json={"model": MODEL, "prompt": prompt})
                seen.append((prompt, "submit", answer.status_code))
                if answer.status_code != 202:
                    continue
                job, began = answer.json()["id"], time.monotonic()
                for k in range(1, 40):
                    time.sleep(max(0.0, began + k * interval - time.monotonic()))
                    polled = http.get(f"/videos/{job}")
                    body = polled.json()
                    seen.append((prompt, "poll", body.get("status", polled.status_code), body.get("error")))
                    if body.get("status") in ("completed", "failed", "cancelled", "expired"):
                        break
                if body.get("status") == "completed":
                    for _ in range(2):
                        got = http.get(f"/videos/{job}/content")
                        digest = hashlib.sha256(got.content).hexdigest()[:12] if got.status_code == 200 else None
                        seen.append((prompt, "download", got.status_code, digest))
    return seen


def spin(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "upstream.toml").write_text(UPSTREAM)
        upstream, upstream_url = start("serve", str(work / "upstream.toml"), "--no-dashboard")
        recorder, recorder_url = start(
            "record", "--upstream", upstream_url, "--out", str(work / "out"), "--no-dashboard"
        )
        try:
            original = session(recorder_url, options.interval)
        finally:
            stop(recorder)
            stop(upstream)
        [scenario] = (work / "out").glob("*.toml")
        cores = os.cpu_count() or 2
        print(f"recorded {len(original)} answers; replaying {options.runs} times with {cores} spinning process(es)")
        same = 0
        for run in range(1, options.runs + 1):
            replay, replay_url = start("serve", str(scenario), "--no-dashboard")
            burners = [multiprocessing.Process(target=spin, args=(time.monotonic() + 120,)) for _ in range(cores)]
            for burner in burners:
                burner.start()
            try:
                replayed = session(replay_url, options.interval)
            finally:
                for burner in burners:
                    burner.terminate()
                stop(replay)
            alike = replayed == original
            same += alike
            first = next((i for i, (a, b) in enumerate(zip(original, replayed, strict=False)) if a != b), None)
            print(f"run {run}: {'the same' if alike else f'differs at answer {first}: {replayed[first or 0]}'}")
        print(f"{same} of {options.runs} replays gave the recorded session ({options.interval:g} s polls)")


if __name__ == "__main__":
    main()
