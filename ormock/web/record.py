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
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import safe
from .._asgi import ASGIApp, lifespan
from ..scenario import prompts
from ..scenario.catalogue import MODEL_KEYS
from ..scenario.loader import TERMINAL
from ..service import wire
from ..service.clock import Clock
from ..service.journal import Entry
from . import routes
from .calls import Call
from .limits import send_json as _json

MAX_CONTENT = 32 * 1024 * 1024
MAX_ANSWER = 8 * 1024 * 1024  # bytes of an upstream answer that is not a video (JSON: a job, the models)
PASSED_HEADERS = ("authorization", "content-type", "accept", "user-agent", "x-test-id")
RETURNED_HEADERS = ("content-type", "retry-after", "retry-after-ms", "content-length")


@dataclass
class Seen:
    at: float  # recorder's clock
    status: int
    job_status: str | None = None
    message: str | None = None
    retry_after: int | None = None
    cost: float | None = None
    error: str | None = None


@dataclass
class Recorded:
    job_id: str
    body: dict[str, Any]
    submitted: float
    refused_first: list[Seen] = field(default_factory=list)  # submit errors of the same body before it
    polls: list[Seen] = field(default_factory=list)
    content: bytearray = field(default_factory=bytearray)
    content_total: int | None = None  # what the upstream said it would send
    content_complete: bool = False
    content_problem: str | None = None


class Recorder:
    """The recording proxy: an ASGI app, and what it has recorded."""

    def __init__(
        self, upstream: str, out: Path, clock: Clock, max_content: int = MAX_CONTENT, redact_prompts: bool = False
    ) -> None:
        self.redact_prompts = redact_prompts
        self.upstream = upstream.rstrip("/")
        self.out = out
        self.clock = clock
        self.max_content = max_content
        self.jobs: dict[str, Recorded] = {}
        self.refused: list[tuple[str, Seen]] = []  # (body signature, answer) of submits that got no job
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
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
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
            try:
                sent = json.loads(body)
            except ValueError:
                return
            if status == 202 and isinstance(parsed, dict) and "id" in parsed and isinstance(sent, dict):
                signature = json.dumps(sent, sort_keys=True)
                before = [seen for sig, seen in self.refused if sig == signature]
                self.refused = [(sig, seen) for sig, seen in self.refused if sig != signature]
                self.jobs[parsed["id"]] = Recorded(parsed["id"], sent, at, before)
            elif (isinstance(sent, dict) and status in (401, 402, 429)) or status >= 500:
                self.refused.append(
                    (json.dumps(sent, sort_keys=True), Seen(at, status, message=message, retry_after=retry_after))
                )
        elif action == "poll":
            recorded = self.jobs.get(routes.job_id_in(call.path) or "")
            if recorded is None:
                return
            if status == 200 and isinstance(parsed, dict):
                usage = parsed.get("usage") or {}
                recorded.polls.append(
                    Seen(at, 200, parsed.get("status"), cost=usage.get("cost"), error=parsed.get("error"))
                )
            else:
                recorded.polls.append(Seen(at, status, message=message, retry_after=retry_after))
        elif action == "models" and status == 200 and isinstance(parsed, dict):
            self.listing = [m for m in parsed.get("data", []) if isinstance(m, dict)]

    # --- what a person watching sees ---------------------------------------------------------------
    # --- the scenario -----------------------------------------------------------------------------
    def save(self) -> list[Path]:
        """Writes what was recorded (never over an existing file); returns the files written. It
        never loses a recording: the scenario is written whole or not at all, and is kept only once
        it loads back; if it would not, the raw recording is kept as JSON beside it."""
        if not self.jobs and self.listing is None:
            return []
        self.out.mkdir(parents=True, exist_ok=True)
        stem = self._free_stem()
        written: list[Path] = []
        rules = []
        for n, recorded in enumerate(self.jobs.values(), start=1):
            content_file = None
            if recorded.content:
                content_file = f"{stem}-{n}.mp4"
                _write_whole(self.out / content_file, bytes(recorded.content))
                written.append(self.out / content_file)
            rules.append(_rule(n, recorded, content_file, self.redact_prompts))
        path = self.out / f"{stem}.toml"
        text = self._header(path) + "\n\n" + "\n".join(rules)
        if self.listing:
            text += "\n" + _catalogue(self.listing)
        problem = _loads_back(text, path)
        if problem is None:
            _write_whole(path, text.encode("utf-8"))
            written.insert(0, path)
        else:
            raw = self.out / f"{stem}-raw.json"
            _write_whole(raw, self._raw(problem).encode("utf-8"))
            written.insert(0, raw)
        return written

    def _free_stem(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        stem = f"recording-{stamp}"
        number = 1
        while any(self.out.glob(f"{stem}.*")) or any(self.out.glob(f"{stem}-raw.*")):
            number += 1
            stem = f"recording-{stamp}-{number}"
        return stem

    def _header(self, path: Path) -> str:
        return "\n".join(
            [
                f"# Recorded by `ormock record` on {self.started:%Y-%m-%d %H:%M} UTC from {_origin(self.upstream)}:",
                f"# {len(self.jobs)} job(s){', and the model listing' if self.listing else ''}. Replay it with",
                f"#   ormock serve {safe.shown(str(path))}",
                "# Each rule matches one recorded job's model and exact prompt; its timeline holds each status for",
                "# as long as the client saw it, answers the errors it met on the way, and ends as the job did.",
                "# No API key, Authorization header or signed URL was written.",
            ]
        )

    def _raw(self, problem: str) -> str:
        """The recording as plain JSON, for when its scenario would not load (never expected)."""
        jobs = [
            {
                "job_id": recorded.job_id,
                "body": recorded.body,
                "submitted": recorded.submitted,
                "polls": [dataclasses.asdict(seen) for seen in recorded.polls],
                "refused_first": [dataclasses.asdict(seen) for seen in recorded.refused_first],
                "content_bytes": len(recorded.content),
            }
            for recorded in self.jobs.values()
        ]
        why = f"ormock could not write this recording as a scenario that loads back: {problem}"
        return json.dumps({"problem": why, "upstream": _origin(self.upstream), "jobs": jobs}, indent=2)


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


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(type(value))


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:  # a lone surrogate: no TOML (or UTF-8) can hold it
        return "\\uFFFD"
    return f"\\u{ord(char):04X}"


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string: quotes, backslashes and every control character (U+007F
    included) escaped, a lone surrogate written as U+FFFD (what the matcher reads it as)."""
    return '"' + re.sub(r'["\\\x00-\x1f\x7f\ud800-\udfff]', _toml_escape, text) + '"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)


def _seconds(value: float) -> str:
    return f"{max(value, 0.001):.3f}s"


def _rule(number: int, recorded: Recorded, content_file: str | None, redact: bool = False) -> str:
    body = recorded.body
    prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else None
    match: dict[str, Any] = {"model": body.get("model")}
    if prompt is not None and redact:  # the prompt stays off the disk: the rule matches its hash
        match["prompt_sha256"] = prompts.sha256(prompt)
        prompt = None
    elif prompt is not None:
        match["prompt_regex"] = "^" + re.escape(prompt) + "$"
    steps: list[dict[str, Any]] = []
    current: str | None = "pending"  # a submit answers pending
    since = recorded.submitted
    ending: Seen | None = None
    notes = []
    for seen in recorded.polls:
        if seen.status != 200:
            if current is not None:
                steps.append({"status": current, "for": _seconds(seen.at - since)})
            steps.append({"respond": seen.status, "polls": 1, "message": seen.message, "retry_after": seen.retry_after})
            current, since = None, seen.at  # the next status holds from this poll on, as on replay
            continue
        if seen.job_status in TERMINAL:
            if current is not None:
                steps.append({"status": current, "for": _seconds(seen.at - since)})
            ending = seen
            break
        if current is None:
            current = seen.job_status
        elif seen.job_status != current:
            steps.append({"status": current, "for": _seconds(seen.at - since)})
            current, since = seen.job_status, seen.at
    if ending is None:
        steps.append({"status": current or "in_progress", "for": "24h"})
        steps.append({"status": "expired", "error": "the recording ended before the job did"})
        notes.append("the recording stopped before this job ended")
    elif ending.job_status == "completed":
        final: dict[str, Any] = {"status": "completed"}
        if ending.cost is not None:
            final["cost"] = ending.cost
        if content_file is not None:
            final["content"] = content_file
        steps.append(final)
    else:
        steps.append({"status": ending.job_status, "error": ending.error})
    if recorded.content_problem:
        notes.append(f"its content is incomplete: {recorded.content_problem}")
    elif recorded.content and not recorded.content_complete:
        notes.append("its content is incomplete")
    label = safe.shown(prompt or f"{body.get('model')}, job {number}", 40)
    lines = ["[[rule]]", f"name = {_toml(f'recorded {number}: {label}')}"]
    lines = [f"# {note}" for note in notes] + lines
    lines.append(f"match = {_toml(match)}")
    if recorded.refused_first:
        first = recorded.refused_first[0]
        refusal = {"respond": first.status, "message": first.message, "retry_after": first.retry_after}
        lines.append("submit = " + _toml({**refusal, "times": len(recorded.refused_first)}))
    lines.append("timeline = [")
    lines += [f"  {_toml({k: v for k, v in step.items() if v is not None})}," for step in steps]
    lines.append("]")
    return "\n".join(lines) + "\n"


def _catalogue(listing: list[dict[str, Any]]) -> str:
    lines = ["# The model listing the client fetched while recording, as this scenario's catalogue."]
    for model in listing:
        kept = {k: v for k, v in model.items() if k in MODEL_KEYS and v is not None}
        if "id" in kept:
            lines += ["[[model]]", *(f"{_key(k)} = {_toml(v)}" for k, v in kept.items()), ""]
    return "\n".join(lines)


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
