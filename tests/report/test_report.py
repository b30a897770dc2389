"""The client report: a careless client that breaks each check once, and the careful client of the
README (the official SDK) that breaks none, driven through HTTP; exact verdicts and evidence."""

from __future__ import annotations

import re
import time
from xml.etree import ElementTree

import httpx
import pytest
from receiver import receiving
from support import SEEDANCE

from ormock import Simulator, parse_scenario
from ormock.cli.careless import CARELESS, SCENARIO
from ormock.cli.careless import careless as careless_client
from ormock.report import CHECKS, junit, markdown, summary


def careless(sim: Simulator, hook_url: str) -> dict[str, str]:
    return careless_client(sim.base_url, sim.advance, hook_url)


def careful(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python SDK snippet, its 10 s sleeps moving the manual clock."""
    from support import readme_block

    monkeypatch.setattr("time.sleep", sim.advance)
    code = readme_block("### ... the Python SDK", "python").replace("http://127.0.0.1:8000/api/v1", sim.base_url)
    exec(compile(code, "README", "exec"), {})
    monkeypatch.undo()


def verdicts(client: dict) -> dict[str, str]:
    return {check["check"]: check["verdict"] for check in client["checks"]}


def evidence(client: dict, check: str) -> list[dict]:
    return next(c for c in client["checks"] if c["check"] == check)["evidence"]


def test_a_careless_client_breaks_each_check_once_and_the_careful_sdk_client_none(monkeypatch):
    with receiving() as hooks, Simulator(parse_scenario(SCENARIO), clock="manual", seed=3) as sim:
        careful(sim, monkeypatch)
        jobs = careless(sim, hooks.url)
        hooks.wait_for(1)
        deadline = time.monotonic() + 10
        while not any(r["kind"] == "webhook" for r in sim.requests()) and time.monotonic() < deadline:
            time.sleep(0.01)  # bounds a failing test: the delivery is journalled once answered
        report = sim.report()
    by_key = {client["client"]["key"]: client for client in report["clients"]}
    assert set(by_key) == {"sk-or-…hing", "sk-or-…0001"}
    good, bad = by_key["sk-or-…hing"], by_key["sk-or-…0001"]
    assert good["client"]["user_agent"].startswith("speakeasy-sdk/python")
    assert good["verdict"] == "pass" and verdicts(good) == dict.fromkeys(CHECKS, "pass")
    assert bad["client"] == {"key": "sk-or-…0001", "test_id": "", "user_agent": "careless/1.0"}
    assert verdicts(bad) == {
        "poll interval": "fail",
        "polls after the end": "fail",
        "retry-after": "fail",
        "retried client errors": "fail",
        "5xx without backoff": "fail",
        "never downloaded": "warn",
        "downloaded too early": "fail",
        "keyless requests": "fail",
        "duplicate submits": "warn",
        "webhook receiver": "fail",
    }
    assert bad["verdict"] == "fail"
    each = {check: evidence(bad, check) for check in CHECKS}
    assert all(len(found) == 1 for found in each.values()), {k: len(v) for k, v in each.items()}
    assert each["poll interval"][0]["job"] == jobs["slow"]
    assert each["poll interval"][0]["summary"] == (
        "polled 3 times, 2 of them within 10 s of the last (scenario time; median gap 0.00 s, shortest 0.00 s)"
    )
    assert each["polls after the end"][0]["job"] == jobs["late"]
    assert each["polls after the end"][0]["summary"] == "polled 3 more time(s) after it reported completed"
    assert re.fullmatch(
        r"sent submit again 0\.\d{3} s after a 429 that said Retry-After 5 s \(scenario time\)",
        each["retry-after"][0]["summary"],
    )
    assert each["retried client errors"][0]["summary"] == (
        "sent POST /api/v1/videos again unchanged after a 400 (duration 99 is not supported by "
        "bytedance/seedance-2.0; supported: 4-15)"
    )
    assert each["5xx without backoff"][0]["summary"].startswith("retried POST /api/v1/videos 3 times after 500")
    assert len(each["5xx without backoff"][0]["requests"]) == 4
    assert each["never downloaded"][0] == {
        **each["never downloaded"][0],
        "job": jobs["kept"],
        "summary": "completed, but its content was never fetched whole",
    }
    assert each["downloaded too early"][0]["job"] == jobs["slow"]
    assert each["downloaded too early"][0]["summary"].startswith(
        f"asked for content while Video generation job {jobs['slow']} is in_progress"
    )
    assert each["keyless requests"][0]["job"] == jobs["late"]
    assert each["keyless requests"][0]["summary"] == "poll with no key, not the key that submitted it (sk-or-…0001)"
    assert each["duplicate submits"][0]["job"] == jobs["again"]
    assert (
        each["duplicate submits"][0]["summary"]
        == f"submitted the same body again while job {jobs['first']} had not ended"
    )
    assert each["webhook receiver"][0] == {
        **each["webhook receiver"][0],
        "job": jobs["forged"],
        "summary": "the receiver accepted (2xx) a delivery with a bad signature",
    }
    assert all(f["requests"] and len(f["requests"]) == len(f["times"]) for found in each.values() for f in found)

    # the renderings
    text = summary(report)
    assert "FAIL  sk-or-…0001, careless/1.0" in text and "PASS  sk-or-…hing" in text
    assert "FAIL poll interval (sk-or-…0001, careless/1.0): job " + jobs["slow"] in text
    assert "## FAIL: sk-or-…0001, careless/1.0" in markdown(report)
    suites = ElementTree.fromstring(junit(report))
    assert suites.tag == "testsuites" and suites.get("tests") == "20" and suites.get("failures") == "8"
    failing = [case.get("name") for case in suites.iter("testcase") if case.find("failure") is not None]
    assert sorted(failing) == sorted(check for check, v in verdicts(bad).items() if v == "fail")
    # read as CI tools read it (junitparser, which follows the common JUnit schema)
    import junitparser

    parsed = junitparser.JUnitXml.fromstring(junit(report))
    cases = [(suite.name, case.name, [type(r).__name__ for r in case.result]) for suite in parsed for case in suite]
    assert len(cases) == 20
    assert sum(1 for _, _, results in cases if results == ["Failure"]) == 8


def test_the_report_is_per_test_id_and_checks_can_be_silenced():
    text = SCENARIO.replace(
        "[webhooks]", '[report]\nsilence = ["poll interval"]\nmin_poll_interval = "5s"\n\n[webhooks]'
    )
    with Simulator(parse_scenario(text), clock="manual") as sim:
        for test_id in ("a", "b"):
            headers = {**CARELESS, "X-Test-Id": test_id}
            job = httpx.post(f"{sim.base_url}/videos", json={"model": SEEDANCE, "prompt": "slow"}, headers=headers)
            for _ in range(3):
                httpx.get(f"{sim.base_url}/videos/{job.json()['id']}", headers=headers)
        only_a = sim.report(test_id="a")
        assert [c["client"]["test_id"] for c in only_a["clients"]] == ["a"]
        assert verdicts(only_a["clients"][0])["poll interval"] == "pass"  # silenced
        assert len(sim.report()["clients"]) == 2


@pytest.mark.parametrize("suffix", [".xml", ".json", ".md"])
def test_serve_writes_the_report_when_it_stops(tmp_path, suffix):
    from server import running

    path = tmp_path / f"report{suffix}"
    with running(None, "--no-dashboard", "--clock", "manual", "--report", str(path)) as served:
        job = httpx.post(f"{served.base_url}/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=CARELESS)
        for _ in range(3):
            httpx.get(f"{served.base_url}/videos/{job.json()['id']}", headers=CARELESS)
    assert served.stdout[-2] == f"ormock: wrote the client report to {path}"
    text = path.read_text()
    if suffix == ".xml":
        assert ElementTree.fromstring(text).get("failures") == "1"
    elif suffix == ".json":
        import json

        assert json.loads(text)["clients"][0]["verdict"] == "fail"
    else:
        assert "| poll interval | fail | job `" in text


def test_a_report_file_of_an_unknown_kind_is_refused_before_serving(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ormock", "serve", "--report", str(tmp_path / "r.txt")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "give a .json, .xml or .md file" in done.stderr


async def test_a_hostile_test_id_and_job_id_reach_every_rendering_escaped(make_mock):
    """A test id with an OSC sequence and a NUL, and a job id a client made up: the summary, the
    Markdown and the JUnit report (which must stay valid XML) show them escaped, never raw."""
    from ormock.report import build

    mock = make_mock("[default]\n")
    evil = "run\x1b]0;pwned\x07\x00"
    headers = {"Authorization": "Bearer sk-or-evil-0001", "X-Test-Id": evil}
    job = (await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=headers)).json()
    for _ in range(3):  # polls far too fast: a finding that names the job and the test id
        await mock.http.get(f"/api/v1/videos/{job['id']}", headers=headers)
    for _ in range(2):  # a made-up job id, refused and sent again: a finding that names it
        await mock.http.get("/api/v1/videos/%1B%5B2Jgone", headers=headers)
    report = build(mock.store)
    for text in (summary(report), markdown(report), junit(report)):
        assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
        assert "\\x1b" in text
    ElementTree.fromstring(junit(report))  # still XML


async def test_the_report_over_http_gives_the_loop_back_between_namespaces(make_mock):
    """`GET /__ormock/report` is built on the server's loop: between two namespaces other clients
    are served (200,000 entries held every poll for 9.7 s), and the report is the same as built at once."""
    import asyncio

    from ormock.report import build
    from ormock.report.checks import build_yielding

    mock = make_mock("[default]\n")
    for test_id in ("a", "b", "c"):
        headers = {"Authorization": f"Bearer sk-or-{test_id}-000001", "X-Test-Id": test_id}
        job = (await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=headers)).json()
        for _ in range(3):
            await mock.http.get(f"/api/v1/videos/{job['id']}", headers=headers)
    turns = 0

    async def other_client() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(other_client())
    await asyncio.sleep(0)
    before = turns
    report = await build_yielding(mock.store)
    served_meanwhile = turns - before
    running.cancel()
    assert served_meanwhile >= 2
    assert report == build(mock.store)
    assert report == (await mock.http.get("/__ormock/report")).json()


async def test_a_request_journalled_after_a_later_one_is_judged_in_the_order_they_came(make_mock):
    """A hung poll is journalled when it ends, after the retry that followed it: the report judges
    the polls in the order they came (the careful demo client was graded 'poll interval' for it)."""
    from ormock.report import build

    mock = make_mock("[default]\n")
    job_id = await mock.job_id()
    for _ in range(2):
        await mock.http.post("/__ormock/clock/advance", json={"seconds": 30})
        await mock.poll(job_id)
    space = mock.store.find_space("")
    first_poll, second_poll = [entry for entry in space.journal if entry.what == "poll"]
    space.journal.remove(first_poll)
    space.journal.append(first_poll)  # written last, as a hang that ended after the retry is
    (client,) = build(mock.store)["clients"]
    assert {check["check"]: check["verdict"] for check in client["checks"]}["poll interval"] == "pass"
    assert second_poll.time - first_poll.time == 30
