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
    "create_app": ("web.app", "create_app"),
    "Clock": ("service.clock", "Clock"),
    "ManualClock": ("service.clock", "ManualClock"),
    "ScaledClock": ("service.clock", "ScaledClock"),
    "Scenario": ("scenario.loader", "Scenario"),
    "ScenarioError": ("scenario.loader", "ScenarioError"),
    "load_scenario": ("scenario.loader", "load"),
    "parse_scenario": ("scenario.loader", "parse"),
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
    from .scenario.loader import Scenario, ScenarioError
    from .scenario.loader import load as load_scenario
    from .scenario.loader import parse as parse_scenario
    from .service.clock import Clock, ManualClock, ScaledClock
    from .simulator import Simulator, SimulatorError
    from .web.app import create_app


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ormock' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value
