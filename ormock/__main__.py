"""`ormock` and `python -m ormock`: the CLI, with the garbage collector off while it starts.

Start-up allocates much and frees little, so collections then only cost time (about a tenth of
`serve`'s start-up). The CLI turns the collector back on once a command is chosen; `serve` first
freezes what start-up made (see `cli.serve`)."""

import gc


def main() -> None:
    gc.disable()
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
