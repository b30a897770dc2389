"""Test ids: each test gets its own jobs, journal and rule counts on a shared server."""

from __future__ import annotations

import textwrap

import httpx
from support import KEY, SCENARIOS, SEEDANCE

from ormock import Simulator


def as_test(name: str) -> dict[str, str]:
    return {**KEY, "X-Test-Id": name}


async def test_a_job_of_one_test_is_404_under_another(mock):
    response = await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=as_test("a"))
    job_id = response.json()["id"]
    assert (await mock.http.get(f"/api/v1/videos/{job_id}", headers=as_test("a"))).status_code == 200
    assert (await mock.http.get(f"/api/v1/videos/{job_id}", headers=as_test("b"))).status_code == 404
    assert (await mock.http.get(f"/api/v1/videos/{job_id}", headers=KEY)).status_code == 404


async def test_handed_out_urls_carry_the_test_id_so_followers_stay_in_their_namespace(mock):
    response = await mock.http.post("/api/v1/videos?testId=t%201", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
    body = response.json()
    assert body["polling_url"] == f"http://ormock.test/api/v1/videos/{body['id']}?testId=t%201"
    mock.clock.advance(60)
    polled = await mock.http.get(body["polling_url"], headers=KEY)  # no header: the URL says it
    assert polled.json()["status"] == "completed"
    url = polled.json()["unsigned_urls"][0]
    assert url.endswith("/content?index=0&testId=t%201")
    assert (await mock.http.get(url, headers=KEY)).status_code == 200


async def test_rule_counts_journal_and_reset_are_per_test(make_mock):
    mock = make_mock('[[rule]]\nname = "flaky"\nsubmit = { respond = 500, times = 1 }\n')
    body = {"model": SEEDANCE, "prompt": "x"}
    for name in ("a", "b"):  # each test id sees the first-time failure once
        first = await mock.http.post("/api/v1/videos", json=body, headers=as_test(name))
        second = await mock.http.post("/api/v1/videos", json=body, headers=as_test(name))
        assert (first.status_code, second.status_code) == (500, 202)
    journal_a = (await mock.http.get("/__ormock/requests", headers={"X-Test-Id": "a"})).json()["data"]
    assert len(journal_a) == 2
    jobs_b = (await mock.http.get("/__ormock/jobs?testId=b")).json()["data"]
    assert [job["test_id"] for job in jobs_b] == ["b"]
    assert len((await mock.http.get("/__ormock/jobs")).json()["data"]) == 2

    await mock.http.post("/__ormock/reset", headers={"X-Test-Id": "a"})
    assert (await mock.http.get("/__ormock/jobs?testId=a")).json()["data"] == []
    assert len((await mock.http.get("/__ormock/jobs?testId=b")).json()["data"]) == 1
    assert (await mock.http.post("/api/v1/videos", json=body, headers=as_test("a"))).status_code == 500


def test_parallel_tests_share_one_server_and_never_see_each_other(pytester):
    """Two pytest-xdist workers run eight tests against one server, each under its own test id."""
    with Simulator(SCENARIOS / "ci-fast.toml") as sim:
        pytester.makepyfile(
            textwrap.dedent(
                f"""
                import httpx, pytest

                BASE = "{sim.base_url}"
                ROOT = "{sim.url}"

                @pytest.mark.parametrize("n", range(8))
                def test_own_namespace(n):
                    me = {{"Authorization": "Bearer k", "X-Test-Id": f"test-{{n}}"}}
                    other = {{"Authorization": "Bearer k", "X-Test-Id": f"someone-else-{{n}}"}}
                    with httpx.Client(base_url=BASE) as http:
                        ids = [http.post("/videos", json={{"model": "google/veo-3.1", "prompt": f"p{{n}}"}},
                                         headers=me).json()["id"] for _ in range(3)]
                        for job_id in ids:
                            assert http.get(f"/videos/{{job_id}}", headers=me).json()["status"] == "in_progress"
                            assert http.get(f"/videos/{{job_id}}", headers=other).status_code == 404
                        mine = httpx.get(ROOT + "/__ormock/jobs", headers=me).json()["data"]
                        assert sorted(j["id"] for j in mine) == sorted(ids)
                        assert {{j["request"]["prompt"] for j in mine}} == {{f"p{{n}}"}}
                        journal = httpx.get(ROOT + "/__ormock/requests", headers=me).json()["data"]
                        assert len(journal) == 6
                """
            )
        )
        result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=8)
        result.stdout.fnmatch_lines(["*2 workers*"])  # really two processes
        assert len(httpx.get(sim.url + "/__ormock/jobs").json()["data"]) == 24
