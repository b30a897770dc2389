"""Whatever a client sent, made safe to show: escaped for a terminal or a log line, and with its
secrets redacted. Every place that shows a path, a header, an error text or a URL a client gave
(the plain log, the dashboard, the journal, the report) goes through here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "[redacted]"
# Query parameters whose values are secrets wherever they appear: the keyless download URLs'
# `signature`, and the names people give tokens in callback URLs.
_SECRET_NAMES = re.compile(
    r"sig|signature|token|secret|key|password|passwd|pass|auth|credential|code|jwt|hmac|session|bearer", re.I
)
# A path segment that reads like a credential (the last part of a Slack webhook URL, a token in the
# path): long, with digits, capitals and small letters mixed, as no word a person writes is.
_SECRET_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_-]{16,}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_SHOWN = 300  # characters of one client-given value shown in a line; the rest is cut with "…"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object, limit: int = MAX_SHOWN) -> str:
    """`text` as inert, printable text: control characters (escape sequences, CR, LF, bidi marks)
    become `\\xNN` escapes, and anything past `limit` characters is cut."""
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    elif value.isascii() and value.isprintable():  # the common case, which _UNSAFE cannot match
        return value
    return _UNSAFE.sub(_escape, value)


def key(value: str | None) -> str:
    """An API key as ormock shows it anywhere (report, journal, credits): enough to tell keys
    apart, not enough to use one."""
    if not value:
        return "(no key)"
    if len(value) <= 8:  # too short to show any of: a fingerprint still tells two keys apart
        return f"(short key #{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()[:6]})"
    return f"{shown(value[:6], 6)}…{shown(value[-4:], 4)}"


def whole_number(text: str, digits: int = 18) -> int | None:
    """`text` as a whole number written in ASCII digits (at most `digits` of them), else None.
    (`str.isdigit` takes `²` and other digits `int` refuses.)"""
    if text.isascii() and text.isdigit() and len(text) <= digits:
        return int(text)
    return None


def secret_query(query: dict[str, str]) -> dict[str, str]:
    """A query string's parameters with secret-looking values redacted."""
    if not query:
        return query
    return {name: REDACTED if _SECRET_NAMES.search(name) and value else value for name, value in query.items()}


def _value(value: str) -> str:
    return value if value == REDACTED else quote(value, safe="")


def url(text: str) -> str:
    """A URL with its userinfo and its secret-looking query values redacted."""
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = secret_query(dict(parse_qsl(query, keep_blank_values=True)))
            query = "&".join(f"{quote(k, safe='')}={_value(v)}" for k, v in pairs.items())
        path = "/".join(REDACTED if _SECRET_SEGMENT.match(part) else part for part in parts.path.split("/"))
        fragment = REDACTED if parts.fragment else ""  # a fragment is never sent: only a secret would be there
        return urlunsplit((parts.scheme, netloc, path, query, fragment))
    except ValueError:
        return REDACTED


JOURNAL_STRING = 512  # characters of one string kept in a journalled body
JOURNAL_ITEMS = 50  # items of one array or keys of one object kept
JOURNAL_DEPTH = 12  # levels of nesting kept


def pruned(value: object, depth: int = 0) -> object:
    """A JSON value cut to a bounded size for the journal: long strings (a data-URL image) keep
    their start and say how long they were, long arrays and objects their first items, deep
    nesting stops. Whatever a client sends, one journalled body stays within a few hundred KB."""
    if isinstance(value, str):
        if len(value) <= JOURNAL_STRING:
            return value
        return f"{value[:JOURNAL_STRING]}… ({len(value):,} characters)"
    if depth >= JOURNAL_DEPTH and isinstance(value, (list, dict)):
        return "… (nested deeper)"
    if isinstance(value, list):
        kept = [pruned(item, depth + 1) for item in value[:JOURNAL_ITEMS]]
        if len(value) > JOURNAL_ITEMS:
            kept.append(f"… ({len(value) - JOURNAL_ITEMS:,} more items)")
        return kept
    if isinstance(value, dict):
        items = list(value.items())
        kept_map = {str(key)[:JOURNAL_STRING]: pruned(item, depth + 1) for key, item in items[:JOURNAL_ITEMS]}
        if len(items) > JOURNAL_ITEMS:
            kept_map["…"] = f"{len(items) - JOURNAL_ITEMS:,} more keys"
        return kept_map
    return value


def pruned_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object `pruned` (a submit's body, as a job keeps it)."""
    kept = pruned(value)
    assert isinstance(kept, dict)
    return kept
