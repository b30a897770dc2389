"""Webhook deliveries, checked by a real HTTP receiver with its own HMAC computation (the standard
library's `hmac`, not ormock's helper)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import httpx
import pytest
from receiver import Received, receiving
from support import KEY, SEEDANCE

from ormock import Simulator, parse_scenario
from ormock.service.webhooks import sign, verify

SECRET = "whsec_test"


def scenario(url: str, extra: str = "", secret: str | None = SECRET) -> str:
    lines = ["[webhooks]", f'url = "{url}"', "retries = 2", 'backoff = "1s"']
    if secret:
        lines.append(f'secret = "{secret}"')
    return "\n".join(lines) + "\n" + extra


RULES = """
[default]
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed", cost = 0.5 }]

[[rule]]
name = "fails"
match = { prompt = "fail" }
timeline = [{ status = "failed", error = "Provider returned error" }]

[[rule]]
name = "twice"
match = { prompt = "twice" }
timeline = [{ status = "completed" }]
webhook = { duplicate = true }

[[rule]]
name = "forged"
match = { prompt = "forged" }
timeline = [{ status = "completed" }]
webhook = { bad_signature = true }

[[rule]]
name = "stale"
match = { prompt = "stale" }
timeline = [{ status = "completed" }]
webhook = { stale_timestamp = true }

[[rule]]
name = "late"
match = { prompt = "late" }
timeline = [{ status = "completed" }]
webhook = { delay = "30s" }

[[rule]]
name = "held back"
match = { prompt = "held" }
timeline = [{ status = "completed" }]
webhook = { out_of_order = true }

[[rule]]
name = "dropped"
match = { prompt = "dropped" }
timeline = [{ status = "completed" }]
webhook = { drop = true }
"""


def own_check(delivery: Received, secret: str = SECRET, tolerance: int = 300) -> bool:
    """The receiver's own verification: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>,<raw body>">."""
    fields = dict(part.split("=", 1) for part in delivery.headers["X-OpenRouter-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']},".encode() + delivery.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, fields["v1"])


def submit(sim: Simulator, prompt: str, **extra: object) -> str:
    body = {"model": SEEDANCE, "prompt": prompt, **extra}
    response = httpx.post(sim.base_url + "/videos", json=body, headers=KEY)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def poll(sim: Simulator, job_id: str) -> dict:
    return httpx.get(f"{sim.base_url}/videos/{job_id}", headers=KEY).json()


def test_completed_delivery_is_shaped_signed_and_keyed_like_the_service():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
        job_id = submit(sim, "a quiet harbour")
        assert poll(sim, job_id)["status"] == "in_progress"
        assert poll(sim, job_id)["status"] == "completed"
        [delivery] = hooks.wait_for(1)
        event = json.loads(delivery.body)
        assert event["type"] == "video.generation.completed"
        assert event["created_at"].endswith("Z")
        assert event["data"] == {
            "id": job_id,
            "status": "completed",
            "generation_id": job_id,
            "model": SEEDANCE,
            "unsigned_urls": [f"{sim.base_url}/videos/{job_id}/content?index=0"],
            "usage": {"cost": 0.5, "is_byok": False},
        }
        assert delivery.headers["X-OpenRouter-Idempotency-Key"] == f"{job_id}-completed"
        assert delivery.headers["Content-Type"] == "application/json"
        assert own_check(delivery)
        assert verify(SECRET, delivery.headers, delivery.body)  # and the helper agrees
        [attempt] = sim.requests(kind="webhook")
        assert (attempt["path"], attempt["status"], attempt["job_id"]) == (hooks.url, 200, job_id)


def test_failed_delivery_carries_the_error_and_request_callback_wins():
    with receiving() as default, receiving() as own, Simulator(parse_scenario(scenario(default.url, RULES))) as sim:
        job_id = submit(sim, "fail", callback_url=own.url)
        poll(sim, job_id)
        [delivery] = own.wait_for(1)
        event = json.loads(delivery.body)
        assert event["type"] == "video.generation.failed"
        assert event["data"]["error"] == "Provider returned error"
        assert "usage" not in event["data"] and "unsigned_urls" not in event["data"]
        assert default.deliveries == []


def test_retries_with_backoff_after_the_receiver_answers_500():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES)), clock="manual") as sim:
        hooks.answers = [500, 503]
        job_id = submit(sim, "fail")
        poll(sim, job_id)
        hooks.wait_for(1)
        time.sleep(0.1)
        assert len(hooks.deliveries) == 1  # the backoff runs on the scenario clock, which is stopped
        sim.advance(1)
        hooks.wait_for(2)
        sim.advance(2)  # the backoff doubled
        deliveries = hooks.wait_for(3)
        keys = {d.headers["X-OpenRouter-Idempotency-Key"] for d in deliveries}
        assert keys == {f"{job_id}-failed"}
        assert [a["status"] for a in sim.requests(kind="webhook")] == [500, 503, 200]


def test_gives_up_after_the_retries_and_reports_it():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES)), clock="manual") as sim:
        hooks.answers = [500, 500, 500]
        job_id = submit(sim, "fail")
        poll(sim, job_id)
        for step in (0, 1, 2):
            hooks.wait_for(step + 1)
            sim.advance(2**step)
        deadline = time.monotonic() + 10
        while not sim.health()["notices"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(hooks.deliveries) == 3  # the first try and two retries
        assert len(sim.requests(kind="webhook")) == 3
        [notice] = sim.health()["notices"]
        assert notice == (
            f"webhook for {job_id} (failed) to {hooks.url} failed after 3 attempt(s): the receiver answered 500"
        )


def test_connection_errors_are_recorded_and_retried():
    dead = "http://127.0.0.1:9/nothing-listens-here"
    with Simulator(parse_scenario(scenario(dead, RULES)), clock="manual") as sim:
        job_id = submit(sim, "fail")
        poll(sim, job_id)
        deadline = time.monotonic() + 10
        while not sim.requests(kind="webhook") and time.monotonic() < deadline:
            time.sleep(0.01)
        [attempt] = sim.requests(kind="webhook")
        assert attempt["status"] == 0 and "Connect" in attempt["error"]
        sim.advance(1)
        deadline = time.monotonic() + 10
        while len(sim.requests(kind="webhook")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sim.requests(kind="webhook")) == 2


def test_duplicate_mode_sends_the_same_delivery_twice():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
        job_id = submit(sim, "twice")
        poll(sim, job_id)
        first, second = hooks.wait_for(2)
        assert first.body == second.body
        key = f"{job_id}-completed"
        assert first.headers["X-OpenRouter-Idempotency-Key"] == second.headers["X-OpenRouter-Idempotency-Key"] == key


@pytest.mark.parametrize(("prompt", "why"), [("forged", "signature"), ("stale", "timestamp")])
def test_bad_signature_and_stale_timestamp_fail_the_receivers_check(prompt, why):
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
        poll(sim, submit(sim, prompt))
        [delivery] = hooks.wait_for(1)
        assert not own_check(delivery)
        stamp = int(delivery.headers["X-OpenRouter-Signature"].split(",")[0][2:])
        if why == "timestamp":
            assert time.time() - stamp >= 590
            assert own_check(delivery, tolerance=3600)  # signed right, only old
        else:
            assert abs(time.time() - stamp) < 60


def test_delay_runs_on_the_scenario_clock():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES)), clock="manual") as sim:
        job_id = submit(sim, "late")
        assert poll(sim, job_id)["status"] == "completed"
        time.sleep(0.1)
        assert hooks.deliveries == []
        sim.advance(29)
        time.sleep(0.1)
        assert hooks.deliveries == []
        sim.advance(1)
        hooks.wait_for(1)


def test_out_of_order_delivery_waits_for_a_later_one():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
        held = submit(sim, "held")
        poll(sim, held)
        time.sleep(0.1)
        assert hooks.deliveries == []
        later = submit(sim, "fail")
        poll(sim, later)
        first, second = hooks.wait_for(2)
        assert json.loads(first.body)["data"]["id"] == later
        assert json.loads(second.body)["data"]["id"] == held


def test_no_delivery_without_a_callback_and_none_for_dropped():
    with receiving() as hooks:
        with Simulator(parse_scenario(RULES)) as sim:  # no default URL
            poll(sim, submit(sim, "fail"))
        with Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
            poll(sim, submit(sim, "dropped"))
            time.sleep(0.2)
        assert hooks.deliveries == []


def test_unsigned_without_a_secret_and_the_cli_secret_wins():
    with receiving() as hooks:
        with Simulator(parse_scenario(scenario(hooks.url, RULES, secret=None))) as sim:
            poll(sim, submit(sim, "fail"))
            [delivery] = hooks.wait_for(1)
            assert "X-OpenRouter-Signature" not in delivery.headers
        with Simulator(parse_scenario(scenario(hooks.url, RULES)), webhook_secret="other") as sim:
            poll(sim, submit(sim, "fail"))
            delivery = hooks.wait_for(2)[1]
            assert own_check(delivery, secret="other") and not own_check(delivery)


def test_a_slow_receiver_does_not_slow_polls():
    with receiving() as hooks, Simulator(parse_scenario(scenario(hooks.url, RULES))) as sim:
        hooks.gate = threading.Event()  # every delivery hangs until released
        first = submit(sim, "fail")
        poll(sim, first)
        hooks.wait_for(1)  # the delivery is in the receiver's hands, unanswered
        with httpx.Client(timeout=5) as http:  # polls and submits still answer
            for _ in range(20):
                other = http.post(sim.base_url + "/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
                assert http.get(f"{sim.base_url}/videos/{other.json()['id']}", headers=KEY).status_code == 200
        hooks.gate.set()


def test_pending_deliveries_are_sent_at_shutdown():
    with receiving() as hooks:
        with Simulator(parse_scenario(scenario(hooks.url, RULES)), clock="manual") as sim:
            job_id = submit(sim, "late")  # 30 s of delay on a clock that never moves
            poll(sim, job_id)
        [delivery] = hooks.wait_for(1)
        assert json.loads(delivery.body)["data"]["id"] == job_id


@pytest.mark.parametrize(
    ("url", "require_https", "code"),
    [
        ("https://example.com/hook", False, 202),
        ("http://127.0.0.1:9/hook", False, 202),
        ("http://localhost:9/hook", False, 202),
        ("http://example.com/hook", False, 400),
        ("http://127.0.0.1:9/hook", True, 400),
        ("ftp://example.com/hook", False, 400),
        ("not a url", False, 400),
    ],
)
async def test_callback_url_must_be_https_except_loopback(make_mock, url, require_https, code):
    mock = make_mock(f"[webhooks]\nrequire_https = {str(require_https).lower()}\n")
    response = await mock.submit(callback_url=url)
    assert response.status_code == code
    if code == 400:
        assert "callback_url must" in response.json()["error"]["message"]


def test_sign_and_verify_helpers():
    body = b'{"type":"video.generation.completed"}'
    header = sign("s", body, 1_700_000_000)
    digest = hmac.new(b"s", b"1700000000," + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={digest}"
    headers = {"X-OpenRouter-Signature": header}
    assert verify("s", headers, body, now=1_700_000_100)
    assert not verify("s", headers, body, now=1_700_000_400)  # over the 300 s tolerance
    assert not verify("wrong", headers, body, now=1_700_000_100)
    assert not verify("s", headers, body + b" ", now=1_700_000_100)
    assert not verify("s", {}, body)
    assert verify("s", {"x-openrouter-signature": header}, body.decode(), now=1_700_000_000)
