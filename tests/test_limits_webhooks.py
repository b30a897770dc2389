"""The webhook sender under bad receivers and bad URLs: a URL that cannot be sent to is a 400 at
submit; every failed attempt counts, whatever failed; a hanging receiver fills only its own
connections; a reset touches only what it resets."""

from __future__ import annotations

import threading

import httpx
from conftest import KEY, SEEDANCE
from receiver import receiving

from ormock import Simulator, parse_scenario

DONE = '[default]\ntimeline = [{ status = "completed" }]\n'


async def test_a_callback_url_httpx_would_refuse_is_a_400_at_submit(mock):
    for url in ("http://127.0.0.1:99999/x", "http://127.0.0.1:0/x", "http://127.0.0.1/a b"):
        response = await mock.submit(callback_url=url)
        assert response.status_code == 400, url
        assert response.json()["error"]["message"].startswith("callback_url is not a valid URL"), url


async def test_every_failed_attempt_counts_whatever_the_exception(make_mock, monkeypatch):
    mock = make_mock('[webhooks]\nurl = "http://127.0.0.1:9/x"\nretries = 2\nbackoff = "10s"\n' + DONE)
    dispatcher = mock.app.dispatcher

    class Broken:
        async def post(self, *args, **kwargs):
            raise ValueError("not a URL this client can send to")

    monkeypatch.setattr(dispatcher, "_client_for", lambda url: Broken())
    await mock.job_id()
    for _ in range(5):  # ticks with no time passing: one attempt, then waiting for the backoff
        dispatcher.tick()
        await dispatcher.drain()
    attempts = (await mock.http.get("/__ormock/requests", params={"kind": "webhook"})).json()["data"]
    assert [a["error"] for a in attempts] == ["ValueError: not a URL this client can send to"]
    for _ in range(3):
        mock.clock.advance(100)
        dispatcher.tick()
        await dispatcher.drain()
    attempts = (await mock.http.get("/__ormock/requests", params={"kind": "webhook"})).json()["data"]
    assert len(attempts) == 3  # the first and two retries, then it gives up
    assert any("failed after 3 attempt(s)" in notice for notice in mock.store.notices)


def test_a_hanging_receiver_fills_only_its_own_connections():
    with receiving() as hanging, receiving() as healthy:
        hanging.gate = threading.Event()  # never set while the test runs: every delivery hangs
        text = '[webhooks]\ntimeout = "30s"\nretries = 0\n' + DONE
        with Simulator(parse_scenario(text)) as sim, httpx.Client(base_url=sim.base_url, headers=KEY) as http:
            for n in range(120):  # more than a shared pool of 100 connections would hold
                http.post("/videos", json={"model": SEEDANCE, "prompt": f"h{n}", "callback_url": hanging.url})
            hanging.wait_for(8)  # its own connections are all taken
            http.post("/videos", json={"model": SEEDANCE, "prompt": "ok", "callback_url": healthy.url})
            [delivery] = healthy.wait_for(1, limit=10)
            assert b'"status":"completed"' in delivery.body
            assert len(hanging.deliveries) == 8  # never more at once than its own pool
            hanging.gate.set()


def test_a_reset_of_one_namespace_leaves_the_others_alone():
    with receiving() as hooks, Simulator(parse_scenario(DONE)) as sim:
        body = {"model": SEEDANCE, "prompt": "x", "callback_url": hooks.url}
        httpx.post(f"{sim.base_url}/videos", json=body, headers={**KEY, "X-Test-Id": "a"})
        hooks.wait_for(1)
        sim.reset("b")  # a namespace that does not even exist
        httpx.post(f"{sim.base_url}/videos", json=body, headers={**KEY, "X-Test-Id": "c"})
        hooks.wait_for(2)
        sim.reset("c")
        httpx.post(f"{sim.base_url}/videos", json=body, headers={**KEY, "X-Test-Id": "d"})
        deliveries = hooks.wait_for(3)
        assert len(hooks.deliveries) == 3  # a's was not sent again by either reset
        assert len({d.headers["X-OpenRouter-Idempotency-Key"] for d in deliveries}) == 3
        assert [job["test_id"] for job in sim.jobs()] == ["a", "d"]
