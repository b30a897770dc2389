"""Matching prompts, at a cost that does not depend on what a scenario or a client writes.

A rule's `prompt_regex` runs on RE2 (Google's engine): its time is linear in the prompt whatever
the pattern, so no pattern can hang the server, and a pattern RE2 cannot run (a backreference, a
lookaround) is refused when the scenario loads. All the rules' `prompt` substrings and patterns are
found in one pass each over a submit's prompt (`PromptIndex`), however many rules there are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, Protocol

import re2

MAX_MEMORY = 64 * 1024 * 1024  # bytes RE2 may use for one compiled pattern or set


class PromptConditions(Protocol):
    """What a rule's `match` says of the prompt (see `schema.Match`)."""

    @property
    def prompt(self) -> str | None: ...
    @property
    def prompt_regex(self) -> str | None: ...
    @property
    def prompt_sha256(self) -> str | None: ...


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is told as a scenario problem, not on stderr
    options.max_mem = MAX_MEMORY
    return options


def check_pattern(pattern: str) -> None:
    """ValueError, saying why, when RE2 cannot run `pattern`."""
    try:
        re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"not a valid regular expression for RE2: {reason} (ormock runs patterns with RE2, in linear time:"
            " no backreferences or lookarounds)"
        ) from None


def literal(text: str) -> str:
    """A pattern that finds `text` as it is."""
    return str(re2.escape(text))


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` (one `check_pattern` accepts) is found in `text`, in linear time."""
    return re2.compile(pattern, _options()).search(text) is not None


_SURROGATES = re.compile("[\ud800-\udfff]")


def readable(prompt: str) -> str:
    """`prompt` as it is matched and hashed: a lone surrogate (valid JSON, not UTF-8) reads as
    U+FFFD, so a recording can write it and a replay match it."""
    if prompt.isascii():
        return prompt
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", prompt)
    return prompt


def sha256(prompt: str) -> str:
    """What a rule's `prompt_sha256` is compared with."""
    return hashlib.sha256(readable(prompt).encode("utf-8")).hexdigest()


class Found:
    """Which of many patterns occur in a text, in one pass over it (`re2.escape` a string to find
    it as it is)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.empty = not patterns
        self._set = re2.Set.SearchSet(_options())
        for pattern in patterns:
            self._set.Add(pattern)
        self._set.Compile()

    def __call__(self, text: str) -> set[int]:
        if self.empty:
            return set()
        return set(self._set.Match(text) or ())


class PromptIndex:
    """The prompt conditions of a scenario's rules, for finding at once which rules' conditions a
    prompt meets: one pass over the case-folded prompt for every `prompt` substring, one over the
    prompt for every `prompt_regex`, one hash for every `prompt_sha256`."""

    def __init__(self, matches: Sequence[PromptConditions]) -> None:
        self.count = len(matches)
        self._needles = [i for i, match in enumerate(matches) if match.prompt is not None]
        self._patterns = [i for i, match in enumerate(matches) if match.prompt_regex is not None]
        self._hashes = {i: match.prompt_sha256 for i, match in enumerate(matches) if match.prompt_sha256 is not None}
        self._find_needles = Found([literal((matches[i].prompt or "").casefold()) for i in self._needles])
        self._find_patterns = Found([matches[i].prompt_regex or "" for i in self._patterns])
        self._needle_set = set(self._needles)
        self._pattern_set = set(self._patterns)

    def passing(self, prompt: str) -> set[int]:
        """The indexes of the matches whose every prompt condition `prompt` meets."""
        prompt = readable(prompt)
        folded = prompt.lower() if prompt.isascii() else prompt.casefold()  # alike for ASCII, and faster
        needles = {self._needles[k] for k in self._find_needles(folded)}
        patterns = {self._patterns[k] for k in self._find_patterns(prompt)}
        digest = sha256(prompt) if self._hashes else ""
        return {
            i
            for i in range(self.count)
            if (i not in self._needle_set or i in needles)
            and (i not in self._pattern_set or i in patterns)
            and self._hashes.get(i, digest) == digest
        }
