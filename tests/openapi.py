"""Checks every JSON answer against the official OpenAPI subset in tests/data (see its README).

`check_response(method, path, status, body)` finds the operation and declared response for a
request and validates the body with jsonschema. An error status the spec doesn't declare for that
operation (405, 409 on poll, 413) is checked against the common error envelope, whose shape all
declared errors share. Every error's `code` must equal the HTTP status.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator

DATA = Path(__file__).resolve().parent / "data"
SPEC_PATH = DATA / "openapi-videos.yaml"

_ROUTES = [
    ("post", re.compile(r"^/api/v1/videos$"), "/videos"),
    ("get", re.compile(r"^/api/v1/videos/models$"), "/videos/models"),
    ("get", re.compile(r"^/api/v1/videos/[^/]+/content$"), "/videos/{jobId}/content"),
    ("get", re.compile(r"^/api/v1/videos/[^/]+$"), "/videos/{jobId}"),
]


@cache
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise RuntimeError(f"the OpenAPI spec is missing: {SPEC_PATH}")
    return yaml.safe_load(SPEC_PATH.read_text("utf-8"))


@cache
def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref, "components": spec()["components"]})


def schema_ref(method: str, path: str, status: int) -> str | None:
    """The schema the spec declares for this answer; None for a path outside the API."""
    for verb, pattern, template in _ROUTES:
        if verb == method.lower() and pattern.match(path):
            responses = spec()["paths"][template][verb]["responses"]
            declared = responses.get(str(status), {}).get("content", {}).get("application/json")
            if declared is not None:
                return declared["schema"]["$ref"]
            if status >= 400:
                return "#/components/schemas/BadRequestResponse"
            raise AssertionError(f"{method} {path} answered {status}, which the spec does not declare")
    return None


def check_response(method: str, path: str, status: int, body: Any) -> None:
    ref = schema_ref(method, path, status)
    if ref is None:
        return
    errors = sorted(_validator(ref).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status} breaks {ref}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
    if status >= 400:
        assert body["error"]["code"] == status, f"error code {body['error']['code']} on an HTTP {status}"


def _check(response: httpx.Response) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        request = response.request
        check_response(request.method, request.url.path, response.status_code, json.loads(response.content))


def sync_hook(response: httpx.Response) -> None:
    """An httpx response hook for sync clients."""
    if response.headers.get("content-type", "").startswith("application/json"):
        response.read()
        _check(response)


async def async_hook(response: httpx.Response) -> None:
    """An httpx response hook for async clients."""
    if response.headers.get("content-type", "").startswith("application/json"):
        await response.aread()
        _check(response)
