"""The `ormock` command."""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__, safe
from ..scenario import library

if TYPE_CHECKING:
    from ..scenario.loader import Scenario
    from ..scenario.problems import Problem
    from ..web.app import App
    from .log import Lines

# What a command needs (the scenario language, the web server, Rich's live display) is imported
# inside it, so `ormock --help` and `ormock --version` load none of it.


class _Untyped:
    """Help that shows no types (Typer would show `<str>`, `<bool>`, even for --help): an option's
    value is named by its metavar (its name in capitals where none is given), a flag and an
    argument by nothing beside their names."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _untyped(param)
        return params

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _untyped(option)
        return option


class Command(_Untyped, TyperCommand):
    """A command whose help shows no types (see `_Untyped`)."""


class Group(_Untyped, TyperGroup):
    """A command group whose help shows no types (see `_Untyped`)."""


def _untyped(param: Any) -> None:
    if param.param_type_name == "argument":
        param.display_type_rich = lambda ctx: None
        # in the usage line an argument is NAME, or [NAME] when it may be left out (not {NAME})
        shown = param.display_name_raw if param.required else f"[{param.display_name_raw}]"
        param._usage_display_name = lambda: shown + ("..." if param.nargs != 1 else "")
    elif param.metavar is None:
        param.metavar = "" if getattr(param, "is_flag", False) else (param.name or "value").upper()


def _at_least(minimum: float) -> Callable[[float], float]:
    """A check that a number is at least `minimum` (Typer's own `min=` prints its range in help)."""

    def check(value: float) -> float:
        if value is not None and value < minimum:
            raise typer.BadParameter(f"must be at least {minimum:g}, not {value:g}")
        return value

    return check


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise typer.BadParameter(f"must be from 0 to 65535, not {value}")
    return value


app = typer.Typer(
    cls=Group,
    help="A local stand-in for OpenRouter's video generation API, driven by TOML scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ormock {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """ormock: serve OpenRouter's video API on a timeline you script."""
    if ctx.invoked_subcommand != "serve":
        gc.enable()  # off while the command started (see __main__); `serve` turns it on itself


def _scenario_file(arg: str) -> Path:
    """The file a scenario argument names: a path, or a built-in's name (see `ormock scenarios`)."""
    try:
        return library.resolve(arg)
    except library.UnknownScenario as exc:
        _fail(f"ormock: {exc}")


def _load(arg: str | None, failure: str, content_dirs: list[Path] | None = None) -> tuple[Scenario, str]:
    """The scenario to run and how to name it; None is the built-in default timelines."""
    from ..scenario.loader import ScenarioError, load, parse

    if arg is None:
        return parse(""), "the built-in default timelines (no scenario given)"
    file = _scenario_file(arg)
    try:
        loaded = load(file, tuple(content_dirs or ()))
    except ScenarioError as exc:
        _fail(f"{failure}\n{exc}")
    for warning in loaded.warnings:
        typer.echo(warning.format(str(file)), err=True)
    shown = str(file) if Path(arg).exists() else f"built-in scenario {file.stem}"
    return loaded, f"{shown} ({len(loaded.rules)} rules)"


def _with_catalogue(loaded: Scenario, file: Path) -> Scenario:
    """`loaded` with the models of `file` (its own [[model]] tables still applied on top)."""
    import dataclasses

    from ..scenario import catalogue

    try:
        models = catalogue.read_file(file)
    except catalogue.CatalogueError as exc:
        _fail(f"ormock: --catalogue {file}: {exc}")
    own = {key: model for key, model in loaded.models.items() if key not in catalogue.builtin()}
    return dataclasses.replace(loaded, models={**models, **own})


def _write_url(path: Path, url: str) -> None:
    """Writes the base URL to `path` in one step (a reader never sees half of it)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(url + "\n", "utf-8")
    partial.replace(path)


def _say(line: str) -> None:
    print(line, flush=True)


def _write(text: str) -> None:
    """A batch of log lines (see `Lines`)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class ServerKind(StrEnum):
    hypercorn = "hypercorn"
    granian = "granian"


class ClockKind(StrEnum):
    scaled = "scaled"
    manual = "manual"


# serve's options, declared once each (record shares the address ones), grouped as `serve --help`
# shows them: what most runs set first, each on one line of an 80-column terminal. Values are named
# by metavars, flags by none, and ranges and defaults are said in the help text (Typer would add a
# line of its own for each).
SCENARIO_PANEL, CONTROL, RECORDING = "Scenario", "Control API and webhooks", "Passing to an upstream"
ScenarioArg = Annotated[str | None, typer.Argument(metavar="SCENARIO", hidden=True, show_default=False)]
Host = Annotated[str, typer.Option(metavar="ADDR", help="Address to listen on (127.0.0.1).", show_default=False)]
Port = Annotated[
    int, typer.Option(metavar="PORT", help="Port (8000); 0 picks a free one.", callback=_port, show_default=False)
]
Speed = Annotated[
    float,
    typer.Option(
        metavar="N", help="Time-based steps N times faster (1).", callback=_at_least(0.0001), show_default=False
    ),
]
ClockOption = Annotated[
    ClockKind, typer.Option(metavar="KIND", help="scaled (the wall clock x --speed) or manual.", show_default=False)
]
Seed = Annotated[int | None, typer.Option(metavar="N", help="Same requests, same job ids, run after run.")]
NoDashboard = Annotated[bool, typer.Option("--no-dashboard", metavar="", help="Plain log lines, not the dashboard.")]
LogFormatOption = Annotated[
    LogFormat, typer.Option(metavar="FORMAT", help="Log lines as text or json.", show_default=False)
]
ServerOption = Annotated[
    ServerKind,
    typer.Option(
        metavar="NAME",
        help="hypercorn, or granian: faster (ormock\\[fast]).",
        envvar="ORMOCK_SERVER",
        show_envvar=False,
        show_default=False,
    ),
]
ReportFile = Annotated[Path | None, typer.Option(metavar="FILE", help="At the stop, the client report: .json/.xml/.md")]
Watch = Annotated[
    bool,
    typer.Option(
        "--watch", metavar="", help="Reload the scenario when its file changes.", rich_help_panel=SCENARIO_PANEL
    ),
]
CatalogueFile = Annotated[
    Path | None,
    typer.Option(
        "--catalogue", metavar="FILE", help="A models listing to serve (models pull).", rich_help_panel=SCENARIO_PANEL
    ),
]
ContentDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--content-dir", metavar="DIR", help="Another folder for content files.", rich_help_panel=SCENARIO_PANEL
    ),
]
JournalMax = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="Requests journalled per test id (1000).",
        callback=_at_least(1),
        show_default=False,
        rich_help_panel=CONTROL,
    ),
]
AdminToken = Annotated[
    str | None, typer.Option(metavar="TOKEN", help="Require this Bearer token on /__ormock/.", rich_help_panel=CONTROL)
]
ControlAllow = Annotated[
    list[str] | None,
    typer.Option(metavar="ORIGIN", help="Another origin or host it answers; * any.", rich_help_panel=CONTROL),
]
WebhookSecret = Annotated[
    str | None, typer.Option(metavar="SECRET", help="Sign webhook deliveries with this.", rich_help_panel=CONTROL)
]
UrlFile = Annotated[
    Path | None, typer.Option(metavar="FILE", help="Also write the base URL here.", rich_help_panel=CONTROL)
]
Upstream = Annotated[
    str | None, typer.Option(metavar="URL", help="With --record-missing: where misses go.", rich_help_panel=RECORDING)
]
RecordMissing = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Send misses upstream and record them here.", rich_help_panel=RECORDING),
]


@app.command(cls=Command)
def serve(
    scenario: ScenarioArg = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    speed: Speed = 1.0,
    clock: ClockOption = ClockKind.scaled,
    seed: Seed = None,
    journal_max: JournalMax = 1000,
    admin_token: AdminToken = None,
    control_allow: ControlAllow = None,
    webhook_secret: WebhookSecret = None,
    watch: Watch = False,
    no_dashboard: NoDashboard = False,
    log_format: LogFormatOption = LogFormat.text,
    server: ServerOption = ServerKind.hypercorn,
    report: ReportFile = None,
    catalogue_file: CatalogueFile = None,
    url_file: UrlFile = None,
    content_dir: ContentDirs = None,
    upstream: Upstream = None,
    record_missing: RecordMissing = None,
) -> None:
    """Serve the video API from SCENARIO: a scenario file or a built-in's name (`ormock scenarios`);
    none, the default timelines. The first line printed is the base URL for clients."""
    from ..servers import ServeError, listen, serve_here, unavailable
    from ..service.clock import choose_clock
    from ..web.app import create_app

    loaded, named = _load(scenario, "ormock: invalid scenario, not serving:", content_dir)
    if catalogue_file is not None:
        loaded = _with_catalogue(loaded, catalogue_file)
    problem = unavailable(server.value) or _serve_options_problem(loaded, watch, report, url_file)
    problem = problem or _capture_problem(upstream, record_missing)
    if problem is not None:
        _fail(f"ormock: {problem}")
    if record_missing is not None:
        loaded, named = _with_recordings(loaded, named, record_missing)
    scenario_clock = choose_clock(clock.value, speed, seeded=seed is not None)
    web = create_app(
        loaded,
        scenario_clock,
        seed,
        journal_max=journal_max,
        admin_token=admin_token,
        webhook_secret=webhook_secret,
        control_allow=tuple(control_allow or ()),
    )
    try:
        sock, url = listen(host, port)
    except ServeError as exc:
        _fail(f"ormock: {exc}")
    pace = "a manual clock" if clock is ClockKind.manual else f"speed {speed:g}x"
    under = "" if server is ServerKind.hypercorn else f" under {server.value}"

    def ready() -> None:
        if url_file is not None:
            _write_url(url_file, url)
        view.listening(url, f"serving {named} at {pace}{under}; Ctrl-C stops")

    view = _View(web, url, not no_dashboard and sys.stdout.isatty(), log_format)
    if watch:
        from .watch import watch_scenario

        watched = loaded.path
        assert watched is not None
        say = web.store.notices.append if view.dashboard else view.say
        view.background["scenario watcher"] = lambda: watch_scenario(watched, web.store, say)
    front = _capture(web, upstream, record_missing, scenario_clock)
    serve_here(front, sock, server=server.value, background=view.background, on_ready=ready, say=view.tell)
    view.finish(report)
    if front is not web:
        for path in front.recorder.save():
            view.say(f"ormock: wrote {path}")
    view.say("ormock: stopped")


def _capture(web: App, upstream: str | None, record_missing: Path | None, clock: Any) -> Any:
    """The app to serve: `web`, or with --record-missing, `web` in front of a recorder of the upstream."""
    if record_missing is None or upstream is None:
        return web
    from ..web.capture import CaptureMisses
    from ..web.record import Recorder

    return CaptureMisses(web, Recorder(upstream, record_missing, clock))


def _capture_problem(upstream: str | None, record_missing: Path | None) -> str | None:
    if (upstream is None) != (record_missing is None):
        return (
            "--upstream and --record-missing go together: what no rule takes goes to the one, is recorded in the other"
        )
    if upstream is not None and not upstream.startswith(("http://", "https://")):
        return f"--upstream must be an http(s) URL, not {safe.shown(upstream, 80)!r}"
    if record_missing is not None and (problem := _recording_folder_problem(record_missing)) is not None:
        return f"--record-missing {record_missing}: {problem}"
    return None


def _with_recordings(loaded: Scenario, named: str, folder: Path) -> tuple[Scenario, str]:
    """`loaded` with the recordings already in `folder` tried after its rules."""
    from ..scenario.loader import ScenarioError, load, with_recordings

    recordings = []
    for path in sorted(folder.glob("*.toml")):
        try:
            recordings.append(load(path))
        except ScenarioError as exc:
            _fail(f"ormock: --record-missing {folder}: a recording there does not load:\n{exc}")
    merged = with_recordings(loaded, recordings)
    return merged, f"{named}, and {len(merged.rules) - len(loaded.rules)} recorded rules from {folder}"


def _serve_options_problem(loaded: Scenario, watch: bool, report: Path | None, url_file: Path | None) -> str | None:
    if watch and loaded.path is None:
        return "--watch needs a scenario file to watch"
    if report is not None and (report.suffix not in (".json", ".xml", ".md") or not report.parent.is_dir()):
        return f"--report {report}: give a .json, .xml or .md file in a folder that exists"
    if url_file is not None and not url_file.parent.is_dir():
        return f"--url-file {url_file}: the folder {url_file.parent} does not exist"
    return None


class _View:
    """What `serve` shows a person: the live dashboard on a terminal, else the plain log; and, at
    the stop, the client report's verdicts."""

    def __init__(self, web: App, url: str, dashboard: bool, log_format: LogFormat) -> None:
        self.store = web.store
        self.dashboard = dashboard
        self.json = log_format is LogFormat.json and not dashboard  # then every line on stdout is JSON
        self.background: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}
        self.lines: Lines | None = None
        web.say = self.tell
        if dashboard:
            from rich.console import Console

            from .dashboard import Board, run_dashboard  # Rich's live display: only when it is shown

            console = Console()
            board = Board(self.store)
            web.listeners.append(board.request)
            self.background["dashboard"] = lambda: run_dashboard(board, url, console)
        else:
            from .log import Lines, watch_statuses

            lines = self.lines = Lines(json_lines=log_format is LogFormat.json, write=_write)
            web.dispatcher.say = self.say
            web.listeners.append(lines.request)
            self.background["log"] = lambda: watch_statuses(self.store, lines)

    def say(self, line: str) -> None:
        """A line on stdout: as it is, or with --log-format json, a JSON notice."""
        if self.json:
            line = json.dumps({"event": "notice", "time": time.time(), "message": line.removeprefix("ormock: ")})
        _say(line)

    def listening(self, url: str, what: str) -> None:
        """The first lines: the base URL on a line of its own, then what is served (with --log-format
        json, one JSON line holding both)."""
        if self.json:
            _say(json.dumps({"event": "listening", "time": time.time(), "url": url, "message": what}))
            return
        _say(url)
        _say(f"ormock: {what}")

    def tell(self, line: str) -> None:
        """A server notice: on stderr, and in the dashboard when there is one."""
        typer.echo(line, err=True)
        self.store.notices.append(line)

    def finish(self, report: Path | None) -> None:
        if self.lines is not None:
            self.lines.flush()  # the lines of the last moments before the stop
        if report is None and not self.dashboard:
            return
        from .. import report as client_report

        found = client_report.build(self.store)
        if report is not None:
            report.write_text(client_report.render(found, report.suffix), "utf-8")
            self.say(f"ormock: wrote the client report to {report}")
        if self.dashboard:  # what the person watched is gone with the screen: leave the verdicts
            _say(client_report.summary(found))


class Format(StrEnum):
    text = "text"
    json = "json"


def _scenario_files(args: list[str]) -> tuple[list[Path], list[tuple[str, Problem]]]:
    from ..scenario.problems import Problem

    files: list[Path] = []
    empty: list[tuple[str, Problem]] = []
    for arg in args:
        path = Path(arg)
        if not path.exists() and arg.removesuffix(".toml") in library.names():
            path = library.path(arg)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not found:
                empty.append((str(path), Problem((), "no scenario files (*.toml) in this directory")))
            files += found
        elif path.exists():
            files.append(path)
        else:
            _fail(
                f"ormock validate: no such file or directory, and no built-in scenario: {path}; "
                f"the built-ins are: {', '.join(library.names())}"
            )
    return files, empty


@app.command(cls=Command)
def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH",
            help="Scenario files, directories to search for *.toml, or built-in names.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    format: Annotated[Format, typer.Option("--format", help="text, or json for CI.")] = Format.text,
    content_dir: ContentDirs = None,
) -> None:
    """Check scenario files with the loader `serve` uses; report every problem. Default: the folder
    scenarios/ if there is one here, else every built-in scenario.

    Exit 0 when clean, 1 on any error (or any warning with --strict), 2 on a usage error.
    """
    from ..scenario.loader import ScenarioError, load

    default = ["scenarios"] if Path("scenarios").is_dir() else library.names()
    files, findings = _scenario_files(paths or default)
    for file in files:
        try:
            findings += [(str(file), p) for p in load(file, tuple(content_dir or ())).warnings]
        except ScenarioError as exc:
            findings += [(str(file), p) for p in exc.problems]
    errors = sum(1 for _, p in findings if p.severity == "error")
    warnings = len(findings) - errors
    if format is Format.json:
        report = {
            "files": [str(f) for f in files],
            "errors": errors,
            "warnings": warnings,
            "problems": [p.as_json(source) for source, p in findings],
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        for source, problem in findings:
            typer.echo(problem.format(source))
        noun = "file" if len(files) == 1 else "files"
        typer.echo(f"checked {len(files)} scenario {noun}: {errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        raise typer.Exit(1)


@app.command(cls=Command)
def demo(
    scenario: Annotated[
        str, typer.Argument(metavar="SCENARIO", help="A scenario file or a built-in's name.", show_default=False)
    ] = library.DEFAULT_DEMO,
    speed: Annotated[
        float,
        typer.Option(
            metavar="N", help="Clock speed (1000: minutes in seconds).", callback=_at_least(1), show_default=False
        ),
    ] = 1000.0,
) -> None:
    """Run a careful reference client through every rule of SCENARIO and show what it saw."""
    from rich.console import Console

    from .demo import run_demo

    loaded, shown = _load(scenario, "ormock: invalid scenario:")
    stories = run_demo(loaded, speed, Console(), shown)
    if any(not story.events for story in stories if story.ending.startswith("no request")):
        raise typer.Exit(1)


@app.command(cls=Command)
def record(
    upstream: Annotated[
        str, typer.Option(metavar="URL", help="The service to record (OpenRouter's).", show_default=False)
    ] = "https://openrouter.ai/api/v1",
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Where the recording goes (recordings/).", show_default=False)
    ] = Path("recordings"),
    host: Host = "127.0.0.1",
    port: Port = 8000,
    max_content_bytes: Annotated[
        int,
        typer.Option(
            metavar="N", help="Content bytes kept per job (32 MB).", callback=_at_least(0), show_default=False
        ),
    ] = 32 * 1024 * 1024,
    clock: Annotated[
        ClockKind, typer.Option(metavar="KIND", help="scaled, or manual (for tests).", show_default=False)
    ] = ClockKind.scaled,
    redact_prompts: Annotated[
        bool, typer.Option("--redact-prompts", metavar="", help="Write no prompt: match its SHA-256.")
    ] = False,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", metavar="", help="No live view of the jobs.")] = False,
) -> None:
    """Pass clients through to the real service and write what happened as a scenario
    (`ormock docs recording`). The first line printed is the base URL for clients; Ctrl-C, SIGTERM or
    POST /__ormock/record/save writes the recording."""
    from ..servers import ServeError, listen, serve_here
    from ..service.clock import choose_clock
    from ..web.record import Recorder

    if not upstream.startswith(("http://", "https://")):
        _fail(f"ormock record: --upstream must be an http(s) URL, not {upstream!r}")
    problem = _recording_folder_problem(out)
    if problem is not None:
        _fail(f"ormock record: --out {out}: {problem}")
    recorder = Recorder(upstream, out, choose_clock(clock.value), max_content_bytes, redact_prompts)
    try:
        sock, url = listen(host, port)
    except ServeError as exc:
        _fail(f"ormock: {exc}")

    def ready() -> None:
        _say(url)
        _say(f"ormock: recording {upstream} into {out}/; Ctrl-C stops and writes the recording")

    background = {}
    if not no_dashboard and sys.stdout.isatty():
        from rich.console import Console

        from .dashboard import run_live, snapshot_recording

        console, started = Console(), time.time()
        background["dashboard"] = lambda: run_live(lambda: snapshot_recording(recorder, url, started), console)
    serve_here(recorder, sock, on_ready=ready, background=background)
    written = recorder.save()
    for path in written:
        _say(f"ormock: wrote {path}")
    if not written:
        _say("ormock: nothing was recorded")
    _say("ormock: stopped")


def _recording_folder_problem(out: Path) -> str | None:
    """Why the recording could not be written to the folder `out`, found before anything is
    recorded (at the stop it would be too late), or None."""
    if out.exists() and not out.is_dir():
        return "is a file; name a folder for the recording"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot make the folder: {exc.strerror or exc}"
    if not os.access(out, os.W_OK | os.X_OK):
        return "cannot write in this folder"
    return None


models_app = typer.Typer(
    cls=Group, help="The model catalogue: pull the live listing, or see what changed.", add_completion=False
)
app.add_typer(models_app, name="models")


@models_app.command("pull", cls=Command)
def models_pull(
    upstream: Annotated[str, typer.Option(help="The service to ask.")] = "https://openrouter.ai/api/v1",
    out: Annotated[Path, typer.Option(help="The catalogue file to write.")] = Path("catalogue.json"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Fetch the live GET /videos/models and write it as a catalogue file for `serve --catalogue`
    (or a scenario's `catalogue` key)."""
    import httpx

    from ..scenario import catalogue

    if out.exists() and not force:
        _fail(f"ormock models pull: {out} already exists (--force overwrites it)")
    headers = {"Authorization": f"Bearer {key}"} if (key := os.environ.get("OPENROUTER_API_KEY")) else {}
    try:
        response = httpx.get(upstream.rstrip("/") + "/videos/models", headers=headers, timeout=30)
        listing = response.json()
        models = catalogue.from_listing(listing["data"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        _fail(f"ormock models pull: {upstream} gave no models listing ({type(exc).__name__}: {exc})")
    fetched = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {"source": upstream, "fetched": fetched, "data": [m.model_dump(mode="json") for m in models.values()]}
    out.write_text(json.dumps(document, indent=1) + "\n", "utf-8")
    typer.echo(f"wrote {len(models)} models from {upstream} to {out}")


@models_app.command("diff", cls=Command)
def models_diff(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="A catalogue file (`ormock models pull` writes catalogue.json).", show_default=False
        ),
    ] = Path("catalogue.json"),
) -> None:
    """What changed in FILE against the built-in catalogue: models added or removed, and changed
    durations, resolutions, aspect ratios, sizes, flags and prices. Exit 0 when nothing changed,
    1 when something did (for CI), 2 when FILE cannot be read."""
    from ..scenario import catalogue

    try:
        pulled = catalogue.read_file(file)
    except catalogue.CatalogueError as exc:
        _fail(f"ormock models diff: cannot read {file}: {exc}")
    lines = catalogue.diff(catalogue.builtin(), pulled)
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} difference(s) against the built-in catalogue ({len(catalogue.builtin())} models)")
    if lines:
        raise typer.Exit(1)


scenarios_app = typer.Typer(
    cls=Group, help="The built-in scenarios: list them, print one, or copy one to edit.", add_completion=False
)
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.callback(invoke_without_command=True)
def scenarios_list(context: typer.Context) -> None:
    """List the built-in scenarios with their purpose (serve one with `ormock serve NAME`)."""
    if context.invoked_subcommand is not None:
        return
    names = library.names()
    width = max(len(name) for name in names)
    for name in names:
        typer.echo(f"{name.ljust(width)}  {library.purpose(name)}")
    typer.echo(f"\n`ormock scenarios show NAME` prints one; `ormock serve NAME` serves it. Files: {library.FOLDER}")


@scenarios_app.command("show", cls=Command)
def scenarios_show(name: Annotated[str, typer.Argument(metavar="NAME", help="A built-in scenario's name.")]) -> None:
    """Print a built-in scenario, e.g. `ormock scenarios show seedance > mine.toml`."""
    try:
        path = library.path(name)
    except library.UnknownScenario as exc:
        _fail(f"ormock: {exc}")
    typer.echo(path.read_text("utf-8"), nl=False)
    files = _content_files(path)
    if files:  # on stderr: `show NAME > mine.toml` must still hold the scenario alone
        typer.echo(
            f"ormock: {name} serves {', '.join(files)} from beside it; "
            f"`ormock scenarios copy {name}` copies the scenario and {'them' if len(files) > 1 else 'it'} together",
            err=True,
        )


@scenarios_app.command("copy", cls=Command)
def scenarios_copy(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A built-in scenario's name.")],
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Where to put it (here).", show_default=False)] = Path(
        "."
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Copy a built-in scenario, and the content files it serves, into DIR to edit: it validates
    and serves from there as it is."""
    try:
        path = library.path(name)
    except library.UnknownScenario as exc:
        _fail(f"ormock: {exc}")
    sources = [path, *(path.parent / file for file in _content_files(path))]
    targets = [folder / source.name for source in sources]
    taken = [str(target) for target in targets if target.exists()]
    if taken and not force:
        _fail(f"ormock scenarios copy: {', '.join(taken)} already exist(s) (--force overwrites)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for source, target in zip(sources, targets, strict=True):
            target.write_bytes(source.read_bytes())
    except OSError as exc:
        _fail(f"ormock scenarios copy: cannot write into {folder}: {exc.strerror or exc}")
    typer.echo(f"wrote {', '.join(str(t) for t in targets)}; serve it with `ormock serve {targets[0]}`")


def _content_files(path: Path) -> list[str]:
    """The content files a built-in scenario's steps name (they sit beside it)."""
    from ..scenario.loader import load

    scenario = load(path)
    steps = [step for rule in [*scenario.rules, scenario.default] for step in rule.timeline or []]
    return sorted({step.content for step in steps if step.content is not None})


@app.command(cls=Command)
def init(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Where to write the starter scenario (scenario.toml).", show_default=False),
    ] = Path("scenario.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write a commented starter scenario that validates clean."""
    if file.exists() and not force:
        _fail(f"ormock init: {file} already exists (--force overwrites it)")
    try:
        file.write_text(library.starter(file.name), "utf-8")
    except OSError as exc:
        _fail(f"ormock init: cannot write {file}: {exc.strerror or exc}")
    typer.echo(f"wrote {file}; check it with `ormock validate {file}`, serve it with `ormock serve {file}`")


GUIDES = {
    "scenarios": "the scenario file: every table and key",
    "testing": "driving ormock from tests: the Simulator, pytest, the control API, rules at runtime",
    "client-report": "what the client report checks, and why",
    "recording": "recording a real session and replaying it",
    "node": "ormock from JavaScript suites: Vitest, Playwright, the Vercel AI SDK",
    "limits": "the bounds ormock keeps, and what happens past them",
    "architecture": "how the package is laid out",
    "performance": "what was measured, and how",
    "changelog": "what changed in each version",
}


def _guide(name: str) -> Path | None:
    """A guide's file: inside the installed package (the wheel ships them), else in this checkout."""
    package = Path(__file__).resolve().parents[1]
    for path in (package / "docs" / f"{name}.md", package.parent / "docs" / f"{name}.md"):
        if path.is_file():
            return path
    if name == "changelog" and (package.parent / "CHANGELOG.md").is_file():
        return package.parent / "CHANGELOG.md"
    return None


@app.command(cls=Command)
def docs(
    name: Annotated[str | None, typer.Argument(metavar="GUIDE", help="The guide to print.", show_default=False)] = None,
) -> None:
    """Print one of ormock's guides (Markdown), or with none, list them: `ormock docs scenarios | less`."""
    if name is None:
        width = max(len(guide) for guide in GUIDES)
        for guide, about in GUIDES.items():
            typer.echo(f"{guide:<{width}}  {about}")
        return
    path = _guide(name.removesuffix(".md")) if name.removesuffix(".md") in GUIDES else None
    if path is None:
        from difflib import get_close_matches

        close = get_close_matches(name, list(GUIDES), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        _fail(f"ormock docs: no guide named {safe.shown(name, 40)!r}{hint}; the guides: {', '.join(GUIDES)}")
    typer.echo(path.read_text("utf-8"), nl=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
