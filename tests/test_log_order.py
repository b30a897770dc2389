"""The plain log reads in the order things happened: a status change comes before the requests
that saw it, stamped with when it happened in the client's time."""

from __future__ import annotations

import time

import httpx
from conftest import KEY, SEEDANCE

from ormock import ManualClock, ScaledClock, create_app, parse_scenario
from ormock.log import Lines, follow_statuses


class Hand:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def serve(text: str, clock) -> tuple[httpx.AsyncClient, list[str]]:
    app = create_app(parse_scenario(text), clock, seed=1)
    lines: list[str] = []
    log = Lines(emit=lines.append)
    app.extensions["ormock.listeners"].append(log.request)
    follow_statuses(app.extensions["ormock"], log)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ormock.test")
    return http, lines


async def test_a_status_change_comes_before_the_poll_that_saw_it():
    http, lines = serve('[default]\ntimeline = [{ status = "in_progress", polls = 1 }, { status = "completed" }]\n',
                        ManualClock())  # fmt: skip
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    first = (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"]
    second = (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"]
    assert (first, second) == ("in_progress", "completed")
    events = [line.split("  ", 1)[1] for line in lines]
    assert [e.split(" ")[0] if e.startswith(("POST", "GET")) else e.rsplit("  ", 1)[-1] for e in events] == [
        "submitted -> in_progress", "POST", "GET", "in_progress -> completed", "GET",
        # the first poll used up the in_progress step: the change follows its line, precedes the next
    ]  # fmt: skip


async def test_a_timed_change_is_stamped_when_it_happened_not_when_it_was_noticed():
    hand = Hand()
    http, lines = serve('[default]\ntimeline = [{ status = "pending", for = "100s" }, { status = "completed" }]\n',
                        ScaledClock(100, monotonic=hand))  # fmt: skip
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    hand.now += 1.0  # the 100 s step ends after 1 real second ...
    assert (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"] == "completed"
    status_line = next(line for line in lines if "pending -> completed" in line)
    poll_line = next(line for line in lines if line.split("  ")[1].startswith("GET"))
    assert lines.index(status_line) < lines.index(poll_line)
    # ... and the real clock has barely moved, so the change is stamped no later than now.
    stamp = status_line.split("  ")[0]
    assert stamp <= time.strftime("%H:%M:%S", time.localtime(time.time())) + ".999"
