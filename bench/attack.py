"""The worst of the attacks issue 25 found, all at once against one `ormock serve` on loopback, while
a well-behaved client polls: how long that client waits, and how the server's memory moves.

    python bench/attack.py [--server hypercorn|granian] [--seconds 180]

The attackers, each bounded in rate and run only on this machine's loopback:
- JSON bodies of 250,000 empty arrays (refused before parsing), and 20 MB bodies of one string;
- submits with a 1 MB prompt against a scenario of 2,000 rules, one of them a pattern that
  backtracks exponentially in Python's engine, with a 41-character prompt;
- callback URLs whose receiver answers 64 MB without end;
- 1,000 idle or half-sent connections, opened and held;
- 200 parked `/__ormock/wait` requests, and `/__ormock/report` asked again and again.

Prints one JSON object: the polling client's latency (median, p99, worst, in ms), how many of its
polls answered, and the server's resident memory at the start, at its highest and at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

MODEL = "bytedance/seedance-2.0"
KEY = {"Authorization": "Bearer sk-or-attack-0001"}
VICTIM = {"Authorization": "Bearer sk-or-victim-0001", "X-Test-Id": "victim"}
BACKTRACKS = r"^(\w+\s?)*$"


def scenario() -> str:
    rules = "".join(f'[[rule]]\nname = "r{i}"\nmatch = {{ prompt = "w{i:05d}x" }}\n' for i in range(2000))
    rules += f"[[rule]]\nname = \"words\"\nmatch = {{ prompt_regex = '{BACKTRACKS}' }}\n"
    return rules + '[default]\ntimeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]\n'


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Endless(BaseHTTPRequestHandler):
    """A webhook receiver that answers 64 MB, slowly enough to be cut off."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", str(64 * 1024 * 1024))
        self.end_headers()
        try:
            for _ in range(1024):
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


def loop(stop: threading.Event, every: float, work) -> None:
    while not stop.is_set():
        with contextlib.suppress(httpx.HTTPError):
            work()
        stop.wait(every)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="hypercorn")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--only", type=int, nargs="*", help="run only these attacks (by position), to see each's cost")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "attack.toml").write_text(scenario())
    command = [sys.executable, "-m", "ormock", "serve", str(folder / "attack.toml"), "--port", "0", "--no-dashboard"]
    proc = subprocess.Popen(
        [*command, "--server", args.server], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    base = (proc.stdout.readline() if proc.stdout else "").strip()
    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()  # drain the log
    root = base.removesuffix("/api/v1")
    host, port = base.split("//")[1].split("/")[0].rsplit(":", 1)
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"

    victim = httpx.Client(base_url=base, headers=VICTIM, timeout=30)
    job = victim.post("/videos", json={"model": MODEL, "prompt": "a calm sea"}).json()["id"]
    for _ in range(20):
        victim.get(f"/videos/{job}")
    start_rss = rss_mb(proc.pid)
    stop = threading.Event()
    attacker = httpx.Client(base_url=base, headers=KEY, timeout=60)
    control = httpx.Client(base_url=root, timeout=60)
    bombs = {
        "values": b"[" + b"[]," * 250_000 + b"[]]",
        "string": json.dumps({"model": MODEL, "prompt": "s" * 20_000_000}).encode(),
    }
    json_headers = {**KEY, "content-type": "application/json"}
    attacks = [
        (0.05, lambda: attacker.post("/videos", content=bombs["values"], headers=json_headers)),
        (1.0, lambda: attacker.post("/videos", content=bombs["string"], headers=json_headers)),
        (0.2, lambda: attacker.post("/videos", json={"model": MODEL, "prompt": "calm " * 200_000 + " w01999x"})),
        (0.1, lambda: attacker.post("/videos", json={"model": MODEL, "prompt": "a" * 40 + "!"})),
        (0.5, lambda: attacker.post("/videos", json={"model": MODEL, "prompt": "x", "callback_url": hook})),
        (1.0, lambda: control.get("/__ormock/report")),
    ]
    if args.only is not None:
        attacks = [attack for n, attack in enumerate(attacks) if n in args.only]
    threads = [threading.Thread(target=loop, args=(stop, every, work), daemon=True) for every, work in attacks]
    held = []
    for i in range(1000):
        sock = socket.create_connection((host, int(port)))
        if i % 2:
            sock.sendall(b"GET /api/v1/videos/models HTTP/1.1\r\nHost: x\r\n")
        held.append(sock)
    waiters = [
        threading.Thread(
            target=lambda: loop(stop, 0, lambda: control.get(f"/__ormock/wait?job={job}&status=completed&timeout=20")),
            daemon=True,
        )
        for _ in range(200)
    ]
    for thread in threads + waiters:
        thread.start()

    latencies: list[float] = []
    highest = start_rss
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        answer = victim.get(f"/videos/{job}")
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text
        highest = max(highest, rss_mb(proc.pid))
        time.sleep(0.05)
    stop.set()
    end_rss = rss_mb(proc.pid)
    for sock in held:
        sock.close()
    proc.terminate()
    proc.wait(30)
    receiver.shutdown()
    latencies.sort()
    print(
        json.dumps(
            {
                "server": args.server,
                "seconds": args.seconds,
                "polls": len(latencies),
                "poll_ms_median": round(statistics.median(latencies), 2),
                "poll_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 2),
                "poll_ms_worst": round(latencies[-1], 2),
                "rss_mb_start": round(start_rss, 1),
                "rss_mb_highest": round(highest, 1),
                "rss_mb_end": round(end_rss, 1),
                "pid_gone": not os.path.exists(f"/proc/{proc.pid}"),
            }
        )
    )


if __name__ == "__main__":
    main()
