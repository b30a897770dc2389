"""ormock: a local stand-in for OpenRouter's asynchronous video generation API.

from ormock import create_app, load_scenario, ManualClock

app = create_app(load_scenario("my-scenario.toml"), ManualClock())

or, for tests, `Simulator("ci-fast")` (a built-in scenario; `ormock scenarios` lists them).

Names are imported when first used, so a command that needs only the scenario loader (`ormock
validate`) does not pay for the web server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "create_app": ("app", "create_app"),
    "Clock": ("clock", "Clock"),
    "ManualClock": ("clock", "ManualClock"),
    "ScaledClock": ("clock", "ScaledClock"),
    "Scenario": ("scenario", "Scenario"),
    "ScenarioError": ("scenario", "ScenarioError"),
    "load_scenario": ("scenario", "load"),
    "parse_scenario": ("scenario", "parse"),
    "Simulator": ("simulator", "Simulator"),
    "SimulatorError": ("simulator", "SimulatorError"),
}
__all__ = [
    "Clock",
    "ManualClock",
    "ScaledClock",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "SimulatorError",
    "create_app",
    "load_scenario",
    "parse_scenario",
]

if TYPE_CHECKING:
    from .app import create_app
    from .clock import Clock, ManualClock, ScaledClock
    from .scenario import Scenario, ScenarioError
    from .scenario import load as load_scenario
    from .scenario import parse as parse_scenario
    from .simulator import Simulator, SimulatorError


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ormock' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value
