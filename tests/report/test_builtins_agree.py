"""Every built-in scenario and the client report agree: the official Python SDK, driven as a careful
client drives it, goes through every rule of every built-in and breaks no check of the report at
`client_checks="fail"`. What a scenario expects of a client beyond the defaults (polls as fast as
it likes; polls again after a scripted 401) it says in its `[report]` table or a rule's `silence`.

The careful client: a poll every `[report] min_poll_interval` (10 s unless the scenario says
otherwise; scenario time, on the manual clock); after a 429 or a 503 it
waits what `Retry-After` says, after another 5xx or a broken connection it backs off (10 s, then
doubling); after a 4xx on a poll it waits 10 s and polls again (the built-ins script recovery);
a submit refused with a 4xx other than 429 is not sent again; a completed job is downloaded, again
after a wait if the download fails with a 429 or a 5xx or comes up short."""

from __future__ import annotations

import httpx
import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig

from ormock import Simulator
from ormock.cli.demo import request_for
from ormock.report import failures
from ormock.scenario import library
from ormock.scenario.loader import TERMINAL, load

NO_RETRIES = RetryConfig("none", None, False)
WAITED = (429, 503)


def _wait(exc: Exception, backoff: float) -> float:
    """Scenario seconds a careful client waits after `exc`: what Retry-After says, else `backoff`."""
    response = getattr(exc, "raw_response", None)
    told = response.headers.get("retry-after") if response is not None else None
    return float(told) if told is not None else backoff


def _status(exc: Exception) -> int:
    response = getattr(exc, "raw_response", None)
    return response.status_code if response is not None else 0  # 0: the connection broke


class Careful:
    def __init__(self, sim: Simulator, test_id: str, interval: float) -> None:
        self.sim = sim
        self.interval = interval  # between polls: what the scenario's [report] expects
        http = httpx.Client(headers={"X-Test-Id": test_id}, timeout=2.0)  # a hung poll is given up after 2 s
        sdk = OpenRouter(api_key="sk-or-careful", server_url=sim.base_url, client=http, retry_config=NO_RETRIES)
        self.videos = sdk.video_generation

    def attempt(self, call, tries: int = 12):
        """`call()` until it answers, waiting as a careful client does; None when the answer is a
        refusal not to be retried."""
        backoff = 10.0
        for _ in range(tries):
            try:
                return call()
            except (errors.OpenRouterError, httpx.TransportError) as exc:
                status = _status(exc)
                if 400 <= status < 500 and status not in WAITED:
                    return None
                self.sim.advance(_wait(exc, backoff))
                backoff *= 2
        raise AssertionError("gave up")

    def run(self, body: dict) -> None:
        job = self.attempt(lambda: self.videos.generate(**body))
        if job is None:
            return
        status = "pending"
        for _ in range(500):
            self.sim.advance(self.interval)
            try:
                status = self.attempt(lambda: self.videos.get_generation(job_id=job.id)).status
            except AttributeError:  # a 4xx on a poll: wait, then poll again
                continue
            if status in TERMINAL:
                break
        if status == "completed":
            for _ in range(4):
                content = self.attempt(lambda: self.videos.get_video_content(job_id=job.id))
                try:
                    if content is None or content.read()[4:8] == b"ftyp":
                        return
                except httpx.TransportError:
                    pass
                self.sim.advance(10)


@pytest.mark.parametrize("name", library.names())
def test_a_careful_client_passes_every_builtin_with_client_checks_fail(name):
    scenario = load(library.path(name))
    with Simulator(scenario, clock="manual", seed=1) as sim:
        for number, rule in enumerate([*scenario.rules, scenario.default]):
            body = request_for(rule, scenario)
            if body is None and rule is scenario.default:
                continue  # the rules take every submit the catalogue allows
            assert body is not None, rule.name
            Careful(sim, f"rule {number}", scenario.report.min_poll_interval).run(body)
        found = failures(sim.report(), "fail")
    assert found == [], "\n".join(found)
