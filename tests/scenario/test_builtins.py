"""Built-in scenarios and the commands a new user types first, run from a folder that is not the
repository: `--version`, `scenarios`, `scenarios show`, `init`, names instead of paths, `serve`
with no scenario, and `--url-file` for test harnesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from server import running
from support import KEY, ROOT, SEEDANCE

from ormock import __version__, load_scenario
from ormock.scenario import library


def ormock(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ormock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_the_top_level_scenarios_folder_is_the_packaged_one():
    """One source: scenarios/ is a link to ormock/scenario/builtin, so they cannot drift."""
    assert (ROOT / "scenarios").resolve() == library.FOLDER
    assert sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")) == [f"{n}.toml" for n in library.names()]


def test_every_built_in_has_a_purpose_line_and_validates_clean():
    for name in library.names():
        assert library.purpose(name), name
        assert load_scenario(library.path(name)).warnings == (), name


def test_version(tmp_path):
    result = ormock("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"ormock {__version__}\n")


def test_scenarios_lists_each_built_in_with_its_purpose(tmp_path):
    result = ormock("scenarios", cwd=tmp_path)
    assert result.returncode == 0
    for name in library.names():
        assert f"{name}  " in result.stdout
    assert "ByteDance Seedance 2.0, the happy path" in result.stdout


def test_scenarios_show_prints_the_file(tmp_path):
    result = ormock("scenarios", "show", "seedance", cwd=tmp_path)
    assert result.stdout == library.path("seedance").read_text()
    unknown = ormock("scenarios", "show", "sedance", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no built-in scenario named 'sedance'; the built-ins are: ci-fast" in unknown.stderr


def test_init_writes_a_starter_that_validates_clean_and_never_overwrites(tmp_path):
    assert ormock("init", "x.toml", cwd=tmp_path).returncode == 0
    checked = ormock("validate", "--strict", "x.toml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert "0 error(s), 0 warning(s)" in checked.stdout
    scenario = load_scenario(tmp_path / "x.toml")
    assert [rule.name for rule in scenario.rules] == ["fails after two polls", "rate limited once"]
    (tmp_path / "x.toml").write_text("mine")
    again = ormock("init", "x.toml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (tmp_path / "x.toml").read_text() == "mine"


def test_validate_takes_names_and_defaults_to_the_built_ins_outside_a_project(tmp_path):
    named = ormock("validate", "seedance", "ci-fast.toml", cwd=tmp_path)
    assert named.returncode == 0 and "checked 2 scenario files" in named.stdout
    everything = ormock("validate", cwd=tmp_path)
    assert everything.returncode == 0
    assert f"checked {len(library.names())} scenario files" in everything.stdout
    unknown = ormock("validate", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "the built-ins are: ci-fast" in unknown.stderr


def test_a_file_wins_over_a_built_in_of_the_same_name(tmp_path):
    (tmp_path / "seedance").write_text('[server]\napi_keys = ["only-this"]\n')
    result = ormock("validate", "seedance", cwd=tmp_path)
    assert result.returncode == 0 and "checked 1 scenario file" in result.stdout
    with running(tmp_path / "seedance", "--no-dashboard") as served:
        answer = httpx.post(f"{served.base_url}/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
    assert answer.status_code == 401


def test_serve_a_built_in_by_name():
    with running("seedance", "--no-dashboard") as served:
        assert served.line("ormock: serving") == served.stdout[1]
        assert "ormock: serving built-in scenario seedance (7 rules)" in served.stdout[1]
        job = httpx.post(f"{served.base_url}/videos", json={"model": SEEDANCE, "prompt": "cancel"}, headers=KEY)
        assert job.status_code == 202


def test_serve_with_no_scenario_serves_the_default_timelines_and_says_so(tmp_path):
    url_file = tmp_path / "url"
    with running(None, "--no-dashboard", "--url-file", str(url_file)) as served:
        assert served.line("ormock: serving") == served.stdout[1]
        assert served.stdout[1].startswith("ormock: serving the built-in default timelines (no scenario given)")
        assert url_file.read_text() == served.base_url + "\n"
        job = httpx.post(f"{served.base_url}/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=KEY)
        assert job.json()["status"] == "pending"


def test_url_file_in_a_missing_folder_is_refused_before_listening(tmp_path):
    result = ormock("serve", "--url-file", str(tmp_path / "no" / "url"), cwd=tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize("name", ["nope", "scenarios/nope.toml"])
def test_serve_an_unknown_name_lists_the_built_ins(tmp_path, name):
    result = ormock("serve", name, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{name}: no such file, and no built-in scenario of that name; the built-ins are: " in result.stderr
    assert "Traceback" not in result.stderr
