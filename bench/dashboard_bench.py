"""What a dashboard frame costs with many jobs open: jobs submitted and polled in process, then
frames taken (`snapshot_board`, on the event loop) and laid out (`render`, in a worker thread in
the server) one after another.

    python bench/dashboard_bench.py [--jobs 2000] [--frames 20]

Prints one JSON object: the median and worst milliseconds of a frame's snapshot and of its layout
at 120x40.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from rich.console import Console

from ormock import ManualClock, create_app, parse_scenario
from ormock.cli.dashboard import Board, render, snapshot_board

LIVE = '[default]\ntimeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]\n'
KEY = {"Authorization": "Bearer sk-or-bench-0001"}


async def run(jobs: int, frames: int) -> dict:
    app = create_app(parse_scenario(LIVE), ManualClock(), seed=1)
    board = Board(app.store)
    app.listeners.append(board.request)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000/api/v1", headers=KEY) as http:
        ids = []
        for i in range(jobs):
            answer = await http.post("/videos", json={"model": "bytedance/seedance-2.0", "prompt": f"job {i}"})
            ids.append(answer.json()["id"])
        for job_id in ids:
            await http.get(f"/videos/{job_id}")
    console = Console(width=120, height=40, file=open("/dev/null", "w"))  # noqa: SIM115
    snapshots, layouts = [], []
    for _ in range(frames):
        started = time.perf_counter()
        snap = snapshot_board(board, "http://127.0.0.1:8000/api/v1", started=0.0)
        snapshots.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        console.print(render(snap, 120, 40))
        layouts.append((time.perf_counter() - started) * 1000)
    return {
        "open_jobs": jobs,
        "frames": frames,
        "snapshot_ms_median": round(statistics.median(snapshots), 2),
        "snapshot_ms_worst": round(max(snapshots), 2),
        "layout_ms_median": round(statistics.median(layouts), 2),
        "layout_ms_worst": round(max(layouts), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.jobs, args.frames))))


if __name__ == "__main__":
    main()
