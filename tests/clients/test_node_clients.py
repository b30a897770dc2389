"""Real JavaScript clients, unchanged, against real `ormock serve` processes: the official
TypeScript SDK and TanStack AI's openRouterVideo adapter, each through every rule of
scenarios/failure-modes.toml and scenarios/image-to-video.toml, and the Vercel AI SDK's recipe
(the scripts beside this file); the Vitest recipes of docs/node.md.
The npm packages are installed, at the versions package.json pins, into a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
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
    shutil.copytree(HERE / "harness", folder / "harness")
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


@pytest.mark.parametrize(("script", "least"), [("sdk.test.mjs", 20), ("tanstack.test.mjs", 20), ("vercel.test.mjs", 3)])
def test_client_script_passes_against_ormock(installed: Path, script: str, least: int):
    with (
        running(SCENARIOS / "failure-modes.toml", "--speed", "1000000") as failures,
        running(SCENARIOS / "image-to-video.toml") as images,
        running("first-poll") as first_poll,
    ):
        env = {
            **os.environ,
            "ORMOCK_FAILURE_MODES": failures.base_url,
            "ORMOCK_IMAGE_TO_VIDEO": images.base_url,
            "ORMOCK_FIRST_POLL": first_poll.base_url,
        }
        result = subprocess.run(
            ["node", "--test", "--test-reporter=tap", script],
            cwd=installed,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    summary = "\n".join(line for line in result.stdout.splitlines() if "not ok" in line or line.startswith("# "))
    assert result.returncode == 0, result.stdout[-8000:]
    assert re.search(r"^# fail 0$", result.stdout, re.M), summary
    assert int(re.search(r"^# pass (\d+)$", result.stdout, re.M).group(1)) >= least, summary


def test_vitest_global_setup_recipe_with_four_parallel_workers(installed: Path, tmp_path: Path):
    """The recipe in harness/ormock.mjs (docs/node.md), run for real: Vitest starts ormock in its
    globalSetup, four forked workers share it, each under its own X-Test-Id, and each checks that it
    sees only its own jobs and that all four ran at once."""
    url_file = tmp_path / "ormock-url"
    env = {**os.environ, "ORMOCK_URL_FILE": str(url_file), "ORMOCK_COMMAND": f"{sys.executable} -m ormock"}
    result = _vitest(installed, env, "--reporter=verbose", cwd=installed / "harness")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Test Files  4 passed (4)" in output, output[-3000:]
    for worker in range(1, 5):
        assert f"worker-{worker}: three jobs of its own" in output
    assert url_file.is_file()


def test_four_vitest_workers_each_script_their_own_ending_for_the_same_prompt(installed: Path, tmp_path: Path):
    """docs/node.md's scripting recipe, run for real: four forked Vitest workers on one ormock, each
    adding its own rule for the same prompt in `beforeEach` (completed, failed with a message, a 401
    mid-job, a 429 on submit) under its own X-Test-Id, after all four have met (together.mjs)."""
    env = {**os.environ, "ORMOCK_COMMAND": f"{sys.executable} -m ormock"}
    args = ("--config", "scripting.config.mjs", "--reporter=verbose")
    result = _vitest(installed, env, *args, cwd=installed / "harness")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Test Files  4 passed (4)" in output, output[-3000:]
    for name in ("reports a failed job", "downloads a finished video", "survives a 401", "waits out a 429"):
        assert name in output


def test_a_recording_replays_the_same_for_the_typescript_sdk(installed: Path, tmp_path: Path):
    """ormock record between @openrouter/sdk and an upstream ormock, then the recording served:
    the SDK sees the same statuses, errors, costs and content bytes both times."""
    sys.path.insert(0, str(HERE.parent))
    from server import UPSTREAM, recording

    (tmp_path / "upstream.toml").write_text(UPSTREAM)
    out = tmp_path / "recorded"

    def converse(base: str, *clocks: str) -> list:
        env = {**os.environ, "ORMOCK_BASE": base, "ORMOCK_CLOCKS": ",".join(clocks)}
        done = subprocess.run(
            ["node", "conversation.mjs"], cwd=installed, capture_output=True, text=True, timeout=120, env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    with running(tmp_path / "upstream.toml", "--clock", "manual", "--no-dashboard") as upstream:
        upstream_root = upstream.base_url.removesuffix("/api/v1")
        with recording(upstream.base_url, out) as recorder:
            original = converse(recorder["base"], upstream_root, recorder["base"].removesuffix("/api/v1"))
    [scenario] = out.glob("*.toml")
    with running(scenario, "--clock", "manual", "--no-dashboard") as replay:
        replayed = converse(replay.base_url, replay.base_url.removesuffix("/api/v1"))
    assert replayed == original
    kinds = {step[2] for step in original if step[1] == "poll"}
    assert {"completed", "failed", "cancelled", "expired", 401} <= kinds
    assert ["busy day", "submit", 429, "7"] in original


def _docs_block(page: str, first_line: str) -> str:
    """The ```js block of docs/`page` whose first line is `first_line`, as it is written there."""
    text = (HERE.parents[1] / "docs" / page).read_text()
    return next(block for block in re.findall(r"```js\n(.*?)```", text, re.S) if block.startswith(first_line))


@pytest.fixture(scope="session")
def todays_vitest(tmp_path_factory) -> Path:
    """A project made as a new user makes one today: `npm install vitest @openrouter/sdk` (whatever
    versions npm picks now), then docs/node.md's files, word for word, the spec four times."""
    folder = tmp_path_factory.mktemp("todays-vitest")
    (folder / "package.json").write_text('{"name": "my-video-app", "private": true, "type": "module"}\n')
    installed = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=error",
            "vitest",
            "@openrouter/sdk",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    (folder / "ormock.mjs").write_text(_docs_block("node.md", "// ormock for JavaScript test suites"))
    (folder / "vitest.config.mjs").write_text(_docs_block("node.md", "// vitest.config.mjs"))
    spec = _docs_block("node.md", "// video.spec.mjs")
    for n in range(1, 5):
        (folder / f"video-{n}.spec.mjs").write_text(spec)
    return folder


def _vitest(folder: Path, env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`vitest run ARGS` as installed in `folder`, run in `cwd` (default `folder`), with no colour
    (CI=true makes Vitest colour its summary otherwise) and no OPENROUTER_BASE_URL of ours."""
    env = {**env, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    env.pop("OPENROUTER_BASE_URL", None)
    vitest = str(folder / "node_modules" / ".bin" / "vitest")
    return subprocess.run(
        [vitest, "run", *args], cwd=cwd or folder, capture_output=True, text=True, timeout=300, env=env
    )


def test_docs_vitest_recipe_runs_word_for_word_on_todays_vitest(todays_vitest: Path):
    version = json.loads((todays_vitest / "node_modules" / "vitest" / "package.json").read_text())["version"]
    assert int(version.split(".")[0]) >= 4, version  # the Vitest that dropped poolOptions
    ormock_bin = str(Path(sys.executable).parent / "ormock")  # as docs/node.md says: ORMOCK_BIN
    done = _vitest(todays_vitest, {**os.environ, "ORMOCK_BIN": ormock_bin})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "Test Files  4 passed (4)" in output, output[-2000:]


def test_without_ormock_the_run_stops_with_one_sentence_saying_what_to_install(todays_vitest: Path):
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "ormock").exists())
    env = {k: v for k, v in os.environ.items() if k not in ("ORMOCK_BIN", "ORMOCK_COMMAND")}
    done = _vitest(todays_vitest, {**env, "PATH": path})
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "ormock is not installed where this suite runs: install it with `pipx install" in output, output[-3000:]
    assert "ENOENT" not in output, output[-3000:]
