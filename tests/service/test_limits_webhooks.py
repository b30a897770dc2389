"""The webhook sender under bad receivers and bad URLs: a URL that cannot be sent to is a 400 at
submit; every failed attempt counts, whatever failed; a hanging receiver fills only its own
connections; a reset touches only what it resets."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from receiver import receiving
from support import KEY, SEEDANCE

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
        def stream(self, *args, **kwargs):
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


def test_a_receiver_answering_without_end_costs_the_sender_nothing():
    """A receiver (any client names one) that answers an endless body: the sender reads the status
    and never the body, so the delivery counts at once and the receiver is cut off long before it
    has sent its 64 MB (it was read whole: a 1 GB answer cost 2.2 GB a delivery)."""
    sent: list[int] = []
    done = threading.Event()

    class Endless(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            chunk, total = b"x" * 65536, 0
            try:
                while total < 64 * 1024 * 1024:
                    self.wfile.write(chunk)
                    total += len(chunk)
            except OSError:
                pass
            finally:
                sent.append(total)
                done.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with Simulator(parse_scenario(f'[webhooks]\nurl = "{url}"\n' + DONE)) as sim:
            with httpx.Client(base_url=sim.base_url, headers=KEY) as http:
                job = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}).json()["id"]
            deadline = time.monotonic() + 15  # bounds a failing test only
            while not sim.requests(kind="webhook") and time.monotonic() < deadline:
                time.sleep(0.01)
            (attempt,) = sim.requests(kind="webhook")
            assert attempt["job_id"] == job
            assert attempt["status"] == 200
            assert done.wait(15)
    finally:
        server.shutdown()
    assert sent[0] < 32 * 1024 * 1024
