"""Fixtures: an in-process ormock (ASGI, manual clock) and clients whose every JSON answer is
checked against the official OpenAPI subset."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openapi import async_hook, sync_hook

from ormock import ManualClock, create_app, load_scenario, parse_scenario
from ormock.service.store import JobStore

# The JavaScript client checks run only in the `clients` nox session (they install packages from
# the npm registry and need Node 20+), which sets ORMOCK_NODE_CLIENTS=1.
if os.environ.get("ORMOCK_NODE_CLIENTS") != "1":
    collect_ignore_glob = ["clients/test_*.py"]

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
KEY = {"Authorization": "Bearer sk-or-test"}
SEEDANCE = "bytedance/seedance-2.0"


@dataclass
class Mock:
    """An in-process ormock: its HTTP client, its clock and its job store."""

    http: httpx.AsyncClient
    clock: ManualClock
    store: JobStore
    app: object

    async def submit(self, **body: object) -> httpx.Response:
        body.setdefault("model", SEEDANCE)
        body.setdefault("prompt", "a lighthouse at dusk")
        return await self.http.post("/api/v1/videos", json=body, headers=KEY)

    async def job_id(self, **body: object) -> str:
        response = await self.submit(**body)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    async def poll(self, job_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.get(f"/api/v1/videos/{job_id}", headers=KEY if headers is None else headers)

    async def status(self, job_id: str) -> str:
        response = await self.poll(job_id)
        assert response.status_code == 200, response.text
        return response.json()["status"]

    async def download(self, job_id: str, index: int | None = 0, headers: dict[str, str] | None = None):
        query = "" if index is None else f"?index={index}"
        url = f"/api/v1/videos/{job_id}/content{query}"
        return await self.http.get(url, headers=KEY if headers is None else headers)


@pytest.fixture(autouse=True)
def every_json_answer_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every httpx client a test makes (the SDK's own included) checks each JSON answer it gets
    from /api/v1 against the official OpenAPI subset."""
    for cls, hook in ((httpx.Client, sync_hook), (httpx.AsyncClient, async_hook)):
        original = cls.__init__

        def init(self, *args, _original=original, _hook=hook, **kwargs):  # type: ignore[no-untyped-def]
            hooks = {name: list(found) for name, found in (kwargs.get("event_hooks") or {}).items()}
            if _hook not in hooks.setdefault("response", []):
                hooks["response"].append(_hook)
            kwargs["event_hooks"] = hooks
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)


@pytest.fixture
async def make_mock() -> AsyncIterator[Callable[..., Mock]]:
    """Builds an in-process ormock from TOML text, or a file under scenarios/ when `file` is given."""
    clients: list[httpx.AsyncClient] = []

    def build(text: str = "", *, file: str | None = None, base_url: str = "http://ormock.test") -> Mock:
        scenario = load_scenario(SCENARIOS / file) if file else parse_scenario(text)
        clock = ManualClock()
        app = create_app(scenario, clock, seed=1, control_allow=("ormock.test",))  # the name tests use
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=base_url, event_hooks={"response": [async_hook]}
        )
        clients.append(http)
        return Mock(http, clock, app.store, app)

    yield build
    for http in clients:
        await http.aclose()


@pytest.fixture
async def mock(make_mock: Callable[..., Mock]) -> Mock:
    """ormock serving scenarios/seedance.toml, on a manual clock."""
    return make_mock(file="seedance.toml")
