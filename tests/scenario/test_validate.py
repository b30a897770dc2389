"""`ormock validate`: every problem, placed at its line and column, with the exit code CI needs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import SCENARIOS
from typer.testing import CliRunner

from ormock.cli.commands import app

runner = CliRunner()


def validate(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_shipped_scenarios_validate_clean_even_when_strict():
    code, output = validate(str(SCENARIOS), "--strict")
    assert code == 0, output
    assert output.strip().endswith(": 0 error(s), 0 warning(s)")


def test_every_problem_is_reported_at_its_line_and_column(tmp_path):
    path = write(
        tmp_path,
        """
        [server]
        api_key = ["k"]

        [[rule]]
        name = "one"
        match = { model = "bytedance/seedance-2.0", duration = 20, prompt_regex = "([" }
        timeline = [
          { status = "pending", for = "-2s" },
          { status = "in-progress", polls = 2 },
          { status = "completed" },
          { status = "failed" },
        ]
        """,
    )
    code, output = validate(str(path))
    assert code == 1
    lines = output.splitlines()
    assert lines[0] == f"{path}:2:1: error: server.api_key: unknown key `api_key`; did you mean `api_keys`?"
    assert lines[1].startswith(f"{path}:6:60: error: rule[1].match.prompt_regex: not a valid regular expression")
    assert lines[2] == f"{path}:8:25: error: rule[1].timeline[1].for: must be more than zero seconds"
    assert lines[3] == (
        f"{path}:9:5: error: rule[1].timeline[2].status: `in-progress` is not one of pending, in_progress, completed,"
        " failed, cancelled, expired; did you mean `in_progress`?"
    )
    assert lines[-1] == "checked 1 scenario file: 4 error(s), 0 warning(s)"
    # Checks that need a sound table (step order, the model's sets) follow once these are fixed.
    fixed = path.read_text().replace("api_key ", "api_keys ").replace("([", "(a)").replace("-2s", "2s")
    path.write_text(fixed.replace("in-progress", "in_progress"))
    code, output = validate(str(path))
    assert output.splitlines()[0].startswith(f"{path}:7:1: error: rule[1].timeline: step 3 (`completed`) ends the job")
    path.write_text(path.read_text().replace('  { status = "failed" },\n', ""))
    code, output = validate(str(path))
    assert output.splitlines()[0] == (
        f"{path}:6:45: error: rule[1].match.duration: this rule can never match: the service refuses it first"
        " (duration 20 is not supported by bytedance/seedance-2.0; supported: 4-15)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[rule]]\nname = "a"\ntimeline = [{ status = "pending", for = "1s" }]\n',
            ":3:1: error: rule[1].timeline: the last step must end the job",
        ),
        (
            '[default]\ntimeline = [{ status = "pending", for = 0 }, { status = "completed" }]\n',
            ":2:35: error: default.timeline[1].for: must be more than zero seconds",
        ),
        (
            '[[rule]]\nname = "a"\nmatch = { model = "google/veo-3" }\n',
            ":3:11: error: rule[1].match.model: `google/veo-3` is not in the model catalogue;"
            " did you mean `google/veo-3.1`?",
        ),
        (
            '[[rule]]\nname = "a"\nmatch = { model = "google/veo-3.1", duration = 5 }\n',
            ":3:37: error: rule[1].match.duration: this rule can never match: the service refuses it first "
            "(duration 5 is not supported by google/veo-3.1; supported: 4, 6, 8)",
        ),
        (
            '[[rule]]\nname = "a"\nmatch = { model = "alibaba/wan-2.6", resolution = "4K" }\n',
            ":3:38: error: rule[1].match.resolution: this rule can never match: the service refuses it first "
            '(resolution "4K" is not supported by alibaba/wan-2.6; supported: 720p, 1080p)',
        ),
        (
            '[[rule]]\nname = "a"\nmatch = { model = "runway/gen-4.5", generate_audio = true }\n',
            ":3:37: error: rule[1].match.generate_audio: this rule can never match",
        ),
        (
            '[[rule]]\nname = "a"\nmatch = { prompt = "cat" }\n'
            '[[rule]]\nname = "b"\nmatch = { prompt = "black cat" }\n',
            ":6:1: warning: rule[2].match: this rule can never match: rule `a` (rule[1]) comes first",
        ),
        (
            '[[rule]]\nname = "a"\nsubmit = { respond = 418 }\n',
            ":3:12: warning: rule[1].submit.respond: the service never answers 418",
        ),
        (
            '[default]\ntimeline = [{ status = "completed", content = "missing.mp4" }]\n',
            ":2:37: error: default.timeline[1].content: no such file:",
        ),
        (
            '[[rule]]\nname = "a"\n[[rule]]\nname = "a"\nmatch = { prompt = "x" }\n',
            ":4:1: error: rule[2].name: the name `a` is already taken",
        ),
        (
            '[[model]]\nid = "acme/x"\nsupported_durations = [5, "ten"]\n',
            ':3:27: error: model[1].supported_durations[2]: must be a whole number, not the string "ten"',
        ),
        ("[rule\n", ":1:6: error: not valid TOML: Expected ']' at the end of a table declaration"),
        (
            '[[rule]]\nname = "a"\nmatch = { prompt = 5 }\n',
            ':3:11: error: rule[1].match.prompt: must be a string (in quotes: "..."), not 5',
        ),
    ],
)
def test_each_kind_of_problem(tmp_path, text, expected):
    path = write(tmp_path, text)
    code, output = validate(str(path))
    assert f"{path}{expected}" in output, output
    assert code == (1 if ": error:" in expected else 0)


def test_strict_fails_on_warnings(tmp_path):
    path = write(tmp_path, '[[rule]]\nname = "a"\nsubmit = { respond = 418 }\n')
    assert validate(str(path))[0] == 0
    assert validate(str(path), "--strict")[0] == 1


def test_json_format_for_ci(tmp_path):
    path = write(tmp_path, '[default]\ntimeline = [{ status = "complete" }]\n')
    code, output = validate(str(path), "--format", "json")
    assert code == 1
    report = json.loads(output)
    assert report["files"] == [str(path)]
    assert (report["errors"], report["warnings"]) == (1, 0)
    assert report["problems"] == [
        {
            "file": str(path),
            "line": 2,
            "column": 15,
            "severity": "error",
            "key": "default.timeline[1].status",
            "message": "`complete` is not one of pending, in_progress, completed, failed, cancelled, expired",
            "hint": "did you mean `completed`?",
        }
    ]


def test_odd_files_and_directories_get_messages_not_tracebacks(tmp_path):
    (tmp_path / "binary.toml").write_bytes(bytes(range(256)))
    (tmp_path / "nul.toml").write_bytes(b'name = "a"\x00')
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "huge.toml").write_text("# padding\n" * 600_000)
    (tmp_path / "nothing-here").mkdir()
    code, output = validate(str(tmp_path), str(tmp_path / "nothing-here"))
    assert code == 1
    assert f"{tmp_path / 'binary.toml'}: error: not a text file (TOML must be UTF-8)" in output
    assert f"{tmp_path / 'nul.toml'}: error: not a text file (it holds NUL bytes)" in output
    assert f"{tmp_path / 'huge.toml'}: error: too large for a scenario (5.7 MB; the limit is 5 MB)" in output
    assert f"{tmp_path / 'nothing-here'}: error: no scenario files (*.toml) in this directory" in output
    assert "empty.toml" not in output  # an empty scenario is valid: every submit gets the built-in default
    assert output.splitlines()[-1] == "checked 4 scenario files: 4 error(s), 0 warning(s)"


def test_missing_path_is_a_usage_error(tmp_path):
    code, output = validate(str(tmp_path / "nope.toml"))
    assert code == 2
    assert "no such file or directory" in output


def test_as_a_process_it_never_prints_a_traceback(tmp_path):
    (tmp_path / "x.toml").write_bytes(b"\xff" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "ormock", "validate", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_serve_refuses_with_the_same_messages(tmp_path):
    path = write(tmp_path, '[default]\ntimeline = [{ status = "complete" }]\n')
    _, output = validate(str(path))
    served = subprocess.run(
        [sys.executable, "-m", "ormock", "serve", str(path), "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 2
    assert output.splitlines()[0] in served.stderr


def _covers_pairwise(first, later) -> bool:
    """The rule, written plainly over one pair (what the grouped search must agree with)."""
    if first.model is not None and not (later.model is not None and set(later.models) <= set(first.models)):
        return False
    if first.prompt is not None and not (
        later.prompt is not None and first.prompt.casefold() in later.prompt.casefold()
    ):
        return False
    for key in ("prompt_regex", "prompt_sha256", "input", "duration", "resolution", "aspect_ratio"):
        if getattr(first, key) is not None and getattr(first, key) != getattr(later, key):
            return False
    return True


def test_the_grouped_search_for_rules_that_can_never_match_agrees_with_every_pair():
    """600 random rules: each rule's warning names the first earlier rule that takes every submit it
    would, exactly as comparing every pair does (the checks no longer compare every pair)."""
    import random

    from ormock.scenario.checks import _Coverage
    from ormock.scenario.schema import Match

    rnd = random.Random(7)
    pick = lambda values: rnd.choice([None, *values])  # noqa: E731
    matches = [
        Match(
            model=pick([["a"], ["b"], ["a", "b"]]),
            prompt=pick(["storm", "big storm", "Storm at sea", "sea"]),
            prompt_regex=pick(["x", "y"]),
            input=pick(["text", "frame_images"]),
            duration=pick([5, 10]),
            resolution=pick(["720p"]),
        )
        for _ in range(600)
    ]
    coverage = _Coverage(matches)
    for i, later in enumerate(matches):
        expected = next((j for j in range(i) if _covers_pairwise(matches[j], later)), None)
        assert coverage.first_cover(i) == expected, i


def test_ten_thousand_rules_are_checked_and_the_covered_one_is_named(tmp_path):
    rules = "".join(f'[[rule]]\nname = "r{i}"\nmatch = {{ prompt = "word{i:05d}" }}\n' for i in range(10_000))
    rules += '[[rule]]\nname = "late"\nmatch = { prompt = "a word04321 here" }\n'
    path = tmp_path / "many.toml"
    path.write_text(rules)
    code, out = validate(str(path))
    assert code == 0
    assert "rule[10001].match: this rule can never match: rule `r4321` (rule[4322]) comes first" in out


def test_every_problem_of_a_file_comes_in_one_pass():
    """A table that does not validate no longer hides what the whole-file checks find in the
    tables that do: a typo, an unknown model and a taken name, told together."""
    from ormock import ScenarioError, parse_scenario

    text = (
        '[[rule]]\nname = "a"\ntimelin = []\n'
        '[[rule]]\nname = "b"\nmatch = { model = "nope/nope" }\n'
        '[[rule]]\nname = "b"\n'
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert [(p.key, p.line) for p in caught.value.problems] == [
        ("rule[1].timelin", 3),
        ("rule[2].match.model", 6),
        ("rule[3].name", 8),
    ]
