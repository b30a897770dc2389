"""What `ormock record` keeps of a session, and how it is written as scenarios that replay it.

Per test id (`X-Test-Id`; none is a test id of its own) the recorder keeps every submit in order:
the jobs it made (`Recorded`: its polls, its download attempts, its content) and the refusals
that made none (`Refused`). `scenario_text` writes one test id's as rules:

- Submits are grouped by what a rule can match on, the model and the exact prompt, and each
  group's submits become rules in the order they came: a run of identical refusals is one rule
  with `uses` (its count) and `submit = { respond = ... }`, a job is one rule with `uses = 1`; the
  group's last rule has no `uses`, so later submits get it. A replaying client's submits meet the
  same answers in the same order.
- A job's timeline holds each status from halfway between the last poll that saw the one before
  and the first poll that saw it (for the first status, halfway between the submit and the first
  poll), so a replaying client may poll up to half an interval early or late and still see what
  the recorded client saw; errors a poll met are one-poll `respond` steps.
- Download attempts the upstream refused (401, 402, 403, 410, 429, 5xx) become download faults on
  the job's rule, each on the attempt (`nth`) it met; the content becomes a file beside the scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .. import safe
from ..scenario import prompts
from ..scenario.catalogue import MODEL_KEYS, VideoModel
from ..scenario.loader import TERMINAL
from ..scenario.submit import Rejected, check

# Download answers a replay must give again: the rest (404, 409) ormock derives from the job itself.
KEPT_DOWNLOAD_ERRORS = frozenset({401, 402, 403, 410, 429})
# Submit refusals a replay must give again (5xx too); a 400 only where ormock would not refuse the body itself.
KEPT_SUBMIT_ERRORS = frozenset({400, 401, 402, 403, 429})


@dataclass
class Seen:
    """One answer the upstream gave."""

    at: float  # the recorder's clock, when the request went out
    status: int
    job_status: str | None = None
    message: str | None = None
    retry_after: int | None = None
    cost: float | None = None
    error: str | None = None


@dataclass
class Recorded:
    """A job the upstream made: its submit and everything the client was told about it."""

    job_id: str
    body: dict[str, Any]
    submitted: float
    test_id: str = ""
    polls: list[Seen] = field(default_factory=list)
    downloads: list[Seen] = field(default_factory=list)  # every attempt, in order
    content: bytearray = field(default_factory=bytearray)
    content_total: int | None = None  # what the upstream said it would send
    content_complete: bool = False
    content_problem: str | None = None


@dataclass
class Refused:
    """A submit the upstream refused: no job was made."""

    body: dict[str, Any]
    seen: Seen
    test_id: str = ""


def kept_submit_error(status: int) -> bool:
    return status in KEPT_SUBMIT_ERRORS or status >= 500


def kept_download_error(status: int) -> bool:
    return status in KEPT_DOWNLOAD_ERRORS or status >= 500


def _key(body: dict[str, Any]) -> tuple[Any, Any]:
    """What a rule can match a submit on: its model and its exact prompt."""
    prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else None
    return str(body.get("model")), prompt


def scenario_rules(
    submits: list[Recorded | Refused],
    models: dict[str, VideoModel],
    content_files: dict[str, str],
    redact: bool = False,
) -> list[str]:
    """The rules, as TOML, that replay one test id's `submits` (see the module's docstring).
    `content_files` names the file holding each job's content, by job id."""
    groups: dict[tuple[Any, Any], list[Recorded | Refused]] = {}
    for item in submits:
        if isinstance(item, Refused) and item.seen.status == 400 and _refused_by_ormock(item.body, models):
            continue  # ormock refuses it alike, before any rule
        groups.setdefault(_key(item.body), []).append(item)
    rules: list[str] = []
    for items in groups.values():
        runs = _runs(items)
        for i, run in enumerate(runs):
            uses = None if i == len(runs) - 1 else len(run)
            number = len(rules) + 1
            first = run[0]
            if isinstance(first, Refused):
                rules.append(_refusal_rule(number, first, uses, redact))
            else:
                assert isinstance(first, Recorded)
                rules.append(_job_rule(number, first, content_files.get(first.job_id), uses, redact))
    return rules


def _runs(items: list[Recorded | Refused]) -> list[list[Recorded | Refused]]:
    """Consecutive identical refusals together; each job alone."""
    runs: list[list[Recorded | Refused]] = []
    for item in items:
        last = runs[-1][0] if runs else None
        if isinstance(item, Refused) and isinstance(last, Refused) and _answer(last) == _answer(item):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _answer(refused: Refused) -> tuple[int, str | None, int | None]:
    return refused.seen.status, refused.seen.message, refused.seen.retry_after


def _refused_by_ormock(body: dict[str, Any], models: dict[str, VideoModel]) -> bool:
    try:
        check(body, models)
    except Rejected:
        return True
    return False


def _head(number: int, what: str, body: dict[str, Any], uses: int | None, redact: bool) -> list[str]:
    """A rule's name, match and `uses` lines."""
    model, prompt = _key(body)
    match: dict[str, Any] = {"model": model}
    if prompt is not None and redact:  # the prompt stays off the disk: the rule matches its hash
        match["prompt_sha256"] = prompts.sha256(prompt)
        prompt = None
    elif prompt is not None:
        match["prompt_regex"] = "^" + re.escape(prompt) + "$"
    label = safe.shown(prompt or f"{model}, rule {number}", 40)
    lines = ["[[rule]]", f"name = {toml(f'recorded {number}: {what}{label}')}", f"match = {toml(match)}"]
    if uses is not None:
        lines.append(f"uses = {uses}")
    return lines


def _refusal_rule(number: int, refused: Refused, uses: int | None, redact: bool) -> str:
    seen = refused.seen
    lines = _head(number, f"{seen.status} on submit: ", refused.body, uses, redact)
    lines.append("submit = " + toml({"respond": seen.status, "message": seen.message, "retry_after": seen.retry_after}))
    return "\n".join(lines) + "\n"


def _job_rule(number: int, recorded: Recorded, content_file: str | None, uses: int | None, redact: bool) -> str:
    steps, notes = _timeline(recorded, content_file)
    lines = [f"# {note}" for note in notes] + _head(number, "", recorded.body, uses, redact)
    faults = [
        {"endpoint": "download", "nth": n, "respond": d.status, "message": d.message, "retry_after": d.retry_after}
        for n, d in enumerate(recorded.downloads, start=1)
        if kept_download_error(d.status)
    ]
    if faults:
        lines.append("faults = [")
        lines += [f"  {toml(fault)}," for fault in faults]
        lines.append("]")
    lines.append("timeline = [")
    lines += [f"  {toml(step)}," for step in steps]
    lines.append("]")
    return "\n".join(lines) + "\n"


def _timeline(recorded: Recorded, content_file: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """A job's steps, each status from halfway between the polls around its change (see the
    module's docstring), and notes on what could not be recorded whole."""
    steps: list[dict[str, Any]] = []
    current: str | None = "pending"  # a submit answers pending
    since = last = recorded.submitted  # when `current` began; the last moment it was seen
    ending: Seen | None = None
    for seen in recorded.polls:
        if seen.status == 200 and seen.job_status is None:
            continue  # an answer without a status: nothing to replay
        if seen.status != 200:
            if current is not None:
                steps.append({"status": current, "for": _seconds((last + seen.at) / 2 - since)})
            steps.append({"respond": seen.status, "polls": 1, "message": seen.message, "retry_after": seen.retry_after})
            current, since = None, seen.at  # a poll-count step: the next status holds from this poll on
            last = seen.at
            continue
        if current is None:
            current = seen.job_status
        elif seen.job_status != current:
            change = (last + seen.at) / 2
            steps.append({"status": current, "for": _seconds(change - since)})
            current, since = seen.job_status, change
        last = seen.at
        if seen.job_status in TERMINAL:
            ending = seen
            break
    return _ended(steps, ending, current, recorded, content_file)


def _ended(
    steps: list[dict[str, Any]], ending: Seen | None, current: str | None, recorded: Recorded, content: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    notes = []
    if ending is None:
        steps.append({"status": current or "in_progress", "for": "24h"})
        steps.append({"status": "expired", "error": "the recording ended before the job did"})
        notes.append("the recording stopped before this job ended")
    elif ending.job_status == "completed":
        steps.append({"status": "completed", "cost": ending.cost, "content": content})
    else:
        steps.append({"status": ending.job_status, "error": ending.error})
    if recorded.content_problem:
        notes.append(f"its content is incomplete: {recorded.content_problem}")
    elif recorded.content and not recorded.content_complete:
        notes.append("its content is incomplete")
    return steps, notes


def _seconds(value: float) -> str:
    return f"{max(value, 0.001):.3f}s"


def catalogue(listing: list[dict[str, Any]]) -> str:
    """The model listing the client fetched, as `[[model]]` tables."""
    lines = ["# The model listing the client fetched while recording, as this scenario's catalogue."]
    for model in listing:
        kept = {k: v for k, v in model.items() if k in MODEL_KEYS and v is not None}
        if "id" in kept:
            lines += ["[[model]]", *(f"{_name(k)} = {toml(v)}" for k, v in kept.items()), ""]
    return "\n".join(lines)


def toml(value: Any) -> str:
    """`value` as TOML (keys whose value is None left out)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_name(k)} = {toml(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(type(value))


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:  # a lone surrogate: no TOML (or UTF-8) can hold it
        return "\\uFFFD"
    return f"\\u{ord(char):04X}"


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string: quotes, backslashes and every control character (U+007F
    included) escaped, a lone surrogate written as U+FFFD (what the matcher reads it as)."""
    return '"' + re.sub(r'["\\\x00-\x1f\x7f\ud800-\udfff]', _toml_escape, text) + '"'


def _name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)
