"""`from ormock import Simulator`: a real server in the background, driven from test code."""

from __future__ import annotations

import httpx
import pytest
from openrouter import OpenRouter
from openrouter.utils import RetryConfig
from support import KEY, SCENARIOS, SEEDANCE

from ormock import Simulator, SimulatorError


def sdk(sim: Simulator) -> OpenRouter:
    return OpenRouter(api_key="sk-or-test", server_url=sim.base_url, retry_config=RetryConfig("none", None, False))


def test_manual_clock_walks_a_job_through_its_timeline():
    with Simulator(SCENARIOS / "seedance.toml", clock="manual") as sim:
        assert sim.base_url.startswith("http://127.0.0.1:") and sim.base_url.endswith("/api/v1")
        videos = sdk(sim).video_generation
        job = videos.generate(model="bytedance/seedance-2.0", prompt="golden retriever")
        assert videos.get_generation(job_id=job.id).status == "pending"
        sim.advance(2)
        assert videos.get_generation(job_id=job.id).status == "in_progress"
        sim.advance(44)
        assert videos.get_generation(job_id=job.id).status == "in_progress"
        sim.advance(1)
        assert sim.wait(job.id, "completed", timeout=5)["status"] == "completed"
        assert videos.get_generation(job_id=job.id).status == "completed"
        [info] = sim.jobs()
        assert (info["id"], info["rule"], info["polls"]) == (job.id, "happy path", 4)
        assert [r["method"] for r in sim.requests(job=job.id)] == ["POST"] + ["GET"] * 4


def test_set_status_wait_reset_and_errors():
    with Simulator(SCENARIOS / "ci-fast.toml", speed=100) as sim:
        videos = sdk(sim).video_generation
        job = videos.generate(model="google/veo-3.1", prompt="anything")
        sim.set_status(job.id, "expired")
        assert videos.get_generation(job_id=job.id).error == "Job exceeded maximum time to live"
        with pytest.raises(SimulatorError, match="ended as expired; it will never be completed"):
            sim.wait(job.id, "completed", timeout=1)
        with pytest.raises(SimulatorError, match="status must be one of"):
            sim.set_status(job.id, "exploded")
        with pytest.raises(SimulatorError, match="no job gen-vid-0-x"):
            sim.job("gen-vid-0-x")
        assert sim.health()["clock"]["speed"] == 100
        sim.reset()
        assert sim.jobs() == [] and sim.requests() == []


def test_default_scenario_and_test_ids():
    with Simulator() as sim:
        with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer k", "X-Test-Id": "mine"}) as http:
            job_id = http.post("/videos", json={"model": "runway/gen-4.5", "prompt": "boat"}).json()["id"]
        assert [job["id"] for job in sim.jobs(test_id="mine")] == [job_id]
        assert sim.jobs(test_id="theirs") == []


def test_admin_token_is_sent_by_the_simulator():
    with Simulator(admin_token="tok") as sim:
        assert sim.jobs() == []
        assert httpx.get(sim.url + "/__ormock/jobs").status_code == 401


def test_calls_before_start_say_so():
    sim = Simulator()
    with pytest.raises(SimulatorError, match="not running"):
        sim.jobs()


def test_a_bad_scenario_is_refused_before_starting(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[default]\ntimeline = []\n")
    from ormock import ScenarioError

    with pytest.raises(ScenarioError, match="a timeline needs at least its final step"):
        Simulator(path)


@pytest.mark.parametrize(("server", "loop"), [("hypercorn", "asyncio"), ("granian", "uvloop")])
def test_each_server_runs_on_its_event_loop(server, loop):
    """Granian hands every request to the event loop from its own threads: under it ormock runs on
    uvloop (installed with `ormock[fast]`), whose wake-ups cost a fraction of asyncio's."""
    pytest.importorskip(server)
    pytest.importorskip(loop)
    with Simulator("ci-fast", server=server) as sim:
        assert type(sim._loop).__module__.split(".")[0] == loop
        with httpx.Client(base_url=sim.base_url, headers=KEY) as http:
            job = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}).json()
            assert http.get(f"/videos/{job['id']}").json()["status"] in ("pending", "in_progress", "completed")


def test_rules_added_listed_and_removed_from_python(tmp_path):
    with Simulator(clock="manual") as sim:
        added = sim.add_rules(
            '[[rule]]\nname = "fails"\nmatch = { prompt = "dog" }\ntimeline = [{ status = "failed" }]\n'
        )
        assert [rule["name"] for rule in added] == ["fails"]
        sim.add_rules({"name": "cancels", "match": {"prompt": "cat"}, "timeline": [{"status": "cancelled"}]}, "t1")
        sim.add_rules([{"name": "expires", "timeline": [{"status": "expired"}]}], "t1")
        assert [(r["name"], r["source"]) for r in sim.rules("t1")] == [
            ("expires", "runtime"),
            ("cancels", "runtime"),
            ("default", "built-in default"),
        ]
        videos = sdk(sim).video_generation
        job = videos.generate(model=SEEDANCE, prompt="a dog")
        assert videos.get_generation(job_id=job.id).status == "failed"
        assert sim.rules()[0]["matched"] == 1

        with pytest.raises(SimulatorError) as refused:
            sim.add_rules([{"name": "a", "uses": 0}, {"name": "b", "timeline": []}], "t1")
        assert {p["key"] for p in refused.value.problems} == {"rule[1].uses", "rule[2].timeline"}
        assert "rule[2].timeline" in str(refused.value)  # every problem is in the message

        assert sim.remove_rules("cancels", test_id="t1") == ["cancels"]
        assert sim.remove_rules(test_id="t1") == ["expires"]
        with pytest.raises(SimulatorError, match="no rule named 'expires'"):
            sim.remove_rules("expires", test_id="t1")

        own = tmp_path / "own.toml"
        own.write_text('[default]\ntimeline = [{ status = "cancelled" }]\n')
        sim.set_scenario(own, "t2")
        assert sim.rules("t2")[0]["timeline"] == [{"status": "cancelled"}]
        sim.set_scenario(None, "t2")
        assert sim.rules("t2")[0]["timeline"][-1] == {"status": "completed"}
