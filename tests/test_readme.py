"""The README's commands and snippets are the ones that work: its Python snippet runs against a
real server, and its JavaScript snippets are the ones the client scripts in tests/clients run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import SCENARIOS, readme_block

from ormock import Simulator

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_snippet_runs_against_ormock(monkeypatch):
    code = readme_block("### ... the Python SDK", "python")
    with Simulator(SCENARIOS / "ci-fast.toml") as sim:
        monkeypatch.setattr("time.sleep", lambda seconds: None)  # poll-count timelines: no waiting needed
        scope: dict = {}
        exec(compile(code.replace("http://127.0.0.1:8000/api/v1", sim.base_url), "README", "exec"), scope)
        assert scope["status"].status == "completed"
        assert scope["video"][4:8] == b"ftyp"
        assert [job["status"] for job in sim.jobs()] == ["completed"]


@pytest.mark.parametrize(
    ("heading", "script"),
    [("### ... the TypeScript SDK", "sdk.test.mjs"), ("### ... TanStack AI", "tanstack.test.mjs")],
)
def test_javascript_snippets_are_the_scripts_own(heading, script):
    source = (ROOT / "tests" / "clients" / script).read_text()
    snippet = re.search(r"// --- snippet: [^\n]*\n(.*?)// --- end snippet ---", source, re.S).group(1)
    assert readme_block(heading, "js") == snippet


INSTALL_AND_RUN = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/ormock serve seedance"
INSTALL_AND_TEST = "python3 -m venv .venv && .venv/bin/pip install nox && .venv/bin/nox -s tests"


def test_one_install_and_run_command_and_one_test_command():
    assert README.count(INSTALL_AND_RUN) == 1
    assert README.count(INSTALL_AND_TEST) == 1
    assert INSTALL_AND_TEST in (ROOT / ".ci" / "run").read_text()
