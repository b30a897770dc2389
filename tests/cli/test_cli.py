"""`ormock serve` as a person runs it: the URL first, a line per request and status change, clean
stops, and clear refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from server import running
from support import KEY, SCENARIOS, SEEDANCE, wait_for


def ormock(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ormock", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_serve_prints_the_base_url_then_a_line_per_request_and_status_change():
    with running(SCENARIOS / "seedance.toml", "--speed", "1000000") as served:
        with httpx.Client(base_url=served.base_url, headers=KEY) as http:
            job = http.post("/videos", json={"model": SEEDANCE, "prompt": "golden retriever"}).json()
            http.get(f"/videos/{job['id']}")
            http.get("/videos/models")
        wait_for(served.stdout, "POST /api/v1/videos 202")
        wait_for(served.stdout, f"GET /api/v1/videos/{job['id']} 200")
        wait_for(served.stdout, "GET /api/v1/videos/models 200")
        line = wait_for(served.stdout, f"{job['id']}  [happy path]  in_progress -> completed")
        assert line
        wait_for(served.stdout, f"{job['id']}  [happy path]  pending -> in_progress")
    assert served.stdout[-1] == "ormock: stopped"


def test_json_log_lines():
    with running(SCENARIOS / "seedance.toml", "--speed", "1000000", "--log-format", "json") as served:
        with httpx.Client(base_url=served.base_url, headers=KEY) as http:
            job_id = http.post("/videos", json={"model": SEEDANCE, "prompt": "cancel"}).json()["id"]
        request = json.loads(wait_for(served.stdout, '"event": "request"'))
        assert (request["method"], request["path"], request["status"]) == ("POST", "/api/v1/videos", 202)
        assert (request["job"], request["rule"]) == (job_id, "cancelled")
        ended = json.loads(wait_for(served.stdout, '"to": "cancelled"'))
        assert (ended["event"], ended["job"], ended["from"]) == ("status", job_id, "pending")
        refused = httpx.post(f"{served.base_url}/videos", json={"model": SEEDANCE, "prompt": "x", "duration": 99})
        assert refused.status_code == 401
        why = json.loads(wait_for(served.stdout, '"status": 401'))
        assert why["error"] == "Missing Authentication header"
    # every line on stdout is JSON, from the first (the URL) to the last (the stop): `| jq` works
    events = [json.loads(line) for line in served.stdout]
    assert events[0]["event"] == "listening" and events[0]["url"] == served.base_url
    assert events[-1] == {**events[-1], "event": "notice", "message": "stopped"}


def test_sigint_stops_cleanly_too():
    with running(SCENARIOS / "seedance.toml") as served:
        served.proc.send_signal(signal.SIGINT)
        served.proc.wait(timeout=10)
    assert served.proc.returncode == 0


def test_invalid_scenario_is_refused_before_anything_listens(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rule]]\nname = "x"\ntimeline = [{ status = "in_progres", polls = 2 }, { status = "completed" }]\n'
    )
    result = ormock("serve", str(bad), "--port", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{bad}:3:15: error: rule[1].timeline[1].status: `in_progres` is not one of" in result.stderr
    assert "did you mean `in_progress`?" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_scenario_file_is_a_clear_message(tmp_path):
    result = ormock("serve", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: no such file, and no built-in scenario of that name; the built-ins are: ci-fast," in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_port_in_use_is_a_clear_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ormock("serve", str(SCENARIOS / "seedance.toml"), "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr


@pytest.mark.parametrize("args", [["--speed", "0"], ["--port", "70000"], ["--speed", "fast"]])
def test_bad_options_are_usage_errors(args):
    result = ormock("serve", str(SCENARIOS / "seedance.toml"), *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_help_lists_serve():
    result = ormock("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout


COLLECTOR = """
import gc, sys
import ormock.cli.commands as cli
sys.argv = ["ormock", "scenarios"]
original = cli.main
def watched():
    print("the collector at the start:", gc.isenabled())
    try:
        original()
    finally:
        print("at the end:", gc.isenabled())
cli.main = watched
from ormock.__main__ import main
main()
"""


def test_the_collector_is_off_while_the_cli_starts_and_on_for_the_command():
    """`ormock` starts with the garbage collector off (start-up frees little), and the command runs
    with it on (`serve` turns it on itself, once it has frozen what start-up made)."""
    done = subprocess.run([sys.executable, "-c", COLLECTOR], capture_output=True, text=True, timeout=60)
    assert "the collector at the start: False" in done.stdout, done.stdout + done.stderr
    assert "at the end: True" in done.stdout


def test_serve_help_names_the_extra_that_brings_granian():
    shown = subprocess.run(
        [sys.executable, "-m", "ormock", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert "ormock[fast]" in shown.stdout  # not eaten as Rich markup


PLUGINS = """
import sys
sys.argv = ["ormock", "validate", "seedance"]
from ormock.__main__ import main
try:
    main()
except SystemExit as stop:
    print("exit", stop.code)
from pydantic.plugin._loader import get_plugins
print("plugins:", list(get_plugins()))
SERVES = ("asyncio", "hypercorn", "granian", "httpx", "quart", "rich")
print("of serve's:", sorted(name for name in SERVES if name in sys.modules))
"""


def test_the_cli_builds_its_models_without_pydantic_plugins():
    """Looking for pydantic plugins reads every installed package's entry points; the `ormock`
    command switches them off with pydantic's own setting."""
    done = subprocess.run([sys.executable, "-c", PLUGINS], capture_output=True, text=True, timeout=60)
    assert "exit 0" in done.stdout, done.stdout + done.stderr
    assert "plugins: []" in done.stdout


def test_validate_loads_nothing_of_the_server():
    """`ormock validate` reads scenarios: no event loop, web server, HTTP client or terminal UI."""
    done = subprocess.run([sys.executable, "-c", PLUGINS], capture_output=True, text=True, timeout=60)
    assert "exit 0" in done.stdout, done.stdout + done.stderr
    assert "of serve's: []" in done.stdout


def test_a_process_that_imports_ormock_keeps_its_pydantic_plugins():
    script = (
        "import sys, ormock; ormock.parse_scenario('[default]'); "
        "print(type(sys.modules['pydantic.plugin._loader'].get_plugins))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "<class 'function'>" in done.stdout, done.stdout + done.stderr  # pydantic's own loader


@pytest.mark.parametrize("command", ["serve", "record", "validate", "demo", "models pull", "models diff", "scenarios"])
def test_help_reads_like_a_kept_cli_with_no_type_internals(command):
    shown = subprocess.run(
        [sys.executable, "-m", "ormock", *command.split(), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80", "TERM": "dumb"},
    ).stdout
    for internal in ("<str>", "<bool>", "<int", "<float", "<path>", "<list", "range]", "{", "None:"):
        assert internal not in shown, (internal, shown)


def test_serve_help_shows_what_matters_on_a_24_row_screen():
    shown = subprocess.run(
        [sys.executable, "-m", "ormock", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80", "TERM": "dumb"},
    ).stdout
    first_screen = "\n".join(shown.splitlines()[:24])
    for option in ("--port", "--host", "--speed", "--clock", "--seed", "--no-dashboard", "--log-format", "--report"):
        assert option in first_screen, option
    assert all(len(line) <= 80 for line in shown.splitlines())


def test_a_builtin_with_content_files_is_copied_with_them_and_validates(tmp_path):
    shown = subprocess.run(
        [sys.executable, "-m", "ormock", "scenarios", "show", "first-poll"], capture_output=True, text=True, timeout=60
    )
    assert shown.stdout.startswith("# first-poll.toml")  # the scenario alone: `> mine.toml` still works
    assert "`ormock scenarios copy first-poll` copies the scenario and it together" in shown.stderr
    copied = subprocess.run(
        [sys.executable, "-m", "ormock", "scenarios", "copy", "first-poll", str(tmp_path / "mine")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert copied.returncode == 0, copied.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["first-poll.mp4", "first-poll.toml"]
    checked = subprocess.run(
        [sys.executable, "-m", "ormock", "validate", "--strict", str(tmp_path / "mine" / "first-poll.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
