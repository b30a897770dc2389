"""Fixtures: an in-process ormock (ASGI, manual clock) and clients whose every JSON answer is
checked against the official OpenAPI subset."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from openapi import async_hook, sync_hook
from support import SCENARIOS, Mock

from ormock import ManualClock, Scenario, create_app, load_scenario, parse_scenario

# The JavaScript client checks run only in the `clients` nox session (they install packages from
# the npm registry and need Node 20+), which sets ORMOCK_NODE_CLIENTS=1.
if os.environ.get("ORMOCK_NODE_CLIENTS") != "1":
    collect_ignore_glob = ["clients/test_*.py"]


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

    def build(
        text: str = "",
        *,
        file: str | None = None,
        scenario: Scenario | None = None,
        base_url: str = "http://ormock.test",
    ) -> Mock:
        if scenario is None:
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
