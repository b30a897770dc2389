"""`Simulator`: a real ormock server on a free port in a background thread, for test code.

    with Simulator("ci-fast", clock="manual") as sim:
        client = OpenRouter(api_key="sk-or-test", server_url=sim.base_url)
        ...
        sim.advance(30)
        sim.wait(job_id, "completed")

Every method talks to the server's control API over HTTP, exactly as a test in another process
would.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx

from .scenario import library
from .scenario.loader import Scenario, load, parse
from .servers import block_on, listen, run, unavailable
from .service.clock import choose_clock
from .web.app import create_app


class SimulatorError(Exception):
    """The control API refused a request; the message is its answer, and `problems` what it found
    wrong with rules or a scenario (each a dict with `key`, `line`, `message`, `hint`)."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        self.problems = problems or []
        lines = [f"{p['key'] or '(file)'}: {p['message']}" for p in self.problems if p.get("severity") == "error"]
        super().__init__("\n  ".join([message, *lines[1:]]) if len(lines) > 1 else message)


Rules = str | Mapping[str, Any] | Sequence[Mapping[str, Any]]


class Simulator:
    """An ormock server for tests. `scenario` is a path, a built-in scenario's name (`"ci-fast"`),
    a loaded `Scenario`, or None for the built-in default (every job succeeds after a few seconds)."""

    def __init__(
        self,
        scenario: str | Path | Scenario | None = None,
        *,
        speed: float = 1.0,
        clock: Literal["scaled", "manual"] = "scaled",
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        control_allow: tuple[str, ...] = (),
        server: Literal["hypercorn", "granian"] | None = None,
        journal_max: int = 1000,
        webhook_secret: str | None = None,
    ) -> None:
        if isinstance(scenario, Scenario):
            self.scenario = scenario
        else:
            self.scenario = parse("") if scenario is None else load(library.resolve(scenario))
        if clock not in ("scaled", "manual"):
            raise ValueError(f"clock must be 'scaled' or 'manual', not {clock!r}")
        self._clock = choose_clock(clock, speed, seeded=seed is not None)
        self._app = create_app(
            self.scenario,
            self._clock,
            seed,
            journal_max=journal_max,
            admin_token=admin_token,
            control_allow=control_allow,
            webhook_secret=webhook_secret,
        )
        server = server or os.environ.get("ORMOCK_SERVER", "hypercorn")  # type: ignore[assignment]
        assert server is not None
        missing = unavailable(server)
        if missing is not None:
            raise SimulatorError(missing)
        self._server = server
        self._host = host
        self._port = port
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._headers = headers
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._http: httpx.Client | None = None
        self.base_url = ""
        self.url = ""

    # --- running ------------------------------------------------------------------------------
    def start(self) -> Simulator:
        sock, self.base_url = listen(self._host, self._port)
        self.url = self.base_url.removesuffix("/api/v1")
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            started.set()
            await run(self._app, sock, server=self._server, stop=self._stop)

        self._thread = threading.Thread(target=block_on, args=(main(), self._server), name="ormock", daemon=True)
        self._thread.start()
        started.wait(10)
        self._http = httpx.Client(base_url=self.url, headers=self._headers, timeout=30)
        self.health()  # answers once the server is up
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        if self._http is not None:
            self._http.close()
        self._thread = self._loop = self._stop = self._http = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- the control API ----------------------------------------------------------------------
    def _call(self, method: str, path: str, test_id: str | None = None, **kwargs: Any) -> Any:
        if self._http is None:
            raise SimulatorError("the simulator is not running: use `with Simulator(...)` or call start()")
        headers = {"X-Test-Id": test_id} if test_id else {}
        headers |= kwargs.pop("headers", {})
        response = self._http.request(method, f"/__ormock{path}", headers=headers, **kwargs)
        if response.status_code >= 400:
            error = response.json()["error"]
            raise SimulatorError(error["message"], (error.get("metadata") or {}).get("problems"))
        return response.json()

    def _pages(self, path: str, test_id: str | None) -> list[dict[str, Any]]:
        """Every item of a paged listing (`data`, `next_offset`), a page at a time."""
        found: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            page = self._call("GET", path, test_id, params={"offset": offset})
            found += page["data"]
            offset = page["next_offset"]
        return found

    def health(self) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while True:
            try:
                return self._call("GET", "/health")
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def jobs(self, test_id: str | None = None) -> list[dict[str, Any]]:
        """Every job (of one test id, if given): rule, model, request, status, step, polls, ...
        (read a page of 1000 at a time)."""
        return self._pages("/jobs", test_id)

    def job(self, job_id: str, test_id: str | None = None) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}", test_id)

    def requests(
        self,
        job: str | None = None,
        path: str | None = None,
        since: int | None = None,
        test_id: str | None = None,
        kind: str | None = None,
    ) -> list[dict[str, Any]]:
        """The request journal, oldest first; Authorization values are redacted. `kind` is "api"
        (requests to ormock) or "webhook" (delivery attempts from it)."""
        params = {k: v for k, v in {"job": job, "path": path, "since": since, "kind": kind}.items() if v is not None}
        return self._call("GET", "/requests", test_id, params=params)["data"]

    def advance(self, seconds: float) -> float:
        """Moves the scenario clock forward; returns the new time."""
        return self._call("POST", "/clock/advance", json={"seconds": seconds})["time"]

    def set_status(self, job_id: str, status: str, error: str | None = None, test_id: str | None = None) -> dict:
        """Forces a job to `status` now; its timeline stops there."""
        body = {"status": status} | ({"error": error} if error is not None else {})
        return self._call("POST", f"/jobs/{job_id}/status", test_id, json=body)

    def wait(self, job_id: str, status: str, timeout: float = 10, test_id: str | None = None) -> dict[str, Any]:
        """Returns as soon as the job reports `status`; SimulatorError on timeout or another ending."""
        params = {"job": job_id, "status": status, "timeout": timeout}
        return self._call("GET", "/wait", test_id, params=params)

    def report(self, test_id: str | None = None) -> dict[str, Any]:
        """The client report (`GET /__ormock/report`): a verdict per client on every check, with
        the evidence (docs/client-report.md)."""
        params = {"test_id": test_id} if test_id is not None else {}
        return self._call("GET", "/report", params=params)

    def credits(self, key: str | None = None, test_id: str | None = None) -> dict[str, Any]:
        """The credit balances (`GET /__ormock/credits`): `data` lists every account of the test id;
        with `key`, `key` is that API key's own account (None when it is unlimited)."""
        params = {"key": key} if key is not None else {}
        return self._call("GET", "/credits", params=params, test_id=test_id)

    def reset(self, test_id: str | None = None) -> None:
        """Jobs, journal, rule counts, added rules and own scenarios back to a fresh start (one test
        id's, or all)."""
        self._call("POST", "/reset", test_id)

    # --- scripting jobs at runtime (docs/testing.md, "Rules at runtime") ------------------------
    def add_rules(self, rules: Rules, test_id: str | None = None) -> list[dict[str, Any]]:
        """Adds rules, tried before all others for `test_id` (or for requests without one): TOML
        text holding `[[rule]]` tables, or one rule or a list of them as dicts with the same keys.
        Returns them as loaded; SimulatorError, with `problems`, if any is invalid (none is added)."""
        if isinstance(rules, str):
            sent = self._call("POST", "/rules", test_id, content=rules, headers={"Content-Type": "application/toml"})
        else:
            listed = [rules] if isinstance(rules, Mapping) else list(rules)
            sent = self._call("POST", "/rules", test_id, json={"rules": listed})
        return sent["data"]

    def rules(self, test_id: str | None = None) -> list[dict[str, Any]]:
        """The rules in effect for `test_id`, in the order they are tried, each with its `source`
        (`runtime` or the scenario's) and how many submits it `matched`."""
        return self._pages("/rules", test_id)

    def remove_rules(self, *names: str, test_id: str | None = None) -> list[str]:
        """Removes the rules added at runtime with these names (all of them when none is named);
        returns the names removed. Jobs they made keep them."""
        if not names:
            return self._call("DELETE", "/rules", test_id)["removed"]
        return [
            gone
            for name in names
            for gone in self._call("DELETE", f"/rules/{quote(name, safe='')}", test_id)["removed"]
        ]

    def set_scenario(self, scenario: str | Path | None, test_id: str | None = None) -> None:
        """Gives `test_id` (or requests without one) a scenario of its own: TOML text, or a `Path`
        to a file (`library.resolve` finds a built-in's); None: the server's again. Content files
        it names are read from the server scenario's folder."""
        if scenario is None:
            self._call("DELETE", "/scenario", test_id)
            return
        text = scenario.read_text(encoding="utf-8") if isinstance(scenario, Path) else scenario
        self._call("PUT", "/scenario", test_id, content=text, headers={"Content-Type": "application/toml"})
