"""Leaving a handler with an error: the `Failure` exception and the responses that carry it."""

from __future__ import annotations

import json
import math
from typing import Any

from ..service import wire


class Failure(Exception):
    """Raised in a handler to answer with the service's error envelope. `retry_after` is in
    scenario seconds; the answer carries it in the client's (see `retry_headers`)."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        retry_after: float | None = None,
        metadata: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.metadata = metadata  # the envelope's `metadata`, e.g. a scenario's problems
        self.headers = headers  # headers the answer carries besides the retry ones

    @classmethod
    def of(cls, fault: Any) -> Failure:
        """The error a scenario's `respond` (on a submit, a download or a timeline step) asks for."""
        return cls(fault.respond, wire.scripted_message(fault.respond, fault.message), fault.retry_after)


# Arrays, objects and items a JSON body may hold, counted as its `[`, `{` and `,` (strings
# included): what parsing it may cost is bounded by this, not by its size in bytes alone
# (docs/limits.md). A real submit holds a few dozen; a data-URL image adds one.
MAX_JSON_MARKS = 200_000


def parse_json(raw: bytes | str, what: str = "the request body") -> Any:
    """A request body's JSON, or a 400 that says what is wrong with it (a 413 when it holds more
    than `MAX_JSON_MARKS` arrays, objects and items, before any of it is parsed)."""
    if len(raw) > MAX_JSON_MARKS:
        text = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        if text.count(b"[") + text.count(b"{") + text.count(b",") > MAX_JSON_MARKS:
            raise Failure(413, f"{what} holds too many values: at most {MAX_JSON_MARKS:,} arrays, objects and items")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(400, f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise Failure(400, f"{what} is nested too deeply") from None


def retry_headers(seconds: float | None) -> dict[str, str]:
    """The headers that tell a client to wait `seconds` (its own seconds): `Retry-After` in whole
    seconds, rounded up so the wait is never too short, and `retry-after-ms` as well when that
    rounding would make it longer (under `--speed`), for clients that read it first."""
    if seconds is None:
        return {}
    seconds = max(0.0, seconds)
    whole = math.ceil(seconds)
    headers = {"Retry-After": str(whole)}
    if whole != seconds:
        headers["retry-after-ms"] = str(max(1, math.ceil(seconds * 1000)))
    return headers
