"""Scenarios: the TOML file that says how each submitted job behaves, parsed and checked once.

`load(path)` returns a `Scenario` of plain typed objects, or raises `ScenarioError` listing every
problem found, each placed at the line and column of the key it is about. The file's shape is in
`schema`, whole-file checks in `checks`; see docs/scenarios.md for the format.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from .catalogue import VideoModel
from .checks import check_file, check_rules, check_what_is_sound, content_file
from .problems import Problem, ScenarioError, from_validation, placed
from .prompts import PromptIndex
from .schema import (
    DEFAULT_ERRORS,
    STATUSES,
    TERMINAL,
    Fault,
    Match,
    RateLimit,
    Report,
    Respond,
    Rule,
    ScenarioFile,
    Server,
    Step,
    WebhookFaults,
    Webhooks,
    default_timeline,
    parse_seconds,
)
from .submit import Submission

__all__ = [
    "DEFAULT_ERRORS",
    "STATUSES",
    "TERMINAL",
    "Fault",
    "Pick",
    "Problem",
    "Respond",
    "Rule",
    "RuleSet",
    "Scenario",
    "ScenarioError",
    "Step",
    "Timeline",
    "WebhookFaults",
    "Webhooks",
    "load",
    "parse",
    "parse_rules",
    "parse_seconds",
    "with_recordings",
]

MAX_BYTES = 5 * 1024 * 1024
_TABLES: dict[str, type[BaseModel]] = {
    "": ScenarioFile,
    "server": Server,
    "default": Rule,
    "rule": Rule,
    "match": Match,
    "timeline": Step,
    "submit": Respond,
    "download": Respond,
    "webhooks": Webhooks,
    "webhook": WebhookFaults,
    "fault": Fault,
    "faults": Fault,
    "rate_limit": RateLimit,
    "report": Report,
}
# tomllib's words where they puzzle: an unclosed string is "Illegal character '\n'" at the line's end
_TOML_SAID = {
    "Illegal character '\\n'": 'a string is not closed before the end of its line (a closing " is missing)',
    "Unclosed array": "an array is not closed (a ] is missing)",
    "Unclosed inline table": "an inline table is not closed (a } is missing)",
}
NONE_USED: Mapping[str, int] = MappingProxyType({})  # no rule has taken a submit yet
_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Timeline:
    """A timeline ready to run: its steps and, for each, the status a poll reports during it."""

    steps: tuple[Step, ...]
    shown: tuple[str, ...]

    @classmethod
    def of(cls, steps: list[Step]) -> Timeline:
        shown, current = [], "pending"
        for step in steps:
            current = step.status or current
            shown.append(current)
        return cls(tuple(steps), tuple(shown))


class Pick(NamedTuple):
    """The rule that takes a submit, and the timeline its job will follow."""

    rule: Rule
    timeline: Timeline


@dataclass(frozen=True)
class RuleSet:
    """Rules in the order they are tried, each with its timeline, and their prompt conditions found
    for all of them at once (`prompts.PromptIndex`): a scenario file's, or those a test added at
    runtime."""

    rules: tuple[Rule, ...] = ()
    timelines: tuple[Timeline, ...] = ()
    prompts: PromptIndex = field(default_factory=lambda: PromptIndex(()))

    @classmethod
    def of(cls, rules: Sequence[Rule], fallback: list[Step]) -> RuleSet:
        """`rules`, a rule without a timeline following `fallback` (the default's)."""
        timelines = tuple(Timeline.of(rule.timeline or fallback) for rule in rules)
        return cls(tuple(rules), timelines, PromptIndex([rule.match for rule in rules]))

    def first(self, sub: Submission, used: Mapping[str, int] = NONE_USED) -> Pick | None:
        """The first rule that takes `sub`, its prompt read once whatever the number of rules. `used`
        counts the submits each rule (by name) has taken: a rule with `uses` stands aside once it has
        taken that many."""
        passing = self.prompts.passing(sub.prompt) if self.rules else set()
        for i, rule in enumerate(self.rules):
            if i in passing and rule.match.takes(sub) and (rule.uses is None or used.get(rule.name, 0) < rule.uses):
                return Pick(rule, self.timelines[i])
        return None

    def __len__(self) -> int:
        return len(self.rules)

    def then(self, later: RuleSet) -> RuleSet:
        """These rules, then `later`'s."""
        rules, timelines = self.rules + later.rules, self.timelines + later.timelines
        return RuleSet(rules, timelines, PromptIndex([rule.match for rule in rules]))

    def without(self, names: Collection[str]) -> RuleSet:
        """These rules but those named."""
        kept = [i for i, rule in enumerate(self.rules) if rule.name not in names]
        rules = tuple(self.rules[i] for i in kept)
        return RuleSet(rules, tuple(self.timelines[i] for i in kept), PromptIndex([rule.match for rule in rules]))


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: rules in order, the default, the accepted keys and the catalogue."""

    path: Path | None
    ruleset: RuleSet
    default: Rule
    api_keys: frozenset[str] | None
    models: dict[str, VideoModel]
    warnings: tuple[Problem, ...] = ()
    webhooks: Webhooks = field(default_factory=Webhooks)
    server: Server = field(default_factory=Server)
    faults: tuple[Fault, ...] = ()  # server-wide
    report: Report = field(default_factory=Report)
    content_dirs: tuple[Path, ...] = ()  # folders besides the scenario's own that content may come from
    folder: Path | None = None  # where its relative paths start (content files); None: its file's folder
    text: str = ""  # the TOML it was read from
    name: str = "built-in default"  # what it is called where rules say where they come from: its file, or who gave it

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset.rules

    @property
    def base(self) -> Path:
        """The folder its relative paths start at."""
        if self.folder is not None:
            return self.folder
        return self.path.parent if self.path is not None else Path.cwd()

    def find(self, sub: Submission, used: Mapping[str, int] = NONE_USED) -> Pick:
        """The first of its rules that takes `sub`, else the default (see `RuleSet.first`)."""
        found = self.ruleset.first(sub, used)
        return found if found is not None else self.fallback

    @cached_property
    def fallback(self) -> Pick:
        """The default rule, with its timeline."""
        return Pick(self.default, Timeline.of(self.default.timeline or []))

    def pick(self, sub: Submission) -> Rule:
        """The rule that takes `sub` (see `find`)."""
        return self.find(sub).rule

    def content_path(self, step: Step) -> Path | None:
        """The file `step` serves, if any, checked again now (ValueError: it may no longer be
        served; see `checks.content_file`)."""
        if step.content is None:
            return None
        return content_file(step.content, self.base, self.content_dirs)


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(source, [Problem((), "not valid TOML: arrays or tables nested too deeply")]) from None
    except tomllib.TOMLDecodeError as exc:
        place = _TOML_PLACE.search(str(exc))
        line, column = (int(place.group(1)), int(place.group(2))) if place else (0, 0)
        message = _TOML_PLACE.sub("", str(exc)).strip()
        said = next((key for key in _TOML_SAID if message.startswith(key)), None)
        message = _TOML_SAID[said] + message[len(said) :] if said else message
        raise ScenarioError(source, [Problem((), f"not valid TOML: {message}", line=line, column=column)]) from None


def _validated(
    data: Any,
    text: str,
    source: str,
    folder: Path | None = None,
    content_dirs: tuple[Path, ...] = (),
    confined: bool = False,
) -> ScenarioFile:
    """The file's tables, or ScenarioError with every problem: the tables' own and, with `folder`,
    those the whole-file checks find in the tables that are sound (one pass tells them all)."""
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        problems = from_validation(exc, _TABLES)
        if folder is not None:
            problems += check_what_is_sound(data, folder, content_dirs, confined)
        raise ScenarioError(source, placed(problems, text)) from None


def parse(
    text: str,
    path: Path | None = None,
    content_dirs: tuple[Path, ...] = (),
    *,
    folder: Path | None = None,
    source: str | None = None,
    confined: bool = False,
) -> Scenario:
    """A scenario from TOML text; `path` (or `source`) names it in errors, and its folder (or
    `folder`), with `content_dirs`, is where its content files and catalogue may be (`confined`:
    its catalogue only there too, for a scenario that came over the network)."""
    name = source or (str(path) if path is not None else "built-in default")
    source = source or (str(path) if path is not None else "<scenario>")
    base = folder or (path.parent if path is not None else Path.cwd())
    file = _validated(_read_toml(text, source), text, source, base, content_dirs, confined)
    problems, models = check_file(file, base, content_dirs, confined)
    problems = placed(problems, text)
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(source, problems)

    default = file.default
    if default.timeline is None:
        default = default.model_copy(update={"timeline": default_timeline()})
    return Scenario(
        path=path,
        ruleset=RuleSet.of(file.rule, default.timeline or []),
        default=default,
        api_keys=frozenset(file.server.api_keys) if file.server.api_keys is not None else None,
        models=models,
        warnings=tuple(problems),
        webhooks=file.webhooks,
        server=file.server,
        faults=tuple(file.fault),
        report=file.report,
        content_dirs=content_dirs,
        folder=folder,
        text=text,
        name=name,
    )


def parse_rules(
    body: str | dict[str, Any], scenario: Scenario, source: str = "<rules>"
) -> tuple[RuleSet, list[Problem]]:
    """`[[rule]]` tables to add to `scenario` at runtime, checked as `parse` checks a file's: from
    TOML text, or from data shaped as its tables (`{"rule": [...]}`). Their warnings come back with
    them; ScenarioError lists every problem when any is an error."""
    text = body if isinstance(body, str) else ""
    data = _read_toml(body, source) if isinstance(body, str) else body
    others = [key for key in data if key != "rule"]
    if others:
        message = "only [[rule]] tables can be added at runtime; a whole scenario goes to PUT /__ormock/scenario"
        raise ScenarioError(source, placed([Problem((others[0],), message)], text))
    if not data.get("rule"):
        raise ScenarioError(source, [Problem(("rule",), "no rules to add: give one or more [[rule]] tables")])
    file = _validated({"rule": data["rule"]}, text, source)
    problems = placed(check_rules(file.rule, scenario.models, scenario.base, scenario.content_dirs), text)
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(source, problems)
    return RuleSet.of(file.rule, scenario.default.timeline or []), problems


def with_recordings(scenario: Scenario, recordings: Sequence[Scenario]) -> Scenario:
    """`scenario` with the rules of `recordings` (scenarios `ormock record` wrote) tried after its
    own and before its default: each named after its file, its content files read from where its
    file is."""
    added = RuleSet()
    folders = list(scenario.content_dirs)
    for recording in recordings:
        source = recording.path.stem if recording.path is not None else recording.name
        rules = [_recorded(rule, source, recording.base) for rule in recording.rules]
        added = added.then(RuleSet.of(rules, recording.default.timeline or []))
        folders.append(recording.base)
    return dataclasses.replace(
        scenario, ruleset=scenario.ruleset.then(added), content_dirs=tuple(dict.fromkeys(folders))
    )


def _recorded(rule: Rule, source: str, folder: Path) -> Rule:
    steps = [
        step.model_copy(update={"content": str(folder / step.content)}) if step.content is not None else step
        for step in rule.timeline or []
    ]
    return rule.model_copy(update={"name": f"{source}: {rule.name}", "timeline": steps or rule.timeline})


def load(path: str | Path, content_dirs: tuple[Path, ...] = ()) -> Scenario:
    """The scenario in the TOML file at `path` (see `parse` for `content_dirs`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ScenarioError(str(path), [Problem((), "is a directory, not a scenario file")])
        if size > MAX_BYTES:
            message = (
                f"too large for a scenario ({size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB)"
            )
            raise ScenarioError(str(path), [Problem((), message)])
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(path), [Problem((), f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(str(path), [Problem((), "not a text file (TOML must be UTF-8)")]) from None
    if "\x00" in text:
        raise ScenarioError(str(path), [Problem((), "not a text file (it holds NUL bytes)")])
    return parse(text, path, content_dirs)
