"""A careless client: it breaks each check of the client report once. `ormock demo` shows its
report next to the careful reference client's, and tests/report/test_report.py asserts every finding.

It runs against `SCENARIO` on a manual clock (`advance` moves it), with a webhook receiver of its
own that accepts everything, badly signed deliveries included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

SEEDANCE = "bytedance/seedance-2.0"
SCENARIO = """
[webhooks]
secret = "whsec_test"

[default]
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed", cost = 0.1 }]

[[rule]]
name = "slow"
match = { prompt = "slow" }
timeline = [{ status = "in_progress", for = "1h" }, { status = "completed" }]

[[rule]]
name = "busy"
match = { prompt = "busy" }
submit = { respond = 429, retry_after = 5, times = 1 }

[[rule]]
name = "flaky"
match = { prompt = "flaky" }
submit = { respond = 500, times = 3 }

[[rule]]
name = "forged"
match = { prompt = "forged" }
timeline = [{ status = "completed" }]
webhook = { bad_signature = true }
"""
CARELESS = {"Authorization": "Bearer sk-or-careless-0001", "User-Agent": "careless/1.0"}


def careless(base_url: str, advance: Callable[[float], object], hook_url: str) -> dict[str, str]:
    """Breaks each check once; returns the job ids by what they were for."""
    http = httpx.Client(base_url=base_url, headers=CARELESS)
    submit = lambda **body: http.post("/videos", json={"model": SEEDANCE, **body})  # noqa: E731
    jobs = {}
    jobs["slow"] = submit(prompt="slow").json()["id"]
    for _ in range(3):  # poll interval: three polls with no time between them
        http.get(f"/videos/{jobs['slow']}")
    assert http.get(f"/videos/{jobs['slow']}/content").status_code == 409  # downloaded too early
    advance(10)
    jobs["late"] = submit(prompt="late").json()["id"]
    for _ in range(4):  # in_progress, completed, then two polls after the end
        advance(10)
        http.get(f"/videos/{jobs['late']}")
    advance(10)
    assert httpx.get(f"{base_url}/videos/{jobs['late']}").status_code == 401  # keyless
    assert http.get(f"/videos/{jobs['late']}/content").status_code == 200
    jobs["kept"] = submit(prompt="kept").json()["id"]
    for _ in range(2):  # completed, never downloaded
        advance(10)
        http.get(f"/videos/{jobs['kept']}")
    assert submit(prompt="busy").status_code == 429
    jobs["busy"] = submit(prompt="busy").json()["id"]  # at once, not 5 s later
    for _ in range(2):
        assert submit(prompt="bad duration", duration=99).status_code == 400  # the same 400 twice
    answers = [submit(prompt="flaky").status_code for _ in range(4)]  # no backoff between 500s
    assert answers == [500, 500, 500, 202]
    jobs["first"] = submit(prompt="twice").json()["id"]
    jobs["again"] = submit(prompt="twice").json()["id"]  # while the first runs
    jobs["forged"] = submit(prompt="forged", callback_url=hook_url).json()["id"]
    advance(10)
    http.get(f"/videos/{jobs['forged']}")
    http.get(f"/videos/{jobs['forged']}/content")
    return jobs


@contextmanager
def accepting_receiver() -> Iterator[str]:
    """A webhook receiver that answers 200 to everything (and checks nothing): its URL."""

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()
