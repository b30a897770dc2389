"""`ormock` and `python -m ormock`: the CLI, with the garbage collector off while it starts and
with pydantic's plugins switched off.

Start-up allocates much and frees little, so collections then only cost time (about a tenth of
`serve`'s start-up). The CLI turns the collector back on once a command is chosen; `serve` first
freezes what start-up made (see `servers.serve_here`)."""

import gc
import os


def main() -> None:
    gc.disable()
    # The models are ormock's own, validating ormock's files: no plugin has business there, and
    # looking for plugins reads every installed package's entry points. This is pydantic's own
    # documented switch; a process that imports ormock (the Simulator, the plugin) keeps its plugins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from .cli.commands import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
