"""Problems found in a scenario, and how they are told: `FILE:LINE:COL: error: key: message`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .locate import Path as KeyPath
from .locate import find, positions

Severity = Literal["error", "warning"]


def where(loc: KeyPath) -> str:
    """A key path as a person reads it: `rule[2].timeline[1].status` (arrays counted from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


@dataclass(frozen=True)
class Problem:
    loc: KeyPath  # as pydantic spells it: ("rule", 1, "timeline", 0, "status"), arrays from 0
    message: str
    severity: Severity = "error"
    hint: str | None = None  # e.g. "did you mean `in_progress`?"
    line: int = 0
    column: int = 0

    @property
    def key(self) -> str:
        return where(self.loc)

    def text(self) -> str:
        """`key: message; hint`, without the file and place."""
        body = f"{self.key}: {self.message}" if self.loc else self.message
        return f"{body}; {self.hint}" if self.hint else body

    def format(self, source: str) -> str:
        place = f"{source}:{self.line}:{self.column}" if self.line else source
        return f"{place}: {self.severity}: {self.text()}"

    def as_json(self, source: str) -> dict[str, Any]:
        return {
            "file": source,
            "line": self.line or None,
            "column": self.column or None,
            "severity": self.severity,
            "key": self.key,
            "message": self.message,
            "hint": self.hint,
        }


def placed(problems: list[Problem], text: str) -> list[Problem]:
    """`problems` with the line and column of the key each is about, in file order."""
    table = positions(text)
    found = [p if p.line else replace(p, line=(w := find(table, p.loc))[0], column=w[1]) for p in problems]
    return sorted(found, key=lambda p: (p.line, p.column))


class ScenarioError(Exception):
    """A scenario that can't be used, with every problem found in it (warnings included)."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.format(source) for p in problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def suggest(word: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(word, known, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def from_validation(error: ValidationError, tables: dict[str, type[BaseModel]], prefix: KeyPath = ()) -> list[Problem]:
    """pydantic's errors as problems, with unknown keys and statuses given a 'did you mean'.

    `tables` names the model each table key holds, to know which keys were allowed where.
    """
    found = []
    for item in error.errors():
        loc = prefix + tuple(item["loc"])
        message, hint = item["msg"].removeprefix("Value error, "), None
        if item["type"] == "extra_forbidden":
            names = [p for p in loc[:-1] if isinstance(p, str)]
            model = tables.get(names[-1] if names else "", tables[""])
            allowed = [field.alias or name for name, field in model.model_fields.items()]
            message, hint = f"unknown key `{loc[-1]}`", suggest(str(loc[-1]), allowed)
        elif item["type"] == "literal_error" and isinstance(item.get("input"), str):
            allowed = re.findall(r"'([^']+)'", item["msg"])
            message, hint = f"`{item['input']}` is not one of {', '.join(allowed)}", suggest(item["input"], allowed)
        elif item["type"] in _KINDS:
            message, hint = _wrong_kind(item["type"], item.get("input"))
        found.append(Problem(loc, message, hint=hint))
    return found


# pydantic's "Input should be a valid integer", said as a scenario's author reads it
_KINDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": 'a string (in quotes: "...")',
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "an array: [ ... ]",
    "model_type": "a table: { ... }",
    "dict_type": "a table: { ... }",
}


def _reads_as(kind: str, text: str) -> bool:
    """Whether `text`, unquoted, would be what `kind` asks for (`"2"` for a whole number)."""
    if kind.startswith("int"):
        return text.strip().lstrip("-").isdigit()
    if kind.startswith("float"):
        return re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", text) is not None
    return kind.startswith("bool") and text in ("true", "false")


def _wrong_kind(kind: str, value: Any) -> tuple[str, str | None]:
    wanted = _KINDS[kind]
    if isinstance(value, str):
        hint = f"write it without quotes: {value}" if _reads_as(kind, value) else None
        return f'must be {wanted}, not the string "{value}"', hint
    shown = "a table" if isinstance(value, dict) else "an array" if isinstance(value, list) else repr(value)
    if isinstance(value, bool):
        shown = "true" if value else "false"
    return f"must be {wanted}, not {shown}", None
