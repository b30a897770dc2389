"""Loading scenarios: what a hand-written file may say, and the message for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormock import ScenarioError, load_scenario, parse_scenario
from ormock.scenario.loader import parse_seconds
from ormock.scenario.submit import Submission

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    return [p.text() for p in caught.value.problems]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.rules


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 30.0), (2.5, 2.5), ("45s", 45.0), ("2m", 120.0), ("1h30m", 5400.0), ("500ms", 0.5), ("1m 30s", 90.0)],
)
def test_durations_read_as_numbers_or_with_units(text, seconds):
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "", "10x", True])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_seconds(text)


def test_unknown_key_names_its_place_and_suggests_the_known_one():
    found = problems('[[rule]]\nname = "a"\ntimelin = [{ status = "completed" }]\n')
    assert found == ["rule[1].timelin: unknown key `timelin`; did you mean `timeline`?"]


def test_unknown_status_suggests_the_closest():
    found = problems('[default]\ntimeline = [{ status = "in-progress", for = 3 }, { status = "completed" }]\n')
    assert len(found) == 1
    assert found[0].startswith("default.timeline[1].status: `in-progress` is not one of pending, in_progress")
    assert found[0].endswith("did you mean `in_progress`?")


@pytest.mark.parametrize(
    ("timeline", "message"),
    [
        ("[]", "a timeline needs at least its final step"),
        ('[{ status = "pending", for = "2s" }]', "the last step must end the job"),
        ('[{ status = "completed" }, { status = "failed" }]', "step 1 (`completed`) ends the job, so the 1 step(s)"),
        ('[{ status = "pending" }, { status = "completed" }]', 'say how long `pending` lasts: `for = "10s"` or'),
        ('[{ status = "pending", for = 0 }, { status = "completed" }]', "must be more than zero seconds"),
        ('[{ status = "pending", for = "-3s" }, { status = "completed" }]', "must be more than zero seconds"),
        ('[{ status = "pending", polls = 0 }, { status = "completed" }]', "greater than or equal to 1"),
        ('[{ status = "pending", for = 1, polls = 2 }, { status = "completed" }]', "either `for` a time or"),
        ('[{ status = "completed", for = "3s" }]', "`completed` ends the timeline: it takes neither"),
        ('[{ status = "failed", cost = 1.0 }]', "`cost` belongs on the `completed` step"),
        ('[{ status = "completed", error = "x" }]', "`error` belongs on a `failed`, `cancelled` or `expired` step"),
        ('[{ respond = 200 }, { status = "completed" }]', "greater than or equal to 400"),
        ('[{ respond = 401, status = "pending" }, { status = "completed" }]', "either `status`"),
    ],
)
def test_timeline_mistakes_are_named(timeline, message):
    found = problems(f"[default]\ntimeline = {timeline}\n")
    assert any(message in p for p in found), found
    assert all(p.startswith("default.timeline") for p in found), found


def test_every_problem_is_reported_not_only_the_first():
    found = problems(
        """
        [[rule]]
        name = "one"
        match = { prompt_regex = "(unclosed" }
        timeline = [{ status = "done" }]

        [[rule]]
        name = "two"
        submit = { respond = 99 }
        """
    )
    assert len(found) == 3, found
    assert found[0].startswith("rule[1].match.prompt_regex: not a valid regular expression")
    assert found[1].startswith("rule[1].timeline[1].status:")
    assert found[2].startswith("rule[2].submit.respond:")


def test_rule_needs_a_unique_name_and_a_known_model():
    found = problems(
        """
        [[rule]]
        match = { model = "bytedance/seedance-2" }
        [[rule]]
        name = "x"
        [[rule]]
        name = "x"
        """
    )
    assert found == [
        "rule[1]: every [[rule]] needs a `name`, shown in logs and errors",
        "rule[1].match.model: `bytedance/seedance-2` is not in the model catalogue;"
        " did you mean `bytedance/seedance-2.0`?",
        "rule[3].match: this rule can never match: rule `x` (rule[2]) comes first and takes every submit it would",
        "rule[3].name: the name `x` is already taken",
    ]


def test_model_tables_are_checked():
    found = problems('[[model]]\nid = "bytedance/seedance-2.0"\nsupported_duration = [5]\n[[model]]\nname = "x"\n')
    assert found == [
        "model[1].supported_duration: unknown model key `supported_duration`; did you mean `supported_durations`?",
        "model[2].id: every [[model]] needs an `id`",
    ]
    found = problems('[[model]]\nid = "acme/x"\nsupported_durations = ["five"]\n')
    assert found[0].startswith("model[1].supported_durations[1]:")


def test_missing_content_file_is_an_error(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[default]\ntimeline = [{ status = "completed", content = "nope.mp4" }]\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (
        str(caught.value) == f"{path}:2:37: error: default.timeline[1].content: no such file: {tmp_path / 'nope.mp4'}"
    )


def test_unreadable_files_say_why(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ScenarioError, match="not a text file"):
        load_scenario(binary)
    bad = tmp_path / "bad.toml"
    bad.write_text("[rule\nname=")
    with pytest.raises(ScenarioError, match=r"bad\.toml:1:6: error: not valid TOML: Expected ']'"):
        load_scenario(bad)


def _sub(**kw) -> Submission:
    kw.setdefault("model", "bytedance/seedance-2.0")
    return Submission(**kw)


def test_matching_on_model_prompt_regex_and_parameters():
    scenario = parse_scenario(
        """
        [[rule]]
        name = "veo only"
        match = { model = ["google/veo-3.1", "google/veo-3.1-fast"] }
        [[rule]]
        name = "regex"
        match = { prompt_regex = "^cat\\\\b" }
        [[rule]]
        name = "long 1080p"
        match = { duration = 10, resolution = "1080p" }
        [[rule]]
        name = "images"
        match = { input = "frame_images" }
        [[rule]]
        name = "word"
        match = { prompt = "Dog" }
        """
    )
    assert scenario.pick(_sub(model="google/veo-3.1-fast", prompt="cat")).name == "veo only"
    assert scenario.pick(_sub(prompt="cat nap")).name == "regex"
    assert scenario.pick(_sub(prompt="catalogue")).name == "default"
    assert scenario.pick(_sub(prompt="x", duration=10, resolution="1080p")).name == "long 1080p"
    assert scenario.pick(_sub(prompt="x", duration=10, resolution="720p")).name == "default"
    assert scenario.pick(_sub(input="frame_images")).name == "images"
    assert scenario.pick(_sub(prompt="a HOT DOG stand")).name == "word"


def test_rule_without_timeline_uses_the_default_one():
    scenario = parse_scenario(
        """
        [default]
        timeline = [{ status = "in_progress", polls = 1 }, { status = "failed" }]
        [[rule]]
        name = "flaky submit"
        submit = { respond = 500, times = 1 }
        """
    )
    assert scenario.ruleset.timelines[0].shown == ("in_progress", "failed")
