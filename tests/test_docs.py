"""docs/scenarios.md cannot drift from the code: every TOML example on it loads clean, and every
key the loader accepts is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ormock import parse_scenario
from ormock.scenario.catalogue import MODEL_KEYS
from ormock.scenario.schema import Fault, Match, RateLimit, Report, Respond, Rule, Server, Step, WebhookFaults, Webhooks

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{n + 1}" for n in range(len(EXAMPLES))])
def test_every_example_loads_without_errors_or_warnings(example):
    scenario = parse_scenario(example)
    assert scenario.warnings == ()


@pytest.mark.parametrize("example", re.findall(r"```toml\n(.*?)```", README.read_text(), re.S))
def test_readme_examples_load_too(example):
    assert parse_scenario(example).warnings == ()


@pytest.mark.parametrize(
    "table", [Step, Match, Rule, Respond, Server, Webhooks, WebhookFaults, Fault, RateLimit, Report]
)
def test_every_key_is_documented(table):
    text = DOC.read_text()
    for name, field in table.model_fields.items():
        assert f"`{field.alias or name}`" in text, f"{table.__name__}.{field.alias or name} is not documented"


def test_every_model_key_is_documented():
    text = DOC.read_text()
    for key in MODEL_KEYS:
        assert f"`{key}`" in text, key


def test_the_node_recipe_in_the_docs_is_the_module_the_clients_session_runs():
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "node.md").read_text()
    module = (root / "tests" / "clients" / "harness" / "ormock.mjs").read_text()
    assert "```js\n" + module + "```" in page
    scripted = (root / "tests" / "clients" / "harness" / "fox-failed.scripted.mjs").read_text()
    assert "```js\n" + scripted + "```" in page


def test_the_readme_picture_is_drawn_from_a_real_run(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "dashboard.svg"
    done = subprocess.run(
        [sys.executable, str(root / "tools" / "dashboard_picture.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    svg = out.read_text()
    assert svg.startswith("<svg") and "key&#160;revoked&#160;mid-job" in svg and "503" in svg
    assert "docs/dashboard.svg" in (root / "README.md").read_text()


TESTING = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


def test_the_runtime_rules_examples_in_testing_md_run(pytester):
    """docs/testing.md's "Rules at runtime": the Python example runs as written, and the marker
    example's rule loads (its test body is the reader's)."""
    section = TESTING.read_text().split("## Rules at runtime", 1)[1].split("\n## ", 1)[0]
    script, marker = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(script, "docs/testing.md", "exec"), {})
    pytester.makepyfile(marker.replace("    ...", "    assert ormock_session.rules()[0]['uses'] == 1"))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_vercel_recipe_in_node_md_is_the_script_the_clients_session_runs():
    root = Path(__file__).resolve().parents[1]
    source = (root / "tests" / "clients" / "vercel.test.mjs").read_text()
    snippet = re.search(r"// --- snippet: [^\n]*\n(.*?)// --- end snippet ---", source, re.S).group(1)
    assert "```js\n" + snippet + "```" in (root / "docs" / "node.md").read_text()
