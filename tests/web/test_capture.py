"""Capture on miss: `ormock serve SCENARIO --upstream URL --record-missing DIR` answers what the
scenario's rules take, passes what only its default would take to the upstream and records it, and
replays those recordings on the next run."""

from __future__ import annotations

import httpx
from server import running
from support import SEEDANCE

from ormock import ManualClock, create_app, parse_scenario
from ormock.web.capture import CaptureMisses
from ormock.web.record import Recorder

KEY = {"Authorization": "Bearer sk-or-capture-secret-31"}
LOCAL = """
[[rule]]
name = "known"
match = { prompt = "known" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "cancelled" }]
"""
UPSTREAM = """
[default]
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "upstream says no" }]
"""


async def statuses(http: httpx.AsyncClient, prompt: str) -> list:
    submitted = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": prompt}, headers=KEY)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()["id"]
    seen = [(await http.get(f"/api/v1/videos/{job}", headers=KEY)).json() for _ in range(2)]
    return [(answer["status"], answer.get("error")) for answer in seen]


async def test_what_no_rule_takes_goes_upstream_and_only_that_is_recorded(tmp_path):
    clock = ManualClock()
    upstream = create_app(parse_scenario(UPSTREAM), clock)
    local = create_app(parse_scenario(LOCAL), clock)
    recorder = Recorder("http://upstream.test/api/v1", tmp_path, clock, transport=httpx.ASGITransport(app=upstream))
    front = CaptureMisses(local, recorder)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://127.0.0.1:8000") as http:
        assert await statuses(http, "a known prompt") == [("in_progress", None), ("cancelled", "Job was cancelled")]
        assert await statuses(http, "something new") == [("in_progress", None), ("failed", "upstream says no")]
        # ormock's own refusals are answered here, never sent on
        bad = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x", "duration": 99}, headers=KEY)
        assert bad.status_code == 400
        keyless = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})
        assert keyless.status_code == 401
    assert [entry.what for entry in upstream.store.journal(None)] == ["submit", "poll", "poll"]
    assert [entry.body["prompt"] for entry in upstream.store.journal(None) if entry.what == "submit"] == [
        "something new"
    ]
    [written] = recorder.save()
    text = written.read_text()
    assert "something new" in text and "known" not in text
    assert b"sk-or-capture-secret-31" not in written.read_bytes()


def test_the_next_run_replays_what_the_last_recorded(tmp_path):
    (tmp_path / "local.toml").write_text(LOCAL)
    (tmp_path / "upstream.toml").write_text(UPSTREAM)
    folder = tmp_path / "recordings"
    manual = ("--clock", "manual", "--no-dashboard")
    with running(tmp_path / "upstream.toml", *manual) as upstream:
        upstream_root = upstream.base_url.removesuffix("/api/v1")
        args = ("--upstream", upstream.base_url, "--record-missing", str(folder), *manual)
        for run in (1, 2):
            with running(tmp_path / "local.toml", *args) as served:
                roots = [served.base_url.removesuffix("/api/v1"), upstream_root]
                with httpx.Client(base_url=served.base_url, headers=KEY) as http:
                    job = http.post("/videos", json={"model": SEEDANCE, "prompt": "something new"}).json()
                    seen = []
                    for _ in range(2):  # a poll every 10 s of both clocks
                        for root in roots:
                            httpx.post(f"{root}/__ormock/clock/advance", json={"seconds": 10}).raise_for_status()
                        seen.append(http.get(f"/videos/{job['id']}").json()["status"])
            assert seen == ["in_progress", "failed"], run
            submits = httpx.get(f"{upstream_root}/__ormock/requests", params={"path": "/api/v1/videos", "kind": "api"})
            assert [e["method"] for e in submits.json()["data"]].count("POST") == 1  # the second run asked no one
            assert len(list(folder.glob("*.toml"))) == 1, run  # nothing new to record the second time
        assert any("1 recorded rules from" in line for line in served.stdout + served.stderr)
