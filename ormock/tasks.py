"""Background tasks that never die silently.

`supervised(name, job, say)` runs a background job (the dashboard, the log, `--watch`, the webhook
sender); if it fails, it says so in one line (`say`: stderr, and the dashboard's notices) and
starts it again, a little later each time; after `RESTARTS` failures in a row it gives up and
calls `give_up` (the server stops: better than serving on without, say, its webhooks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

RESTARTS = 5

Job = Callable[[], Coroutine[Any, Any, None]]


async def supervised(
    name: str, job: Job, say: Callable[[str], None], give_up: Callable[[], None] | None = None
) -> None:
    failures = 0
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours: said in one line, then restarted
            failures += 1
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if failures >= RESTARTS:
                say(f"ormock: the {name} failed {failures} times in a row ({what}); stopping")
                if give_up is not None:
                    give_up()
                return
            say(f"ormock: the {name} failed ({what}); restarting it")
            await asyncio.sleep(0.05 * 2**failures)
