"""`ormock record`: stand between a client and the real service, pass everything through, and
write what happened as a scenario that `ormock serve` replays.

The recorder serves the four endpoints. Each request goes to the upstream with the client's own
key; the upstream's answer comes back unchanged (status, body, the headers a client reads, content
streamed through), except that `polling_url`, `unsigned_urls` and `urls` point back at the
recorder, so a client that follows them stays recorded. Per job it keeps the submit body, each
poll's time and answer, the content (up to `max_content` bytes) and any error on the way.

`save()` writes, into the output folder, `recording-<time>.toml` (never over an existing file):
one rule per job, matching its model and exact prompt, whose timeline holds each status for as long
as it was observed, answers the errors seen on the way as `respond` steps, and ends as the job did
(its `error` text or `cost`, its content in a file beside it); the model listing the client fetched
becomes the scenario's catalogue. No key, `Authorization` header or signed URL reaches the disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import safe
from .._asgi import ASGIApp, lifespan
from ..scenario.catalogue import VideoModel
from ..service import wire
from ..service.clock import Clock
from ..service.journal import Entry
from . import routes
from .calls import Call
from .limits import send_json as _json
from .recorded import Recorded, Refused, Seen, catalogue, kept_submit_error, scenario_rules

MAX_CONTENT = 32 * 1024 * 1024
MAX_ANSWER = 8 * 1024 * 1024  # bytes of an upstream answer that is not a video (JSON: a job, the models)
MAX_SUBMITS = 10_000  # submits recorded (jobs and refusals); later ones pass through unrecorded
MAX_ANSWERS = 10_000  # polls and download attempts recorded per job
PASSED_HEADERS = ("authorization", "content-type", "accept", "user-agent", "x-test-id")
RETURNED_HEADERS = ("content-type", "retry-after", "retry-after-ms", "content-length")


class Recorder:
    """The recording proxy: an ASGI app, and what it has recorded."""

    def __init__(
        self,
        upstream: str,
        out: Path,
        clock: Clock,
        max_content: int = MAX_CONTENT,
        redact_prompts: bool = False,
        transport: Any = None,
    ) -> None:
        self.redact_prompts = redact_prompts
        self.transport = transport  # how to reach the upstream (an httpx transport); None: the network
        self.upstream = upstream.rstrip("/")
        self.out = out
        self.clock = clock
        self.max_content = max_content
        self.jobs: dict[str, Recorded] = {}
        self.submits: list[Recorded | Refused] = []  # every submit recorded, jobs and refusals, in order
        self.unrecorded = 0  # submits past MAX_SUBMITS, passed through but not recorded
        self.listing: list[dict[str, Any]] | None = None
        self.seen: deque[Entry] = deque(maxlen=64)  # the latest requests, for the dashboard
        self.started = datetime.now(UTC)
        self._client: Any = None
        self._control: ASGIApp | None = None

    def control(self) -> ASGIApp:
        """The recorder's rows of the control API, behind the same guard as the service's, built
        (and Quart imported) on the first control request."""
        if self._control is None:
            from .control import control_app

            self._control = control_app(RecorderControl(self), None, ())
        return self._control

    # --- the proxy --------------------------------------------------------------------------------
    def client(self) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), transport=self.transport)
        return self._client

    async def _close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, on_shutdown=self._close)
            return
        if scope["type"] != "http":
            return
        if scope["path"].startswith(routes.CONTROL_PREFIX):
            await self.control()(scope, receive, send)
            return
        call = Call(scope)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_CONTENT:
                await _json(send, 413, wire.error(413))
                return
            if not message.get("more_body", False):
                break
        if not call.path.startswith("/api/v1/"):
            await _json(send, 404, wire.error(404))
            return
        await self._forward(call, body, send)

    async def _forward(self, call: Call, body: bytes, send: Any) -> None:
        action = routes.action(call.method, call.path)
        url = self.upstream + call.path[len("/api/v1") :]
        headers = {name: value for name, value in call.headers if name in PASSED_HEADERS}
        at = self.clock.time()
        try:
            request = self.client().build_request(call.method, url, params=call.query, headers=headers, content=body)
            response = await self.client().send(request, stream=True)
        except Exception as exc:  # the upstream is down, or answered nonsense: as the service would say it
            await _json(send, 502, wire.error(502, f"the upstream could not be reached: {type(exc).__name__}"))
            return
        try:
            if action == "download" and response.status_code == 200:
                await self._stream(call, response, send)
                return
            raw = await _read_at_most(response, MAX_ANSWER)
            if raw is None:
                message = f"the upstream's answer was larger than {MAX_ANSWER // 1024 // 1024} MB"
                await _json(send, 502, wire.error(502, message))
                return
            answer = raw
            parsed: Any = None
            if response.headers.get("content-type", "").startswith("application/json"):
                try:
                    parsed = json.loads(raw)
                except (ValueError, RecursionError):
                    await _json(send, 502, wire.error(502, "the upstream answered with broken JSON"))
                    return
                answer = wire.dumps(self._local(parsed, call.base))
            self._note(action, call, body, response.status_code, parsed, response.headers, at)
            self._saw(call, action, response.status_code, parsed, at)
            out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k in RETURNED_HEADERS[:-1]]
            out.append((b"content-length", str(len(answer)).encode()))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            await send({"type": "http.response.body", "body": answer})
        finally:
            await response.aclose()

    async def _stream(self, call: Call, response: Any, send: Any) -> None:
        job_id = routes.job_id_in(call.path) or ""
        recorded = self.jobs.get(job_id)
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k in RETURNED_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        if recorded is not None:
            if len(recorded.downloads) < MAX_ANSWERS:
                recorded.downloads.append(Seen(self.clock.time(), 200))
            recorded.content = bytearray()
            length = response.headers.get("content-length")
            recorded.content_total = safe.whole_number(length) if length else None
        sent = 0
        try:
            async for chunk in response.aiter_raw():
                if recorded is not None and len(recorded.content) < self.max_content:
                    recorded.content += chunk[: self.max_content - len(recorded.content)]
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
            await send({"type": "http.response.body", "body": b""})
            if recorded is not None:
                recorded.content_complete = len(recorded.content) == sent and (
                    recorded.content_total is None or sent == recorded.content_total
                )
                if len(recorded.content) < sent:
                    recorded.content_problem = (
                        f"kept the first {self.max_content} of {sent} bytes (--max-content-bytes)"
                    )
        except BaseException:
            if recorded is not None:
                recorded.content_complete = False
                recorded.content_problem = (
                    f"the download stopped after {sent} bytes (the client or the upstream went away)"
                )
            raise

    def _saw(self, call: Call, action: str, status: int, parsed: Any, at: float) -> None:
        """A line for the dashboard's requests pane (nothing the recording keeps)."""
        seen = parsed.get("status") if isinstance(parsed, dict) and isinstance(parsed.get("status"), str) else None
        envelope = parsed.get("error") if isinstance(parsed, dict) else None
        self.seen.append(
            Entry(
                seq=len(self.seen),
                time=at,
                method=call.method,
                path=call.path,
                query={},
                status=status,
                job_id=routes.job_id_in(call.path) or (parsed.get("id") if isinstance(parsed, dict) else None),
                rule=None,
                latency_ms=0.0,
                headers=[],
                body=None,
                wall=time.time(),
                what=action,
                seen=seen,
                error=envelope.get("message") if isinstance(envelope, dict) else None,
            )
        )

    def _local(self, value: Any, base: str) -> Any:
        """The upstream's URLs in an answer, pointed back at the recorder."""
        if isinstance(value, dict):
            return {k: self._local(v, base) for k, v in value.items()}
        if isinstance(value, list):
            return [self._local(v, base) for v in value]
        if isinstance(value, str) and value.startswith(self.upstream + "/"):
            return base + value[len(self.upstream) :]
        return value

    def _note(self, action: str, call: Call, body: bytes, status: int, parsed: Any, headers: Any, at: float) -> None:
        retry = headers.get("retry-after")
        retry_after = int(float(retry)) if retry and re.fullmatch(r"\d+(\.\d+)?", retry) else None
        envelope = parsed.get("error") if isinstance(parsed, dict) else None
        message = envelope.get("message") if isinstance(envelope, dict) else None
        if action == "submit":
            self._note_submit(call, body, status, parsed, Seen(at, status, message=message, retry_after=retry_after))
            return
        recorded = self.jobs.get(routes.job_id_in(call.path) or "")
        if recorded is None:
            return
        if action == "poll" and len(recorded.polls) < MAX_ANSWERS:
            if status == 200 and isinstance(parsed, dict):
                usage = parsed.get("usage")
                cost = _number(usage.get("cost")) if isinstance(usage, dict) else None
                recorded.polls.append(
                    Seen(at, 200, _text(parsed.get("status")), cost=cost, error=_text(parsed.get("error")))
                )
            else:
                recorded.polls.append(Seen(at, status, message=message, retry_after=retry_after))
        elif action == "download" and len(recorded.downloads) < MAX_ANSWERS:
            recorded.downloads.append(Seen(at, status, message=message, retry_after=retry_after))

    def _note_submit(self, call: Call, body: bytes, status: int, parsed: Any, seen: Seen) -> None:
        try:
            sent = json.loads(body)
        except (ValueError, RecursionError):
            return
        if not isinstance(sent, dict):
            return
        if status == 202 and isinstance(parsed, dict) and isinstance(parsed.get("id"), str):
            self.add(Recorded(parsed["id"], sent, seen.at, call.test_id))
        elif kept_submit_error(status):
            self.add(Refused(sent, seen, call.test_id))

    def add(self, submit: Recorded | Refused) -> None:
        """Records a submit: a job (then followed by its polls and downloads) or a refusal."""
        if len(self.submits) >= MAX_SUBMITS:
            self.unrecorded += 1
            return
        if isinstance(submit, Recorded):
            self.jobs[submit.job_id] = submit
        self.submits.append(submit)

    # --- what a person watching sees ---------------------------------------------------------------
    # --- the scenario -----------------------------------------------------------------------------
    def save(self) -> list[Path]:
        """Writes what was recorded (never over an existing file): a scenario for the requests
        without a test id and one for each test id, named after it; returns the files written. It
        never loses a recording: a scenario is written whole or not at all, and is kept only once
        it loads back; if it would not, its raw recording is kept as JSON beside it."""
        if not self.submits and self.listing is None:
            return []
        self.out.mkdir(parents=True, exist_ok=True)
        stem = self._free_stem()
        by_test: dict[str, list[Recorded | Refused]] = {}
        for item in self.submits:
            by_test.setdefault(item.test_id, []).append(item)
        models = self._models()
        written: list[Path] = []
        for test_id, submits in (by_test or {"": []}).items():
            written += self._write(stem if not test_id else f"{stem}-{_slug(test_id)}", test_id, submits, models)
        return written

    def _write(
        self, stem: str, test_id: str, submits: list[Recorded | Refused], models: dict[str, VideoModel]
    ) -> list[Path]:
        written: list[Path] = []
        content_files = {}
        for n, item in enumerate(submits, start=1):
            if isinstance(item, Recorded) and item.content:
                content_files[item.job_id] = f"{stem}-{n}.mp4"
                _write_whole(self.out / content_files[item.job_id], bytes(item.content))
                written.append(self.out / content_files[item.job_id])
        path = self.out / f"{stem}.toml"
        rules = scenario_rules(submits, models, content_files, self.redact_prompts)
        text = self._header(path, test_id, submits) + "\n\n" + "\n".join(rules)
        if self.listing:
            text += "\n" + catalogue(self.listing)
        problem = _loads_back(text, path)
        if problem is None:
            _write_whole(path, text.encode("utf-8"))
            written.insert(0, path)
        else:
            raw = self.out / f"{stem}-raw.json"
            _write_whole(raw, self._raw(problem, submits).encode("utf-8"))
            written.insert(0, raw)
        return written

    def _models(self) -> dict[str, VideoModel]:
        """The catalogue the recording will carry: the listing the client fetched, else the built-in."""
        from ..scenario.catalogue import builtin
        from ..scenario.loader import parse
        from ..scenario.problems import ScenarioError

        if not self.listing:
            return dict(builtin())
        try:
            return parse(catalogue(self.listing)).models
        except ScenarioError:
            return dict(builtin())

    def _free_stem(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        stem = f"recording-{stamp}"
        number = 1
        while any(self.out.glob(f"{stem}.*")) or any(self.out.glob(f"{stem}-*")):
            number += 1
            stem = f"recording-{stamp}-{number}"
        return stem

    def _header(self, path: Path, test_id: str, submits: list[Recorded | Refused]) -> str:
        jobs = sum(isinstance(item, Recorded) for item in submits)
        refused = len(submits) - jobs
        lines = [
            f"# Recorded by `ormock record` on {self.started:%Y-%m-%d %H:%M} UTC from {_origin(self.upstream)}:",
            f"# {jobs} job(s), {refused} refused submit(s){', and the model listing' if self.listing else ''}"
            + (f", of the requests with X-Test-Id {safe.shown(test_id, 80)!r}" if test_id else "")
            + ". Replay it with",
            f"#   ormock serve {safe.shown(str(path))}",
            "# Each rule matches a recorded submit's model and exact prompt, in the order they came: a refusal",
            "# as it was answered, a job with a timeline that holds each status as long as the client saw it,",
            "# answers the errors it met on the way, and ends as the job did.",
            "# No API key, Authorization header or signed URL was written.",
        ]
        if self.unrecorded:
            lines.append(f"# {self.unrecorded} later submit(s) were not recorded: at most {MAX_SUBMITS} are.")
        return "\n".join(lines)

    def _raw(self, problem: str, submits: list[Recorded | Refused]) -> str:
        """The recording as plain JSON, for when its scenario would not load (never expected)."""
        items = []
        for item in submits:
            if isinstance(item, Refused):
                items.append({"refused": dataclasses.asdict(item.seen), "body": item.body})
                continue
            fields = dataclasses.asdict(item)
            fields["content"] = len(item.content)
            items.append(fields)
        why = f"ormock could not write this recording as a scenario that loads back: {problem}"
        return json.dumps({"problem": why, "upstream": _origin(self.upstream), "submits": items}, indent=2)


def _slug(test_id: str) -> str:
    """A file name's part for `test_id`: its letters, digits, `.`, `_` and `-`, and when that loses
    anything, a hash that keeps two test ids apart."""
    kept = re.sub(r"[^A-Za-z0-9._-]+", "-", test_id).strip("-.")[:60]
    if kept == test_id:
        return kept
    return f"{kept or 'test'}-{hashlib.sha256(test_id.encode('utf-8', 'replace')).hexdigest()[:8]}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def _read_at_most(response: Any, limit: int) -> bytes | None:
    """The body of an upstream answer, or None once it goes past `limit` bytes (it is not read on)."""
    if response.is_stream_consumed:  # read already, by a response hook of the client
        return response.content if len(response.content) <= limit else None
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _write_whole(path: Path, data: bytes) -> None:
    """Writes `path` in one step: a reader, or a stop midway, never sees half of it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def _loads_back(text: str, path: Path) -> str | None:
    """Why the scenario `text` (to be written at `path`) would not load, or None."""
    from ..scenario.loader import parse
    from ..scenario.problems import ScenarioError

    try:
        text.encode("utf-8")
        parse(text, path)
    except (ScenarioError, UnicodeEncodeError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"


class RecorderControl:
    """The recorder's control handlers: save what is recorded so far, move its clock, say how it
    is (rows of `control.ROUTES`)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def save_recording(self) -> Any:
        from .control import json_response

        return json_response({"written": [str(path) for path in self.recorder.save()]})

    async def advance_clock(self) -> Any:
        from .control import json_response, seconds_to_advance

        clock = self.recorder.clock
        clock.advance(await seconds_to_advance(clock.time()))
        return json_response({"time": clock.time()})

    async def health(self) -> Any:
        from .control import json_response

        recorder = self.recorder
        return json_response({"status": "ok", "recording": len(recorder.jobs), "upstream": recorder.upstream})
