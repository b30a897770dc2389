"""Leaving a handler with an error: the `Failure` exception and the responses that carry it."""

from __future__ import annotations

import json
from typing import Any

from quart import Response

from . import wire


class Failure(Exception):
    """Raised in a handler to answer with the service's error envelope."""

    def __init__(self, code: int, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after

    @classmethod
    def of(cls, fault: Any) -> Failure:
        """The error a scenario's `respond` (on a submit, a download or a timeline step) asks for."""
        return cls(fault.respond, fault.message, fault.retry_after)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, content_type="application/json")


def error_response(
    code: int, message: str | None = None, retry_after: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json_response(wire.error(code, message), code, headers)
