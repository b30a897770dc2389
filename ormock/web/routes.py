"""What a request is, from its method and path alone: the one place that knows the four
endpoints' shapes and where the control API lives, for the app, the body limits, the log, the
dashboard and the report."""

from __future__ import annotations

from ..scenario.submit import CONTROL_PATH

JOBS_PREFIX = "/api/v1/videos/"
SUBMIT_PATH = "/api/v1/videos"
MODELS_PATH = "/api/v1/videos/models"
CONTROL_PREFIX = CONTROL_PATH  # the control API (see `control`)
NOTE = "ormock.note"  # the scope key where a control request says what it changed, for the journal


def job_id_in(path: str) -> str | None:
    """The job id a poll or content path names (`/api/v1/videos/<id>[/content]`), else None."""
    if not path.startswith(JOBS_PREFIX):
        return None
    job_id = path[len(JOBS_PREFIX) :].removesuffix("/content")
    if not job_id or "/" in job_id or job_id == "models":
        return None
    return job_id


def action(method: str, path: str) -> str:
    """`submit`, `poll`, `download`, `models`, or `other` (anything else, wrong methods included)."""
    return route(method, path)[0]


def route(method: str, path: str) -> tuple[str, str | None]:
    """The action (see `action`) and the job id the path names (see `job_id_in`), found at once."""
    job_id = job_id_in(path)
    if method == "POST" and path == SUBMIT_PATH:
        return "submit", job_id
    if method in ("GET", "HEAD"):
        if path == MODELS_PATH:
            return "models", job_id
        if job_id is not None:
            return ("download" if path.endswith("/content") else "poll"), job_id
    return "other", job_id


def methods(path: str) -> tuple[str, ...] | None:
    """The methods the API takes at `path` (for `Allow`), or None for a path it does not serve."""
    if path == SUBMIT_PATH:
        return ("POST",)
    if path == MODELS_PATH or job_id_in(path) is not None:
        return ("GET", "HEAD")
    return None
