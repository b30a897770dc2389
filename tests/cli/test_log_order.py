"""The plain log reads in the order things happened: a status change comes before the requests
that saw it, stamped with when it happened in the client's time."""

from __future__ import annotations

import time

import httpx
import pytest
from support import KEY, SEEDANCE

from ormock import ManualClock, ScaledClock, create_app, parse_scenario
from ormock.cli.log import Lines, _stamp, follow_statuses


class Hand:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Written(list[str]):
    """The lines of a batched log (`Lines(write=...)`, what `ormock serve` uses), as flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.log: Lines | None = None

    def write(self, text: str) -> None:
        assert text.endswith("\n")
        self.extend(text[:-1].split("\n"))

    def flushed(self) -> Written:
        assert self.log is not None
        self.log.flush()
        return self


def serve(text: str, clock, batched: bool = False):
    app = create_app(parse_scenario(text), clock, seed=1)
    lines = Written()
    log = lines.log = Lines(write=lines.write) if batched else Lines(emit=lines.append)
    app.listeners.append(log.request)
    follow_statuses(app.store, log)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ormock.test")
    http.store = app.store  # type: ignore[attr-defined]
    return http, lines


@pytest.mark.parametrize("batched", [False, True], ids=["at once", "batched"])
async def test_a_status_change_comes_before_the_poll_that_saw_it(batched):
    http, lines = serve(
        '[default]\ntimeline = [{ status = "in_progress", polls = 1 }, { status = "completed" }]\n',
        ManualClock(),
        batched,
    )
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    first = (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"]
    second = (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"]
    assert (first, second) == ("in_progress", "completed")
    lines.flushed()
    events = [line.split("  ", 1)[1] for line in lines]
    assert [e.split(" ")[0] if e.startswith(("POST", "GET")) else e.rsplit("  ", 1)[-1] for e in events] == [
        "submitted -> in_progress",
        "POST",
        "GET",
        "in_progress -> completed",
        "GET",
        # the first poll used up the in_progress step: the change follows its line, precedes the next
    ]


async def test_a_timed_change_is_stamped_when_it_happened_not_when_it_was_noticed():
    hand = Hand()
    http, lines = serve(
        '[default]\ntimeline = [{ status = "pending", for = "100s" }, { status = "completed" }]\n',
        ScaledClock(100, monotonic=hand),
    )
    job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)).json()
    hand.now += 1.0  # the 100 s step ends after 1 real second ...
    assert (await http.get(f"/api/v1/videos/{job['id']}", headers=KEY)).json()["status"] == "completed"
    status_line = next(line for line in lines if "pending -> completed" in line)
    poll_line = next(line for line in lines if line.split("  ")[1].startswith("GET"))
    assert lines.index(status_line) < lines.index(poll_line)
    # ... and the real clock has barely moved, so the change is stamped no later than now.
    stamp = status_line.split("  ")[0]
    assert stamp <= time.strftime("%H:%M:%S", time.localtime(time.time())) + ".999"


async def test_a_batched_request_line_is_formatted_at_the_flush_but_stamped_when_the_request_came():
    http, lines = serve("", ManualClock(), batched=True)
    await http.get("/api/v1/videos/gen-vid-1-none", headers=KEY)
    assert lines == []  # nothing is formatted or written on the request's path
    entry = http.store.journal(None)[-1]  # type: ignore[attr-defined]
    why = "Video generation job gen-vid-1-none not found"  # a refused request's line says why
    line = f"{_stamp(entry.wall)}  GET /api/v1/videos/gen-vid-1-none 404: {why}  {entry.latency_ms:.1f} ms"
    assert lines.flushed() == [line]


async def test_a_batched_log_holds_at_most_max_pending_events(monkeypatch):
    monkeypatch.setattr(Lines, "MAX_PENDING", 5)
    http, lines = serve("", ManualClock(), batched=True)
    for n in range(12):
        await http.get(f"/api/v1/videos/gen-vid-1-{n}", headers=KEY)
    assert len(lines) == 10  # written in two batches of 5 without a flush; 2 still wait
    assert len(lines.flushed()) == 12
    assert [line.split()[2] for line in lines] == [f"/api/v1/videos/gen-vid-1-{n}" for n in range(12)]


async def test_a_batched_log_can_be_written_a_slice_at_a_time():
    """`watch_statuses` writes a busy tenth of a second in slices, answering requests in between."""
    http, lines = serve("", ManualClock(), batched=True)
    for n in range(5):
        await http.get(f"/api/v1/videos/gen-vid-1-{n}", headers=KEY)
    assert lines.log is not None
    assert lines.log.flush(2) is True and len(lines) == 2
    assert lines.log.flush(2) is True and len(lines) == 4
    assert lines.log.flush(2) is False and len(lines) == 5
    assert lines.log.flush(2) is False and len(lines) == 5
    assert [line.split()[2] for line in lines] == [f"/api/v1/videos/gen-vid-1-{n}" for n in range(5)]


async def test_the_log_says_which_rules_a_test_id_added_or_removed(make_mock):
    from ormock.cli.log import Lines

    mock = make_mock()
    lines: list[str] = []
    printer = Lines(emit=lines.append)
    mock.app.listeners.append(printer.request)
    rule = '[[rule]]\nname = "content policy"\ntimeline = [{ status = "failed" }]\n'
    await mock.http.post(
        "/__ormock/rules", content=rule, headers={"X-Test-Id": "w1", "Content-Type": "application/toml"}
    )
    await mock.http.delete("/__ormock/rules/content%20policy")
    await mock.http.put("/__ormock/scenario", content="", headers={"X-Test-Id": "w2"})
    assert "POST /__ormock/rules 201 (added rule content policy for test id 'w1')" in lines[0]
    assert "DELETE /__ormock/rules/content policy 404" in lines[1]  # none was added without a test id
    assert "PUT /__ormock/scenario 200 (set its own scenario (0 rules) for test id 'w2')" in lines[2]
    json_lines = Lines(json_lines=True)
    entry = mock.store.journal("w1")[0]
    assert '"note": "added rule content policy", "test_id": "w1"' in json_lines.line(entry)
