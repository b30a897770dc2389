"""Matching prompts costs what the prompt costs to read once: RE2 runs every `prompt_regex` in
linear time (a pattern that backtracks in Python's engine cannot hang the server), a pattern RE2
cannot run is refused at load, and all the rules' prompt conditions are found in one pass."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from support import KEY, SEEDANCE

from ormock import ScenarioError, parse_scenario

# The pattern of the attack: natural-looking, and exponential in Python's backtracking engine.
BACKTRACKS = r"^(\w+\s?)*$"


def test_a_pattern_that_would_backtrack_answers_at_once_through_a_real_server():
    """In a child process with a deadline, so a regression fails instead of hanging the suite."""
    scenario = f"[[rule]]\nname = \"words\"\nmatch = {{ prompt_regex = '{BACKTRACKS}' }}\n[default]\n"
    script = textwrap.dedent(
        f"""
        import sys
        import httpx
        from ormock import Simulator, parse_scenario
        with Simulator(parse_scenario(sys.argv[1])) as sim:
            body = {{"model": {SEEDANCE!r}, "prompt": "a" * 40 + "!"}}
            answer = httpx.post(sim.base_url + "/videos", json=body, headers={KEY!r}, timeout=20)
            print(answer.status_code, sim.jobs()[0]["rule"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script, scenario], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["202", "default"], done.stdout + done.stderr


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)b", r"(?<!x)y"])
def test_a_pattern_re2_cannot_run_is_refused_at_load_with_its_key(pattern):
    text = f"[[rule]]\nname = \"r\"\nmatch = {{ prompt_regex = '{pattern}' }}\n"
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text)
    (problem,) = refused.value.problems
    assert problem.key == "rule[1].match.prompt_regex"
    assert problem.message.startswith("not a valid regular expression for RE2: ")
    assert "no backreferences or lookarounds" in problem.message


async def test_many_rules_and_a_large_prompt_are_matched_in_one_pass(make_mock):
    """2,000 rules, each asking for its own word, and a 1 MB prompt: the rule whose word it holds
    takes the job, as the first rule in order would (prompt, regex and hash conditions together)."""
    rules = "".join(f'[[rule]]\nname = "r{i}"\nmatch = {{ prompt = "WORD{i:04d}X" }}\n' for i in range(2000))
    rules += '[[rule]]\nname = "regex"\nmatch = { prompt_regex = "(?i)storm(s|y)" }\n'
    mock = make_mock(rules + "[default]\n")
    prompt = "calm sea " * 60_000 + " word1500x and word1700x "
    first = await mock.submit(prompt=prompt)
    assert first.status_code == 202
    assert mock.store.get(first.json()["id"]).rule.name == "r1500"
    stormy = await mock.submit(prompt="calm sea " * 60_000 + "A STORMY night")
    assert mock.store.get(stormy.json()["id"]).rule.name == "regex"
    plain = await mock.submit(prompt="calm sea")
    assert mock.store.get(plain.json()["id"]).rule.name == "default"


async def test_a_prompt_with_a_lone_surrogate_is_matched_not_a_500(make_mock):
    mock = make_mock('[[rule]]\nname = "r"\nmatch = { prompt = "dusk" }\n[default]\n')
    answer = await mock.http.post(
        "/api/v1/videos",
        content=b'{"model": "' + SEEDANCE.encode() + b'", "prompt": "\\ud800 at dusk"}',
        headers={**KEY, "content-type": "application/json"},
    )
    assert answer.status_code == 202
    assert mock.store.get(answer.json()["id"]).rule.name == "r"
