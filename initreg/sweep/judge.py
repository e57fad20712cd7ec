"""The sweep's judge: records each run's reports in the sweep database and asks the pruner.

>>> import tempfile, os
>>> from initreg.sweep.prune import build_pruner
>>> db = os.path.join(tempfile.mkdtemp(), "sweep.db")
>>> Judge(build_pruner({"name": "median"}), db).report("a-run", epoch=1, step=10, value=0.5)
False
"""

from __future__ import annotations

from typing import Any

from .prune import Pruner
from .store import Store

__all__ = ["Judge"]


class Judge:
    """Records a trial's reports in the sweep database and decides whether it stops.

    Picklable (a pool worker opens its own connection); in a Ray sweep it runs as an actor on
    the driver's node, so workers anywhere reach one database."""

    def __init__(self, pruner: Pruner, db: str):
        self.pruner, self.db = pruner, db
        self._store: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"pruner": self.pruner, "db": self.db, "_store": None}

    def report(self, trial: str, epoch: int, step: int, value: float) -> bool:
        if self._store is None:
            self._store = Store(self.db)
        self._store.report(trial, epoch, step, value)
        return self.pruner.prune(self._store.reports(trial, epoch))
