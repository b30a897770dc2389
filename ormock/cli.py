"""The `ormock` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from .app import create_app
from .clock import ScaledClock
from .log import attach_request_lines, watch_statuses
from .scenario import ScenarioError, load
from .server import base_url, bind, run

app = typer.Typer(
    help="A local stand-in for OpenRouter's video generation API, driven by TOML scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """ormock: serve OpenRouter's video API on a timeline you script."""


def _say(line: str) -> None:
    print(line, flush=True)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.command()
def serve(
    scenario: Annotated[Path, typer.Argument(help="The scenario TOML file.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 8000,
    speed: Annotated[float, typer.Option(help="Run time-based steps this many times faster.", min=0.0001)] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed for job ids.")] = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Print plain log lines (the only mode until the dashboard lands).")
    ] = False,
) -> None:
    """Serve the video API from SCENARIO. The first line printed is the base URL for clients."""
    try:
        loaded = load(scenario)
    except ScenarioError as exc:
        _fail(f"ormock: invalid scenario, not serving:\n{exc}")
    web = create_app(loaded, ScaledClock(speed), seed)
    try:
        sock = bind(host, port)
    except OSError as exc:
        _fail(f"ormock: cannot listen on {host}:{port}: {exc.strerror or exc}")
    url = base_url(sock)

    def ready() -> None:
        _say(url)
        _say(f"ormock: serving {scenario} ({len(loaded.rules)} rules) at speed {speed:g}x; Ctrl-C stops")

    attach_request_lines(_say)
    store = web.extensions["ormock"]
    asyncio.run(run(web, sock, background=[lambda: watch_statuses(store, _say)], on_ready=ready))
    _say("ormock: stopped")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
