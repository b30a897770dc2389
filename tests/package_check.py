"""Run by `nox -s package` inside a fresh virtual environment that holds only the built wheel (and
the official SDK, the client), from an empty folder: every command a new user types first, then
submit -> poll -> download through the SDK against a served built-in scenario.

Not a pytest module: it checks the installed package, not this checkout (it refuses to run if
`ormock` would be imported from the source tree)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ormock


def run(*args: str) -> str:
    result = subprocess.run(["ormock", *args], capture_output=True, text=True, timeout=120)
    print(f"$ ormock {' '.join(args)}  -> exit {result.returncode}")
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def served_job(folder: Path) -> None:
    from openrouter import OpenRouter
    from openrouter.utils import RetryConfig

    url_file = folder / "url.txt"
    proc = subprocess.Popen(
        ["ormock", "serve", "seedance", "--port", "0", "--speed", "100", "--no-dashboard", "--url-file", str(url_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip() if proc.stdout else ""
        assert first.startswith("http://127.0.0.1:") and first.endswith("/api/v1"), first
        assert url_file.read_text().strip() == first
        client = OpenRouter(api_key="sk-or-anything", server_url=first, retry_config=RetryConfig("none", None, False))
        job = client.video_generation.generate(model="bytedance/seedance-2.0", prompt="a lighthouse at dusk")
        seen = []
        for _ in range(2000):
            status = client.video_generation.get_generation(job_id=job.id).status
            seen.append(status)
            if status == "completed":
                break
            time.sleep(0.01)
        assert seen[-1] == "completed", seen[-5:]
        video = client.video_generation.get_video_content(job_id=job.id).read()
        assert video[4:8] == b"ftyp", video[:16]
        print(f"served built-in seedance: {len(seen)} polls, then {len(video)} bytes of MP4")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err, (proc.returncode, err[-2000:])


def main() -> None:
    installed = Path(ormock.__file__).resolve()
    assert "site-packages" in installed.parts, f"ormock is imported from {installed}, not from the installed wheel"
    with tempfile.TemporaryDirectory() as empty:
        os.chdir(empty)
        folder = Path(empty)
        assert run("--version").startswith("ormock ")
        assert "seedance" in run("scenarios")
        assert "[default]" in run("scenarios", "show", "seedance")
        # the guides the messages point at are in the wheel
        assert "client-report" in run("docs")
        for guide in ("scenarios", "testing", "client-report", "recording", "node", "limits", "changelog"):
            assert run("docs", guide).startswith("# "), guide
        run("validate", "seedance")
        run("validate")
        run("init", "x.toml")
        run("validate", "--strict", "x.toml")
        assert "built-in scenario ci-fast" in run("demo", "ci-fast")
        run("demo")
        served_job(folder)
    print("package check: all passed")


if __name__ == "__main__":
    sys.exit(main())
