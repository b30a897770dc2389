"""Where each key and array element of a TOML document sits, for messages that point at a line.

`positions(text)` maps key paths, spelled as pydantic spells locations (`("rule", 1, "timeline",
0, "status")`, arrays counted from 0), to 1-based `(line, column)`. It reads structure only (tables,
arrays of tables, dotted keys, inline tables, arrays, strings, comments), not values, and is only
run on text `tomllib` has already accepted. `find(table, loc)` answers for the deepest part of
`loc` that has a place.
"""

from __future__ import annotations

from bisect import bisect_right

Path = tuple[str | int, ...]
Where = tuple[int, int]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.starts = [0] + [n + 1 for n, ch in enumerate(text) if ch == "\n"]
        self.found: dict[Path, Where] = {}
        self.tables_seen: dict[Path, int] = {}  # arrays of tables, by unindexed path: how many so far

    # --- characters -------------------------------------------------------------------------
    def where(self, at: int | None = None) -> Where:
        at = self.i if at is None else at
        line = bisect_right(self.starts, at)
        return line, at - self.starts[line - 1] + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def spaces(self, newlines: bool = False) -> None:
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.i += 1
            elif ch == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.i += 1
            else:
                return

    def mark(self, path: Path, at: int | None = None) -> None:
        self.found.setdefault(path, self.where(at))

    # --- pieces -----------------------------------------------------------------------------
    def string(self) -> str:
        quote = self.peek(3) if self.peek(3) in ('"""', "'''") else self.peek()
        self.i += len(quote)
        start = self.i
        while self.i < len(self.text) and self.text.startswith(quote, self.i) is False:
            self.i += 2 if quote[0] == '"' and self.text[self.i] == "\\" else 1
        value = self.text[start : self.i]
        self.i += len(quote)
        while len(quote) == 3 and self.peek() == quote[0]:  # up to two quotes may close a multi-line string
            self.i += 1
        return value

    def key(self) -> list[str]:
        parts = []
        while True:
            self.spaces()
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.i
                while self.i < len(self.text) and self.text[self.i] in _BARE:
                    self.i += 1
                parts.append(self.text[start : self.i])
            self.spaces()
            if self.peek() != ".":
                return parts
            self.i += 1

    def value(self, path: Path) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.string()
        elif ch == "[":
            self.i += 1
            index = 0
            while True:
                before = self.i
                self.spaces(newlines=True)
                if self.peek() in ("]", ""):
                    self.i += 1
                    return
                self.mark((*path, index))
                self.value((*path, index))
                self.spaces(newlines=True)
                if self.peek() == ",":
                    self.i += 1
                index += 1
                if self.i == before:  # no progress: not a shape of valid TOML; move on
                    self.i += 1
        elif ch == "{":
            self.i += 1
            while True:
                before = self.i
                self.spaces()
                if self.peek() in ("}", ""):
                    self.i += 1
                    return
                self.pair(path)
                self.spaces()
                if self.peek() == ",":
                    self.i += 1
                if self.i == before:
                    self.i += 1
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}\n#":
                self.i += 1

    def pair(self, table: Path) -> None:
        self.spaces()
        start = self.i
        path = (*table, *self.key())
        self.mark(path, start)
        self.spaces()
        if self.peek() == "=":
            self.i += 1
        self.spaces()
        self.value(path)

    def header(self) -> Path:
        start = self.i
        array = self.peek(2) == "[["
        self.i += 2 if array else 1
        names = self.key()
        self.i += 2 if array else 1
        resolved: list[str | int] = []
        for n, name in enumerate(names):
            resolved.append(name)
            plain = tuple(names[: n + 1])
            if array and n == len(names) - 1:
                count = self.tables_seen.get(plain, 0)
                self.tables_seen[plain] = count + 1
                self.mark(tuple(resolved), start)
                resolved.append(count)
            elif plain in self.tables_seen:
                resolved.append(self.tables_seen[plain] - 1)
        self.mark(tuple(resolved), start)
        return tuple(resolved)

    def document(self) -> dict[Path, Where]:
        table: Path = ()
        while self.i < len(self.text):
            self.spaces(newlines=True)
            if self.i >= len(self.text):
                break
            if self.peek() == "[":
                table = self.header()
            else:
                self.pair(table)
            while self.i < len(self.text) and self.text[self.i] != "\n":  # rest of the line
                if self.text[self.i] == "#":
                    self.spaces()
                else:
                    self.i += 1
        return self.found


def positions(text: str) -> dict[Path, Where]:
    try:
        return _Reader(text).document()
    except (IndexError, ValueError):  # a shape this reader doesn't know: point at the top
        return {}


def find(table: dict[Path, Where], loc: Path) -> Where:
    for end in range(len(loc), 0, -1):
        if loc[:end] in table:
            return table[loc[:end]]
    return (1, 1)
