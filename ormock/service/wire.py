"""Every JSON shape ormock sends, exactly as the service spells it.

Optional keys are left out rather than sent as `null` (clients reject `null` there); `usage.cost`
is the one value that may be `null`. `base` is the API root the client used, ending in `/api/v1`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any
from urllib.parse import quote, urlsplit

from .. import safe
from ..scenario.catalogue import VideoModel
from ..scenario.loader import Pick
from .jobs import Job, View
from .journal import Entry

# The service's own words for each error status (the spec's examples where it has them).


def dumps(value: Any) -> bytes:
    """JSON as the service sends it: compact, UTF-8."""
    return json.dumps(value, separators=(",", ":")).encode()


MESSAGES = {
    400: "Invalid request parameters",
    401: "Missing Authentication header",
    402: "Insufficient credits. Add more using https://openrouter.ai/credits",
    403: "Forbidden",
    404: "Resource not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
    499: "Client closed request",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "Service unavailable",
    504: "Gateway timeout",
}
# What a scenario's scripted error says when the scenario gives no message, where it differs from the
# above: a scripted 401 comes to a request that carried a key, and the service answers a key it no
# longer accepts with this (its "Missing Authentication header" would send the user looking for a
# bug in their own client).
SCRIPTED_MESSAGES = {401: "User not found."}


def scripted_message(code: int, message: str | None) -> str | None:
    """The message of an error a scenario scripts (a rule's `respond`, a timeline step, a fault)."""
    return message if message is not None else SCRIPTED_MESSAGES.get(code)


def error(code: int, message: str | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error envelope: `{"error": {"code": 404, "message": "...", "metadata": {...}}}`, the
    metadata only when there is some."""
    body: dict[str, Any] = {"code": code, "message": message or MESSAGES.get(code, "Error")}
    if metadata is not None:
        body["metadata"] = metadata
    return {"error": body}


def api_root(scheme: str, host: str | None, root_path: str, server: tuple[str, int | None] | None) -> str:
    """The API root a client should use, from how it addressed us: its `Host`, or where none (or an
    empty one) was sent, the address the server is bound to, so every URL handed out is followable."""
    if not host:
        address, port = server if server else ("127.0.0.1", None)
        shown = f"[{address}]" if ":" in address else address
        host = shown if port is None else f"{shown}:{port}"
    return f"{scheme}://{host}{root_path}/api/v1"


def _test(job: Job, joiner: str) -> str:
    """The test id as a query parameter, so clients that follow our URLs stay in their namespace."""
    return f"{joiner}testId={quote(job.test_id, safe='')}" if job.test_id else ""


def _root(base: str, job: Job, whole: bool = False) -> str:
    """Where the job's links start: the API root the client used, or its path alone when the
    scenario asks for relative links (and the link is not to be `whole`)."""
    return urlsplit(base).path if job.relative_links and not whole else base


def polling_url(base: str, job: Job) -> str:
    return f"{_root(base, job)}/videos/{job.id}{_test(job, '?')}"


def content_url(base: str, job: Job, index: int, whole: bool = False) -> str:
    return f"{_root(base, job, whole)}/videos/{job.id}/content?index={index}{_test(job, '&')}"


def submitted(job: Job, base: str) -> dict[str, Any]:
    """The 202 answer to a submit."""
    return {"id": job.id, "polling_url": polling_url(base, job), "status": "pending"}


def job(
    job: Job, view: View, base: str, expires_at: int | None = None, signed: list[str] | None = None
) -> dict[str, Any]:
    """The job object a poll answers with. `signed` are the query strings of keyless download
    URLs, one per output, valid until `expires_at`."""
    body: dict[str, Any] = {"id": job.id, "polling_url": polling_url(base, job), "status": view.status}
    if view.status == "completed":
        body["generation_id"] = job.id
        body["unsigned_urls"] = [content_url(base, job, i) for i in range(view.step.outputs)]
        if expires_at is not None and signed is not None:
            body["expires_at"] = expires_at
            body["urls"] = [f"{base}/videos/{job.id}/content?{query}{_test(job, '&')}" for query in signed]
        body["usage"] = {"cost": job.cost(view), "is_byok": False}
    elif view.step.error_text is not None:
        body["error"] = view.step.error_text
    return body


def model(entry: VideoModel) -> dict[str, Any]:
    """A `/videos/models` entry: every key of the VideoModel schema, nullable ones as `null`."""
    return entry.model_dump(mode="json")


def models(entries: Iterable[VideoModel]) -> dict[str, Any]:
    return {"data": [model(entry) for entry in entries]}


def rule_info(pick: Pick, source: str, matched: int) -> dict[str, Any]:
    """What the control API tells about a rule: the keys it was written with (its timeline as its
    jobs follow it), where it comes from and how many submits it has taken."""
    rule = pick.rule
    info: dict[str, Any] = {"name": rule.name, "source": source, "matched": matched, "uses": rule.uses}
    info["retired"] = rule.uses is not None and matched >= rule.uses
    info |= rule.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"name", "uses"})
    info["match"] = rule.match.model_dump(mode="json", exclude_none=True)
    steps = pick.timeline.steps
    info["timeline"] = [step.model_dump(mode="json", by_alias=True, exclude_defaults=True) for step in steps]
    return info


def job_info(job: Job, view: View) -> dict[str, Any]:
    """What the control API tells about a job: the wire object's facts and how it got there."""
    info: dict[str, Any] = {
        "id": job.id,
        "test_id": job.test_id,
        "rule": job.rule.name,
        "model": job.model.id,
        "status": view.status,
        "step": {"index": view.index + 1, "of": len(job.timeline.steps), "since": view.since},
        "forced": job.forced is not None,
        "polls": job.polls,
        "downloads": job.downloads,
        "downloaded": job.downloaded,
        "created_at": job.created_at,
        "last_poll_at": job.last_poll_at,
        "request": _shown_request(job.submission.body),
    }
    if view.step.error_text is not None:
        info["error"] = view.step.error_text
    if view.status == "completed":
        info["cost"] = job.cost(view)
    return info


def _shown_request(body: Any) -> dict[str, Any]:
    """A submit's body as the control API shows it: its callback URL's secrets redacted."""
    shown = dict(body)
    if isinstance(shown.get("callback_url"), str):
        shown["callback_url"] = safe.url(shown["callback_url"])
    return shown


def redacted(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as the journal shows them (it keeps them raw): names in lower case, the API key hidden."""
    shown = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() == "authorization":
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} {safe.key(secret.strip())}" if secret else safe.REDACTED
        shown[name.lower()] = value
    return shown


def entry(item: Entry) -> dict[str, Any]:
    """A request journal entry, its secrets redacted: the API key, secret-looking query values,
    and the userinfo and secret query values of any URL a client gave (a `callback_url`)."""
    shown = {**asdict(item), "headers": redacted(item.headers), "query": safe.secret_query(item.query)}
    del shown["key"]  # the headers show it redacted
    shown["what"] = item.what
    if item.kind == "webhook":
        shown["path"] = safe.url(item.path)
    body = item.body
    if isinstance(body, dict):
        shown["body"] = _shown_request(body)
    return shown


def webhook_event(job: Job, view: View, created_at: str) -> dict[str, Any]:
    """The body of a webhook delivery for a job that has ended."""
    data: dict[str, Any] = {
        "id": job.id,
        "status": view.status,
        "generation_id": job.id,
        "model": job.model.id,
    }
    if view.status == "completed":
        # whole URLs: a receiver has no base to resolve a path against
        data["unsigned_urls"] = [content_url(job.base_url, job, i, whole=True) for i in range(view.step.outputs)]
        data["usage"] = {"cost": job.cost(view), "is_byok": False}
    elif view.step.error_text is not None:
        data["error"] = view.step.error_text
    return {"type": f"video.generation.{view.status}", "created_at": created_at, "data": data}
