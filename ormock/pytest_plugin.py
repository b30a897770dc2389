"""The ormock pytest plugin (registered through the `pytest11` entry point).

Fixtures:
- `ormock`: a fresh `Simulator` for one test.
- `ormock_session`: one `Simulator` for the whole session, reset before each test that uses it.

Both export the API root as `OPENROUTER_BASE_URL` for the code under test. Pick the scenario and
clock with the `ormock` marker, or for the session with ini options:

    @pytest.mark.ormock(scenario="ci-fast", clock="manual")
    def test_my_poller(ormock): ...

    [tool.pytest.ini_options]
    ormock_scenario = "ci-fast"
    ormock_speed = "100"
    ormock_clock = "scaled"

`client_checks="fail"` (or the ini option `ormock_client_checks = fail`) fails a test whose
client broke a check of the client report, with the evidence; `"warn"` counts warnings too.

`rules=` scripts the test's jobs: `[[rule]]` tables as TOML text, or a rule or a list of rules as
dicts, tried before the scenario's rules. On `ormock_session`, whose server the whole session
shares, the marker's `rules`, `scenario` and `client_checks` apply to that test alone and are
undone after it; `speed`, `clock` and `seed` belong to the server and are refused there.

Relative scenario paths are read from the pytest root directory; a name that is no file there is a
built-in scenario's (`scenario="ci-fast"`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .simulator import Simulator, SimulatorError

_OPTIONS = ("scenario", "speed", "clock", "seed", "client_checks", "rules")
_SERVER_ONLY = ("speed", "clock", "seed")  # what a shared server cannot change for one test


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("ormock_scenario", "scenario file for the ormock fixtures (default: the built-in default)")
    parser.addini("ormock_speed", "clock speed for the ormock fixtures", default="1")
    parser.addini("ormock_clock", "scaled or manual", default="scaled")
    parser.addini(
        "ormock_client_checks",
        "fail a test whose client broke a client-report check: 'fail' (broken checks), 'warn' (warnings too)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ormock(scenario=None, speed=1, clock='scaled', seed=None, client_checks=None, rules=None): how the "
        "`ormock` fixture's server runs, the rules that script this test's jobs, and whether a client-report "
        "finding fails the test",
    )


def _settings(config: pytest.Config, marker: pytest.Mark | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "client_checks": config.getini("ormock_client_checks") or None,
        "scenario": config.getini("ormock_scenario") or None,
        "speed": float(config.getini("ormock_speed")),
        "clock": config.getini("ormock_clock"),
    }
    if marker is not None:
        unknown = set(marker.kwargs) - set(_OPTIONS)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.ormock takes {', '.join(_OPTIONS)}; not {', '.join(sorted(unknown))}"
            )
        settings.update(marker.kwargs)
    if settings["scenario"] is not None:
        path = Path(settings["scenario"])
        local = path if path.is_absolute() else config.rootpath / path
        settings["scenario"] = local if local.exists() else str(settings["scenario"])  # else a built-in's name
    return settings


def _add_rules(sim: Simulator, rules: Any) -> None:
    """Adds the marker's rules, or fails the test with every problem found in them."""
    if rules is None:
        return
    try:
        sim.add_rules(rules)
        return
    except SimulatorError as exc:
        problem = str(exc)
    pytest.fail(f"@pytest.mark.ormock(rules=...): {problem}", pytrace=False)


_JUDGED = pytest.StashKey[tuple[Simulator, str | None]]()  # the server whose report judges a test, and how


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Judges the test's client once the test body has passed, so a broken check fails the test
    itself (not its teardown)."""
    result = yield
    judged = item.stash.get(_JUDGED, None)
    if judged is not None:
        _judge(*judged)
    return result


def _judge(sim: Simulator, level: str | None) -> None:
    """Fails the test if its client broke a check of the client report (at `level` or worse)."""
    if not level:
        return
    if level not in ("fail", "warn"):
        raise pytest.UsageError(f"client_checks takes 'fail' or 'warn', not {level!r}")
    from .report import failures

    found = failures(sim.report(), level)
    if found:
        pytest.fail("the client broke checks of the ormock client report:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def ormock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A fresh ormock server for this test."""
    settings = _settings(request.config, request.node.get_closest_marker("ormock"))
    level = settings.pop("client_checks")
    rules = settings.pop("rules", None)
    with Simulator(**settings) as sim:
        monkeypatch.setenv("OPENROUTER_BASE_URL", sim.base_url)
        _add_rules(sim, rules)
        request.node.stash[_JUDGED] = (sim, level)
        yield sim


@pytest.fixture(scope="session")
def _ormock_server(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    settings = _settings(request.config, None)
    settings.pop("client_checks")
    settings.pop("rules", None)
    with Simulator(**settings) as sim:
        yield sim


@pytest.fixture
def ormock_session(
    _ormock_server: Simulator, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Simulator]:
    """The session's ormock server, reset for this test, with the test's marker applied (its
    `scenario`, `rules` and `client_checks`) and undone after it."""
    sim = _ormock_server
    marker = request.node.get_closest_marker("ormock")
    fixed = sorted(set(marker.kwargs) & set(_SERVER_ONLY)) if marker is not None else []
    if fixed:
        pytest.fail(
            f"@pytest.mark.ormock({', '.join(fixed)}=...) cannot apply to ormock_session, whose server the whole "
            "session shares; use the `ormock` fixture for a server of its own, or set them for the session with "
            "the ini options ormock_speed and ormock_clock",
            pytrace=False,
        )
    settings = _settings(request.config, marker)
    sim.reset()
    if marker is not None and "scenario" in marker.kwargs:
        _use_scenario(sim, settings["scenario"])
    _add_rules(sim, settings.get("rules"))
    monkeypatch.setenv("OPENROUTER_BASE_URL", sim.base_url)
    request.node.stash[_JUDGED] = (sim, settings["client_checks"])
    try:
        yield sim
    finally:
        sim.reset()  # the test's rules and scenario go with it


def _use_scenario(sim: Simulator, scenario: str | Path | None) -> None:
    """The marker's scenario, for this test's requests on the shared server."""
    from .scenario import library

    try:
        sim.set_scenario(library.resolve(scenario) if scenario is not None else None)
        return
    except (SimulatorError, ValueError) as exc:
        problem = str(exc)
    pytest.fail(f"@pytest.mark.ormock(scenario=...): {problem}", pytrace=False)
