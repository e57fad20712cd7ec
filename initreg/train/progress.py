"""`Progress`: how a training loop shows its progress (`fit` and `fit_seeds` both use it)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A rich progress bar on a terminal, one log line per evaluation otherwise, or nothing.

    ``mode``: ``"bar"``, ``"log"``, ``"none"`` or ``"auto"`` (a bar when stderr is a terminal,
    else log lines). `step` advances the bar, `report` shows an evaluation record, `close`
    removes the bar.

    >>> p = Progress("none", total=10, desc="train")
    >>> p.step(); p.report({"epoch": 1, "step": 10, "val_loss": 0.5}); p.close()
    """

    def __init__(self, mode: str, total: int, desc: str):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.total, self.bar, self.task = mode, total, None, None
        if mode == "bar":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn(desc), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                TimeRemainingColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(desc, total=total, info="")

    def step(self, n: int = 1) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, n)

    def report(self, rec: dict[str, Any]) -> None:
        info = "  ".join(f"{k}={v:.4g}" for k, v in rec.items()
                         if k in ("train_loss", "val_loss", "val_acc") and isinstance(v, float))
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, info=info)
        elif self.mode == "log":
            print(f"epoch {rec['epoch']:>4}  step {rec['step']:>7}  {info}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
