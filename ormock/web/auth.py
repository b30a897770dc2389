"""API keys: which `Authorization` headers a scenario accepts."""

from __future__ import annotations


def bearer_key(header: str) -> str | None:
    """The key of a `Bearer <key>` header, or None when there is no usable one."""
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def problem_with(key: str | None, accepted: frozenset[str] | None) -> str | None:
    """Why the service answers 401 to a request carrying `key` (from `bearer_key`), or None."""
    if key is None:
        return "Missing Authentication header"
    if accepted is not None and key not in accepted:
        return "Invalid API key"
    return None
