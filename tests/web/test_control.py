"""The control API under /__ormock/: health, jobs, forcing a status, the clock, the journal,
waiting and resetting; each through HTTP on the in-process app."""

from __future__ import annotations

import asyncio

import pytest
from support import KEY

from ormock import ManualClock, create_app, parse_scenario


async def control(mock, method: str, path: str, **kwargs):
    return await mock.http.request(method, f"/__ormock{path}", **kwargs)


async def test_health(mock):
    await mock.job_id()
    body = (await control(mock, "GET", "/health")).json()
    assert body["status"] == "ok"
    assert body["jobs"] == 1
    assert body["clock"] == {"mode": "manual", "speed": 1.0, "time": mock.clock.time()}
    assert body["scenario"].endswith("seedance.toml")


async def test_jobs_tell_rule_model_request_status_step_polls_and_downloads(mock):
    job_id = await mock.job_id(prompt="no download please", duration=6)
    await mock.poll(job_id)
    await mock.poll(job_id)
    await mock.download(job_id)
    listed = (await control(mock, "GET", "/jobs")).json()["data"]
    assert [job["id"] for job in listed] == [job_id]
    info = (await control(mock, "GET", f"/jobs/{job_id}")).json()
    assert info == listed[0]
    assert info["rule"] == "download refused"
    assert info["model"] == "bytedance/seedance-2.0"
    assert info["request"] == {"model": "bytedance/seedance-2.0", "prompt": "no download please", "duration": 6}
    assert info["status"] == "completed"
    assert info["step"]["index"] == 2 and info["step"]["of"] == 2
    assert (info["polls"], info["downloads"]) == (2, 1)
    assert info["created_at"] == mock.clock.time()
    assert info["cost"] == 0.42
    assert info["forced"] is False
    assert (await control(mock, "GET", "/jobs/gen-vid-1-nope")).status_code == 404


@pytest.mark.parametrize("status", ["pending", "in_progress", "completed", "failed", "cancelled", "expired"])
async def test_force_any_status_and_the_timeline_stops_there(mock, status):
    job_id = await mock.job_id(prompt="golden retriever")
    response = await control(mock, "POST", f"/jobs/{job_id}/status", json={"status": status})
    assert response.status_code == 200
    assert response.json()["forced"] is True
    mock.clock.advance(10_000)
    for _ in range(3):
        assert await mock.status(job_id) == status


async def test_forced_ending_carries_its_error_and_a_forced_completion_downloads(mock):
    failed = await mock.job_id()
    await control(mock, "POST", f"/jobs/{failed}/status", json={"status": "failed", "error": "GPU on fire"})
    assert (await mock.poll(failed)).json()["error"] == "GPU on fire"
    cancelled = await mock.job_id()
    await control(mock, "POST", f"/jobs/{cancelled}/status", json={"status": "cancelled"})
    assert (await mock.poll(cancelled)).json()["error"] == "Job was cancelled"
    done = await mock.job_id(prompt="this would fail")
    await control(mock, "POST", f"/jobs/{done}/status", json={"status": "completed"})
    body = (await mock.poll(done)).json()
    assert body["unsigned_urls"] and body["usage"]["cost"] > 0
    assert (await mock.download(done)).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"status": "done"},
            'status must be one of pending, in_progress, completed, failed, cancelled, expired, not "done"',
        ),
        ({}, "status must be one of"),
        ({"status": "completed", "error": "x"}, "error goes with failed, cancelled or expired"),
        ({"status": "failed", "error": 5}, "error must be a string"),
        ([1], "the request body must be a JSON object"),
    ],
)
async def test_bad_status_requests_get_400(mock, body, message):
    job_id = await mock.job_id()
    response = await control(mock, "POST", f"/jobs/{job_id}/status", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    response = await control(mock, "POST", f"/jobs/{job_id}/status", content=b"{nope")
    assert response.status_code == 400


async def test_manual_clock_advances_a_job_step_by_step(make_mock):
    mock = make_mock(
        '[default]\ntimeline = [{ status = "pending", for = "5s" }, { status = "in_progress", for = "30s" },'
        ' { status = "completed" }]\n'
    )
    job_id = await mock.job_id()
    seen = []
    for seconds in (4, 1, 29, 1):
        response = await control(mock, "POST", "/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200
        seen.append(await mock.status(job_id))
    assert seen == ["pending", "in_progress", "in_progress", "completed"]
    assert response.json()["time"] == mock.clock.time()


@pytest.mark.parametrize("seconds", [-1, "soon", None, True, float("inf")])
async def test_bad_advance_gets_400(mock, seconds):
    body = f'{{"seconds": {"Infinity" if seconds == float("inf") else __import__("json").dumps(seconds)}}}'
    response = await control(mock, "POST", "/clock/advance", content=body.encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400


async def test_request_journal_redacts_keys_and_filters(mock):
    first = await mock.job_id(prompt="golden retriever")
    second = await mock.job_id(prompt="cancel")
    await mock.poll(first)
    await mock.http.get(f"/api/v1/videos/{second}?foo=bar", headers=KEY)
    entries = (await control(mock, "GET", "/requests")).json()["data"]
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 202), ("POST", 202), ("GET", 200), ("GET", 200)]
    submit = entries[0]
    assert submit["body"] == {"model": "bytedance/seedance-2.0", "prompt": "golden retriever"}
    assert submit["headers"]["authorization"] == "Bearer sk-or-…test"
    assert "sk-or-test" not in str(entries)
    assert submit["job_id"] == first and submit["rule"] == "happy path"
    assert entries[3]["query"] == {"foo": "bar"}
    only_second = (await control(mock, "GET", f"/requests?job={second}")).json()["data"]
    assert [e["seq"] for e in only_second] == [entries[1]["seq"], entries[3]["seq"]]
    polls = (await control(mock, "GET", "/requests?path=/api/v1/videos/gen")).json()["data"]
    assert len(polls) == 2
    later = (await control(mock, "GET", f"/requests?since={entries[1]['seq']}")).json()["data"]
    assert [e["seq"] for e in later] == [entries[2]["seq"], entries[3]["seq"]]
    assert (await control(mock, "GET", "/requests?since=yesterday")).status_code == 400


async def test_journal_is_bounded():
    app = create_app(parse_scenario(""), ManualClock(), journal_max=3)
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as http:
        for _ in range(5):
            await http.get("/api/v1/videos/models")
        entries = (await http.get("/__ormock/requests")).json()["data"]
    assert [e["seq"] for e in entries] == [3, 4, 5]


async def test_wait_answers_at_once_when_the_status_holds(mock):
    job_id = await mock.job_id()
    response = await control(mock, "GET", f"/wait?job={job_id}&status=pending&timeout=5")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"


async def test_wait_wakes_when_the_clock_is_advanced(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    waiting = asyncio.create_task(control(mock, "GET", f"/wait?job={job_id}&status=completed&timeout=30"))
    await asyncio.sleep(0)
    assert not waiting.done()
    await control(mock, "POST", "/clock/advance", json={"seconds": 60})
    response = await asyncio.wait_for(waiting, 10)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


async def test_parked_waiters_cost_nothing_until_their_job_changes(mock, monkeypatch):
    """50 waiters parked on jobs that do not move look at their job once each (they re-read it
    every 20 ms: 500 of them held a core), however long they wait; a poll of one job wakes only
    its waiter, and a clock move wakes them all."""
    jobs = [await mock.job_id(prompt="golden retriever") for _ in range(50)]
    looks: list[str] = []
    peek = mock.store.peek
    monkeypatch.setattr(mock.store, "peek", lambda job: looks.append(job.id) or peek(job))
    waiting = [
        asyncio.create_task(control(mock, "GET", f"/wait?job={job_id}&status=completed&timeout=30")) for job_id in jobs
    ]
    await asyncio.sleep(0.1)  # ample time for the old way to look five times each
    assert sorted(looks) == sorted(jobs)
    await mock.poll(jobs[0])
    await asyncio.sleep(0.01)
    assert looks.count(jobs[0]) >= 2 and all(looks.count(job_id) == 1 for job_id in jobs[1:])
    await control(mock, "POST", "/clock/advance", json={"seconds": 60})
    answers = await asyncio.wait_for(asyncio.gather(*waiting), 10)
    assert {answer.json()["status"] for answer in answers} == {"completed"}


async def test_wait_times_out_with_408_and_says_409_when_it_can_never_happen(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    response = await control(mock, "GET", f"/wait?job={job_id}&status=completed&timeout=0")
    assert response.status_code == 408
    assert response.json()["error"]["message"] == f"job {job_id} is still pending after 0 s, not completed"
    cancelled = await mock.job_id(prompt="cancel")
    mock.clock.advance(5)
    response = await control(mock, "GET", f"/wait?job={cancelled}&status=completed&timeout=5")
    assert response.status_code == 409


@pytest.mark.parametrize(
    "query",
    ["", "job=x", "job={id}&status=done", "job={id}&status=completed&timeout=-1", "job={id}&status=failed&timeout=a"],
)
async def test_wait_bad_input_gets_400(mock, query):
    job_id = await mock.job_id()
    response = await control(mock, "GET", "/wait?" + query.format(id=job_id))
    assert response.status_code == 400


async def test_reset_clears_jobs_journal_and_rule_counts(make_mock):
    mock = make_mock('[[rule]]\nname = "flaky"\nsubmit = { respond = 500, times = 1 }\n')
    assert (await mock.submit()).status_code == 500
    job_id = await mock.job_id()
    response = await control(mock, "POST", "/reset")
    assert response.json() == {"reset": "all"}
    assert (await control(mock, "GET", "/jobs")).json()["data"] == []
    assert (await control(mock, "GET", "/requests")).json()["data"] == []
    assert (await mock.poll(job_id)).status_code == 404
    assert (await mock.submit()).status_code == 500  # the rule's count started over


async def test_admin_token_guards_the_control_api_only(make_mock):
    import httpx

    app = create_app(parse_scenario(""), ManualClock(), admin_token="s3cret")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as http:
        refused = await http.get("/__ormock/jobs")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "the control API needs Authorization: Bearer <admin token>"
        assert (await http.get("/__ormock/jobs", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await http.get("/__ormock/jobs", headers={"Authorization": "Bearer s3cret"})).status_code == 200
        assert (await http.get("/api/v1/videos/models")).status_code == 200


async def test_control_api_is_not_under_the_service_path(mock):
    assert (await mock.http.get("/api/v1/__ormock/health")).status_code == 404
