"""The four endpoints of the video API as plain functions: an `Exchange` (the request, read once as
plain values, and what the journal will say of it) in, an `Answer` (JSON) or a `Streamed` body out.
Errors leave as `Failure`, which `app` renders as the service's envelope.

There is one path for every request: polls, the hot path, go through the same functions as
everything else, and nothing here imports a web framework (the control API's Quart is loaded only
when a control request comes; see `app`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from .. import safe
from ..scenario.loader import Fault, Rule, Scenario
from ..scenario.submit import Rejected, callback_problem, check
from ..service import wire
from ..service.credits import Credits
from ..service.faults import HANG_SECONDS, Faults
from ..service.jobs import Job
from ..service.store import JobStore
from . import routes
from .auth import bearer_key, problem_with
from .calls import Answer, Call, PollAnswers, error_answer, rate_limit_headers
from .errors import Failure, parse_json
from .mp4 import video
from .stream import Content, Streamed, dropping

JOURNAL_BODY_LIMIT = 64 * 1024
OFF_LOOP_PROMPT = 256 * 1024  # characters of a prompt past which its rule is picked in a worker thread
LISTINGS = 64  # model listings kept made (one per catalogue in use: test ids may have their own)


class Exchange:
    """One API request being answered: the call, when it came, its body (as far as it was read; see
    `limits`), and what its journal entry will say. Handlers fill the last in as they learn it."""

    __slots__ = (
        "arrived",
        "authorised",
        "body",
        "call",
        "complete",
        "error",
        "fault",
        "job_id",
        "key",
        "note",
        "parsed",
        "receive",
        "retry_after",
        "rule",
        "scenario",
        "scripted",
        "seen",
        "sent",
        "started",
        "status",
        "test_id",
        "what",
    )

    def __init__(self, call: Call, body: bytes = b"", started: float | None = None) -> None:
        self.call = call
        self.body = body
        self.started = time.perf_counter() if started is None else started
        self.parsed: Any = None
        # Every journal entry about a job carries its id, whatever answers it (a fault, a 401, a 404).
        self.what, self.job_id = routes.route(call.method, call.path)
        self.test_id = call.test_id
        self.rule: Rule | None = None
        self.error: str | None = None  # the error message answered
        self.fault: str | None = None  # the injected fault that shaped the answer
        self.scripted: str | None = None  # the rule whose scripted answer this is
        self.seen: str | None = None  # a poll's: the job status the answer carried
        self.authorised = False
        self.retry_after: float | None = None
        self.key = bearer_key(call.header("authorization") or "") or ""  # "": none usable
        self.receive: Any = None  # the request's ASGI receive, for a hang to see the client leave
        self.arrived: float | None = None  # scenario time it came (its entry's time, however long it took)
        self.status = 0  # the status answered; 0 while none has been (or never will be)
        self.sent: int | None = None  # a streamed answer's: the bytes of the body sent
        self.complete: bool | None = None  # a streamed answer's: whether the whole body went out
        self.note: str | None = None  # a control request's: what it changed
        self.scenario: Scenario | None = None  # the scenario its test id follows, once looked up

    def journal_body(self) -> Any:
        """What the journal keeps of the body: its JSON (parsed once, by the handler that read it)
        cut to a bounded size, else the start of its text."""
        if self.parsed is not None:
            return safe.pruned(self.parsed)
        raw = self.body
        if not raw:
            return None
        if len(raw) <= JOURNAL_BODY_LIMIT:
            try:
                return safe.pruned(json.loads(raw))
            except (ValueError, RecursionError):
                pass
        return safe.pruned(raw[:JOURNAL_BODY_LIMIT].decode("utf-8", "replace"))

    def answered(self, answer: Answer) -> Answer:
        """`answer`, with what the journal says of it noted."""
        self.error, self.scripted = answer.error, answer.scripted or self.scripted
        self.seen = answer.seen
        self.retry_after = answer.wait
        return answer


class ClientGone(Exception):
    """The client went away while its request was held (a hang): nothing is left to answer."""


async def _hold(receive: Any, seconds: float) -> None:
    """Waits `seconds`, or until the client has gone (then raises `ClientGone`)."""

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(gone(), seconds)
    except TimeoutError:
        return
    raise ClientGone


class Api:
    """The endpoints over one store. The app journals every request once it has ended (see
    `App.record`); the handlers only note on the `Exchange` what the entry will say."""

    def __init__(self, store: JobStore, faults: Faults, credits: Credits) -> None:
        self.store = store
        self.faults = faults
        self.credits = credits
        self.poll_answers = PollAnswers(store, faults)
        self.listing: dict[int, bytes] = {}  # the models body, by catalogue (it changes on --watch)
        self.building = asyncio.Semaphore(2)  # generated videos being built at once

    def failure(self, ex: Exchange, exc: Failure) -> Answer:
        wait = self.store.clock.client_seconds(exc.retry_after) if exc.retry_after is not None else None
        headers = exc.headers
        if exc.code == 429 and headers is None:  # a scripted 429 (a rule's, a fault's)
            headers = rate_limit_headers(self.store, ex.test_id, wait)
        return ex.answered(error_answer(exc.code, exc.message, wait, headers=headers))

    def scenario(self, ex: Exchange) -> Scenario:
        """The scenario the request's test id follows (looked up once per request)."""
        if ex.scenario is None:
            ex.scenario = self.store.scenario_for(ex.test_id)
        return ex.scenario

    def authorize(self, ex: Exchange) -> None:
        scenario = self.scenario(ex)
        problem = problem_with(ex.key or None, scenario.api_keys)
        if problem is not None:
            raise Failure(401, problem)
        ex.authorised = True
        if scenario.server.rate_limit:
            limited = self.faults.rate_limited(ex.key, ex.test_id)
            if limited is not None:
                ex.fault = "rate limit"
                wait = self.store.clock.client_seconds(limited.wait)
                headers = rate_limit_headers(self.store, ex.test_id, wait, limited)
                raise Failure(429, "Rate limit exceeded", limited.wait, headers=headers)

    async def inject(self, ex: Exchange, endpoint: str, rule: Rule | None = None) -> Fault | None:
        """Carries out the fault that applies here, if any. Errors are raised, delays waited out
        and hangs held; a fault that shapes the response itself (reset, truncate, slow) is
        returned for the handler to apply."""
        if not (rule.faults if rule is not None else self.scenario(ex).faults):
            return None
        picked = self.faults.pick(endpoint, ex.test_id, rule)
        if picked is None:
            return None
        fault, ex.fault = picked
        if fault.respond is not None:
            raise Failure.of(fault)
        if fault.latency is not None:
            await asyncio.sleep(self.faults.jitter(fault, ex.test_id))
            return None
        if fault.hang:
            await _hold(ex.receive, HANG_SECONDS)  # journalled when it ends: the client gone, or 504
            raise Failure(504, "Gateway timeout")
        return fault

    def find(self, ex: Exchange, job_id: str) -> Job:
        job = self.store.get(job_id, ex.test_id)
        if job is None:
            raise Failure(404, f"Video generation job {job_id} not found")
        ex.job_id = job.id
        ex.rule = job.rule
        return job

    async def submit(self, ex: Exchange) -> Answer | Streamed:
        self.authorize(ex)  # first: a namespace comes into being (for fault counts) only for a client with a key
        if await self.inject(ex, "submit") is not None:
            return dropping("application/json", 256)
        body = ex.parsed = parse_json(ex.body)
        store, test_id = self.store, ex.test_id
        scenario = self.scenario(ex)
        try:
            sub = check(body, scenario.models)
        except Rejected as exc:
            raise Failure(400, exc.message) from None
        if sub.callback_url is not None:
            problem = callback_problem(sub.callback_url, scenario.webhooks.require_https)
            if problem is not None:
                raise Failure(400, problem)
        picked = None
        if len(sub.prompt) > OFF_LOOP_PROMPT:  # RE2 lets go of the GIL: other clients go on meanwhile
            picked = await asyncio.to_thread(store.pick, sub, test_id)
        choice = store.choose(sub, test_id, picked)
        rule = ex.rule = choice.rule
        if await self.inject(ex, "submit", rule) is not None:
            return dropping("application/json", 256)
        if choice.refusal is not None:
            ex.scripted = rule.name
            raise Failure.of(choice.refusal)
        cost = store.cost_of(sub, choice, test_id)
        account = self.credits.admits(test_id, ex.key, cost)
        if account is False:
            ex.fault = "credits"
            raise Failure(402)
        base = ex.call.base
        job = store.create(sub, choice, test_id, base)
        if account is not True:
            self.credits.hold(job, account, cost)
        ex.job_id = job.id
        return Answer(202, wire.dumps(wire.submitted(job, base)))

    async def models(self, ex: Exchange) -> Answer | Streamed:
        if await self.inject(ex, "models") is not None:
            return dropping("application/json", 4096)
        scenario = self.scenario(ex)
        key = id(scenario.models)
        if key not in self.listing:
            if len(self.listing) >= LISTINGS:
                self.listing.clear()
            self.listing[key] = wire.dumps(wire.models(scenario.models.values()))
        return Answer(200, self.listing[key])

    async def poll(self, ex: Exchange) -> Answer | Streamed:
        self.authorize(ex)
        if await self.inject(ex, "poll") is not None:
            return dropping("application/json", 512)
        job = self.find(ex, ex.job_id or "")
        if await self.inject(ex, "poll", job.rule) is not None:
            return dropping("application/json", 512)
        return ex.answered(self.poll_answers.answer(job, self.store.poll(job), ex.call, self.scenario(ex)))

    async def download(self, ex: Exchange) -> Answer | Streamed:
        query, store = ex.call.query, self.store
        signature = query.get("signature")
        if signature is None:
            self.authorize(ex)
        server_fault = await self.inject(ex, "download")
        job = self.find(ex, ex.job_id or "")
        raw_index = query.get("index", "0")
        if raw_index == "null":  # the spec lets index be null: the default, 0
            raw_index = "0"
        index = safe.whole_number(raw_index)
        if index is None:
            raise Failure(400, f"index must be a non-negative integer, not '{safe.shown(raw_index, 40)}'")
        if signature is not None and not self.faults.signature_ok(job, index, query.get("expires", ""), signature):
            raise Failure(403, "This download link is not valid")
        fault = await self.inject(ex, "download", job.rule) or server_fault
        view = store.peek(job)
        if view.status != "completed":
            raise Failure(409, f"Video generation job {job.id} is {view.status}; its content is not available")
        if index >= view.step.outputs:
            raise Failure(404, f"Video generation job {job.id} has no output {index} (it has {view.step.outputs})")
        refusal = store.download(job)
        if refusal is not None:
            ex.scripted = job.rule.name
            raise Failure.of(refusal)
        scenario = self.scenario(ex)  # the job's: it was found in the request's test id
        gone = job.gone_at(view, scenario.server.output_ttl)
        if gone is not None and store.clock.time() >= gone:
            raise Failure(410, f"The output of video generation job {job.id} is no longer available")
        try:
            path = scenario.content_path(view.step)
        except ValueError:  # the file changed since the scenario was loaded: it is served no more
            raise Failure(500, "The content file of this job can no longer be served") from None
        if path is not None:
            content = Content(path=path)
        else:
            # built off the event loop, one or two at a time: a large one never stalls other clients
            async with self.building:
                made = await asyncio.to_thread(video, job.output.width, job.output.height, job.output.duration or 5)
            content = Content(made)

        def count_whole(sent: int, complete: bool) -> None:
            if complete:
                job.downloaded += 1

        return content.answer(fault, count_whole)
