"""Draws docs/dashboard.svg, the README's picture of the dashboard, from a real run: an in-process
ormock serving a scenario with a happy job, a failed one, a key revoked mid-job, a scripted
download error and an injected fault, driven by a client that makes the usual mistakes.

    python tools/dashboard_picture.py [OUT.svg]
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ormock import ManualClock, create_app, parse_scenario  # noqa: E402
from ormock.cli.dashboard import Board, render, snapshot_board  # noqa: E402

SCENARIO = """
[default]
timeline = [
  { status = "pending", for = "5s" }, { status = "in_progress", polls = 2 }, { status = "completed", cost = 0.25 },
]

[[rule]]
name = "provider failure"
match = { prompt = "fail" }
timeline = [{ status = "in_progress", polls = 2 }, { status = "failed", error = "Provider returned error" }]

[[rule]]
name = "key revoked mid-job"
match = { prompt = "revoked" }
timeline = [
  { status = "in_progress", polls = 1 },
  { respond = 401, polls = 1, message = "User not found." },
  { status = "completed" },
]

[[rule]]
name = "download refused"
match = { prompt = "refused" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed", cost = 0.42 }]
download = { respond = 401, times = 1 }

[[rule]]
name = "flaky network"
match = { prompt = "flaky" }
timeline = [{ status = "in_progress", polls = 2 }, { status = "completed" }]
faults = [{ endpoint = "poll", nth = 2, respond = 503, retry_after = 2 }]

[[rule]]
name = "slow render"
match = { prompt = "slow" }
timeline = [{ status = "in_progress", for = "5m" }, { status = "completed" }]
"""
KEY = {"Authorization": "Bearer sk-or-demo-1234", "User-Agent": "my-poller/0.3"}


async def scene() -> Board:
    app = create_app(parse_scenario(SCENARIO), ManualClock(), seed=11)
    store = app.store
    board = Board(store)
    app.listeners.append(board.request)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", headers=KEY) as http:
        ids = {}
        for prompt in ("a lighthouse at dusk", "please fail", "revoked", "refused", "flaky", "slow pan"):
            ids[prompt] = (
                await http.post("/api/v1/videos", json={"model": "bytedance/seedance-2.0", "prompt": prompt})
            ).json()["id"]
        for round_ in range(6):
            store.clock.advance(10 if round_ else 2)  # a poller every 10 s, as the service asks
            for job_id in ids.values():
                await http.get(f"/api/v1/videos/{job_id}")
        for prompt in ("refused", "refused", "a lighthouse at dusk"):
            await http.get(f"/api/v1/videos/{ids[prompt]}/content")
        await http.get(f"/api/v1/videos/{ids['slow pan']}/content")  # too early: 409
    return board


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.svg"
    board = asyncio.run(scene())
    console = Console(
        record=True, width=120, height=34, force_terminal=True, color_system="truecolor", file=io.StringIO()
    )
    console.print(render(snapshot_board(board, "http://127.0.0.1:8000/api/v1", started=0.0, wall_now=73.0), 120, 34))
    console.save_svg(str(out), title="ormock serve")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
