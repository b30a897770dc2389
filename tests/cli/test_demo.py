"""`ormock demo` runs to completion and its table tells every rule's story."""

from __future__ import annotations

import os
import subprocess
import sys

from rich.console import Console
from support import SCENARIOS

from ormock import load_scenario
from ormock.cli.demo import request_for, run_demo


def test_demo_table_lists_every_rule_of_failure_modes():
    env = {**os.environ, "COLUMNS": "250"}
    result = subprocess.run(
        [sys.executable, "-m", "ormock", "demo", "--speed", "100000"],
        cwd=SCENARIOS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # A built-in is named as such, not by its path inside the package (which a narrow terminal wraps).
    assert result.stdout.startswith("ormock demo: built-in scenario failure-modes ("), result.stdout[:200]
    for rule in load_scenario(SCENARIOS / "failure-modes.toml").rules:
        assert f"│ {rule.name} " in result.stdout, rule.name
    assert "(catalogue) out-of-set duration" in result.stdout


def test_the_reference_client_behaves(tmp_path):
    scenario = load_scenario(SCENARIOS / "failure-modes.toml")
    console = Console(file=open(os.devnull, "w"), width=200)  # noqa: SIM115
    stories = {story.rule: story for story in run_demo(scenario, 100000, console)}
    assert stories["failed"].ending == "failed: Provider returned error"
    assert stories["401 on submit"].ending == "refused: User not found."
    # honours Retry-After, which is in its own seconds: 30 scenario seconds at 100000x are 0.3 ms
    assert stories["429 rate limited"].events[0] == "submit 429, retry after 1 ms"
    assert stories["429 rate limited"].ending.startswith("completed, downloaded")
    assert stories["500 then recovery"].ending.startswith("completed, downloaded")
    assert any(
        e.startswith("download short") or "RemoteProtocolError" in e for e in stories["truncated download"].events
    )
    assert stories["truncated download"].ending.startswith("completed, downloaded")
    assert "poll: ReadTimeout, retry" in stories["poll hangs once"].events
    assert stories["(catalogue) out-of-set duration"].ending.startswith("refused: duration 20 is not supported")
    assert all(story.ending for story in stories.values())


def test_request_for_builds_a_body_the_rule_takes():
    scenario = load_scenario(SCENARIOS / "image-to-video.toml")
    for rule in scenario.rules:
        body = request_for(rule, scenario)
        assert body is not None, rule.name
    from ormock import parse_scenario

    odd = parse_scenario('[[rule]]\nname = "digits only"\nmatch = { prompt_regex = "^[0-9]+$" }\n')
    assert request_for(odd.rules[0], odd) is None


def test_the_demo_shows_the_report_of_the_careful_client_next_to_a_careless_one():
    """Every check passes for the careful reference client and is broken once by the careless one."""
    from ormock.cli.demo import careless_report, run_demo
    from ormock.report import CHECKS

    scenario = load_scenario(SCENARIOS / "failure-modes.toml")
    console = Console(record=True, width=200, file=open(os.devnull, "w"))  # noqa: SIM115
    run_demo(scenario, 100000, console)
    text = console.export_text()
    table = text[text.index("the client report") :]
    for check in CHECKS:
        row = next(line for line in table.splitlines() if line.startswith(f"│ {check} "))
        careful, careless = (cell.strip() for cell in row.split("│")[2:4])
        assert careful == "pass", row
        assert careless == ("warn" if check in ("never downloaded", "duplicate submits") else "fail"), row
    assert len(careless_report()["clients"]) == 1
