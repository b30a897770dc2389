"""Polls per second through the ASGI app in process, with no server and no network: the request
path alone (docs/performance.md). `--code PATH` measures the ormock package of another checkout
(a `git worktree` of an older commit) to compare two versions on one machine.

    python bench/poll_path.py
    git worktree add /tmp/old 03ea231 && python bench/poll_path.py --code /tmp/old
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

LIVE = '[default]\ntimeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]\n'
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"authorization", b"Bearer sk-or-bench"),
    (b"content-type", b"application/json"),
]


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": HEADERS,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }


async def measure(polls: int, runs: int) -> float:
    from ormock import ManualClock, create_app, parse_scenario

    app = create_app(parse_scenario(LIVE), ManualClock(), seed=1)
    answer: dict[str, Any] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message.get("body"):
            answer["body"] = message["body"]

    async def submit_body() -> dict[str, Any]:
        body = json.dumps({"model": "bytedance/seedance-2.0", "prompt": "x"}).encode()
        return {"type": "http.request", "body": body, "more_body": False}

    async def no_body() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(_scope("POST", "/api/v1/videos"), submit_body, send)
    poll = _scope("GET", f"/api/v1/videos/{json.loads(answer['body'])['id']}")
    for _ in range(2000):  # warm up
        await app(dict(poll), no_body, send)
    best = 0.0
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(polls):
            await app(dict(poll), no_body, send)
        best = max(best, polls / (time.perf_counter() - started))
    assert answer["status"] == 200, answer
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", help="the checkout whose ormock package to measure (default: this one)")
    parser.add_argument("--polls", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    if options.code:
        sys.path.insert(0, options.code)
    print(json.dumps({"polls_per_second": round(asyncio.run(measure(options.polls, options.runs)))}))


if __name__ == "__main__":
    main()
