"""The control API answers bad input with a 4xx that says what was wrong, keeps the clock within
what can be shown, pages its job list, and cannot be driven by a web page the user visits
(cross-origin requests and DNS-rebound host names are refused unless --control-allow says so)."""

from __future__ import annotations

import math

import httpx
import pytest
from support import KEY

from ormock import ManualClock, create_app, parse_scenario


async def control(mock, method: str, path: str, **kwargs) -> httpx.Response:
    return await mock.http.request(method, f"/__ormock{path}", **kwargs)


@pytest.mark.parametrize("seconds", [1e308, 1e12, 1e17])
async def test_an_advance_past_what_can_be_shown_is_refused_and_nothing_breaks(mock, seconds):
    before = (await control(mock, "GET", "/health")).json()["clock"]["time"]
    refused = await control(mock, "POST", "/clock/advance", json={"seconds": seconds})
    assert refused.status_code == 400
    assert "past 9999-12-31" in refused.json()["error"]["message"]
    health = await control(mock, "GET", "/health")
    assert math.isfinite(health.json()["clock"]["time"]) and health.json()["clock"]["time"] == before
    assert (await mock.submit()).status_code == 202
    assert (await control(mock, "POST", "/clock/advance", json={"seconds": 1e9})).status_code == 200


async def test_since_with_thousands_of_digits_is_a_400(mock):
    response = await control(mock, "GET", "/requests", params={"since": "9" * 5000})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("since must be a journal sequence number, not '999")


async def test_the_job_list_comes_a_page_at_a_time(mock):
    ids = [await mock.job_id() for _ in range(5)]
    first = (await control(mock, "GET", "/jobs", params={"limit": 2})).json()
    assert [job["id"] for job in first["data"]] == ids[:2] and first["next_offset"] == 2
    last = (await control(mock, "GET", "/jobs", params={"limit": 2, "offset": 4})).json()
    assert [job["id"] for job in last["data"]] == ids[4:] and last["next_offset"] is None
    for bad in ({"limit": 0}, {"limit": 5000}, {"offset": "-1"}, {"limit": "x"}):
        assert (await control(mock, "GET", "/jobs", params=bad)).status_code == 400


def served(allow: tuple[str, ...] = ()) -> httpx.AsyncClient:
    app = create_app(parse_scenario(""), ManualClock(), control_allow=allow)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")


async def test_a_cross_origin_page_cannot_drive_the_control_api():
    async with served() as http:
        job = (
            await http.post("/api/v1/videos", json={"model": "bytedance/seedance-2.0", "prompt": "x"}, headers=KEY)
        ).json()
        # what a page on another site can send without a preflight: a text/plain POST
        forced = await http.post(
            f"/__ormock/jobs/{job['id']}/status",
            content='{"status": "failed"}',
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        )
        assert forced.status_code == 403
        assert forced.json()["error"]["message"].startswith("cross-origin requests to the control API are refused")
        reset = await http.post("/__ormock/reset", headers={"Origin": "https://evil.example"})
        assert reset.status_code == 403
        assert (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"] == "pending"
        # the server's own origin, and no Origin at all (curl, SDKs, test code) are fine
        assert (await http.get("/__ormock/health", headers={"Origin": "http://127.0.0.1:8000"})).status_code == 200
        assert (await http.get("/__ormock/health")).status_code == 200


async def test_a_rebound_host_name_is_refused_but_localhost_and_addresses_are_not():
    async with served() as http:
        rebound = await http.get("/__ormock/jobs", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 403
        assert "not Host attacker.example:8000" in rebound.json()["error"]["message"]
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "10.1.2.3", "app.localhost:8000"):
            assert (await http.get("/__ormock/health", headers={"Host": host})).status_code == 200, host


async def test_control_allow_opts_in_a_host_or_an_origin():
    async with served(("ormock", "http://localhost:3000")) as http:
        assert (await http.get("/__ormock/health", headers={"Host": "ormock:8000"})).status_code == 200
        page = {"Origin": "http://localhost:3000"}
        assert (await http.get("/__ormock/health", headers=page)).status_code == 200
        assert (await http.get("/__ormock/health", headers={"Origin": "http://other:1"})).status_code == 403
    async with served(("*",)) as http:
        headers = {"Host": "anything.example", "Origin": "https://anywhere.example"}
        assert (await http.get("/__ormock/health", headers=headers)).status_code == 200
