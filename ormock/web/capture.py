"""Capture on miss (`ormock serve SCENARIO --upstream URL --record-missing DIR`): the scenario answers
every submit one of its rules takes; a submit that only its default would take goes to the upstream
through a `Recorder`, and so do the polls and downloads of the jobs it made there. What went to the
upstream is written to DIR as a recording when the server stops, and the next run loads DIR's
recordings after the scenario's rules (`loader.with_recordings`), so a suite's recordings grow as
the suite does: what a test needed once is never fetched again.

A submit ormock would refuse on its own (a bad body, a bad key) is answered here, never sent on.
"""

from __future__ import annotations

from typing import Any

from .. import safe
from .._asgi import replaying
from ..scenario.submit import Rejected, check
from . import routes
from .app import App
from .auth import bearer_key, problem_with
from .calls import Call
from .errors import Failure, parse_json
from .limits import BodyLimits
from .record import Recorder


class CaptureMisses:
    """An ASGI app in front of ormock's `app` and a `recorder` of the upstream."""

    def __init__(self, app: App, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder
        self.passed = 0  # submits sent to the upstream
        self._bodies = BodyLimits(self._submit)  # bodies capped as the app caps them, before anyone reads them

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(routes.JOBS_PREFIX.rstrip("/")):
            await self.app(scope, receive, send)
            return
        call = Call(scope)
        action = routes.action(call.method, call.path)
        if action in ("poll", "download"):
            mine = routes.job_id_in(call.path) in self.recorder.jobs
            await (self.recorder if mine else self.app)(scope, receive, send)
            return
        if action != "submit":
            await self.app(scope, receive, send)
            return
        await self._bodies(scope, receive, send)

    async def _submit(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A submit whose body `BodyLimits` has read: to the scenario, or upstream."""
        call = Call(scope)
        body = (await receive()).get("body", b"")
        replay = replaying(body, receive)
        if self._missed(call, body):
            self.passed += 1
            await self.recorder(scope, replay, send)
        else:
            await self.app(scope, replay, send)

    def _missed(self, call: Call, body: bytes) -> bool:
        """Whether this submit is one no rule of the scenario takes (only its default would), and
        ormock would not refuse it on its own."""
        store = self.app.store
        scenario = store.scenario_for(call.test_id)
        if problem_with(bearer_key(call.header("authorization") or ""), scenario.api_keys) is not None:
            return False
        try:
            sub = check(parse_json(body), scenario.models)
        except (Failure, Rejected):
            return False
        pick, _ = store.pick(sub, call.test_id)
        missed = pick.rule is scenario.default
        if missed:
            self.app.say(f"no rule took the submit of {safe.shown(sub.prompt, 60)!r}: passed to the upstream")
        return missed
