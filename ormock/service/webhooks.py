"""Webhook deliveries: when a job with a `callback_url` ends, POST the event there, signed.

Signing, as the service does it: `X-OpenRouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>,<raw body>">`, and `X-OpenRouter-Idempotency-Key: <job id>-<status>`. `sign` and `verify` are
public so receivers can be unit-tested with the same scheme.

`Dispatcher` watches the jobs that have a callback URL, notices each one's ending (a job's status is
derived, so an ending is noticed, not announced), and sends the delivery from background tasks
that never hold up an API response: a timeout per attempt, retries with doubling backoff on
connection errors and non-2xx answers, every attempt in the request journal. Delays and backoff
run on the scenario clock. At shutdown, deliveries still waiting are sent at once, and any that
fail are reported.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # httpx is imported when the first delivery is sent, not at start-up
    import httpx

from .. import safe
from ..scenario.loader import TERMINAL
from . import wire
from .jobs import Job
from .store import JobStore
from .watcher import StatusWatcher

SIGNATURE = "X-OpenRouter-Signature"
IDEMPOTENCY = "X-OpenRouter-Idempotency-Key"
STALE_BY = 600  # seconds: how old a `stale_timestamp` delivery's signature is
PER_RECEIVER = 8  # connections open at once to one receiver
MAX_RECEIVERS = 64  # receivers with a pool of their own; the least recently used is closed past this
STOP_WAIT = 2.0  # seconds, at shutdown: for deliveries under way to finish ...
STOP_SEND = 3.0  # ... then for those still waiting, sent once each, all at once


def sign(secret: str, body: bytes | str, timestamp: int) -> str:
    """The `X-OpenRouter-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp},".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, headers: Mapping[str, str], body: bytes | str, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether a delivery's signature is right and no older (or newer) than `tolerance` seconds."""
    header = next((v for k, v in headers.items() if k.lower() == SIGNATURE.lower()), "")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Delivery:
    job: Job
    status: str
    body: bytes
    due: float  # scenario clock
    attempts: int = 0
    copies: int = 1  # how many times it is to be delivered (2 for `duplicate`)
    held: bool = False  # out_of_order: waits until another delivery goes out
    sending: bool = False
    done: bool = False
    results: list[str] = field(default_factory=list)


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Dispatcher:
    """Sends the webhook deliveries of one job store."""

    def __init__(self, store: JobStore, say: Callable[[str], None] | None = None, secret: str | None = None) -> None:
        self.store = store
        self.say = say or store.notices.append
        self.secret_override = secret
        self.pending: list[Delivery] = []
        store.on_reset.append(self._reset)
        # only jobs that will be delivered are watched
        self._watcher = StatusWatcher(store, follows=lambda job: bool(job.callback_url) and not job.rule.webhook.drop)
        self._tasks: set[asyncio.Task[None]] = set()
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()  # by receiver origin

    @property
    def settings(self) -> Any:
        """The server scenario's webhook settings."""
        return self.store.scenario.webhooks

    def settings_of(self, job: Job) -> Any:
        """The webhook settings of the scenario `job`'s namespace follows."""
        return self.store.scenario_for(job.test_id).webhooks

    def _secret(self, job: Job) -> str | None:
        return self.secret_override or self.settings_of(job).secret

    def _reset(self, test_id: str | None) -> None:
        """A reset drops the deliveries still waiting for the namespace it resets (or for all)."""
        self.pending = [d for d in self.pending if d.sending or (test_id is not None and d.job.test_id != test_id)]

    def _notice_endings(self) -> None:
        """A delivery for each job with a callback URL that has ended since the last look."""
        for job, _, status, _ in self._watcher.changes():
            if status not in TERMINAL or not job.callback_url or job.rule.webhook.drop:
                continue
            view = self.store.peek(job)
            faults = job.rule.webhook
            created = _iso(self.store.clock.client_time(view.since))  # when it ended, in the receiver's time
            body = wire.dumps(wire.webhook_event(job, view, created))
            self.pending.append(
                Delivery(
                    job,
                    status,
                    body,
                    due=view.since + (faults.delay or 0.0),
                    copies=2 if faults.duplicate else 1,
                    held=faults.out_of_order,
                )
            )

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ormock-webhooks",
            IDEMPOTENCY: f"{delivery.job.id}-{delivery.status}",
        }
        secret = self._secret(delivery.job)
        if secret is not None:
            faults = delivery.job.rule.webhook
            stamp = int(time.time()) - (STALE_BY if faults.stale_timestamp else 0)
            key = secret + "-not-the-secret" if faults.bad_signature else secret
            headers[SIGNATURE] = sign(key, delivery.body, stamp)
        return headers

    async def _attempt(self, delivery: Delivery, timeout: float | None = None) -> bool:
        """One POST of the delivery; True on a 2xx answer. Recorded in the journal either way."""
        job = delivery.job
        url = job.callback_url or ""
        headers = self._headers(delivery)
        started = time.perf_counter()
        status, error = 0, None
        try:
            status = await self._post(url, delivery.body, headers, timeout or self.settings_of(job).timeout)
            if not 200 <= status < 300:
                error = f"the receiver answered {status}"
        except Exception as exc:  # every failed attempt counts, whatever failed
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.store.record(
            job.test_id,
            kind="webhook",
            what="webhook",
            method="POST",
            path=url,
            query={},
            status=status,
            job_id=job.id,
            rule=job.rule.name,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            headers=[(name.lower().encode(), value.encode()) for name, value in headers.items()],  # ours: ASCII
            body=json.loads(delivery.body),
            error=safe.shown(error) if error else None,
        )
        delivery.attempts += 1
        delivery.results.append(error or str(status))
        return error is None

    async def _post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """POSTs `body` and returns the receiver's status. Its answer's body is never read (a
        receiver may answer anything, of any size), and the whole attempt has `timeout` seconds,
        however slowly the receiver trickles its answer."""
        async with asyncio.timeout(timeout):
            request = self._client_for(url).stream("POST", url, content=body, headers=headers, timeout=timeout)
            async with request as response:
                return response.status_code

    async def _send(self, delivery: Delivery) -> None:
        try:
            ok = await self._attempt(delivery)
            now = self.store.clock.time()
            if ok:
                delivery.copies -= 1
                for other in self.pending:
                    other.held = False  # out_of_order deliveries go once a later one has gone
                if delivery.copies <= 0:
                    delivery.done = True
            elif delivery.attempts > self.settings_of(delivery.job).retries:
                delivery.done = True
                receiver = safe.shown(safe.url(delivery.job.callback_url or ""), 120)
                self.say(
                    f"webhook for {delivery.job.id} ({delivery.status}) to {receiver} failed after "
                    f"{delivery.attempts} attempt(s): {safe.shown(delivery.results[-1], 200)}"
                )
            else:
                delivery.due = now + self.settings_of(delivery.job).backoff * 2 ** (delivery.attempts - 1)
        finally:
            delivery.sending = False

    def tick(self) -> list[asyncio.Task[None]]:
        """Notices new endings and starts sending every delivery that is due; returns the sends."""
        self._notice_endings()
        now = self.store.clock.time()
        started = []
        for delivery in self.pending:
            if delivery.done or delivery.sending or delivery.held or delivery.due > now:
                continue
            delivery.sending = True
            task = asyncio.create_task(self._send(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        self.pending = [d for d in self.pending if not d.done]
        return started

    async def run(self, interval: float = 0.02) -> None:
        while True:
            self.tick()
            await asyncio.sleep(interval)

    async def drain(self) -> None:
        """Waits for the sends under way (tests use this with `tick`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self, wait: float = STOP_WAIT, limit: float = STOP_SEND) -> None:
        """Gives deliveries under way `wait` seconds, then sends what is still waiting, once each and
        at once, within `limit` seconds; reports what could not be sent. Never longer than both."""
        self._notice_endings()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=wait)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        waiting = [d for d in self.pending if not d.done]
        for delivery in waiting:
            delivery.sending = True
        timeout = min(limit, self.settings.timeout)
        sends: list[asyncio.Future[bool]] = [asyncio.ensure_future(self._attempt(d, timeout)) for d in waiting]
        if sends:
            await asyncio.wait(sends, timeout=limit + 0.5)
        for send in sends:
            send.cancel()
        results = await asyncio.gather(*sends, return_exceptions=True)
        for delivery, result in zip(waiting, results, strict=True):
            if result is not True:
                receiver = safe.shown(safe.url(delivery.job.callback_url or ""), 120)
                last = delivery.results[-1] if delivery.results else result
                self.say(
                    f"webhook for {delivery.job.id} ({delivery.status}) to {receiver} "
                    f"not delivered before shutdown: {safe.shown(last, 200)}"
                )
        self.pending = []
        clients, self._clients = list(self._clients.values()), OrderedDict()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

    def _client_for(self, url: str) -> httpx.AsyncClient:
        """The connection pool of one receiver (scheme, host and port): a slow or hanging receiver
        fills only its own. At most `MAX_RECEIVERS` pools are kept, the least recently used closed."""
        import httpx

        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        client = self._clients.get(origin)
        if client is None:
            limits = httpx.Limits(max_connections=PER_RECEIVER, max_keepalive_connections=PER_RECEIVER)
            # no pool timeout: a delivery waits for its receiver's own connections, within its own timeout
            client = self._clients[origin] = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(5.0, pool=None))
            while len(self._clients) > MAX_RECEIVERS:
                _, old = self._clients.popitem(last=False)
                task = asyncio.get_running_loop().create_task(old.aclose())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        self._clients.move_to_end(origin)
        return client
