"""Credit balances: what a submit may cost, and what each finished job drew.

`[server] credits` is either one balance in USD for each test id (all keys share it), or a table
of balances by API key (`"*"` for every key not named; a key matched by neither is unlimited).

When a submit comes, the cost its job will have (its final step's `cost`, else the estimate from
the model's pricing) must fit in what is *available*: the balance, less what completed jobs were
charged, less what jobs still running hold. So three quick submits of 0.40 against 1.00 get 202,
202 and 402, as a user testing low-balance handling needs. A job that completes is charged its
cost; one that fails, is cancelled or expires gives its hold back.

Nothing here walks the jobs: holds are settled from a `StatusWatcher`, which looks only at jobs
that were polled, forced or whose timed step ended since the last submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import safe
from ..scenario.loader import TERMINAL
from .jobs import Job
from .store import JobStore
from .watcher import StatusWatcher

SHARED = ""  # the account name of a balance all keys share


@dataclass
class Account:
    """One balance: what it started at, what was charged, and what running jobs hold."""

    start: float
    charged: float = 0.0
    held: float = 0.0
    holds: dict[int, float] = field(default_factory=dict)  # id(job) -> what it holds

    @property
    def available(self) -> float:
        return self.start - self.charged - self.held

    def as_json(self, name: str) -> dict[str, Any]:
        shown = "(all keys)" if name == SHARED else safe.key(name)
        return {
            "key": shown,
            "balance": round(self.start - self.charged, 10),
            "charged": round(self.charged, 10),
            "held": round(self.held, 10),
            "available": round(self.available, 10),
            "running_jobs": len(self.holds),
        }


class Credits:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._watcher: StatusWatcher | None = None  # made on the first submit that needs it

    def _name(self, test_id: str, api_key: str) -> tuple[str, float] | None:
        """The account `api_key` draws on and its starting balance; None: unlimited."""
        setting = self.store.scenario_for(test_id).server.credits
        if setting is None:
            return None
        if not isinstance(setting, dict):
            return SHARED, float(setting)
        if api_key in setting:
            return api_key, setting[api_key]
        if "*" in setting:
            return api_key, setting["*"]
        return None

    def account(self, test_id: str, api_key: str) -> Account | None:
        named = self._name(test_id, api_key)
        if named is None:
            return None
        accounts = self.store.space(test_id).accounts
        found = accounts.get(named[0])
        if found is None:
            found = accounts[named[0]] = Account(named[1])
        return found

    def _settle(self) -> None:
        """Charges or releases the holds of every job that has ended since the last look."""
        if self._watcher is None:
            self._watcher = StatusWatcher(self.store)
            return
        for change in self._watcher.changes():
            if change.after in TERMINAL:
                self._release(change.job, charge=change.after == "completed")

    def _release(self, job: Job, charge: bool) -> None:
        space = self.store.find_space(job.test_id)
        account = space.holding.pop(id(job), None) if space is not None else None
        if account is None:
            return
        held = account.holds.pop(id(job), 0.0)
        account.held -= held
        if charge:
            account.charged += job.cost(self.store.peek(job)) or 0.0

    def admits(self, test_id: str, api_key: str, cost: float | None) -> Account | bool:
        """The account to hold `cost` on if it fits (True when unlimited); False: answer 402."""
        account = self.account(test_id, api_key)
        if account is None:
            return True
        self._settle()
        if (cost or 0.0) > account.available + 1e-9:
            return False
        return account

    def hold(self, job: Job, account: Account, cost: float | None) -> None:
        """`job`'s cost is held on `account` until it ends."""
        amount = cost or 0.0
        account.holds[id(job)] = amount
        account.held += amount
        self.store.space(job.test_id).holding[id(job)] = account

    def accounts(self, test_id: str, only: Account | None = None) -> list[dict[str, Any]]:
        """Every balance of namespace `test_id` (or just `only`), settled to now."""
        if self._watcher is not None:
            self._settle()
        space = self.store.find_space(test_id)
        named = space.accounts.items() if space is not None else ()
        return [account.as_json(name) for name, account in named if only is None or account is only]
