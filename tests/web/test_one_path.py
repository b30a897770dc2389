"""One path for every API request: the video API is plain functions over the store (`ormock.api`),
served without a web framework, so a poll is answered by the same code whether or not faults,
rate limits or anything else are in play; Quart comes in only with the first control request."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
from support import KEY, SEEDANCE

from ormock import ManualClock, create_app, parse_scenario

SCENARIO = """
[server]
output_ttl = "1h"

[default]
timeline = [
  { status = "pending", polls = 1 },
  { status = "in_progress", polls = 1 },
  { respond = 503, polls = 1, retry_after = 7, message = "busy" },
  { status = "completed", cost = 0.5 },
]

[[rule]]
name = "fails"
match = { prompt = "fail" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "Provider returned error" }]
"""
UNSTABLE = ("seq", "time", "latency_ms", "wall")


NEVER = """
[[fault]]
endpoint = "poll"
respond = 500
nth = 1000
"""


async def conversation(text: str) -> tuple[list[tuple[int, dict[str, str], bytes]], list[dict]]:
    app = create_app(parse_scenario(text), ManualClock(), seed=7)
    transport = httpx.ASGITransport(app=app)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as http:
        headers = {**KEY, "X-Test-Id": "t-1", "User-Agent": "same"}
        ids = []
        for prompt in ("a", "please fail"):
            ids.append(
                (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": prompt}, headers=headers)).json()[
                    "id"
                ]
            )
        for _ in range(5):
            for job_id in ids:
                for url in (f"/api/v1/videos/{job_id}", f"/api/v1/videos/{job_id}?testId=t-1&x=1"):
                    response = await http.get(url, headers=headers if "testId" not in url else KEY)
                    kept = {k: v for k, v in response.headers.items() if k in ("content-type", "retry-after")}
                    answers.append((response.status_code, kept, response.content))
        journal = (await http.get("/__ormock/requests", headers={"X-Test-Id": "t-1"})).json()["data"]
    return answers, [{k: v for k, v in entry.items() if k not in UNSTABLE} for entry in journal]


async def test_a_poll_is_answered_and_journalled_alike_whatever_else_the_scenario_holds():
    plain_answers, plain_journal = await conversation(SCENARIO)
    answers, journal = await conversation(SCENARIO + NEVER)  # a fault that counts every poll, never fires
    assert {status for status, _, _ in plain_answers} == {200, 503}  # job objects, signed URLs and an error step
    assert any(b'"urls"' in body for _, _, body in plain_answers)
    assert answers == plain_answers
    assert len(journal) == len(plain_journal) == 22
    assert journal == plain_journal


SERVES = textwrap.dedent(
    """
    import asyncio, sys
    import httpx
    from ormock import create_app, parse_scenario

    async def main():
        app = create_app(parse_scenario(""))
        key = {"Authorization": "Bearer sk-or-x"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
            job = (await http.post("/api/v1/videos", json={"model": "MODEL", "prompt": "p"}, headers=key)).json()
            statuses = [(await http.get(f"/api/v1/videos/{job['id']}", headers=key)).status_code,
                        (await http.get("/api/v1/videos/models")).status_code,
                        (await http.get(f"/api/v1/videos/{job['id']}/content", headers=key)).status_code,
                        (await http.get("/nothing")).status_code, (await http.delete("/api/v1/videos")).status_code]
            print(statuses, "quart" in sys.modules)
            print((await http.get("/__ormock/health")).status_code, "quart" in sys.modules)

    asyncio.run(main())
    """
).replace("MODEL", SEEDANCE)


def test_the_video_api_is_served_without_quart_which_comes_with_the_first_control_request():
    done = subprocess.run([sys.executable, "-c", SERVES], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[200, 200, 409, 404, 405] False", "200 True"]


async def test_a_post_body_is_read_even_without_a_length_header():
    """ASGI hands over the body whatever the headers say; a harness that drives the app directly
    may send no Content-Length. (A GET's body is read only when its headers announce one.)"""
    app = create_app(parse_scenario(""), ManualClock())
    given = [{"type": "http.request", "body": b'{"model": "%s", "prompt": "p"}' % SEEDANCE.encode()}]
    sent: list[dict] = []

    async def receive() -> dict:
        return given.pop() if given else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"host", b"ormock.test"), (b"authorization", KEY["Authorization"].encode())]
    scope = {"type": "http", "method": "POST", "path": "/api/v1/videos", "query_string": b"", "headers": headers}
    await app(scope, receive, send)
    assert sent[0]["status"] == 202
