"""Every kind of 429 carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` beside `Retry-After`,
as OpenRouter's do: the rate limiter its true figures, in the client's time under `--speed`;
scripted ones figures that agree with their `Retry-After`."""

from __future__ import annotations

import math

import httpx
import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from support import KEY, SEEDANCE

from ormock import ScaledClock, Simulator, create_app, parse_scenario
from ormock.web.calls import SCRIPTED_LIMIT

SCRIPTED = """
[server]
{server}

[[rule]]
name = "busy submit"
match = {{ prompt = "busy" }}
submit = {{ respond = 429, retry_after = 4 }}

[[rule]]
name = "busy poll"
match = {{ prompt = "poll" }}
timeline = [{{ respond = 429, retry_after = 6 }}, {{ status = "completed" }}]

[[rule]]
name = "busy download"
match = {{ prompt = "download" }}
timeline = [{{ status = "completed" }}]
download = {{ respond = 429, retry_after = 2, times = 1 }}

[[rule]]
name = "injected"
match = {{ prompt = "fault" }}
faults = [{{ endpoint = "poll", respond = 429 }}]
"""


def limits(response: httpx.Response) -> tuple[str, str, int]:
    headers = response.headers
    return headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"], int(headers["x-ratelimit-reset"])


@pytest.mark.parametrize("server", ["", 'rate_limit = { requests = 50, per = "10s" }'])
async def test_scripted_429s_carry_figures_that_agree_with_their_retry_after(make_mock, server):
    mock = make_mock(SCRIPTED.format(server=server))
    now_ms = mock.clock.time() * 1000
    limit = "50" if server else str(SCRIPTED_LIMIT)

    refused = await mock.submit(prompt="busy")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "4"
    assert limits(refused) == (limit, "0", math.ceil(now_ms + 4000))

    job = await mock.job_id(prompt="poll")
    polled = await mock.poll(job)
    assert polled.status_code == 429
    assert limits(polled) == (limit, "0", math.ceil(now_ms + 6000))

    job = await mock.job_id(prompt="download")
    downloaded = await mock.download(job)
    assert downloaded.status_code == 429
    assert limits(downloaded) == (limit, "0", math.ceil(now_ms + 2000))

    job = await mock.job_id(prompt="fault")
    faulted = await mock.poll(job)
    assert faulted.status_code == 429 and "retry-after" not in faulted.headers
    assert limits(faulted) == (limit, "0", math.ceil(now_ms))  # no wait asked: it may try again now

    for other in (await mock.submit(prompt="fine"), await mock.poll(await mock.job_id(prompt="fine"))):
        assert "x-ratelimit-limit" not in other.headers  # only 429s carry them


async def test_the_rate_limiters_429_tells_its_true_figures_in_the_clients_time():
    monotonic = [1000.0]
    clock = ScaledClock(speed=10, monotonic=lambda: monotonic[0])
    scenario = parse_scenario('[server]\nrate_limit = { requests = 2, per = "20s" }\n')
    app = create_app(scenario, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=KEY) as http:
        body = {"model": SEEDANCE, "prompt": "x"}
        for _ in range(2):
            assert (await http.post("/api/v1/videos", json=body)).status_code == 202
        refused = await http.post("/api/v1/videos", json=body)
    assert refused.status_code == 429
    # one request every 10 scenario seconds: the next in 10 s, the bucket full in 20 s;
    # at --speed 10 the client is told 1 s and 2 s
    assert refused.headers["retry-after"] == "1"
    client_now = clock.client_time(clock.time())
    assert limits(refused) == ("2", "0", math.ceil((client_now + 2) * 1000))


def test_a_real_client_reads_the_headers_of_a_429():
    with Simulator(parse_scenario(SCRIPTED.format(server="")), clock="manual") as sim:
        sdk = OpenRouter(api_key="sk-or-test", server_url=sim.base_url, retry_config=RetryConfig("none", None, False))
        with pytest.raises(errors.TooManyRequestsResponseError) as caught:
            sdk.video_generation.generate(model=SEEDANCE, prompt="busy")
        headers = caught.value.raw_response.headers
        assert headers["retry-after"] == "4"
        assert headers["x-ratelimit-remaining"] == "0"
        assert int(headers["x-ratelimit-reset"]) >= int(sim.health()["clock"]["time"] * 1000) + 4000
