"""The client report: what ormock saw a client do wrong (`checks`), and its renderings (`render`)."""

from .checks import CHECKS, RANK, build, judge
from .render import failures, junit, markdown, render, summary

__all__ = ["CHECKS", "RANK", "build", "failures", "judge", "junit", "markdown", "render", "summary"]
