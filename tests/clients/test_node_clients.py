"""Real JavaScript clients, unchanged, against real `ormock serve` processes: the official
TypeScript SDK and TanStack AI's openRouterVideo adapter, each through every rule of
scenarios/failure-modes.toml and scenarios/image-to-video.toml (the scripts beside this file).
The npm packages are installed, at the versions package.json pins, into a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from server import running

HERE = Path(__file__).parent
SCENARIOS = HERE.parents[1] / "scenarios"


def _node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"v(\d+)", version)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    assert _node_major() >= 20, "the clients session needs Node.js 20 or newer"
    folder = tmp_path_factory.mktemp("node-clients")
    for item in HERE.iterdir():
        if item.suffix in (".mjs", ".json"):
            shutil.copy(item, folder / item.name)
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


@pytest.mark.parametrize("script", ["sdk.test.mjs", "tanstack.test.mjs"])
def test_client_script_passes_against_ormock(installed: Path, script: str):
    with (
        running(SCENARIOS / "failure-modes.toml", "--speed", "1000000") as failures,
        running(SCENARIOS / "image-to-video.toml") as images,
    ):
        env = {**os.environ, "ORMOCK_FAILURE_MODES": failures.base_url, "ORMOCK_IMAGE_TO_VIDEO": images.base_url}
        result = subprocess.run(
            ["node", "--test", "--test-reporter=tap", script],
            cwd=installed, capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
    summary = "\n".join(line for line in result.stdout.splitlines() if "not ok" in line or line.startswith("# "))
    assert result.returncode == 0, result.stdout[-8000:]
    assert re.search(r"^# fail 0$", result.stdout, re.M), summary
    assert int(re.search(r"^# pass (\d+)$", result.stdout, re.M).group(1)) >= 20, summary
