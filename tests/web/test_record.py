"""`ormock record` against an upstream that is a second `ormock serve` (no machine here reaches the
service): for a client polling at a given cadence, replaying the recording gives the same statuses,
errors and content bytes as the upstream did; no key reaches the disk; an upstream that is down is
answered as the service would; a download cut short leaves a recording that says so. Both clocks
are manual and moved by the client, so nothing waits on the wall clock."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from server import UPSTREAM, recording, running
from support import SEEDANCE

from ormock import load_scenario

KEY = "sk-or-recording-secret-9f3a"
PROMPTS = ("complete me", "please fail", "cancel this", "let it expire", "revoked", "busy day")


def conversation(base: str, advance) -> list[tuple]:
    """What a client saw: every answer, in order, polling each job every 10 s (of the clock it moves)."""
    sdk = OpenRouter(api_key=KEY, server_url=base, retry_config=RetryConfig("none", None, False))
    videos = sdk.video_generation
    seen: list[tuple] = []
    for prompt in PROMPTS:
        try:
            job = videos.generate(model=SEEDANCE, prompt=prompt)
        except errors.TooManyRequestsResponseError as exc:
            seen.append((prompt, "submit", 429, exc.raw_response.headers.get("retry-after")))
            job = videos.generate(model=SEEDANCE, prompt=prompt)
        seen.append((prompt, "submit", job.status))
        for _ in range(8):
            advance(10)
            try:
                status = videos.get_generation(job_id=job.id)
            except errors.UnauthorizedResponseError as exc:
                seen.append((prompt, "poll", 401, str(exc)))
                continue
            seen.append((prompt, "poll", status.status, status.error, status.usage.cost if status.usage else None))
            if status.status in ("completed", "failed", "cancelled", "expired"):
                if status.status == "completed":
                    video = videos.get_video_content(job_id=job.id).read()
                    seen.append((prompt, "content", len(video), video[:64], video[-64:]))
                break
    return seen


def advancer(*roots: str):
    def advance(seconds: float) -> None:
        for root in roots:
            httpx.post(f"{root}/__ormock/clock/advance", json={"seconds": seconds}).raise_for_status()

    return advance


def test_a_recording_replays_what_the_upstream_did(tmp_path):
    out = tmp_path / "recorded"
    (tmp_path / "upstream.toml").write_text(UPSTREAM)
    with running(tmp_path / "upstream.toml", "--clock", "manual", "--no-dashboard") as upstream:
        upstream_root = upstream.base_url.removesuffix("/api/v1")
        with recording(upstream.base_url, out) as recorder:
            root = recorder["base"].removesuffix("/api/v1")
            httpx.get(recorder["base"] + "/videos/models", headers={"Authorization": f"Bearer {KEY}"})
            original = conversation(recorder["base"], advancer(upstream_root, root))
    assert recorder["code"] == 0 and "Traceback" not in recorder["stderr"], recorder["stderr"]
    [scenario] = out.glob("*.toml")
    assert f"ormock: wrote {scenario}" in recorder["stdout"]
    loaded = load_scenario(scenario)
    assert loaded.warnings == ()
    assert len(loaded.rules) == 7 and len(list(out.glob("*.mp4"))) == 3  # six jobs, one refusal; three completed
    text = scenario.read_text()
    assert text.startswith("# Recorded by `ormock record` on ") and "from http://127.0.0.1:" in text
    # no secret reaches the disk
    for path in out.iterdir():
        data = path.read_bytes()
        assert KEY.encode() not in data and b"Bearer" not in data and b"signature=" not in data, path

    with running(scenario, "--clock", "manual", "--no-dashboard") as replay:
        replayed = conversation(replay.base_url, advancer(replay.base_url.removesuffix("/api/v1")))
    assert replayed == original
    statuses = [step[2] for step in original if step[1] == "poll"]
    assert {"completed", "failed", "cancelled", "expired", 401} <= set(statuses)
    assert ("busy day", "submit", 429, "7") in original


def test_an_upstream_that_is_down_is_answered_as_the_service_would(tmp_path):
    with recording("http://127.0.0.1:9", tmp_path / "out") as recorder:
        answer = httpx.post(
            recorder["base"] + "/videos",
            json={"model": SEEDANCE, "prompt": "x"},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert answer.status_code == 502
    assert answer.json() == {"error": {"code": 502, "message": "the upstream could not be reached: ConnectError"}}
    assert recorder["code"] == 0 and "nothing was recorded" in recorder["stdout"]


def test_a_download_cut_short_is_recorded_as_incomplete(tmp_path):
    (tmp_path / "upstream.toml").write_text(
        '[default]\ntimeline = [{ status = "completed" }]\n[[fault]]\nendpoint = "download"\nslow = "256KB/s"\n'
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        running(tmp_path / "upstream.toml", "--no-dashboard") as upstream,
        recording(upstream.base_url, tmp_path / "out") as recorder,
    ):
        job = httpx.post(
            recorder["base"] + "/videos", json={"model": SEEDANCE, "prompt": "x", "duration": 10}, headers=headers
        ).json()
        httpx.get(f"{recorder['base']}/videos/{job['id']}", headers=headers)
        with httpx.stream("GET", f"{recorder['base']}/videos/{job['id']}/content", headers=headers) as response:
            next(response.iter_raw(4096))  # then the client goes away
    [scenario] = (tmp_path / "out").glob("*.toml")
    assert "# its content is incomplete: the download stopped after" in scenario.read_text()
    assert load_scenario(scenario).warnings == ()


@pytest.mark.parametrize("upstream", ["ftp://example.com", "openrouter.ai"])
def test_a_bad_upstream_is_refused_before_listening(upstream):
    done = subprocess.run(
        [sys.executable, "-m", "ormock", "record", "--upstream", upstream], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "must be an http(s) URL" in done.stderr


def test_redacted_prompts_stay_off_the_disk_and_still_replay(tmp_path):
    out = tmp_path / "recorded"
    (tmp_path / "upstream.toml").write_text(UPSTREAM)
    with running(tmp_path / "upstream.toml", "--clock", "manual", "--no-dashboard") as upstream:
        upstream_root = upstream.base_url.removesuffix("/api/v1")
        with recording(upstream.base_url, out, "--redact-prompts") as recorder:
            original = conversation(recorder["base"], advancer(upstream_root, recorder["base"].removesuffix("/api/v1")))
    [scenario] = out.glob("*.toml")
    text = scenario.read_text()
    assert "prompt_sha256" in text and not any(prompt in text for prompt in PROMPTS)
    with running(scenario, "--clock", "manual", "--no-dashboard") as replay:
        assert conversation(replay.base_url, advancer(replay.base_url.removesuffix("/api/v1"))) == original


async def test_the_dashboard_shows_the_jobs_being_recorded(tmp_path):
    from rich.console import Console

    from ormock.cli.dashboard import render, snapshot_recording
    from ormock.service.clock import ManualClock
    from ormock.web.record import Recorder

    (tmp_path / "upstream.toml").write_text(UPSTREAM)
    with running(tmp_path / "upstream.toml", "--no-dashboard") as upstream:
        recorder = Recorder(upstream.base_url, tmp_path / "out", ManualClock())
        transport = httpx.ASGITransport(app=recorder)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000", headers={"Authorization": f"Bearer {KEY}"}
        ) as http:
            job = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "revoked"})).json()
            for _ in range(4):
                await http.get(f"/api/v1/videos/{job['id']}")
        console = Console(record=True, width=100, height=30, force_terminal=True)
        console.print(render(snapshot_recording(recorder, "http://127.0.0.1:8000/api/v1", 0.0), 100, 30))
        text = console.export_text(styles=False)
        await recorder.client().aclose()
    assert f"recording {upstream.base_url}" in text
    row = next(line for line in text.splitlines() if line.startswith("…" + job["id"][-4:]))
    assert "revoked" in row and "▸401▸✓" in row
    assert "poll" in text and "401" in text


def test_an_upstream_answering_garbage_is_a_json_502_and_a_second_recording_never_overwrites(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Garbage(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"{not json")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with recording(f"http://127.0.0.1:{server.server_address[1]}/api/v1", tmp_path / "out") as recorder:
            answer = httpx.post(
                recorder["base"] + "/videos",
                json={"model": SEEDANCE, "prompt": "x"},
                headers={"Authorization": f"Bearer {KEY}"},
            )
    finally:
        server.shutdown()
    assert answer.status_code == 502
    assert answer.json()["error"] == {"code": 502, "message": "the upstream answered with broken JSON"}

    from ormock.service.clock import ManualClock
    from ormock.web.record import Recorded, Recorder

    recorder_object = Recorder("http://upstream.test/api/v1", tmp_path / "again", ManualClock())
    recorder_object.add(Recorded("j", {"model": SEEDANCE, "prompt": "x"}, 0.0))
    first, second = recorder_object.save()[0], recorder_object.save()[0]
    assert first != second and first.exists() and second.exists()


async def test_the_recorders_control_rows_have_the_guard_and_the_error_envelope(tmp_path):
    """The recorder's control endpoints are rows of the one control table: a web page's request
    (a foreign Origin, a rebinding Host) is refused, and bad JSON is a 400 in the envelope."""
    from ormock.service.clock import ManualClock
    from ormock.web.record import Recorder

    recorder = Recorder("http://upstream.test/api/v1", tmp_path / "out", ManualClock(1_000.0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder), base_url="http://127.0.0.1") as http:
        foreign = await http.post(
            "/__ormock/clock/advance", json={"seconds": 5}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert "cross-origin" in foreign.json()["error"]["message"]
        rebound = await http.get("/__ormock/health", headers={"Host": "evil.example"})
        assert rebound.status_code == 403
        broken = await http.post(
            "/__ormock/clock/advance", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400
        assert broken.json()["error"]["code"] == 400
        assert recorder.clock.time() == 1_000.0
        moved = await http.post("/__ormock/clock/advance", json={"seconds": 5})
        assert moved.status_code == 200
        assert moved.json() == {"time": 1_005.0}
        health = await http.get("/__ormock/health")
        assert health.json()["upstream"] == "http://upstream.test/api/v1"


@pytest.mark.parametrize("prompt", ["a lone \ud800 surrogate", "a DEL \x7f here", 'quotes " and \\ and\nnewlines\t'])
def test_a_prompt_toml_cannot_hold_as_it_is_still_makes_a_recording_that_replays(tmp_path, prompt):
    """A lone surrogate made every save fail (0-byte files, every paid job lost) and U+007F wrote a
    file that did not load: each is escaped now, and the rule matches the same prompt on replay."""
    from ormock.scenario.submit import Submission
    from ormock.service.clock import ManualClock
    from ormock.web.record import Recorded, Recorder

    recorder = Recorder("http://upstream.test/api/v1", tmp_path / "out", ManualClock())
    recorder.add(Recorded("j", {"model": SEEDANCE, "prompt": prompt}, 0.0))
    (written,) = recorder.save()
    assert written.suffix == ".toml"
    loaded = load_scenario(written)
    assert loaded.pick(Submission(model=SEEDANCE, prompt=prompt)).name.startswith("recorded 1: ")
    assert [path.name for path in (tmp_path / "out").iterdir()] == [written.name]  # nothing half-written


def test_a_recording_that_would_not_load_back_is_kept_as_json_never_lost(tmp_path, monkeypatch):
    from ormock.service.clock import ManualClock
    from ormock.web import record
    from ormock.web.record import Recorded, Recorder

    monkeypatch.setattr(record, "_loads_back", lambda text, path: "a problem no one foresaw")
    recorder = Recorder("http://upstream.test/api/v1", tmp_path / "out", ManualClock())
    recorder.add(Recorded("j", {"model": SEEDANCE, "prompt": "paid for"}, 0.0))
    (written,) = recorder.save()
    assert written.name.endswith("-raw.json")
    kept = json.loads(written.read_text())
    assert kept["submits"][0]["body"]["prompt"] == "paid for"
    assert "a problem no one foresaw" in kept["problem"]
    assert not list((tmp_path / "out").glob("*.toml"))


def test_out_naming_a_file_is_refused_before_anything_is_recorded(tmp_path):
    taken = tmp_path / "recordings"
    taken.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "ormock", "record", "--out", str(taken), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"ormock record: --out {taken}: is a file; name a folder for the recording" in done.stderr
    assert taken.read_text() == "not a folder"


async def test_an_upstream_answer_too_large_or_too_deep_is_a_json_502(tmp_path, monkeypatch):
    """The recorder read an upstream's answer whole (1 GB cost 5.4 GB): past 8 MB it is a 502 and
    the rest is never read; JSON nested too deeply is a 502 too, not an empty 500."""
    monkeypatch.undo()  # the recorder's own client reads this hostile upstream unchecked, as in `ormock record`
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ormock.service.clock import ManualClock
    from ormock.web.record import Recorder

    sent: list[int] = []

    class Hostile(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            total = 0
            try:
                while total < 64 * 1024 * 1024:
                    self.wfile.write(b" " * 65536)
                    total += 65536
            except OSError:
                pass
            sent.append(total)

        def do_GET(self) -> None:
            deep = b"[" * 3000 + b"]" * 3000
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(deep)))
            self.end_headers()
            self.wfile.write(deep)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}/api/v1", tmp_path / "out", ManualClock())
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder), base_url="http://127.0.0.1") as http:
            large = await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=headers)
            deep = await http.get("/api/v1/videos/some-job", headers=headers)
    finally:
        server.shutdown()
        await recorder._close()
    assert large.status_code == 502
    assert large.json()["error"]["message"] == "the upstream's answer was larger than 8 MB"
    assert deep.status_code == 502
    assert deep.json()["error"]["message"] == "the upstream answered with broken JSON"
    assert sent and sent[0] < 32 * 1024 * 1024
