"""Time a client can see is true in the client's own time: every `Retry-After` (timeline steps,
faults, the rate limiter) and every `expires_at`, whatever `--speed` says. Real time is moved by
hand (`ScaledClock(monotonic=...)`), so nothing here waits on the wall clock."""

from __future__ import annotations

import time

import httpx
import pytest
from openapi import async_hook
from support import KEY, SEEDANCE

from ormock import ScaledClock, create_app, parse_scenario
from ormock.service.clock import ManualClock


class Hand:
    """A monotonic clock that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def serve(text: str, speed: float) -> tuple[httpx.AsyncClient, Hand]:
    hand = Hand()
    app = create_app(parse_scenario(text), ScaledClock(speed, monotonic=hand), seed=1)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ormock.test", event_hooks={"response": [async_hook]}
    )
    return http, hand


STEP_503 = """
[default]
timeline = [
  { status = "in_progress", polls = 1 },
  { respond = 503, for = "100s", retry_after = 4 },
  { status = "completed" },
]
"""


async def test_a_timeline_steps_retry_after_is_scaled_to_the_clients_seconds():
    http, hand = serve(STEP_503, speed=100)
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    assert (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).status_code == 200
    busy = await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)
    assert busy.status_code == 503
    # 4 scenario seconds at 100x are 40 ms of the client's time.
    assert busy.headers["Retry-After"] == "1"
    assert busy.headers["retry-after-ms"] == "40"
    hand.now += 1.0  # one real second: the 100 s step is over
    assert (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"] == "completed"


async def test_at_speed_one_the_header_is_the_scenarios_value_alone():
    http, _ = serve(STEP_503, speed=1)
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)
    busy = await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)
    assert busy.headers["Retry-After"] == "4"
    assert "retry-after-ms" not in busy.headers


async def test_the_rate_limiters_retry_after_is_when_the_limit_lifts_for_the_client():
    http, hand = serve('[server]\nrate_limit = { requests = 1, per = "100s" }\n', speed=100)
    body = {"model": SEEDANCE, "prompt": "x"}
    assert (await http.post("/api/v1/videos", json=body, headers=KEY)).status_code == 202
    limited = await http.post("/api/v1/videos", json=body, headers=KEY)
    assert limited.status_code == 429
    # The token comes back after 100 scenario seconds: 1 s of the client's time, not 100.
    assert limited.headers["Retry-After"] == "1"
    assert "retry-after-ms" not in limited.headers
    hand.now += 1.0
    assert (await http.post("/api/v1/videos", json=body, headers=KEY)).status_code == 202


async def test_a_faults_retry_after_is_scaled_too():
    text = '[[fault]]\nendpoint = "submit"\nrespond = 503\nretry_after = 30\nnth = 1\n'
    http, _ = serve(text, speed=10)
    answer = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "3")


async def test_expires_at_is_when_the_output_goes_in_the_clients_time():
    text = '[default]\ntimeline = [{ status = "completed", available_for = "1h" }]\n'
    http, hand = serve(text, speed=100)
    before = time.time()
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    done = (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()
    # An hour of scenario time at 100x is 36 real seconds from now, not an hour.
    assert before + 35 <= done["expires_at"] <= time.time() + 37
    assert all(f"expires={done['expires_at']}" in url for url in done["urls"])
    assert (await http.get(done["urls"][0])).status_code == 200  # a keyless link that works now
    hand.now += 36.1
    assert (await http.get(done["urls"][0])).status_code == 410


def test_a_manual_clock_tells_scenario_time_as_it_is():
    clock = ManualClock(5000.0)
    assert clock.client_seconds(4) == 4
    assert clock.client_time(5100.0) == 5100.0


@pytest.mark.parametrize(("speed", "scenario", "client"), [(1, 10, 10), (10, 10, 1), (0.5, 10, 20)])
def test_scaled_clock_spans(speed, scenario, client):
    assert ScaledClock(speed).client_seconds(scenario) == pytest.approx(client)
