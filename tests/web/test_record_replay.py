"""A recording replays the session it recorded: refused submits and downloads included, whatever
the timing of the replaying client within half a poll interval, test id by test id.

All in process: the upstream is an ormock app, the recorder reaches it through an httpx transport,
and one manual clock, moved by the client, drives both; the replay runs on a clock of its own."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Awaitable, Callable

import httpx
import pytest
from support import SEEDANCE

from ormock import ManualClock, create_app, load_scenario, parse_scenario
from ormock.web.record import Recorder

KEY = {"Authorization": "Bearer sk-or-recorded-secret-77"}
UPSTREAM = """
[[rule]]
name = "timed"
match = { prompt = "timed" }
timeline = [
  { status = "pending", for = "15s" },
  { status = "in_progress", for = "30s" },
  { status = "completed", cost = 0.5 },
]

[[rule]]
name = "fails"
match = { prompt = "fails" }
timeline = [{ status = "in_progress", for = "25s" }, { status = "failed", error = "boom" }]

[[rule]]
name = "cancelled"
match = { prompt = "cancelled" }
timeline = [{ status = "pending", for = "12s" }, { status = "cancelled" }]

[[rule]]
name = "revoked"
match = { prompt = "revoked" }
timeline = [
  { status = "in_progress", for = "15s" },
  { respond = 401, message = "User not found." },
  { status = "in_progress", for = "15s" },
  { status = "completed" },
]

[[rule]]
name = "download refused once"
match = { prompt = "download refused" }
timeline = [{ status = "completed" }]
download = { respond = 401, times = 1 }

[[rule]]
name = "gone"
match = { prompt = "gone" }
timeline = [{ status = "completed" }]
download = { respond = 410 }

[[rule]]
name = "busy"
match = { prompt = "busy" }
submit = { respond = 429, retry_after = 7, times = 2 }
timeline = [{ status = "completed" }]

[[rule]]
name = "blocked"
match = { prompt = "blocked" }
submit = { respond = 400, message = "Your prompt was flagged" }

[[rule]]
name = "no credits"
match = { prompt = "no credits" }
submit = { respond = 402 }

[[rule]]
name = "bad key"
match = { prompt = "bad key" }
submit = { respond = 401, message = "User not found." }
"""
SESSION = [
    ("timed", 1),
    ("fails", 1),
    ("cancelled", 1),
    ("revoked", 1),
    ("download refused", 1),
    ("gone", 1),
    ("busy", 3),  # refused twice, then a job
    ("blocked", 2),
    ("no credits", 1),
    ("bad key", 1),
    ("timed", 1),  # the same prompt again: a second job of its own
]
INTERVAL = 10.0
RECORDED_ORDER: list[str] = []  # the test ids of the last recording's submits, in the order they came


def moving(clock) -> Callable[[float], Awaitable[None]]:
    """How a lone client moves the manual clock: at once."""

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


def in_lockstep(clock, clients: int) -> list[Callable[[float], Awaitable[None]]]:
    """How `clients` clients running side by side move one clock: each waits for all, the first
    moves it, then all go on. Clients with the same schedule then each see the clock as if alone,
    while their requests interleave."""
    barrier = asyncio.Barrier(clients)

    def advancer(leader: bool) -> Callable[[float], Awaitable[None]]:
        async def advance(seconds: float) -> None:
            await barrier.wait()
            if leader:
                clock.advance(seconds)
            await barrier.wait()

        return advance

    return [advancer(n == 0) for n in range(clients)]


async def session(http: httpx.AsyncClient, advance, headers: dict[str, str], shifts: list[float], prefix: str = ""):
    """What a client saw, in order: each submit's answer, each poll's (every INTERVAL seconds after
    its submit, the nth moved by shifts[n]), and each download's, with a hash of the bytes."""
    seen: list[tuple] = []
    shift = iter(shifts * 100)
    for prompt, tries in SESSION:
        for _ in range(tries):
            body = {"model": SEEDANCE, "prompt": prefix + prompt}
            answer = await http.post("/api/v1/videos", json=body, headers=headers)
            seen.append((prompt, "submit", answer.status_code, answer.json().get("error", {}).get("message")))
            if answer.status_code == 429:
                seen.append((prompt, "retry-after", answer.headers.get("retry-after")))
            if answer.status_code != 202:
                continue
            job = answer.json()["id"]
            elapsed = 0.0
            for n in range(1, 12):
                due = n * INTERVAL + next(shift)
                await advance(due - elapsed)
                elapsed = due
                polled = await http.get(f"/api/v1/videos/{job}", headers=headers)
                body = polled.json()
                if polled.status_code != 200:
                    seen.append((prompt, "poll", polled.status_code, body["error"]["message"]))
                    continue
                seen.append((prompt, "poll", body["status"], body.get("error"), (body.get("usage") or {}).get("cost")))
                if body["status"] in ("completed", "failed", "cancelled", "expired"):
                    break
            if body.get("status") == "completed":
                for _ in range(2):
                    got = await http.get(f"/api/v1/videos/{job}/content", headers=headers)
                    digest = hashlib.sha256(got.content).hexdigest()[:12] if got.status_code == 200 else None
                    seen.append((prompt, "download", got.status_code, digest))
    return seen


async def record(tmp_path, runs: list[tuple[dict[str, str], str]]):
    """The sessions of `runs` (headers, prompt prefix) through a recorder, all at once, their
    requests interleaved (in lockstep on the one clock); returns what each saw and the files written."""
    clock = ManualClock(1_000_000.0)
    upstream = create_app(parse_scenario(UPSTREAM), clock, seed=1)
    recorder = Recorder(
        "http://upstream.test/api/v1", tmp_path / "recorded", clock, transport=httpx.ASGITransport(app=upstream)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder), base_url="http://recorder.test") as http:
        sessions = [
            session(http, advance, {**KEY, **headers}, [0.0], prefix)
            for (headers, prefix), advance in zip(runs, in_lockstep(clock, len(runs)), strict=True)
        ]
        seen = list(await asyncio.gather(*sessions))
    RECORDED_ORDER[:] = [item.test_id for item in recorder.submits]
    return seen, recorder.save()


async def replay(scenario, headers: dict[str, str], shifts: list[float], prefix: str = "") -> list[tuple]:
    clock = ManualClock(2_000_000.0)
    app = create_app(load_scenario(scenario) if not isinstance(scenario, str) else parse_scenario(scenario), clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replay.test") as http:
        return await session(http, moving(clock), {**KEY, **headers}, shifts, prefix)


@pytest.mark.parametrize(
    "shifts",
    [[0.0], [-4.9], [4.9], [-4.0, 3.0, -2.0, 4.5, 0.0, -4.5]],
    ids=["on time", "every poll 4.9 s early", "every poll 4.9 s late", "jittered"],
)
async def test_a_replay_gives_the_recorded_session_within_half_a_poll_interval(tmp_path, shifts):
    [original], written = await record(tmp_path, [({}, "")])
    [scenario] = [path for path in written if path.suffix == ".toml"]
    assert load_scenario(scenario).warnings == ()
    assert await replay(scenario, {}, shifts) == original

    kinds = {(step[1], step[2]) for step in original}
    assert {("poll", "completed"), ("poll", "failed"), ("poll", "cancelled"), ("poll", 401)} <= kinds
    assert {("submit", 429), ("submit", 400), ("submit", 402), ("submit", 401)} <= kinds
    assert {("download", 401), ("download", 410), ("download", 200)} <= kinds
    # a job first seen in_progress shows no pending on replay, however early the first poll
    assert next(s[2] for s in original if s[0] == "fails" and s[1] == "poll") == "in_progress"


async def test_no_secret_reaches_the_disk(tmp_path):
    _, written = await record(tmp_path, [({}, "")])
    for path in written:
        data = path.read_bytes()
        assert b"sk-or-recorded-secret-77" not in data and b"Bearer" not in data and b"signature=" not in data


async def test_each_test_id_is_written_to_a_scenario_of_its_own_that_replays_it(tmp_path):
    runs = [({"X-Test-Id": "tests/a.py::test one"}, "a "), ({"X-Test-Id": "b"}, "b ")]
    originals, written = await record(tmp_path, runs)
    # recorded side by side: their submits came interleaved, not one suite after the other
    assert set(RECORDED_ORDER[:2]) == {"tests/a.py::test one", "b"}
    assert sum(first != then for first, then in itertools.pairwise(RECORDED_ORDER)) >= 4
    scenarios = [path for path in written if path.suffix == ".toml"]
    assert len(scenarios) == 2
    # named after the test id: as it is when it is safe, else made safe and told apart by a hash
    by_name = {
        "a": next(path for path in scenarios if "-tests-a.py-test-one-" in path.name),
        "b": next(path for path in scenarios if path.name.endswith("-b.toml")),
    }
    for (_, prefix), original, name in zip(runs, originals, ("a", "b"), strict=True):
        assert await replay(by_name[name], {}, [0.0], prefix) == original
        assert prefix + "timed" in by_name[name].read_text()
        assert ("b " if name == "a" else "a ") + "timed" not in by_name[name].read_text()

    # both on one server, each test id with its own recording as its scenario (their content files
    # are read from the server scenario's folder: serve one from the recordings' folder)
    clock = ManualClock(3_000_000.0)
    app = create_app(load_scenario(by_name["a"]), clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        for (headers, prefix), original, name in zip(runs, originals, ("a", "b"), strict=True):
            text = by_name[name].read_text()
            put = await http.put("/__ormock/scenario", content=text, headers=headers)
            assert put.status_code == 200, put.text
            assert await session(http, moving(clock), {**KEY, **headers}, [0.0], prefix) == original
