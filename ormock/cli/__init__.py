"""What a person runs and sees: the `ormock` command's declarations (`commands`), the live
dashboard, the plain log, `--watch` and `ormock demo` with its careless client."""

from .commands import app, main

__all__ = ["app", "main"]
