"""Scenarios: the TOML file that says how each submitted job behaves, parsed and checked once.

`load(path)` returns a `Scenario` of plain typed objects or raises `ScenarioError` listing every
problem found, each with the key it is about. Nothing here runs at request time but `Rule.matches`.
See docs/scenarios.md for the format.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import catalogue
from .catalogue import VideoModel
from .submit import Submission

Status = Literal["pending", "in_progress", "completed", "failed", "cancelled", "expired"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
TERMINAL = frozenset({"completed", "failed", "cancelled", "expired"})

# The service's words for each outcome, used where a scenario gives none.
DEFAULT_ERRORS = {
    "failed": "Video generation failed",
    "cancelled": "Job was cancelled",
    "expired": "Job exceeded maximum time to live",
}

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")


def parse_seconds(value: Any) -> float:
    """`30`, `2.5`, `"30s"`, `"1m30s"`, `"500ms"`, `"1h"` as seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '30s', '2m', '1h30m'")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and _DURATION.sub("", text).strip() == "":
            return sum(float(number) * _UNITS[unit] for number, unit in parts)
    raise ValueError(f"{value!r} is not a duration: write seconds as a number or a string like '30s', '2m', '1h30m'")


Seconds = Annotated[float, BeforeValidator(parse_seconds)]
HttpError = Annotated[int, Field(ge=400, le=599)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Respond(_Table):
    """An HTTP error answered instead of the normal response."""

    respond: HttpError
    message: str | None = None
    retry_after: Annotated[int, Field(ge=0)] | None = None
    times: Annotated[int, Field(ge=1)] | None = None  # None: every time


class Step(_Table):
    """One line of a timeline: a status held for a while, or polls answered with an error."""

    status: Status | None = None
    respond: HttpError | None = None
    message: str | None = None
    retry_after: Annotated[int, Field(ge=0)] | None = None
    hold: Seconds | None = Field(default=None, alias="for")
    polls: Annotated[int, Field(ge=1)] | None = None
    error: str | None = None
    cost: Annotated[float, Field(ge=0)] | None = None
    outputs: Annotated[int, Field(ge=1, le=16)] = 1
    content: str | None = None
    available_for: Seconds | None = None

    @field_validator("hold", "available_for")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be more than zero seconds")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if (self.status is None) == (self.respond is None):
            raise ValueError("a step has either `status` (what the job reports) or `respond` (an HTTP error), not both")
        if self.status in TERMINAL:
            if self.hold is not None or self.polls is not None:
                raise ValueError(f"`{self.status}` ends the timeline: it takes neither `for` nor `polls`")
        elif self.hold is not None and self.polls is not None:
            raise ValueError("a step lasts either `for` a time or a number of `polls`, not both")
        elif self.status is not None and self.hold is None and self.polls is None:
            raise ValueError(f'say how long `{self.status}` lasts: `for = "10s"` or `polls = 3`')
        completed_only = ("cost", "content", "available_for")
        if self.status != "completed":
            for key in completed_only:
                if getattr(self, key) is not None:
                    raise ValueError(f"`{key}` belongs on the `completed` step")
            if "outputs" in self.model_fields_set:
                raise ValueError("`outputs` belongs on the `completed` step")
        if self.error is not None and self.status not in DEFAULT_ERRORS:
            raise ValueError("`error` belongs on a `failed`, `cancelled` or `expired` step")
        if self.respond is None and (self.message is not None or self.retry_after is not None):
            raise ValueError("`message` and `retry_after` go with `respond`")
        return self

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def polls_held(self) -> int | None:
        """How many polls this step answers; an error step with no length answers one."""
        if self.respond is not None and self.hold is None and self.polls is None:
            return 1
        return self.polls

    @property
    def error_text(self) -> str | None:
        if self.status in DEFAULT_ERRORS:
            return self.error or DEFAULT_ERRORS[self.status]
        return None


class Match(_Table):
    """Which submits a rule takes: every key given must agree (an empty match takes all)."""

    model: str | list[str] | None = None
    prompt: str | None = None  # substring, case-insensitive
    prompt_regex: str | None = None  # Python regular expression, searched
    duration: int | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    size: str | None = None
    generate_audio: bool | None = None
    input: Literal["text", "frame_images", "input_references"] | None = None

    _regex: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("prompt_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def model_post_init(self, _context: Any) -> None:
        if self.prompt_regex is not None:
            self._regex = re.compile(self.prompt_regex)

    @property
    def models(self) -> list[str]:
        if self.model is None:
            return []
        return [self.model] if isinstance(self.model, str) else list(self.model)

    def accepts(self, sub: Submission) -> bool:
        if self.model is not None and sub.model not in self.models:
            return False
        if self.prompt is not None and self.prompt.casefold() not in sub.prompt.casefold():
            return False
        if self._regex is not None and not self._regex.search(sub.prompt):
            return False
        for key in ("duration", "resolution", "aspect_ratio", "size", "generate_audio", "input"):
            wanted = getattr(self, key)
            if wanted is not None and getattr(sub, key) != wanted:
                return False
        return True


def _default_timeline() -> list[Step]:
    return [
        Step(status="pending", hold=2.0),
        Step(status="in_progress", hold=8.0),
        Step(status="completed"),
    ]


class Rule(_Table):
    """A named behaviour: which submits it takes and what each of their jobs does."""

    name: str = "default"
    match: Match = Match()
    timeline: list[Step] | None = None
    submit: Respond | None = None
    download: Respond | None = None

    @field_validator("timeline")
    @classmethod
    def _ordered(cls, steps: list[Step] | None) -> list[Step] | None:
        if steps is None:
            return None
        if not steps:
            raise ValueError('a timeline needs at least its final step, e.g. `[{ status = "completed" }]`')
        for number, step in enumerate(steps[:-1], start=1):
            if step.terminal:
                after = len(steps) - number
                raise ValueError(
                    f"step {number} (`{step.status}`) ends the job, so the {after} step(s) after it never run"
                )
        if not steps[-1].terminal:
            raise ValueError("the last step must end the job: `completed`, `failed`, `cancelled` or `expired`")
        return steps


class Server(_Table):
    api_keys: list[Annotated[str, Field(min_length=1)]] | None = None  # None: any non-empty key


class _File(_Table):
    """The whole file, as written."""

    server: Server = Server()
    default: Rule = Rule(timeline=_default_timeline())
    rule: list[Rule] = []
    model: list[dict[str, Any]] = []


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

    def pick(self, sub: Submission) -> Rule:
        """The first rule that takes `sub`, else the default."""
        for rule in self.rules:
            if rule.match.accepts(sub):
                return rule
        return self.default

    def timeline(self, rule: Rule) -> Timeline:
        return self.timelines[rule.name]

    def content_path(self, step: Step) -> Path | None:
        if step.content is None:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        return (base / step.content).resolve()


@dataclass(frozen=True)
class Problem:
    where: str  # dotted key path, e.g. rule[2].timeline[1].status (indices count from 1)
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ScenarioError(Exception):
    """A scenario that can't be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the table `loc` points into, for 'did you mean' hints."""
    tables: dict[str, type[BaseModel]] = {
        "server": Server,
        "default": Rule,
        "rule": Rule,
        "match": Match,
        "timeline": Step,
        "submit": Respond,
        "download": Respond,
    }
    names = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = tables.get(names[-1], _File) if names else _File
    return [field.alias or name for name, field in model.model_fields.items()]


def _problems(error: ValidationError, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    found = []
    for item in error.errors():
        loc = prefix + tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            key = str(loc[-1])
            close = difflib.get_close_matches(key, _known_keys(loc), n=1)
            message = f"unknown key `{key}`" + (f"; did you mean `{close[0]}`?" if close else "")
        elif item["type"] == "literal_error" and isinstance(item.get("input"), str):
            allowed = re.findall(r"'([^']+)'", item["msg"])
            close = difflib.get_close_matches(item["input"], allowed, n=1)
            message = f"`{item['input']}` is not one of {', '.join(allowed)}"
            if close:
                message += f"; did you mean `{close[0]}`?"
        found.append(Problem(_where(loc), message))
    return found


def _check(file: _File, path: Path | None) -> tuple[list[Problem], dict[str, VideoModel]]:
    """Problems only visible with the whole file in hand: names, models, content files."""
    problems: list[Problem] = []
    models = catalogue.builtin()
    for i, table in enumerate(file.model):
        where = f"model[{i + 1}]"
        if not isinstance(table.get("id"), str) or not table["id"]:
            problems.append(Problem(f"{where}.id", "every [[model]] needs an `id`"))
            continue
        for key in table:
            if key not in catalogue.MODEL_KEYS:
                close = difflib.get_close_matches(key, sorted(catalogue.MODEL_KEYS), n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                problems.append(Problem(f"{where}.{key}", f"unknown model key `{key}`{hint}"))
    if not problems:
        models = dict(models)
        for i, table in enumerate(file.model):
            try:
                models[table["id"]] = catalogue.apply(models, table)
            except ValidationError as exc:
                problems += _problems(exc, ("model", i))

    seen: set[str] = set()
    for i, rule in enumerate(file.rule):
        where = f"rule[{i + 1}]"
        if rule.name == "default" and "name" not in rule.model_fields_set:
            problems.append(Problem(f"{where}.name", "every [[rule]] needs a `name`, shown in logs and errors"))
        elif rule.name in seen or rule.name == "default":
            problems.append(Problem(f"{where}.name", f"the name `{rule.name}` is already taken"))
        seen.add(rule.name)
        for model_id in rule.match.models:
            if model_id not in models:
                close = difflib.get_close_matches(model_id, list(models), n=1)
                hint = f"; did you mean `{close[0]}`?" if close else "; add it with a [[model]] table"
                problems.append(Problem(f"{where}.match.model", f"`{model_id}` is not in the model catalogue{hint}"))
    for where, rule in [("default", file.default)] + [(f"rule[{i + 1}]", r) for i, r in enumerate(file.rule)]:
        for n, step in enumerate(rule.timeline or [], start=1):
            if step.content is not None:
                base = path.parent if path is not None else Path.cwd()
                if not (base / step.content).is_file():
                    problems.append(Problem(f"{where}.timeline[{n}].content", f"no such file: {base / step.content}"))
    return problems, models


def parse(text: str, path: Path | None = None) -> Scenario:
    """A scenario from TOML text; `path` names it in errors and anchors relative content files."""
    source = str(path) if path is not None else "<scenario>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [Problem("", f"not valid TOML: {exc}")]) from None
    try:
        file = _File.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from None
    problems, models = _check(file, path)
    if problems:
        raise ScenarioError(source, problems)

    default = file.default
    if default.timeline is None:
        default = default.model_copy(update={"timeline": _default_timeline()})
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
    )


def load(path: str | Path) -> Scenario:
    """The scenario in the TOML file at `path`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(path), [Problem("", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(str(path), [Problem("", "not a text file (TOML must be UTF-8)")]) from None
    return parse(text, path)
