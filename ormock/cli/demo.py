"""`ormock demo`: every rule of a scenario, driven by a careful reference client, in one table.

The client is a readable example of a correct poller: it honours `Retry-After`, backs off on 5xx
answers and broken connections, stops at a terminal status, surfaces `error` verbatim, and
downloads with the key, checking it got every byte. Each rule runs under its own test id, so the
rules' counters never meet.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from ..report.checks import CHECKS, RANK
from ..scenario import prompts
from ..scenario.loader import TERMINAL, Rule, Scenario
from ..scenario.submit import Rejected, check
from ..simulator import Simulator

POLL_EVERY = 10.0  # scenario seconds, as the service documents (10-30 s)
ATTEMPTS = 5


@dataclass
class Story:
    """What the client saw for one rule, in order, and how it ended."""

    rule: str
    events: list[str] = field(default_factory=list)
    ending: str = ""
    good: bool = False
    told: Callable[[str], None] | None = field(default=None, repr=False)  # shown each event as it comes

    def refused(self, what: str, response: httpx.Response, ending: str) -> Story:
        """The client stops at an error answer: it says so, with the error verbatim."""
        self.saw(f"{what} {response.status_code}")
        self.ending = ending + _error(response)
        return self

    def saw(self, event: str) -> None:
        """Adds an event, folding repeats: `in_progress x3`."""
        if self.told is not None:
            self.told(event)
        if self.events:
            last = self.events[-1]
            base, _, count = last.partition(" x")
            if base == event:
                self.events[-1] = f"{event} x{int(count or 1) + 1}"
                return
        self.events.append(event)


def request_for(rule: Rule, scenario: Scenario) -> dict[str, Any] | None:
    """A submit body that `rule` takes (and the catalogue accepts), or None if none can be made."""
    match = rule.match
    prompt = match.prompt or f"demo of {rule.name}"
    if match.prompt_regex is not None:
        candidates = [rule.name, prompt, *re.findall(r"[A-Za-z]{3,}", match.prompt_regex)]
        prompt = next((c for c in candidates if prompts.search(match.prompt_regex, c)), "")
        if not prompt:
            return None
    body: dict[str, Any] = {"prompt": prompt, **match.parameters()}
    image = {"url": "https://example.com/frame.png"}
    if match.input == "frame_images":
        body["frame_images"] = [{"type": "image_url", "image_url": image, "frame_type": "first_frame"}]
    elif match.input == "input_references":
        body["input_references"] = [{"type": "image_url", "image_url": image}]
    preferred = ["bytedance/seedance-2.0"] if "bytedance/seedance-2.0" in scenario.models else []
    for model in match.models or [*preferred, *scenario.models]:
        try:
            if scenario.pick(check({**body, "model": model}, scenario.models)) is rule:
                return {**body, "model": model}
        except Rejected:
            continue
    return None


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:80]


def _retry_after(response: httpx.Response) -> float | None:
    """The wait an answer asks for, in seconds: `retry-after-ms` where given, else `Retry-After`."""
    for name, scale in (("retry-after-ms", 1000.0), ("Retry-After", 1.0)):
        value = response.headers.get(name)
        if value is not None:
            try:
                return float(value) / scale
            except ValueError:
                continue
    return None


class CarefulClient:
    """Submits, polls and downloads the way a well-behaved client of the service should."""

    def __init__(self, base_url: str, speed: float, test_id: str) -> None:
        self.base_url = base_url
        self.speed = speed
        headers = {"Authorization": "Bearer sk-or-demo", "X-Test-Id": test_id}
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=httpx.Timeout(2.0))

    async def pause(self, scenario_seconds: float) -> None:
        await asyncio.sleep(scenario_seconds / self.speed)

    def followed(self, link: str) -> str:
        """A link from the service, resolved as a browser would: it may be a path (`/api/v1/...`,
        the API reference's form) or a whole URL."""
        return urljoin(str(self.http.base_url), link)

    async def call(self, story: Story, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One request, retried on 429/5xx (honouring Retry-After) and broken connections."""
        backoff = 1.0
        for _ in range(ATTEMPTS):
            try:
                response = await self.http.request(method, url, **kwargs)
                if response.status_code == 429 or response.status_code >= 500:
                    told = _retry_after(response)
                    if told is None:
                        story.saw(f"{what} {response.status_code}, retry")
                        await self.pause(backoff)
                    else:  # the server's word, in our own (real) seconds
                        story.saw(f"{what} {response.status_code}, retry after {told * 1000:g} ms")
                        await asyncio.sleep(told)
                    backoff *= 2
                    continue
                return response
            # httpx lets httpcore's own error out when a connection drops while a response is closed
            except (httpx.TransportError, httpx.DecodingError, httpcore.ProtocolError, httpcore.NetworkError) as exc:
                story.saw(f"{what}: {type(exc).__name__}, retry")
                await self.pause(backoff)
                backoff *= 2
        story.ending = f"gave up on {what} after {ATTEMPTS} attempts"
        return None

    async def run(self, story: Story, body: dict[str, Any]) -> Story:
        submitted = await self.call(story, "submit", "POST", "/videos", json=body)
        if submitted is None:
            return story
        if submitted.status_code != 202:
            return story.refused("submit", submitted, "refused: ")
        job = submitted.json()
        story.saw(f"submit 202 {job['status']}")
        while True:
            await self.pause(POLL_EVERY)
            polled = await self.call(story, "poll", "GET", self.followed(job["polling_url"]))
            if polled is None:
                return story
            if polled.status_code != 200:
                return story.refused("poll", polled, f"stopped: {polled.status_code} ")
            state = polled.json()
            story.saw(state["status"])
            if state["status"] in TERMINAL:
                break
        if state["status"] != "completed":
            story.ending = f"{state['status']}: {state.get('error', '')}"
            story.good = True
            return story
        return await self.download(story, state)

    async def download(self, story: Story, state: dict[str, Any]) -> Story:
        for attempt in range(ATTEMPTS):
            response = await self.call(story, "download", "GET", self.followed(state["unsigned_urls"][0]))
            if response is None:
                return story
            if response.status_code != 200:
                return story.refused("download", response, f"completed, download refused: {response.status_code} ")
            size = int(response.headers.get("content-length", -1))
            if size == len(response.content):
                megabytes = len(response.content) / 1024 / 1024
                story.saw(f"download {megabytes:.1f} MB")
                cost = state.get("usage", {}).get("cost")
                story.ending = "completed, downloaded" + (f", cost ${cost:.2f}" if cost is not None else "")
                story.good = True
                return story
            story.saw(f"download short ({len(response.content)} of {size} bytes), retry {attempt + 1}")
        story.ending = "completed, but every download came up short"
        return story


async def _drive(sim: Simulator, scenario: Scenario, speed: float, progress: Progress | None = None) -> list[Story]:
    def follow(story: Story) -> Story:
        """Shows the story's events as they come, a line per rule, while the client runs."""
        if progress is not None:
            task = progress.add_task(story.rule, total=None, event="starting")
            story.told = lambda event: progress.update(task, event=event)
        return story

    async def one(rule: Rule, number: int) -> Story:
        story = follow(Story(rule.name))
        body = request_for(rule, scenario)
        if body is None:
            story.ending = "no request could be made that this rule takes"
            return story
        client = CarefulClient(sim.base_url, speed, f"demo-{number}")
        try:
            return await client.run(story, body)
        finally:
            await client.http.aclose()

    async def catalogue_refusal() -> Story:
        story = follow(Story("(catalogue) out-of-set duration"))
        model = next((m for m in scenario.models.values() if m.supported_durations), None)
        if model is None or model.supported_durations is None:
            story.ending = "no model with a duration set"
            return story
        body = {"model": model.id, "prompt": "too long", "duration": max(model.supported_durations) + 5}
        client = CarefulClient(sim.base_url, speed, "demo-catalogue")
        try:
            return await client.run(story, body)
        finally:
            await client.http.aclose()

    rules = [*scenario.rules, scenario.default]
    return list(await asyncio.gather(*(one(rule, n) for n, rule in enumerate(rules)), catalogue_refusal()))


def careless_report() -> dict[str, Any]:
    """The client report of the careless client (`careless`), run against its own scenario."""
    from ..scenario.loader import parse
    from .careless import SCENARIO, accepting_receiver, careless

    with accepting_receiver() as hooks, Simulator(parse(SCENARIO), clock="manual", seed=1) as sim:
        careless(sim.base_url, sim.advance, hooks)
        for _ in range(200):  # the forged delivery is journalled once the receiver has answered
            if any(r["kind"] == "webhook" for r in sim.requests()):
                break
            time.sleep(0.01)
        return sim.report()


def _report_table(careful: dict[str, Any], careless: dict[str, Any]) -> Table:
    """Each check's verdict for the careful reference client (the worst over the rules) next to the
    careless client's, with the careless one's first evidence: what the report catches."""
    worst: dict[str, str] = {}
    for client in careful["clients"]:
        for verdict in client["checks"]:
            if RANK[verdict["verdict"]] > RANK[worst.get(verdict["check"], "pass")]:
                worst[verdict["check"]] = verdict["verdict"]
    bad = {
        verdict["check"]: verdict
        for client in careless["clients"]
        for verdict in client["checks"]
        if client["client"]["key"] != "(no key)"
    }
    table = Table(title="the client report (ormock docs client-report)", show_lines=False, expand=True)
    table.add_column("check", style="bold", ratio=2)
    table.add_column("careful client", ratio=1)
    table.add_column("careless client", ratio=1)
    table.add_column("what it caught in the careless one", ratio=6)
    styles = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    for name in CHECKS:
        mine, theirs = worst.get(name, "pass"), bad.get(name, {"verdict": "pass", "evidence": []})
        evidence = theirs["evidence"][0]["summary"] if theirs["evidence"] else ""
        table.add_row(
            name,
            Text(mine, style=styles[mine]),
            Text(theirs["verdict"], style=styles[theirs["verdict"]]),
            Text(evidence),
        )
    return table


def run_demo(scenario: Scenario, speed: float, console: Console, shown: str | None = None) -> list[Story]:
    """Starts ormock on `scenario` (named `shown` in the heading: a built-in's name, not its path
    inside site-packages), runs the reference client through every rule, prints the tables."""
    with Simulator(scenario, speed=speed, seed=1) as sim:
        console.print(f"ormock demo: {shown or scenario.path or 'scenario'} at {sim.base_url}, speed {speed:g}x")
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<28.28}", markup=False),
            TextColumn("{task.fields[event]}", markup=False, style="dim"),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            stories = asyncio.run(_drive(sim, scenario, speed, progress))
        graded = sim.report()
    table = Table(title="what a careful client sees, rule by rule", show_lines=True, expand=True)
    table.add_column("rule", style="bold", ratio=2)
    table.add_column("the client saw, in order", ratio=5)
    table.add_column("how it ended", ratio=3)
    for story in stories:
        ending = Text(story.ending, style="green" if story.good else "yellow")
        table.add_row(story.rule, " -> ".join(story.events), ending)
    console.print(table)
    console.print(_report_table(graded, careless_report()))
    return stories
