"""The scenario language: what a TOML scenario may say, how it is read and checked, and the facts it
is written against (the model catalogue, what a submit may ask for, the built-in library).

Nothing here knows of HTTP or of a running server; everything above builds on it."""

from .loader import (
    DEFAULT_ERRORS,
    STATUSES,
    TERMINAL,
    Fault,
    Problem,
    Respond,
    Rule,
    Scenario,
    ScenarioError,
    Step,
    Timeline,
    WebhookFaults,
    Webhooks,
    load,
    parse,
    parse_seconds,
)

__all__ = [
    "DEFAULT_ERRORS",
    "STATUSES",
    "TERMINAL",
    "Fault",
    "Problem",
    "Respond",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Step",
    "Timeline",
    "WebhookFaults",
    "Webhooks",
    "load",
    "parse",
    "parse_seconds",
]
