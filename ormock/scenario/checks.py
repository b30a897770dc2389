"""Checks that need the whole scenario in hand: the catalogue, rule names and models, rules that
can never match, HTTP codes the service never sends, content files. Each finding is a `Problem`."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import catalogue, prompts
from .catalogue import VideoModel
from .problems import Problem, from_validation, suggest
from .schema import Match, Respond, Rule, ScenarioFile, Step
from .submit import Rejected, callback_problem, check

# Every error status the service declares across the video API (the spec and the official SDK).
SERVICE_CODES = frozenset({400, 401, 402, 403, 404, 408, 409, 410, 413, 422, 429, 499, 500, 502, 503, 504})


def _models(file: ScenarioFile, problems: list[Problem], base: Path, confined: bool = False) -> dict[str, VideoModel]:
    """The catalogue the file makes; `confined`: its catalogue file must be inside `base` (a
    scenario that came over the network may not read the rest of the machine)."""
    models = dict(catalogue.builtin())
    if file.catalogue is not None and confined and not (base / file.catalogue).resolve().is_relative_to(base.resolve()):
        problems.append(Problem(("catalogue",), f"the catalogue file must be inside the scenario's folder ({base})"))
    elif file.catalogue is not None:
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


class _Group:
    """Earlier rules that set the same exact keys, indexed by what a later rule needs of them."""

    def __init__(self) -> None:
        self.any_model: list[int] = []  # no `prompt`, no `model`: they take any model
        self.by_model: dict[str, list[int]] = defaultdict(list)  # no `prompt`: by each model they name
        self.with_prompt: set[int] = set()


class _Coverage:
    """Finds, for each rule, the first earlier rule that takes every submit it would, without
    comparing every pair (10,000 rules took 66 s that way). A covering rule sets each exact key it
    has (pattern, hash, input, parameters) as the later one does, names every model the later one
    names (or none), and has a `prompt` inside the later one's (or none): earlier rules are grouped
    by their exact keys, a later rule looks only in the groups its own keys allow, and every rule's
    earlier prompts inside its own are found for all rules in one pass (`prompts.Found`)."""

    def __init__(self, matches: list[Match], retiring: set[int] | None = None) -> None:
        self.matches = matches
        self.retiring = retiring or set()  # rules with `uses`: they stand aside, so they cover nothing
        self.exact = [frozenset(_exact(match).items()) for match in matches]
        needles = [m.prompt.casefold() if m.prompt is not None else None for m in matches]
        with_needles = [i for i, needle in enumerate(needles) if needle is not None]
        find = prompts.Found([prompts.literal(needles[i] or "") for i in with_needles])
        self.inside = {  # rule -> the rules whose prompt is inside its prompt
            i: sorted(with_needles[k] for k in find(needles[i] or "")) for i in with_needles
        }
        self.groups: dict[frozenset[tuple[str, Any]], _Group] = defaultdict(_Group)

    def first_cover(self, i: int) -> int | None:
        """The first rule before rule `i` that takes every submit it would, if any; rule `i` then
        joins the earlier ones (unless it retires after its `uses`)."""
        later = self.matches[i]
        own = sorted(self.exact[i])
        found = [
            j
            for size in range(len(own) + 1)
            for keys in itertools.combinations(own, size)
            if (group := self.groups.get(frozenset(keys))) is not None
            for j in [self._first_in(group, i, later)]
            if j is not None
        ]
        if i not in self.retiring:
            self._join(i)
        return min(found, default=None)

    def _first_in(self, group: _Group, i: int, later: Match) -> int | None:
        firsts = []
        if group.any_model:
            firsts.append(group.any_model[0])
        if later.model:
            firsts += [j for j in group.by_model.get(later.models[0], ()) if _models_cover(self.matches[j], later)][:1]
        firsts += [
            j
            for j in self.inside.get(i, ())
            if j < i and j in group.with_prompt and _models_cover(self.matches[j], later)
        ][:1]
        return min(firsts, default=None)

    def _join(self, i: int) -> None:
        match = self.matches[i]
        group = self.groups[self.exact[i]]
        if match.prompt is not None:
            group.with_prompt.add(i)
        elif match.model is None:
            group.any_model.append(i)
        else:
            for model in match.models:
                group.by_model[model].append(i)


def _exact(match: Match) -> dict[str, Any]:
    """The keys of a match that a covering match must set alike (all but `model` and `prompt`)."""
    exact = match.parameters()
    for key in ("prompt_regex", "prompt_sha256", "input"):
        if getattr(match, key) is not None:
            exact[key] = getattr(match, key)
    return exact


def _models_cover(first: Match, later: Match) -> bool:
    """Whether `first` takes every model `later` does."""
    return first.model is None or (later.model is not None and set(later.models) <= set(first.models))


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


def check_rules(
    rules: list[Rule],
    models: dict[str, VideoModel],
    base: Path,
    content_dirs: tuple[Path, ...] = (),
    positions: list[int] | None = None,
) -> list[Problem]:
    """Every problem of a list of schema-valid `[[rule]]` tables (a file's, or those added at
    runtime), placed at `("rule", i, ...)` (`positions[i]` when only some of a file's rules are
    here): names, models, rules that can never match, HTTP codes the service never sends, content
    files."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    at = positions or list(range(len(rules)))
    coverage = _Coverage([rule.match for rule in rules], {i for i, rule in enumerate(rules) if rule.uses is not None})
    for i, rule in enumerate(rules):
        loc: tuple[Any, ...] = ("rule", at[i])
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
        j = coverage.first_cover(i)
        if j is not None:
            message = (
                f"this rule can never match: rule `{rules[j].name}` (rule[{at[j] + 1}]) comes first"
                " and takes every submit it would"
            )
            problems.append(Problem((*loc, "match"), message, severity="warning"))
        problems += _codes(loc, rule)
        problems += _content(loc, rule, base, content_dirs)
    return problems


def check_what_is_sound(
    data: Any, folder: Path, content_dirs: tuple[Path, ...] = (), confined: bool = False
) -> list[Problem]:
    """The whole-file checks of the tables of a file that are sound while others are not, so that a
    file's problems are all told at once: its catalogue, and each `[[rule]]` that validates alone."""
    if not isinstance(data, dict):
        return []
    rules, positions = [], []
    for i, table in enumerate(data["rule"] if isinstance(data.get("rule"), list) else []):
        try:
            rules.append(Rule.model_validate(table))
        except ValidationError:
            continue  # told already
        positions.append(i)
    try:
        catalogue_part = ScenarioFile.model_validate({k: v for k, v in data.items() if k in ("catalogue", "model")})
    except ValidationError:
        return []
    problems: list[Problem] = []
    models = _models(catalogue_part, problems, folder, confined)
    return problems + check_rules(rules, models, folder, content_dirs, positions)


def check_file(
    file: ScenarioFile, folder: Path, content_dirs: tuple[Path, ...] = (), confined: bool = False
) -> tuple[list[Problem], dict[str, VideoModel]]:
    """Every problem of a schema-valid scenario file whose relative paths start at `folder`, and
    the catalogue it makes."""
    problems: list[Problem] = []
    models = _models(file, problems, folder, confined)
    problems += check_rules(file.rule, models, folder, content_dirs)
    hooks = file.webhooks
    if hooks.url is not None and (problem := callback_problem(hooks.url, hooks.require_https)) is not None:
        problems.append(Problem(("webhooks", "url"), problem.replace("callback_url", "the default webhook url")))
    problems += _codes(("default",), file.default)
    problems += _content(("default",), file.default, folder, content_dirs)
    return problems, models
