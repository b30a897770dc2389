"""Credit balances: the cost of jobs still running counts against the balance at submit, completed
jobs are charged, jobs that end otherwise give their hold back; balances per API key; the balance
readable through the control API and `Simulator`. Driven through the official SDK."""

from __future__ import annotations

import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from support import KEY, SEEDANCE

from ormock import Simulator, parse_scenario

NO_RETRIES = RetryConfig("none", None, False)
JOBS = """
[default]
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed", cost = 0.40 }]

[[rule]]
name = "fails"
match = { prompt = "fail" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed" }]
"""


def sdk(sim: Simulator, key: str = "sk-or-test") -> OpenRouter:
    return OpenRouter(api_key=key, server_url=sim.base_url, retry_config=NO_RETRIES)


def test_running_jobs_hold_their_cost_so_the_third_quick_submit_gets_402():
    with Simulator(parse_scenario("[server]\ncredits = 1.00\n" + JOBS), clock="manual") as sim:
        videos = sdk(sim).video_generation
        first = videos.generate(model=SEEDANCE, prompt="one")
        videos.generate(model=SEEDANCE, prompt="two")
        with pytest.raises(errors.PaymentRequiredResponseError, match="Insufficient credits"):
            videos.generate(model=SEEDANCE, prompt="three")
        [account] = sim.credits()["data"]
        assert account == {
            "key": "(all keys)",
            "balance": 1.0,
            "charged": 0.0,
            "held": 0.8,
            "available": 0.2,
            "running_jobs": 2,
        }
        # the first completes: it is charged, and 0.20 is still all that is available
        while videos.get_generation(job_id=first.id).status != "completed":
            pass
        [account] = sim.credits()["data"]
        assert (account["balance"], account["charged"], account["held"]) == (0.6, 0.4, 0.4)
        with pytest.raises(errors.PaymentRequiredResponseError):
            videos.generate(model=SEEDANCE, prompt="four")


def test_a_job_that_fails_gives_its_hold_back():
    with Simulator(parse_scenario("[server]\ncredits = 1.00\n" + JOBS), clock="manual") as sim:
        videos = sdk(sim).video_generation
        failing = videos.generate(model=SEEDANCE, prompt="please fail")
        # no one can know at submit that it will fail: it holds its estimated cost (5 s of Seedance)
        assert sim.credits()["data"][0]["held"] == pytest.approx(0.756)
        with pytest.raises(errors.PaymentRequiredResponseError):
            videos.generate(model=SEEDANCE, prompt="next")
        while videos.get_generation(job_id=failing.id).status != "failed":
            pass
        assert videos.generate(model=SEEDANCE, prompt="next").status == "pending"
        [account] = sim.credits()["data"]
        assert (account["charged"], account["held"], account["available"]) == (0.0, 0.4, 0.6)


def test_a_forced_ending_settles_too():
    with Simulator(parse_scenario("[server]\ncredits = 0.50\n" + JOBS), clock="manual") as sim:
        videos = sdk(sim).video_generation
        job = videos.generate(model=SEEDANCE, prompt="one")
        sim.set_status(job.id, "cancelled")
        assert sim.credits()["data"][0]["held"] == 0.0
        assert videos.generate(model=SEEDANCE, prompt="two").status == "pending"


def test_balances_per_api_key():
    text = '[server]\ncredits = { "sk-or-rich" = 10.0, "*" = 0.40 }\n' + JOBS
    with Simulator(parse_scenario(text), clock="manual") as sim:
        rich, poor, other = (sdk(sim, key).video_generation for key in ("sk-or-rich", "sk-or-poor", "sk-or-other"))
        for _ in range(3):
            rich.generate(model=SEEDANCE, prompt="x")
        poor.generate(model=SEEDANCE, prompt="x")
        with pytest.raises(errors.PaymentRequiredResponseError):
            poor.generate(model=SEEDANCE, prompt="x")
        other.generate(model=SEEDANCE, prompt="x")  # "*" gives every other key a balance of its own
        assert sim.credits(key="sk-or-rich")["key"]["held"] == pytest.approx(1.2)
        assert sim.credits(key="sk-or-poor")["key"]["available"] == 0.0
        assert {a["key"] for a in sim.credits()["data"]} == {"sk-or-…rich", "sk-or-…poor", "sk-or-…ther"}


def test_unlimited_keys_and_namespaces_are_apart():
    text = '[server]\ncredits = { "sk-or-capped" = 0.40 }\n' + JOBS
    with Simulator(parse_scenario(text), clock="manual") as sim:
        assert sim.credits(key="sk-or-free")["key"] is None  # not named, no "*": unlimited
        import httpx

        body = {"model": SEEDANCE, "prompt": "x"}
        capped = {"Authorization": "Bearer sk-or-capped"}
        assert httpx.post(f"{sim.base_url}/videos", json=body, headers=capped).status_code == 202
        assert httpx.post(f"{sim.base_url}/videos", json=body, headers=capped).status_code == 402
        # another test id has its own balance
        other = {**capped, "X-Test-Id": "t2"}
        assert httpx.post(f"{sim.base_url}/videos", json=body, headers=other).status_code == 202
        assert httpx.post(f"{sim.base_url}/videos", json=body, headers=KEY).status_code == 202
