"""The client report at scale: 10,000 jobs polled 20 times each (200,000 journal entries, plus the
submits), the report computed over all of it; and the per-poll cost of the fast path, which is all
the report adds to (it reads the journal the server keeps anyway).

    python bench/report_bench.py [--jobs 10000] [--polls 20]

Prints one JSON object; bench/compare.py puts its figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ormock import ManualClock, create_app, parse_scenario
from ormock.report import build

LIVE = '[default]\ntimeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]\n'


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": headers,
        "scheme": "http",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "http_version": "1.1",
    }


async def run(jobs: int, polls: int) -> dict:
    entries = jobs * (polls + 1)
    app = create_app(parse_scenario(LIVE), ManualClock(), seed=1, journal_max=entries)
    store = app.store
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", b"Bearer sk-or-bench-0001"),
        (b"user-agent", b"bench"),
        (b"content-type", b"application/json"),
    ]
    body = json.dumps({"model": "bytedance/seedance-2.0", "prompt": "x"}).encode()
    sent: list[dict] = []

    def receiver(payload: bytes):  # the body once, then nothing until the server gives up waiting
        given = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict:
            if given:
                return given.pop()
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        return receive

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            sent.append(message)

    ids = []
    for _ in range(jobs):
        sent.clear()
        await app(scope("POST", "/api/v1/videos", headers), receiver(body), send)
        ids.append(json.loads(b"".join(m["body"] for m in sent))["id"])
    started = time.perf_counter()
    for _ in range(polls):
        for job_id in ids:
            await app(scope("GET", f"/api/v1/videos/{job_id}", headers), receiver(b""), send)
        store.clock.advance(10)  # every job polled once per 10 s of scenario time
        sent.clear()
    per_poll_us = (time.perf_counter() - started) / (jobs * polls) * 1e6
    journal = len(store.journal(None))
    started = time.perf_counter()
    report = build(store)
    took = time.perf_counter() - started
    return {
        "jobs": jobs,
        "polls_each": polls,
        "journal_entries": journal,
        "report_seconds": took,
        "per_poll_us": per_poll_us,
        "verdict": report["clients"][0]["verdict"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.jobs, args.polls))))


if __name__ == "__main__":
    main()
