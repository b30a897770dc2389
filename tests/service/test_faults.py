"""Faults beyond the job lifecycle, each observed from the client side: rate limits, credits,
scripted errors, latency, broken connections, and output lifetime."""

from __future__ import annotations

import io
import time

import av
import httpx
import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from support import KEY, SEEDANCE

from ormock import Simulator, parse_scenario

NO_RETRIES = RetryConfig("none", None, False)


def sdk(sim: Simulator) -> OpenRouter:
    return OpenRouter(api_key="sk-or-test", server_url=sim.base_url, retry_config=NO_RETRIES)


async def test_rate_limit_per_key_answers_429_with_retry_after(make_mock):
    mock = make_mock('[server]\nrate_limit = { requests = 2, per = "1s" }\n')
    assert [(await mock.submit()).status_code for _ in range(2)] == [202, 202]
    limited = await mock.submit()
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json() == {"error": {"code": 429, "message": "Rate limit exceeded"}}
    other_key = await mock.http.post(
        "/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers={"Authorization": "Bearer other"}
    )
    assert other_key.status_code == 202  # each key has its own bucket
    mock.clock.advance(0.5)  # one request's worth of tokens back
    assert (await mock.submit()).status_code == 202
    assert (await mock.submit()).status_code == 429
    [entry] = [e for e in mock.store.journal(None) if e.status == 429][:1]
    assert entry.fault == "rate limit"


async def test_burst_allows_more_at_once(make_mock):
    mock = make_mock('[server]\nrate_limit = { requests = 1, per = "10s", burst = 3 }\n')
    codes = [(await mock.submit()).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]


async def test_credits_are_drawn_by_completed_jobs_and_402_when_not_enough(make_mock):
    mock = make_mock(
        "[server]\ncredits = 1.0\n"
        '[[rule]]\nname = "pricey"\nmatch = { prompt = "pricey" }\ntimeline = [{ status = "completed", cost = 0.6 }]\n'
        '[[rule]]\nname = "cheap"\nmatch = { prompt = "cheap" }\ntimeline = [{ status = "completed", cost = 0.3 }]\n'
    )
    first = await mock.job_id(prompt="pricey")
    await mock.poll(first)  # completed: $0.60 drawn, $0.40 left
    refused = await mock.submit(prompt="pricey")
    assert refused.status_code == 402
    assert refused.json()["error"]["message"] == "Insufficient credits. Add more using https://openrouter.ai/credits"
    assert (await mock.submit(prompt="cheap")).status_code == 202


async def test_nth_and_every_request_faults(make_mock):
    mock = make_mock(
        '[[fault]]\nname = "third poll"\nendpoint = "poll"\nnth = 3\nrespond = 500\n'
        '[[fault]]\nname = "busy"\nendpoint = "submit"\nevery = 2\nrespond = 503\nretry_after = 4\n'
    )
    first = await mock.submit()
    second = await mock.submit()
    assert (first.status_code, second.status_code) == (202, 503)
    assert second.headers["retry-after"] == "4"
    job_id = first.json()["id"]
    assert [(await mock.poll(job_id)).status_code for _ in range(4)] == [200, 200, 500, 200]
    faulted = [(e.path, e.status, e.fault) for e in mock.store.journal(None) if e.fault]
    assert faulted == [("/api/v1/videos", 503, "busy: 503"), (f"/api/v1/videos/{job_id}", 500, "third poll: 500")]


async def _faulted_polls(make_mock, seed_scenario: str) -> list[int]:
    mock = make_mock(seed_scenario)
    job_id = await mock.job_id()
    return [n for n in range(40) if (await mock.poll(job_id)).status_code == 503]


async def test_probability_faults_repeat_with_the_seed(make_mock):
    scenario = '[[fault]]\nendpoint = "poll"\nprobability = 0.3\nrespond = 503\n'
    first = await _faulted_polls(make_mock, scenario)  # make_mock seeds with 1
    second = await _faulted_polls(make_mock, scenario)
    assert first == second
    assert 0 < len(first) < 40
    from ormock import ManualClock, create_app

    app = create_app(parse_scenario(scenario), ManualClock(), seed=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=KEY) as http:
        job_id = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})).json()["id"]
        other = [n for n in range(40) if (await http.get(f"/api/v1/videos/{job_id}")).status_code == 503]
    assert other != first


async def test_rule_faults_touch_only_that_rules_jobs(make_mock):
    mock = make_mock(
        '[[rule]]\nname = "grumpy"\nmatch = { prompt = "grumpy" }\n'
        'faults = [{ endpoint = "poll", respond = 502, message = "Provider returned error" }]\n'
    )
    grumpy = await mock.job_id(prompt="grumpy")
    calm = await mock.job_id(prompt="calm")
    assert (await mock.poll(grumpy)).status_code == 502
    assert (await mock.poll(calm)).status_code == 200


async def test_latency_and_jitter(make_mock):
    mock = make_mock('[[fault]]\nendpoint = "models"\nlatency = "50ms"\njitter = "20ms"\n')
    started = time.perf_counter()
    assert (await mock.http.get("/api/v1/videos/models")).status_code == 200
    assert time.perf_counter() - started >= 0.05
    entry = mock.store.journal(None)[-1]
    assert entry.latency_ms >= 50 and entry.fault == "fault[1]: latency 0.05s"


BROKEN = """
[default]
timeline = [{ status = "completed" }]

[[rule]]
name = "broken download"
match = { prompt = "broken" }
timeline = [{ status = "completed" }]
faults = [
  { endpoint = "content", nth = 1, truncate = 0.25 },
  { endpoint = "content", nth = 2, reset = true },
  { endpoint = "content", nth = 3, slow = "4MB/s" },
]

[[rule]]
name = "hanging poll"
match = { prompt = "hang" }
faults = [{ endpoint = "poll", nth = 1, hang = true }]

[[rule]]
name = "reset poll"
match = { prompt = "reset" }
faults = [{ endpoint = "poll", nth = 1, reset = true }]
"""


def test_truncated_reset_and_slow_downloads_from_the_client_side():
    with Simulator(parse_scenario(BROKEN)) as sim, httpx.Client(base_url=sim.base_url, headers=KEY) as http:
        job_id = http.post("/videos", json={"model": SEEDANCE, "prompt": "broken"}).json()["id"]
        assert http.get(f"/videos/{job_id}").json()["status"] == "completed"
        with http.stream("GET", f"/videos/{job_id}/content") as response:  # truncated
            declared = int(response.headers["content-length"])
            received = b""
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in response.iter_bytes():
                    received += chunk
        assert 0 < len(received) < declared
        with pytest.raises(httpx.RemoteProtocolError):  # reset before any byte of the body
            http.get(f"/videos/{job_id}/content")
        started = time.perf_counter()
        slow = http.get(f"/videos/{job_id}/content")
        elapsed = time.perf_counter() - started
        assert slow.status_code == 200 and len(slow.content) == declared
        assert elapsed >= declared / (4 * 1024 * 1024) * 0.9  # no faster than the set rate
        with av.open(io.BytesIO(slow.content)) as container:  # intact
            assert container.streams.video[0].width == 1280
        assert http.get(f"/videos/{job_id}/content").status_code == 200  # the fourth is clean
        faults = [r["fault"] for r in sim.requests(job=job_id) if r["fault"]]
        assert faults == [
            "rule broken download: truncate to 25%",
            "rule broken download: reset",
            "rule broken download: slow 4194304 B/s",
        ]


def test_hang_until_the_client_gives_up_and_reset_poll_while_others_are_served():
    with Simulator(parse_scenario(BROKEN)) as sim, httpx.Client(base_url=sim.base_url, headers=KEY) as http:
        hung = http.post("/videos", json={"model": SEEDANCE, "prompt": "hang"}).json()["id"]
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"/videos/{hung}", timeout=0.5)
        assert http.get(f"/videos/{hung}").status_code == 200  # only the first poll hangs
        reset = http.post("/videos", json={"model": SEEDANCE, "prompt": "reset"}).json()["id"]
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(f"/videos/{reset}")
        assert http.get(f"/videos/{reset}").status_code == 200
        assert any(r["fault"] == "rule hanging poll: hang" for r in sim.requests(job=hung))


def test_output_lifetime_signed_urls_and_410_through_the_sdk():
    scenario = parse_scenario('[server]\noutput_ttl = "1h"\n[default]\ntimeline = [{ status = "completed" }]\n')
    with Simulator(scenario, clock="manual") as sim:
        videos = sdk(sim).video_generation
        job = videos.generate(model=SEEDANCE, prompt="x")
        done = videos.get_generation(job_id=job.id)
        assert done.expires_at == int(sim.health()["clock"]["time"]) + 3600
        [url] = done.urls
        keyless = httpx.get(url)  # no Authorization header
        assert keyless.status_code == 200 and keyless.headers["content-type"] == "video/mp4"
        forged = httpx.get(url.replace("signature=", "signature=0"))
        assert forged.status_code == 403
        sim.advance(3600)
        assert httpx.get(url).status_code == 410
        with pytest.raises(errors.GoneResponseError):
            videos.get_video_content(job_id=job.id)


def test_sdk_sees_typed_errors_for_rate_limits_and_credits():
    scenario = parse_scenario(
        '[server]\ncredits = 0.1\nrate_limit = { requests = 100, per = "1s" }\n'
        '[default]\ntimeline = [{ status = "completed", cost = 0.5 }]\n'
    )
    with Simulator(scenario, clock="manual") as sim:
        videos = sdk(sim).video_generation
        with pytest.raises(errors.PaymentRequiredResponseError):
            videos.generate(model=SEEDANCE, prompt="x")
    with Simulator(parse_scenario('[server]\nrate_limit = { requests = 1, per = "1m" }\n'), clock="manual") as sim:
        videos = sdk(sim).video_generation
        videos.generate(model=SEEDANCE, prompt="x")
        with pytest.raises(errors.TooManyRequestsResponseError) as caught:
            videos.generate(model=SEEDANCE, prompt="x")
        assert caught.value.raw_response.headers["retry-after"] == "60"


def test_fault_table_mistakes_are_reported(tmp_path):
    from ormock import ScenarioError

    for text, message in [
        ("[[fault]]\nrespond = 500\nhang = true\n", "a fault does one thing"),
        ("[[fault]]\nrespond = 500\nnth = 1\nevery = 2\n", "say when with one of"),
        ('[[fault]]\nendpoint = "poll"\ntruncate = 0.5\n', "`truncate` acts on downloads"),
        ('[[fault]]\nslow = "fast"\n', "is not a rate"),
        ('[[fault]]\njitter = "1s"\nreset = true\n', "`jitter` goes with `latency`"),
        ('[[fault]]\nendpoint = "pol"\nreset = true\n', "did you mean `poll`"),
    ]:
        with pytest.raises(ScenarioError, match=message):
            parse_scenario(text)
