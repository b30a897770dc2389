"""Every JSON shape ormock sends, exactly as the service spells it.

Optional keys are left out rather than sent as `null` (clients reject `null` there); `usage.cost`
is the one value that may be `null`. `base` is the API root the client used, ending in `/api/v1`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .catalogue import VideoModel
from .jobs import Job, View

# The service's own words for each error status (the spec's examples where it has them).
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


def error(code: int, message: str | None = None) -> dict[str, Any]:
    """The error envelope: `{"error": {"code": 404, "message": "..."}}`."""
    return {"error": {"code": code, "message": message or MESSAGES.get(code, "Error")}}


def polling_url(base: str, job_id: str) -> str:
    return f"{base}/videos/{job_id}"


def content_url(base: str, job_id: str, index: int) -> str:
    return f"{base}/videos/{job_id}/content?index={index}"


def submitted(job: Job, base: str) -> dict[str, Any]:
    """The 202 answer to a submit."""
    return {"id": job.id, "polling_url": polling_url(base, job.id), "status": "pending"}


def job(job: Job, view: View, base: str) -> dict[str, Any]:
    """The job object a poll answers with."""
    body: dict[str, Any] = {"id": job.id, "polling_url": polling_url(base, job.id), "status": view.status}
    if view.status == "completed":
        body["generation_id"] = job.id
        body["unsigned_urls"] = [content_url(base, job.id, i) for i in range(view.step.outputs)]
        body["usage"] = {"cost": job.cost(), "is_byok": False}
    elif view.step.error_text is not None:
        body["error"] = view.step.error_text
    return body


def model(entry: VideoModel) -> dict[str, Any]:
    """A `/videos/models` entry: every key of the VideoModel schema, nullable ones as `null`."""
    return entry.model_dump(mode="json")


def models(entries: Iterable[VideoModel]) -> dict[str, Any]:
    return {"data": [model(entry) for entry in entries]}
