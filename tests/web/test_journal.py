"""The record of what happened: every journal entry about a job carries its id whatever answered
it, anything a scenario scripted is marked with its rule, and a download is recorded when its body
has gone out, with how much went and whether all of it did."""

from __future__ import annotations

import contextlib
import time

import httpx
from server import running
from support import KEY, SEEDANCE

from ormock.cli.log import Lines


async def journal(mock, **query) -> list[dict]:
    return (await mock.http.get("/__ormock/requests", params=query)).json()["data"]


async def test_answers_from_a_server_wide_fault_are_journalled_with_the_job(make_mock):
    mock = make_mock(
        '[default]\ntimeline = [{ status = "in_progress", polls = 5 }, { status = "completed" }]\n'
        '[[fault]]\nendpoint = "poll"\nrespond = 503\nevery = 2\n'
    )
    job_id = await mock.job_id()
    codes = [(await mock.poll(job_id)).status_code for _ in range(6)]
    assert codes == [200, 503] * 3
    about = await journal(mock, job=job_id)
    assert [e["status"] for e in about] == [202, *codes]
    assert [e["fault"] for e in about if e["status"] == 503] == ["fault[1]: 503"] * 3


async def test_keyless_and_unknown_job_answers_carry_the_id_too(mock):
    job_id = await mock.job_id()
    assert (await mock.poll(job_id, headers={})).status_code == 401
    assert (await mock.poll("gen-vid-1-nope")).status_code == 404
    assert [e["status"] for e in await journal(mock, job=job_id)] == [202, 401]
    assert [e["status"] for e in await journal(mock, job="gen-vid-1-nope")] == [404]


async def test_scripted_answers_are_marked_with_their_rule(mock):
    refused = await mock.job_id(prompt="no download")  # download = { respond = 401, times = 1 }
    while await mock.status(refused) != "completed":
        pass
    assert (await mock.download(refused)).status_code == 401
    assert (await mock.download(refused)).status_code == 200
    revoked = await mock.job_id(prompt="revoked")  # the third poll answers 401
    assert [(await mock.poll(revoked)).status_code for _ in range(3)] == [200, 200, 401]
    assert (await mock.submit(prompt="unauthorized")).status_code == 401
    entries = await journal(mock)
    scripted = [(e["status"], e["path"].rsplit("/", 1)[-1], e["scripted"]) for e in entries if e["scripted"]]
    assert scripted == [
        (401, "content", "download refused"),
        (401, revoked, "key revoked mid-job"),
        (401, "videos", "unauthorized"),
    ]
    # a keyless download is not scripted
    assert (await mock.download(refused, headers={})).status_code == 401
    assert (await journal(mock))[-1]["scripted"] is None


async def test_a_scripted_step_is_marked_on_the_fast_poll_path_too(make_mock):
    mock = make_mock('[default]\ntimeline = [{ respond = 503, polls = 1 }, { status = "completed" }]\n')
    job_id = await mock.job_id()
    assert (await mock.poll(job_id)).status_code == 503
    assert (await journal(mock, job=job_id))[-1]["scripted"] == "default"


async def test_a_download_is_recorded_when_its_body_ends_with_the_bytes_sent(mock):
    job_id = await mock.job_id(prompt="a lighthouse", duration=4)
    mock.clock.advance(60)
    response = await mock.download(job_id)
    entry = (await journal(mock, job=job_id))[-1]
    assert (entry["status"], entry["sent"], entry["complete"]) == (200, len(response.content), True)
    assert mock.store.get(job_id).downloaded == 1


async def test_a_truncated_download_is_recorded_as_cut_off(make_mock):
    mock = make_mock(
        '[default]\ntimeline = [{ status = "completed" }]\n[[fault]]\nendpoint = "download"\nnth = 1\ntruncate = 0.5\n'
    )
    job_id = await mock.job_id()
    await mock.poll(job_id)
    with contextlib.suppress(Exception):  # in process, the dropped connection reaches the client as an exception
        await mock.download(job_id)
    entry = (await journal(mock, job=job_id))[-1]
    assert entry["complete"] is False and entry["sent"] > 0
    assert entry["fault"] == "fault[1]: truncate to 50%"
    assert mock.store.get(job_id).downloaded == 0
    assert (await mock.download(job_id)).status_code == 200
    assert mock.store.get(job_id).downloaded == 1


def test_a_download_the_client_abandons_is_recorded_as_cut_off(tmp_path):
    """A client that goes away mid-download: the server stops sending and records how far it got."""
    scenario = tmp_path / "slow.toml"
    scenario.write_text(
        '[default]\ntimeline = [{ status = "completed" }]\n[[fault]]\nendpoint = "download"\nslow = "256KB/s"\n'
    )
    with running(scenario, "--no-dashboard") as served:
        http = httpx.Client(base_url=served.base_url, headers=KEY)
        job_id = http.post("/videos", json={"model": SEEDANCE, "prompt": "x", "duration": 10}).json()["id"]
        assert http.get(f"/videos/{job_id}").json()["status"] == "completed"
        with http.stream("GET", f"/videos/{job_id}/content") as response:
            size = int(response.headers["content-length"])
            next(response.iter_raw(1024))  # one chunk, then the client goes away
        root = served.base_url.removesuffix("/api/v1")
        for _ in range(500):
            entries = httpx.get(f"{root}/__ormock/requests", params={"job": job_id}).json()["data"]
            if entries[-1]["path"].endswith("/content"):
                break
            time.sleep(0.01)  # bounds a failing test; the entry is written when the server notices
        entry = entries[-1]
        assert entry["complete"] is False
        assert 0 < entry["sent"] < size / 4
        line = served.line("/content")
        assert "(cut off after" in line and "injected fault: fault[1]: slow" in line


def test_log_lines_say_what_was_scripted_and_what_was_cut_off(mock):
    from ormock.service.journal import Entry

    lines: list[str] = []
    log = Lines(emit=lines.append)
    base = {"seq": 1, "time": 0.0, "method": "GET", "query": {}, "latency_ms": 6200.0, "headers": [], "body": None}
    log.request(
        Entry(
            path="/api/v1/videos/j1/content",
            what="download",
            status=401,
            job_id="j1",
            rule="download refused",
            scripted="download refused",
            **base,
        )
    )
    log.request(
        Entry(
            path="/api/v1/videos/j1/content",
            what="download",
            status=200,
            job_id="j1",
            rule="r",
            sent=10,
            complete=False,
            **base,
        )
    )
    assert lines[0].endswith(
        "GET /api/v1/videos/j1/content 401 [download refused] (scripted by rule download refused)  6200.0 ms"
    )
    assert "(cut off after 10 bytes)" in lines[1]


def test_each_fact_of_a_request_lands_in_its_own_field_of_the_entry():
    """`record` builds the entry by position (see `App.record`): every field gets a value of its
    own here, so two swapped arguments show."""
    import dataclasses

    from ormock.scenario.loader import parse
    from ormock.service.clock import ManualClock
    from ormock.service.journal import Entry
    from ormock.web.api import Exchange
    from ormock.web.app import create_app
    from ormock.web.calls import Call

    app = create_app(parse("[default]\n"), ManualClock(1_000.0))
    headers = [(b"authorization", b"Bearer sk-or-the-key"), (b"user-agent", b"the agent/1")]
    scope = {"method": "GET", "path": "/api/v1/videos/job-1", "query_string": b"a=b", "headers": headers}
    ex = Exchange(Call(scope), b'{"x": 1}', started=time.perf_counter() - 0.25)
    ex.job_id, ex.error, ex.fault, ex.scripted, ex.seen, ex.retry_after = "job-1", "err", "flt", "scr", "queued", 7.5
    ex.what, ex.authorised = "poll", True
    ex.rule = type("Rule", (), {"name": "the rule"})()
    before = time.time()
    ex.status, ex.sent, ex.complete = 418, 123, False
    entry = app.record(ex)
    expected = {
        "seq": 1,
        "time": 1_000.0,
        "method": "GET",
        "path": "/api/v1/videos/job-1",
        "query": {"a": "b"},
        "status": 418,
        "job_id": "job-1",
        "rule": "the rule",
        "headers": headers,
        "body": {"x": 1},
        "error": "err",
        "kind": "api",
        "fault": "flt",
        "scripted": "scr",
        "sent": 123,
        "complete": False,
        "key": "sk-or-the-key",
        "agent": "the agent/1",
        "what": "poll",
        "test_id": "",
        "seen": "queued",
        "retry_after": 7.5,
        "note": None,  # control requests' (tests/web/test_rules.py)
    }
    assert {name: getattr(entry, name) for name in expected} == expected
    assert 250 <= entry.latency_ms < 10_000  # started a quarter of a second before
    assert before - 10 < entry.wall <= before - 0.24  # when the request came, in real time
    assert {field.name for field in dataclasses.fields(Entry)} == {*expected, "latency_ms", "wall"}
    assert app.store.journal("") == [entry]


async def test_a_hang_that_runs_its_full_time_is_journalled_once(make_mock, monkeypatch):
    """A hung request is journalled once, when it ends (here the hang is over at once: a 504)."""
    from ormock.web import api

    monkeypatch.setattr(api, "HANG_SECONDS", 0.0)
    mock = make_mock(
        '[[rule]]\nname = "hanging poll"\nmatch = { prompt = "hang" }\n'
        'faults = [{ endpoint = "poll", nth = 1, hang = true }]\n[default]\n'
    )
    key = {"Authorization": "Bearer sk-or-test"}
    job = (await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "hang"}, headers=key)).json()
    hung = await mock.http.get(f"/api/v1/videos/{job['id']}", headers=key)
    assert hung.status_code == 504
    polls = [entry for entry in mock.store.journal("") if entry.what == "poll"]
    assert [(entry.status, entry.fault) for entry in polls] == [(504, "rule hanging poll: hang")]
