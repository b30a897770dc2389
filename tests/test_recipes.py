"""The recipes for running ormock elsewhere, as far as they can run here: the GitHub Actions step's
script (started for real, its exported URL served), and the container's command (the Dockerfile's
entrypoint and the `docker run` arguments the docs give, run as a process; no Docker daemon runs
on this machine, so the image itself is not built here)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
from support import KEY, ROOT

START = ROOT / ".github" / "actions" / "ormock" / "start.sh"
ORMOCK = str(Path(sys.executable).parent / "ormock")


def test_the_github_actions_step_starts_ormock_and_exports_its_url(tmp_path):
    env_file = tmp_path / "github_env"
    env = {**os.environ, "GITHUB_ENV": str(env_file), "RUNNER_TEMP": str(tmp_path), "ORMOCK_BIN": ORMOCK}
    env |= {"ORMOCK_SCENARIO": "seedance", "ORMOCK_ARGS": "--speed 100"}
    done = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    exported = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    try:
        base = exported["OPENROUTER_BASE_URL"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", base)
        assert exported["ORMOCK_URL"] == base.removesuffix("/api/v1")
        assert httpx.get(f"{exported['ORMOCK_URL']}/__ormock/health").json()["scenario"].endswith("seedance.toml")
        job = httpx.post(f"{base}/videos", json={"model": "bytedance/seedance-2.0", "prompt": "x"}, headers=KEY)
        assert job.status_code == 202
    finally:
        os.kill(int(exported["ORMOCK_PID"]), signal.SIGTERM)
    assert (tmp_path / "ormock.log").read_text().startswith(base)


def test_the_github_actions_step_says_what_to_install_when_ormock_is_missing(tmp_path):
    env = {**os.environ, "GITHUB_ENV": str(tmp_path / "env"), "RUNNER_TEMP": str(tmp_path), "ORMOCK_BIN": "no-ormock"}
    done = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "ormock is not installed on this runner: add a step that installs it (pipx install /path/to/ormock)"
    )


def _instruction(dockerfile: str, name: str) -> list[str]:
    return json.loads(re.search(rf"^{name} (\[.*\])$", dockerfile, re.M).group(1))


def test_the_containers_command_serves_on_every_address():
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint, default = _instruction(dockerfile, "ENTRYPOINT"), _instruction(dockerfile, "CMD")
    assert entrypoint == ["ormock"] and default[:3] == ["serve", "--host", "0.0.0.0"]
    documented = re.search(r"docker run --rm -p 8000:8000 ormock (.*)$", dockerfile, re.M).group(1).split()
    assert documented == ["serve", "seedance", "--host", "0.0.0.0"]
    # as the image runs it (its port moved to a free one: the test may not own 8000)
    proc = subprocess.Popen(
        [ORMOCK, *documented, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = proc.stdout.readline().strip() if proc.stdout else ""
        assert re.fullmatch(r"http://0\.0\.0\.0:\d+/api/v1", first), first
        port = first.rsplit(":", 1)[1].removesuffix("/api/v1")
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/videos/models").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_the_image_copies_what_the_wheel_is_built_from():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {part for line in re.findall(r"^COPY (.*) \S+$", dockerfile, re.M) for part in line.split()}
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {source.split("/")[0] for source in wheel["force-include"]} | set(wheel["packages"])
    assert needed <= copied, needed - copied
