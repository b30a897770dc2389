"""One poll path: whichever requests the raw-ASGI hot path takes, the answer and the journal entry
are byte for byte what the Quart route gives (but for the journal's sequence, time and latency)."""

from __future__ import annotations

import httpx
from conftest import KEY, SEEDANCE

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


async def conversation(fast: bool) -> tuple[list[tuple[int, dict[str, str], bytes]], list[dict]]:
    app = create_app(parse_scenario(SCENARIO), ManualClock(), seed=7, fast_polls=fast)
    transport = httpx.ASGITransport(app=app)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as http:
        headers = {**KEY, "X-Test-Id": "t-1", "User-Agent": "same"}
        ids = []
        for prompt in ("a", "please fail"):
            ids.append((await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": prompt},
                                        headers=headers)).json()["id"])  # fmt: skip
        for _ in range(5):
            for job_id in ids:
                for url in (f"/api/v1/videos/{job_id}", f"/api/v1/videos/{job_id}?testId=t-1&x=1"):
                    response = await http.get(url, headers=headers if "testId" not in url else KEY)
                    kept = {k: v for k, v in response.headers.items() if k in ("content-type", "retry-after")}
                    answers.append((response.status_code, kept, response.content))
        journal = (await http.get("/__ormock/requests", headers={"X-Test-Id": "t-1"})).json()["data"]
    return answers, [{k: v for k, v in entry.items() if k not in UNSTABLE} for entry in journal]


async def test_the_hot_path_and_the_quart_route_answer_and_journal_alike(monkeypatch):
    import ormock.fastpoll as fastpoll

    taken = []
    real = fastpoll.polled
    monkeypatch.setattr(fastpoll, "polled", lambda *args: taken.append(1) or real(*args))
    fast_answers, fast_journal = await conversation(fast=True)
    assert len(taken) == 20  # every poll went through the hot path
    taken.clear()
    slow_answers, slow_journal = await conversation(fast=False)
    assert taken == []
    assert {status for status, _, _ in fast_answers} == {200, 503}  # job objects, signed URLs and an error step
    assert any(b'"urls"' in body for _, _, body in fast_answers)
    assert fast_answers == slow_answers
    assert len(fast_journal) == len(slow_journal) == 22
    assert fast_journal == slow_journal
