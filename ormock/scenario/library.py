"""The scenarios that ship inside the package, addressable by name from any folder.

The files live in `ormock/scenario/builtin/` (the repository's top-level `scenarios/` is a link to that
folder, so there is one copy). Each starts with a comment whose first line is
`# NAME.toml: what it is for`; that line is the scenario's one-line purpose.

`resolve(arg)` turns what a user typed into a file: a path that exists wins, then a built-in
name (with or without `.toml`); anything else raises `UnknownScenario`, whose message lists the
built-ins.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "builtin"
DEFAULT_DEMO = "failure-modes"


class UnknownScenario(ValueError):
    """A scenario argument that is neither a file nor a built-in."""


def names() -> list[str]:
    """Every built-in scenario's name, sorted."""
    return sorted(path.stem for path in FOLDER.glob("*.toml"))


def path(name: str) -> Path:
    """The packaged file of built-in `name` (`.toml` may be given or left off)."""
    stem = name.removesuffix(".toml")
    found = FOLDER / f"{stem}.toml"
    if stem not in names():
        raise UnknownScenario(f"no built-in scenario named {name!r}; the built-ins are: {', '.join(names())}")
    return found


def purpose(name: str) -> str:
    """The one-line purpose from the file's first comment line."""
    first = path(name).read_text("utf-8").splitlines()[0]
    return first.lstrip("# ").split(":", 1)[-1].strip()


def resolve(arg: str | Path) -> Path:
    """The scenario file `arg` names: an existing path, else a built-in."""
    given = Path(arg)
    if given.exists():
        return given
    try:
        return path(str(arg))
    except UnknownScenario:
        raise UnknownScenario(
            f"{arg}: no such file, and no built-in scenario of that name; the built-ins are: {', '.join(names())}"
        ) from None


STARTER = """\
# {name}: a starter scenario. Edit it, check it with `ormock validate {name}`, serve it with
# `ormock serve {name}`. Every key is described in `ormock docs scenarios`; `ormock scenarios` lists
# ready-made examples and `ormock scenarios show NAME` prints one.

# Jobs that match no rule follow the default timeline: `pending` for 2 s, `in_progress` for 8 s
# (scenario seconds: `ormock serve --speed 10` makes it ten times faster), then `completed`.
[default]
timeline = [
  {{ status = "pending", for = "2s" }},
  {{ status = "in_progress", for = "8s" }},
  {{ status = "completed" }},
]

# Rules are tried in order; the first whose `match` takes a submit decides its job's timeline.
# This one fails any job whose prompt contains "fail", after two polls in progress.
[[rule]]
name = "fails after two polls"
match = {{ prompt = "fail" }}
timeline = [
  {{ status = "in_progress", polls = 2 }},
  {{ status = "failed", error = "Provider returned error" }},
]

# This one answers the first submit with a 429 and `Retry-After: 2`, then behaves normally.
[[rule]]
name = "rate limited once"
match = {{ prompt = "busy" }}
submit = {{ respond = 429, retry_after = 2, times = 1 }}
"""


def starter(name: str) -> str:
    """The text `ormock init` writes: a commented scenario that validates clean."""
    return STARTER.format(name=name)
