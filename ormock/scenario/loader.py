"""Scenarios: the TOML file that says how each submitted job behaves, parsed and checked once.

`load(path)` returns a `Scenario` of plain typed objects, or raises `ScenarioError` listing every
problem found, each placed at the line and column of the key it is about. The file's shape is in
`schema`, whole-file checks in `checks`; see docs/scenarios.md for the format.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .catalogue import VideoModel
from .checks import check_file, content_file
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
    "Problem",
    "Respond",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Step",
    "Timeline",
    "WebhookFaults",
    "Webhooks",
    "load",
    "parse",
    "parse_seconds",
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


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: rules in order, the default, the accepted keys and the catalogue."""

    path: Path | None
    rules: tuple[Rule, ...]
    default: Rule
    api_keys: frozenset[str] | None
    models: dict[str, VideoModel]
    timelines: dict[str, Timeline]  # by rule name, including "default"
    warnings: tuple[Problem, ...] = ()
    webhooks: Webhooks = field(default_factory=Webhooks)
    server: Server = field(default_factory=Server)
    faults: tuple[Fault, ...] = ()  # server-wide
    report: Report = field(default_factory=Report)
    content_dirs: tuple[Path, ...] = ()  # folders besides the scenario's own that content may come from
    prompts: PromptIndex = field(default_factory=lambda: PromptIndex(()))  # the rules' prompt conditions

    def pick(self, sub: Submission) -> Rule:
        """The first rule that takes `sub`, else the default: its prompt is read once whatever the
        number of rules (`prompts.PromptIndex`)."""
        passing = self.prompts.passing(sub.prompt)
        for i, rule in enumerate(self.rules):
            if i in passing and rule.match.takes(sub):
                return rule
        return self.default

    def timeline(self, rule: Rule) -> Timeline:
        return self.timelines[rule.name]

    def content_path(self, step: Step) -> Path | None:
        """The file `step` serves, if any, checked again now (ValueError: it may no longer be
        served; see `checks.content_file`)."""
        if step.content is None:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        return content_file(step.content, base, self.content_dirs)


def parse(text: str, path: Path | None = None, content_dirs: tuple[Path, ...] = ()) -> Scenario:
    """A scenario from TOML text; `path` names it in errors, and its folder (with `content_dirs`)
    is where its content files may be."""
    source = str(path) if path is not None else "<scenario>"
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(source, [Problem((), "not valid TOML: arrays or tables nested too deeply")]) from None
    except tomllib.TOMLDecodeError as exc:
        place = _TOML_PLACE.search(str(exc))
        line, column = (int(place.group(1)), int(place.group(2))) if place else (0, 0)
        message = _TOML_PLACE.sub("", str(exc)).strip()
        raise ScenarioError(source, [Problem((), f"not valid TOML: {message}", line=line, column=column)]) from None
    try:
        file = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, placed(from_validation(exc, _TABLES), text)) from None
    problems, models = check_file(file, path, content_dirs)
    problems = placed(problems, text)
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(source, problems)

    default = file.default
    if default.timeline is None:
        default = default.model_copy(update={"timeline": default_timeline()})
    timelines = {"default": Timeline.of(default.timeline or [])}
    for rule in file.rule:
        timelines[rule.name] = Timeline.of(rule.timeline or default.timeline or [])
    return Scenario(
        path=path,
        rules=tuple(file.rule),
        default=default,
        api_keys=frozenset(file.server.api_keys) if file.server.api_keys is not None else None,
        models=models,
        timelines=timelines,
        warnings=tuple(problems),
        webhooks=file.webhooks,
        server=file.server,
        faults=tuple(file.fault),
        report=file.report,
        content_dirs=content_dirs,
        prompts=PromptIndex([rule.match for rule in file.rule]),
    )


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
