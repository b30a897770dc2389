"""Checks that need the whole scenario in hand: the catalogue, rule names and models, rules that
can never match, HTTP codes the service never sends, content files. Each finding is a `Problem`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import catalogue
from .catalogue import VideoModel
from .problems import Problem, from_validation, suggest
from .schema import Match, Respond, Rule, ScenarioFile, Step
from .submit import Rejected, callback_problem, check

# Every error status the service declares across the video API (the spec and the official SDK).
SERVICE_CODES = frozenset({400, 401, 402, 403, 404, 408, 409, 410, 413, 422, 429, 499, 500, 502, 503, 504})


def _models(file: ScenarioFile, problems: list[Problem], base: Path) -> dict[str, VideoModel]:
    models = dict(catalogue.builtin())
    if file.catalogue is not None:
        try:
            models = catalogue.read_file(base / file.catalogue)
        except catalogue.CatalogueError as exc:
            problems.append(Problem(("catalogue",), f"cannot read the catalogue file {file.catalogue}: {exc}"))
    for i, table in enumerate(file.model):
        if not isinstance(table.get("id"), str) or not table["id"]:
            problems.append(Problem(("model", i, "id"), "every [[model]] needs an `id`"))
            continue
        unknown = [key for key in table if key not in catalogue.MODEL_KEYS]
        for key in unknown:
            hint = suggest(key, sorted(catalogue.MODEL_KEYS))
            problems.append(Problem(("model", i, key), f"unknown model key `{key}`", hint=hint))
        if unknown:
            continue
        try:
            models[table["id"]] = catalogue.apply(models, table)
        except ValidationError as exc:
            for problem in from_validation(exc, {"": catalogue.VideoModel}, ("model", i)):
                problems.append(problem)
    return models


def _unreachable(loc: tuple[Any, ...], match: Match, models: dict[str, VideoModel]) -> list[Problem]:
    """Errors for a match whose own parameters each named model refuses before rules are picked."""
    asked = match.parameters()
    if match.input == "frame_images":
        asked["frame_images"] = [{"type": "image_url", "image_url": {"url": "x"}, "frame_type": "first_frame"}]
    found = []
    for model_id in match.models:
        if model_id not in models or not asked:
            continue
        try:
            check({"model": model_id, "prompt": "x", **asked}, models)
        except Rejected as exc:
            field = exc.message.split(" ", 1)[0].split("[", 1)[0]
            key = field if field in asked else "input" if field == "frame_images" else None
            message = f"this rule can never match: the service refuses it first ({exc.message})"
            found.append(Problem((*loc, "match", key) if key else (*loc, "match"), message))
    return found


def covers(first: Match, later: Match) -> bool:
    """Whether every submit `later` takes is also taken by `first`."""
    if first.model is not None and not (later.model is not None and set(later.models) <= set(first.models)):
        return False
    if first.prompt is not None and not (
        later.prompt is not None and first.prompt.casefold() in later.prompt.casefold()
    ):
        return False
    if first.prompt_regex is not None and first.prompt_regex != later.prompt_regex:
        return False
    if first.prompt_sha256 is not None and first.prompt_sha256 != later.prompt_sha256:
        return False
    if first.input is not None and first.input != later.input:
        return False
    return all(getattr(later, key) == wanted for key, wanted in first.parameters().items())


def _codes(loc: tuple[Any, ...], rule: Rule) -> list[Problem]:
    found = []
    places: list[tuple[tuple[Any, ...], Respond | Step | None]] = [
        ((*loc, "submit", "respond"), rule.submit),
        ((*loc, "download", "respond"), rule.download),
    ]
    places += [((*loc, "timeline", n, "respond"), step) for n, step in enumerate(rule.timeline or [])]
    for where, item in places:
        code = getattr(item, "respond", None)
        if code is not None and code not in SERVICE_CODES:
            message = f"the service never answers {code}, so clients are not written for it"
            hint = "it sends " + ", ".join(str(c) for c in sorted(SERVICE_CODES))
            found.append(Problem(where, message, severity="warning", hint=hint))
    return found


def content_file(name: str, base: Path, content_dirs: tuple[Path, ...] = ()) -> Path:
    """The file a step's `content` names, after links: it must be a regular file inside the
    scenario's folder `base` or one of `content_dirs` (`--content-dir`), or ValueError says why.
    Any client holding a key may download it, so nothing else on the machine is ever served."""
    target = (base / name).resolve()
    folders = (base.resolve(), *(folder.resolve() for folder in content_dirs))
    if not any(target.is_relative_to(folder) for folder in folders):
        named = " or ".join(str(folder) for folder in folders)
        raise ValueError(f"{name} is outside the scenario's folder ({named}); add its folder with --content-dir")
    if not target.is_file():
        raise ValueError(f"no such file: {target}" if not target.exists() else f"not a regular file: {target}")
    return target


def _content(loc: tuple[Any, ...], rule: Rule, base: Path, content_dirs: tuple[Path, ...]) -> list[Problem]:
    found = []
    for n, step in enumerate(rule.timeline or []):
        if step.content is None:
            continue
        try:
            content_file(step.content, base, content_dirs)
        except ValueError as exc:
            found.append(Problem((*loc, "timeline", n, "content"), str(exc)))
    return found


def check_file(
    file: ScenarioFile, path: Path | None, content_dirs: tuple[Path, ...] = ()
) -> tuple[list[Problem], dict[str, VideoModel]]:
    """Every problem of a schema-valid scenario file, and the catalogue it makes."""
    problems: list[Problem] = []
    base = path.parent if path is not None else Path.cwd()
    models = _models(file, problems, base)
    seen: dict[str, int] = {}
    for i, rule in enumerate(file.rule):
        loc: tuple[Any, ...] = ("rule", i)
        if "name" not in rule.model_fields_set:
            problems.append(Problem((*loc,), "every [[rule]] needs a `name`, shown in logs and errors"))
        elif rule.name in seen or rule.name == "default":
            problems.append(Problem((*loc, "name"), f"the name `{rule.name}` is already taken"))
        seen.setdefault(rule.name, i)
        for model_id in rule.match.models:
            if model_id not in models:
                hint = suggest(model_id, list(models)) or "add it with a [[model]] table"
                problems.append(
                    Problem((*loc, "match", "model"), f"`{model_id}` is not in the model catalogue", hint=hint)
                )
        problems += _unreachable(loc, rule.match, models)
        for j, earlier in enumerate(file.rule[:i]):
            if covers(earlier.match, rule.match):
                message = (
                    f"this rule can never match: rule `{earlier.name}` (rule[{j + 1}]) comes first"
                    " and takes every submit it would"
                )
                problems.append(Problem((*loc, "match"), message, severity="warning"))
                break
    hooks = file.webhooks
    if hooks.url is not None and (problem := callback_problem(hooks.url, hooks.require_https)) is not None:
        problems.append(Problem(("webhooks", "url"), problem.replace("callback_url", "the default webhook url")))
    for loc, rule in [(("default",), file.default)] + [(("rule", i), r) for i, r in enumerate(file.rule)]:
        problems += _codes(loc, rule)
        problems += _content(loc, rule, base, content_dirs)
    return problems, models
