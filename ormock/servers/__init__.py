"""Running the app on a real socket, under Hypercorn (the default) or Granian (`ormock[fast]`),
with a clean, bounded stop on Ctrl-C and SIGTERM. Both serve the same app in this process and on
this event loop, so the dashboard, the control API, webhooks and `--watch` behave the same."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..tasks import supervised

GRACE = 2.0  # seconds the stop gives requests under way
SERVERS = ("hypercorn", "granian")


def unavailable(server: str) -> str | None:
    """Why `server` cannot be used here, or None."""
    if server not in SERVERS:
        return f"unknown server {server!r}; choose one of {', '.join(SERVERS)}"
    if importlib.util.find_spec(server) is None:
        return f"--server {server} needs {server} installed: pip install 'ormock[fast]'"
    return None


T = TypeVar("T")


def loop_factory(server: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop a server runs on: under Granian, uvloop's when it is installed (it comes with
    `ormock[fast]`), because Granian hands every request to the loop from its own threads and
    uvloop's wake-up and scheduling cost a fraction of asyncio's; otherwise asyncio's own (None)."""
    if server != "granian" or importlib.util.find_spec("uvloop") is None:
        return None
    import uvloop

    return uvloop.new_event_loop


def block_on(coroutine: Coroutine[Any, Any, T], server: str = "hypercorn") -> T:
    """Runs `coroutine` (one that serves under `server`) to the end on the loop `server` runs on."""
    with asyncio.Runner(loop_factory=loop_factory(server)) as runner:
        return runner.run(coroutine)


def load(server: str) -> Callable[[Any, socket.socket, asyncio.Event, float], Coroutine[Any, Any, None]]:
    """The `serve` function of `server`'s module, importing it (and the server) if need be. `ormock
    serve` calls this before it freezes what start-up loaded out of the garbage collector's way."""
    if server == "granian":
        from .granian import serve
    else:
        from .hypercorn import serve
    return serve


class ServeError(OSError):
    """Why a server cannot listen, in a sentence a person can act on."""


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket and the API root clients should use; ServeError if the address is taken
    or cannot be had. `ormock serve`, `ormock record` and the Simulator all listen through this."""
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock, base_url(sock)


def serve_here(
    app: Any,
    sock: socket.socket,
    *,
    server: str = "hypercorn",
    background: dict[str, Callable[[], Coroutine[Any, Any, None]]] | None = None,
    on_ready: Callable[[], None] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serves `app` on `sock` in this thread until SIGINT or SIGTERM (see `run`): what `ormock
    serve` and `ormock record` run. What start-up made lives as long as the server, so it is frozen
    out of every collection's way first (no collection before: it would find nothing to free)."""
    load(server)  # the server's modules are start-up's too
    gc.freeze()
    gc.enable()
    block_on(run(app, sock, server=server, background=background, on_ready=on_ready, say=say), server)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. Raises OSError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    """The API root clients should use for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/api/v1"


def _quiet_stops(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connections cancelled at the stop (a hung request in flight) are not errors to print."""
    if isinstance(context.get("exception"), asyncio.CancelledError | ConnectionError):
        return
    loop.default_exception_handler(context)


async def run(
    app: Any,
    sock: socket.socket,
    *,
    server: str = "hypercorn",
    stop: asyncio.Event | None = None,
    background: dict[str, Callable[[], Coroutine[Any, Any, None]]] | None = None,
    on_ready: Callable[[], None] | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve `app` on `sock` until `stop` is set or the process gets SIGINT or SIGTERM; `background`
    jobs (by name) run meanwhile, supervised (see `tasks`).

    `on_ready` runs once the signal handlers are in place, so whoever sees what it prints can stop
    the server cleanly from then on. The stop takes at most `GRACE` seconds for requests under way
    (a hung one is cut then) plus the webhook sender's own bound (`webhooks.STOP_WAIT + STOP_SEND`).
    """
    serve = load(server)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_stops)
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Off the main thread there are no signal handlers; `stop` still works.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready()
    tasks = [
        asyncio.create_task(supervised(name, job, say, give_up=stop.set)) for name, job in (background or {}).items()
    ]
    try:
        await serve(app, sock, stop, GRACE)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
