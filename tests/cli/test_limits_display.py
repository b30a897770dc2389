"""What a client sent reaches a terminal, a log or the journal as inert, escaped text, with its
secrets redacted: Rich markup is not rendered, escape sequences and line breaks are not emitted,
and callback URLs and signed links lose their secrets."""

from __future__ import annotations

import json

from rich.console import Console
from support import KEY

from ormock.cli.dashboard import Board, render, snapshot_board
from ormock.cli.log import Lines


def watched(mock) -> Board:
    board = Board(mock.store)
    mock.app.listeners.append(board.request)
    return board


def screen(board: Board, width: int = 160, height: int = 50) -> str:
    snap = snapshot_board(board, "http://ormock.test/api/v1", started=0.0, wall_now=1.0)
    console = Console(record=True, width=width, height=height, force_terminal=True, color_system="truecolor")
    console.print(render(snap, width, height))
    return console.export_text(styles=False)


def logged(mock, json_lines: bool = False) -> list[str]:
    lines: list[str] = []
    log = Lines(emit=lines.append, json_lines=json_lines)
    for entry in mock.store.journal(None):
        log.request(entry)
    return lines


HOSTILE = [
    "/api/v1/videos/[bold red]boom[/bold red]",
    "/api/v1/videos/[/nonexistent]",
    "/api/v1/videos/%1B%5D0%3Bpwned%07%1B%5B2J",  # window title, clear screen
    "/api/v1/videos/x%0D%0AX-Injected:%201",  # a forged log line
]


async def test_hostile_paths_are_shown_escaped_in_the_dashboard_and_the_log(mock):
    board = watched(mock)
    for path in HOSTILE:
        assert (await mock.http.get(path, headers=KEY)).status_code == 404
    text = screen(board)
    assert "[bold red]boom[/bold red]" in text  # shown as typed, not rendered
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\\x1b]0;pwned\\x07\\x1b[2J" in text
    lines = logged(mock)
    assert len(lines) == 4  # no forged line
    assert "x\\x0d\\x0aX-Injected: 1" in lines[3]
    assert all("\x1b" not in line and "\r" not in line for line in lines)


async def test_secrets_in_a_callback_url_are_redacted_in_the_journal_and_the_log(mock):
    url = "http://user:hunter2@127.0.0.1:9/hook?token=abc123&plain=ok"
    assert (await mock.submit(callback_url=url)).status_code == 202
    entry = (await mock.http.get("/__ormock/requests")).json()["data"][-1]
    assert entry["body"]["callback_url"] == "http://[redacted]@127.0.0.1:9/hook?token=[redacted]&plain=ok"
    assert "hunter2" not in json.dumps(entry) and "abc123" not in json.dumps(entry)


async def test_a_signed_links_signature_is_redacted_in_the_journal_and_the_log(make_mock):
    mock = make_mock('[server]\noutput_ttl = "1h"\n[default]\ntimeline = [{ status = "completed" }]\n')
    board = watched(mock)
    job_id = await mock.job_id()
    link = (await mock.poll(job_id)).json()["urls"][0]
    signature = link.split("signature=")[1].split("&")[0]
    assert (await mock.http.get(link)).status_code == 200
    entry = (await mock.http.get("/__ormock/requests")).json()["data"][-1]
    assert entry["query"]["signature"] == "[redacted]"
    assert all(signature not in line for line in logged(mock) + logged(mock, json_lines=True))
    assert signature not in screen(board, width=250)


def test_the_quick_way_through_shown_leaves_only_what_the_escape_would_leave_alone():
    """`shown` skips its regular expression for plain printable ASCII: for every character of the
    first two planes, alone and in a path, that shortcut must give what the expression gives."""
    from ormock.safe import _UNSAFE, _escape, shown

    for code in range(0x3000):
        for text in (chr(code), f"/api/v1/videos/{chr(code)}x"):
            assert shown(text) == _UNSAFE.sub(_escape, text), hex(code)
