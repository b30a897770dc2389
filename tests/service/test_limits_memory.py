"""Memory bounded by jobs, not by requests: polls of a job in a long timed step add nothing,
requests without a key make no namespace, namespaces and rate-limit buckets have a ceiling, the
journal has a total, and a client gone mid-download stops the sending (docs/limits.md)."""

from __future__ import annotations

import time

import httpx
from server import running
from support import KEY, SEEDANCE

from ormock.service import faults as faults_module
from ormock.service.watcher import StatusWatcher

LONG = '[default]\ntimeline = [{ status = "in_progress", for = "1h" }, { status = "completed" }]\n'


async def test_polls_of_a_job_in_a_long_timed_step_hold_one_entry(make_mock):
    mock = make_mock(LONG)
    watcher = StatusWatcher(mock.store)
    job_id = await mock.job_id()
    for _ in range(500):
        assert (await mock.poll(job_id)).status_code == 200
        watcher.changes()
    assert len(watcher._due) == 1


async def test_requests_without_a_key_make_no_namespace(mock):
    for n in range(200):
        response = await mock.http.get("/api/v1/videos/x", headers={"X-Test-Id": f"t{n}"})
        assert response.status_code == 401
    assert [space.test_id for space in mock.store.spaces(None)] == [""]  # journalled in the default one
    assert len(mock.store.journal("")) == 200


async def test_namespaces_have_a_ceiling_and_the_empty_ones_go_first(mock):
    mock.store.max_test_ids = 5
    keep = await mock.job_id()  # a namespace with a job: "" ...
    for n in range(20):  # ... and many that only listed models
        await mock.http.get("/api/v1/videos/models", headers={"X-Test-Id": f"t{n}"})
    spaces = [space.test_id for space in mock.store.spaces(None)]
    assert len(spaces) == 5 and "" in spaces
    assert mock.store.get(keep) is not None


async def test_past_the_ceiling_the_oldest_namespace_goes_with_its_jobs(mock):
    mock.store.max_test_ids = 3
    ids = {}
    for name in ("a", "b", "c", "d"):
        response = await mock.http.post(
            "/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers={**KEY, "X-Test-Id": name}
        )
        ids[name] = response.json()["id"]
    assert sorted(space.test_id for space in mock.store.spaces(None)) == ["b", "c", "d"]
    assert mock.store.get(ids["a"], None) is None
    assert any("dropped the oldest, 'a', and its 1 job(s)" in notice for notice in mock.store.notices)


async def test_rate_limit_buckets_have_a_ceiling(make_mock, monkeypatch):
    monkeypatch.setattr(faults_module, "MAX_BUCKETS", 10)
    mock = make_mock('[server]\nrate_limit = { requests = 5, per = "1m" }\n')
    for n in range(50):
        await mock.http.get("/api/v1/videos/x", headers={"Authorization": f"Bearer key-{n}"})
    assert len(mock.store.space("").buckets) == 10


async def test_the_journal_has_a_total_across_namespaces(mock):
    mock.store.journal_total = 30
    for n in range(10):
        for _ in range(5):
            await mock.http.get("/api/v1/videos/models", headers={"X-Test-Id": f"t{n}"})
    assert sum(len(space.journal) for space in mock.store.spaces(None)) == 30
    assert len(mock.store.journal("t0")) == 0 and len(mock.store.journal("t9")) == 5


def test_a_client_gone_mid_download_stops_the_sending(tmp_path):
    content = tmp_path / "big.mp4"
    content.write_bytes(b"\x00" * (64 * 1024 * 1024))
    scenario = tmp_path / "big.toml"
    scenario.write_text('[default]\ntimeline = [{ status = "completed", content = "big.mp4" }]\n')
    with running(scenario, "--no-dashboard") as served:
        http = httpx.Client(base_url=served.base_url, headers=KEY)
        job_id = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}).json()["id"]
        http.get(f"/videos/{job_id}")
        for _ in range(5):
            with http.stream("GET", f"/videos/{job_id}/content") as response:
                next(response.iter_raw(65536))
        root = served.base_url.removesuffix("/api/v1")
        deadline = time.monotonic() + 15
        while True:  # bounds a failing test: each abandoned download is recorded when noticed
            entries = httpx.get(f"{root}/__ormock/requests", params={"path": f"/api/v1/videos/{job_id}/content"})
            done = entries.json()["data"]
            if len(done) == 5 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [entry["complete"] for entry in done] == [False] * 5
        assert all(entry["sent"] < 32 * 1024 * 1024 for entry in done)  # far from the whole 64 MB each
        http.close()
    assert len(served.stderr) <= 1, served.stderr[:5]  # not a line per chunk sent into a dead socket
    assert sum(f"GET /api/v1/videos/{job_id}/content 200" in line for line in served.stdout) == 5  # a line each


async def test_the_kept_poll_answers_go_with_the_jobs_a_reset_removes(make_mock):
    """A poll's encoded answer is kept per job (polls are the hot path): a reset of one namespace
    drops its jobs' answers and no one else's, and a reset of all drops every one."""
    mock = make_mock("[default]\n")
    kept = mock.app.api.poll_answers
    for test_id in ("a", "b"):
        headers = {**KEY, "X-Test-Id": test_id}
        job = (await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=headers)).json()
        assert (await mock.http.get(f"/api/v1/videos/{job['id']}", headers=headers)).status_code == 200
    assert len(kept) == 2
    await mock.http.post("/__ormock/reset", headers={"X-Test-Id": "a"})
    assert len(kept) == 1
    await mock.http.post("/__ormock/reset")
    assert len(kept) == 0


async def test_a_job_keeps_only_the_start_of_a_huge_prompt(make_mock):
    """Matching reads the whole prompt once; the job then keeps its first 512 characters (a job
    per 20 MB prompt held 20 MB each until reset)."""
    from ormock.service.store import KEPT_PROMPT

    mock = make_mock('[[rule]]\nname = "tail"\nmatch = { prompt = "the very end" }\n[default]\n')
    prompt = "s" * 2_000_000 + " the very end"
    answer = await mock.submit(prompt=prompt)
    job = mock.store.get(answer.json()["id"])
    assert job.rule.name == "tail"  # matched on the whole prompt, in a worker thread (it is large)
    assert job.submission.prompt == prompt[:KEPT_PROMPT]
