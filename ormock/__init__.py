"""ormock: a local stand-in for OpenRouter's asynchronous video generation API.

from ormock import create_app, load_scenario, ManualClock

app = create_app(load_scenario("my-scenario.toml"), ManualClock())

or, for tests, `Simulator("ci-fast")` (a built-in scenario; `ormock scenarios` lists them).
"""

from .app import create_app
from .clock import Clock, ManualClock, ScaledClock
from .scenario import Scenario, ScenarioError
from .scenario import load as load_scenario
from .scenario import parse as parse_scenario
from .simulator import Simulator, SimulatorError

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
__version__ = "0.1.0"
