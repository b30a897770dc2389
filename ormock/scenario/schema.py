"""The scenario file's shape: every table and key a scenario may hold, with their types and rules.

These pydantic models check one table at a time (types, allowed keys, a step's own consistency,
a timeline's order). Checks that need the whole file or the catalogue live in `checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .prompts import check_pattern
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
        sign = -1.0 if text.startswith("-") else 1.0  # read, so the message can say it must be positive
        parts = _DURATION.findall(text.lstrip("-"))
        if parts and _DURATION.sub("", text.lstrip("-")).strip() == "":
            return sign * sum(float(number) * _UNITS[unit] for number, unit in parts)
    raise ValueError(f"{value!r} is not a duration: write seconds as a number or a string like '30s', '2m', '1h30m'")


Seconds = Annotated[float, BeforeValidator(parse_seconds)]
HttpError = Annotated[int, Field(ge=400, le=599)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


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


def _one_or_many(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError("must be a model id or a list of model ids")
    return value


# The submit parameters a rule may match on, besides the model, the prompt and the input kind.
MATCHED_PARAMETERS = ("duration", "resolution", "aspect_ratio", "size", "generate_audio")


class Match(_Table):
    """Which submits a rule takes: every key given must agree (an empty match takes all)."""

    model: Annotated[list[str], BeforeValidator(_one_or_many)] | None = None  # one id or a list
    prompt: str | None = None  # substring, case-insensitive
    prompt_regex: str | None = None  # a pattern searched for, in RE2's syntax (see `prompts`)
    prompt_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None  # the prompt's hash, exactly
    duration: int | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    size: str | None = None
    generate_audio: bool | None = None
    input: Literal["text", "frame_images", "input_references"] | None = None

    @field_validator("prompt_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            check_pattern(value)
        return value

    @property
    def models(self) -> list[str]:
        return self.model or []

    def parameters(self) -> dict[str, Any]:
        """The submit parameters this match names (of `MATCHED_PARAMETERS`), as it names them."""
        return {key: getattr(self, key) for key in MATCHED_PARAMETERS if getattr(self, key) is not None}

    def takes(self, sub: Submission) -> bool:
        """Whether `sub`'s model, input and parameters are what this match asks for. (What it asks
        of the prompt is found for every rule at once: `prompts.PromptIndex`.)"""
        if self.model is not None and sub.model not in self.models:
            return False
        if self.input is not None and sub.input != self.input:
            return False
        return all(getattr(sub, key) == wanted for key, wanted in self.parameters().items())


def default_timeline() -> list[Step]:
    return [
        Step(status="pending", hold=2.0),
        Step(status="in_progress", hold=8.0),
        Step(status="completed"),
    ]


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*/\s*s\s*$", re.I)
_RATE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_rate(value: Any) -> float:
    """`"200KB/s"`, `"1.5MB/s"`, `"4096 b/s"` or a number as bytes per second."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a rate: write bytes per second like '200KB/s' or '2MB/s'")
    return float(match.group(1)) * _RATE_UNITS[(match.group(2) or "b").lower()]


Endpoint = Literal["submit", "poll", "download", "models", "any"]


def _download_was_content(value: Any) -> Any:
    """`content`, what files written before 0.2 call the download endpoint, is `download`."""
    return "download" if value == "content" else value


_EFFECTS = ("respond", "latency", "reset", "hang", "truncate", "slow")


class Fault(_Table):
    """Something that goes wrong with requests: an error, a delay, a broken connection."""

    name: str | None = None
    endpoint: Annotated[Endpoint, BeforeValidator(_download_was_content)] = "any"
    nth: Annotated[int, Field(ge=1)] | None = None  # only the nth request (counting from 1)
    every: Annotated[int, Field(ge=1)] | None = None  # every nth request
    probability: Annotated[float, Field(ge=0, le=1)] | None = None  # each request with this chance
    respond: HttpError | None = None
    message: str | None = None
    retry_after: Annotated[int, Field(ge=0)] | None = None
    latency: Seconds | None = None
    jitter: Seconds | None = None
    reset: bool = False
    hang: bool = False
    truncate: Annotated[float, Field(gt=0, lt=1)] | None = None
    slow: Annotated[float, BeforeValidator(parse_rate), Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Fault:
        effects = [name for name in _EFFECTS if getattr(self, name) not in (None, False)]
        if len(effects) != 1:
            raise ValueError(f"a fault does one thing: one of {', '.join(_EFFECTS)} (this one has {len(effects)})")
        whens = [name for name in ("nth", "every", "probability") if getattr(self, name) is not None]
        if len(whens) > 1:
            raise ValueError("say when with one of `nth`, `every` or `probability`, not several")
        if effects[0] in ("truncate", "slow") and self.endpoint not in ("download", "any"):
            raise ValueError(f'`{effects[0]}` acts on downloads: use it with endpoint = "download"')
        if self.respond is None and (self.message is not None or self.retry_after is not None):
            raise ValueError("`message` and `retry_after` go with `respond`")
        if self.jitter is not None and self.latency is None:
            raise ValueError("`jitter` goes with `latency`")
        return self

    @property
    def effect(self) -> str:
        return next(name for name in _EFFECTS if getattr(self, name) not in (None, False))

    def label(self, where: str) -> str:
        """How the journal and the dashboard name this fault."""
        detail = {
            "respond": f"{self.respond}",
            "latency": f"latency {self.latency}s",
            "reset": "reset",
            "hang": "hang",
            "truncate": f"truncate to {self.truncate:.0%}" if self.truncate else "truncate",
            "slow": f"slow {self.slow:.0f} B/s" if self.slow else "slow",
        }[self.effect]
        return f"{self.name or where}: {detail}"


class WebhookFaults(_Table):
    """How a rule's webhook deliveries misbehave, for testing receivers."""

    delay: Seconds | None = None  # sent this long (scenario clock) after the job ends
    duplicate: bool = False  # sent twice, with the same idempotency key
    out_of_order: bool = False  # held back until a later delivery has gone out
    bad_signature: bool = False  # signed with the wrong secret
    stale_timestamp: bool = False  # signed with a timestamp 10 minutes old
    drop: bool = False  # never sent

    @field_validator("delay")
    @classmethod
    def _not_negative(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("must be zero seconds or more")
        return value


CheckName = Literal[
    "poll interval",
    "polls after the end",
    "retry-after",
    "retried client errors",
    "5xx without backoff",
    "never downloaded",
    "downloaded too early",
    "keyless requests",
    "duplicate submits",
    "webhook receiver",
]


# How a job's `polling_url` and `unsigned_urls` are written: the service's guides show full URLs,
# its API reference paths (`/api/v1/videos/<id>`).
Links = Literal["absolute", "relative"]


class Rule(_Table):
    """A named behaviour: which submits it takes and what each of their jobs does."""

    name: str = "default"
    match: Match = Match()
    timeline: list[Step] | None = None
    submit: Respond | None = None
    download: Respond | None = None
    webhook: WebhookFaults = WebhookFaults()
    faults: list[Fault] = []
    silence: list[CheckName] = []  # client-report checks not applied to this rule's jobs
    uses: Annotated[int, Field(ge=1)] | None = None  # submits it takes before it stands aside; None: all
    links: Links | None = None  # how its jobs' polling_url and unsigned_urls are written; None: [server]'s

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


class RateLimit(_Table):
    requests: Annotated[int, Field(ge=1)]  # this many requests ...
    per: Seconds = 1.0  # ... per this long (scenario clock), for each API key
    burst: Annotated[int, Field(ge=1)] | None = None  # how many may come at once (default: `requests`)


class Server(_Table):
    links: Links = "absolute"  # polling_url and unsigned_urls as full URLs, or as paths ("relative")
    api_keys: list[Annotated[str, Field(min_length=1)]] | None = None  # None: any non-empty key
    # USD: one balance per test id, or balances by API key ("*": every other key); None: unlimited
    credits: Annotated[float, Field(ge=0)] | dict[str, Annotated[float, Field(ge=0)]] | None = None
    rate_limit: RateLimit | None = None
    output_ttl: Seconds | None = None  # completed outputs stay downloadable this long; None: forever


class Webhooks(_Table):
    """Webhook deliveries: the workspace default URL, signing, and how hard to try."""

    url: str | None = None  # the workspace-level default callback_url
    secret: str | None = None  # signing secret; with it, deliveries carry X-OpenRouter-Signature
    require_https: bool = False  # answer a non-HTTPS callback_url with 400, loopback included
    timeout: Seconds = 5.0  # per attempt, in real seconds
    retries: Annotated[int, Field(ge=0, le=20)] = 3  # attempts after the first
    backoff: Seconds = 1.0  # before the first retry (scenario clock); doubles each time

    @field_validator("timeout", "backoff")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than zero seconds")
        return value


class Report(_Table):
    """How the client report judges clients (docs/client-report.md)."""

    min_poll_interval: Seconds = 10.0  # scenario seconds between two polls of one job, at least
    silence: list[CheckName] = []  # checks not applied at all


class ScenarioFile(_Table):
    """The whole file, as written."""

    report: Report = Report()
    catalogue: str | None = None  # a models listing file (`ormock models pull`) in place of the built-in one
    server: Server = Server()
    webhooks: Webhooks = Webhooks()
    fault: list[Fault] = []  # server-wide faults
    default: Rule = Rule(timeline=default_timeline())
    rule: list[Rule] = []
    model: list[dict[str, Any]] = []
