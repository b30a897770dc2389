"""Faults beyond a job's own timeline: rate limits, credits, and scripted errors, delays and broken
connections, server-wide, per endpoint or per rule.

`Faults` decides, for one request, which fault (if any) applies; the app carries it out. Counters
(`nth`, `every`) and chances (`probability`) are kept per test id, and chances draw from a
generator seeded by `--seed`, so a failing run can be replayed exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import NamedTuple

from .. import safe
from ..scenario.loader import Fault, Rule
from .jobs import Job
from .store import JobStore

HANG_SECONDS = 600.0  # how long a hung request waits before giving up on its own
MAX_BUCKETS = 1024  # rate-limit buckets (API keys) kept per test id; the oldest goes past this


class InjectedDrop(Exception):
    """Raised while streaming a response to drop the connection on purpose."""


class _QuietDrops(logging.Filter):
    """Keeps deliberate drops out of the server's error log: they are scripted, not bugs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDrop))


for _name in ("hypercorn.error", "quart.app", "asyncio"):
    logging.getLogger(_name).addFilter(_QuietDrops())


class Limited(NamedTuple):
    """A request over the rate limit: what its 429 tells (see `web.calls.rate_limit_headers`)."""

    wait: float  # scenario seconds until the next request may come
    limit: int  # requests a key may make in a window
    remaining: int  # requests left now
    full_in: float  # scenario seconds until the key's bucket is full again (the window resets)


class Faults:
    def __init__(self, store: JobStore, seed: int | None = None) -> None:
        self.store = store
        # Signs the keyless `urls` of completed jobs; seeded runs sign alike.
        self.key = hashlib.sha256(f"ormock:{seed}".encode()).digest() if seed is not None else secrets.token_bytes(32)

    def pick(self, endpoint: str, test_id: str, rule: Rule | None = None) -> tuple[Fault, str] | None:
        """The fault that applies to this request to `endpoint`, with its label, or None.

        With a rule, its own faults (for requests about its jobs); without, the server-wide ones.
        Every fault that covers the endpoint counts the request; the first that fires applies.
        Download faults (`truncate`, `slow`) only cover downloads.
        """
        space = self.store.space(test_id)
        candidates: list[tuple[tuple[str | int, ...], Fault, str]]
        if rule is not None:
            candidates = [(("rule", rule.name, n), f, f"rule {rule.name}") for n, f in enumerate(rule.faults)]
        else:
            server_faults = self.store.scenario_for(test_id).faults
            candidates = [(("server", n), f, f"fault[{n + 1}]") for n, f in enumerate(server_faults)]
        chosen = None
        for key, fault, where in candidates:
            if fault.endpoint not in (endpoint, "any"):
                continue
            if fault.effect in ("truncate", "slow") and endpoint != "download":
                continue
            count = space.fault_counts[key] = space.fault_counts.get(key, 0) + 1
            if fault.nth is not None:
                fires = count == fault.nth
            elif fault.every is not None:
                fires = count % fault.every == 0
            elif fault.probability is not None:
                fires = space.fault_random.random() < fault.probability
            else:
                fires = True
            if fires and chosen is None:
                chosen = (fault, fault.label(where))
        return chosen

    def jitter(self, fault: Fault, test_id: str) -> float:
        extra = self.store.space(test_id).fault_random.uniform(0, fault.jitter) if fault.jitter else 0.0
        return (fault.latency or 0.0) + extra

    def rate_limited(self, api_key: str, test_id: str) -> Limited | None:
        """How `api_key` stands if it is over the scenario's rate limit (the wait until it may call
        again, in scenario seconds, and its figures), else None."""
        limit = self.store.scenario_for(test_id).server.rate_limit
        if limit is None:
            return None
        space = self.store.space(test_id)
        rate = limit.requests / limit.per  # tokens per scenario second
        burst = float(limit.burst or limit.requests)
        now = self.store.clock.time()
        if api_key not in space.buckets and len(space.buckets) >= MAX_BUCKETS:
            del space.buckets[next(iter(space.buckets))]  # the oldest key's bucket: it starts full again
        tokens, then = space.buckets.get(api_key, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens >= 1:
            space.buckets[api_key] = (tokens - 1, now)
            return None
        space.buckets[api_key] = (tokens, now)
        return Limited((1 - tokens) / rate, limit.requests, int(tokens), (burst - tokens) / rate)

    # --- keyless download URLs ----------------------------------------------------------------
    def signature(self, job: Job, index: int, expires: int) -> str:
        message = f"{job.test_id}:{job.id}:{index}:{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def signed_query(self, job: Job, index: int, expires: int) -> str:
        return f"index={index}&expires={expires}&signature={self.signature(job, index, expires)}"

    def signature_ok(self, job: Job, index: int, expires: str, signature: str) -> bool:
        when = safe.whole_number(expires)
        if when is None:
            return False
        # bytes: compare_digest refuses str with non-ASCII characters, and a client chose these
        return hmac.compare_digest(self.signature(job, index, when).encode(), signature.encode("utf-8", "replace"))
