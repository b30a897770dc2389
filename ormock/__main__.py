"""`ormock` and `python -m ormock`: the CLI, with the garbage collector off while it starts and
without pydantic's plugins.

Start-up allocates much and frees little, so collections then only cost time (about a tenth of
`serve`'s start-up). The CLI turns the collector back on once a command is chosen; `serve` first
freezes what start-up made (see `cli.serve`)."""

import functools
import gc
import sys
import types

# pydantic's plugin loader: where pydantic looks for plugins when it builds its first validator.
PYDANTIC_PLUGINS = "pydantic.plugin._loader"


def no_pydantic_plugins() -> None:
    """Runs the CLI's pydantic models (the scenario schema, the catalogue) without plugins, as
    `PYDANTIC_DISABLE_PLUGINS=__all__` would, and without what looking for them costs: at the first
    model, pydantic's loader imports `importlib.metadata` (with `email` and `zipfile`) and reads the
    entry points of every installed package (measured: 8 ms of `serve`'s start, 12 ms of
    `validate`'s; docs/performance.md). The models are ormock's
    own, validating ormock's files; no plugin has business there. Only the `ormock` command does
    this: a test process that imports ormock (the Simulator, the pytest plugin) keeps its plugins."""
    if PYDANTIC_PLUGINS in sys.modules:  # pydantic has looked already: nothing left to save
        return
    loader = types.ModuleType(PYDANTIC_PLUGINS, "ormock's stand-in: no pydantic plugins in the ormock command")
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # no plugins: an empty iterable
    setattr(loader, "__getattr__", _real_loader_has)  # noqa: B010 (a module's __getattr__)
    sys.modules[PYDANTIC_PLUGINS] = loader


def _real_loader_has(name: str) -> object:
    """Anything else a later pydantic takes from its loader comes from pydantic's own (loaded once,
    beside the stand-in), so an upgrade costs the saving, never a failure. (Dunder names are what
    the import system asks of any module: a plain module has none of them.)"""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_real_loader(), name)


@functools.cache
def _real_loader() -> types.ModuleType:
    import importlib.machinery
    import importlib.util

    import pydantic.plugin

    spec = importlib.machinery.PathFinder.find_spec(PYDANTIC_PLUGINS, pydantic.plugin.__path__)
    if spec is None or spec.loader is None:
        raise ImportError(f"pydantic has no {PYDANTIC_PLUGINS}")
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    return real


def main() -> None:
    gc.disable()
    no_pydantic_plugins()
    from .cli.commands import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
