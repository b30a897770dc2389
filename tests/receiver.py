"""A real HTTP webhook receiver on a free port, for tests. It checks nothing itself: it records
every delivery (headers and raw body) and answers with whatever the test scripts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    url: str
    deliveries: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer, in turn; then 200
    gate: threading.Event | None = None  # when set up, each delivery waits for it before answering

    def wait_for(self, count: int, limit: float = 15.0) -> list[Received]:
        """The first `count` deliveries; the limit only bounds a failing test."""
        deadline = time.monotonic() + limit
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.deliveries)} deliveries, not {count}")
            time.sleep(0.005)
        return self.deliveries[:count]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.deliveries.append(Received(dict(self.headers.items()), body, time.monotonic()))
            if receiver.gate is not None:
                receiver.gate.wait(30)
            code = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.gate is not None:
            receiver.gate.set()
        server.shutdown()
        server.server_close()
