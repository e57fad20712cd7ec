"""`History`: the per-evaluation records of a run, its test metrics and how it ended."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..utils.display import Table, TableDisplay
from ..utils.io import write_text

__all__ = ["History"]


@dataclass
class History(TableDisplay):
    """One record per evaluation, the test metrics and how training ended.

    ``print(history)`` shows the records as a table (the first and last 10 of a long run)
    and how the run ended; a notebook shows it as HTML."""

    records: list[dict[str, Any]] = field(default_factory=list)  # one row per evaluation
    test: dict[str, float] | None = None  # test metrics, once, at the end
    diverged: bool = False  # a non-finite loss stopped the run
    diverged_step: int | None = None
    stop_reason: str | None = None  # why training ended early (a callback's reason, or divergence)
    steps: int = 0
    epochs: int = 0
    seconds: float = 0.0

    def column(self, key: str) -> list[float]:
        """One metric over time (NaN where a record lacks it)."""
        return [r.get(key, math.nan) for r in self.records]

    def best(self, key: str = "val_loss", mode: str = "min") -> dict[str, Any]:
        """The record with the best ``key``."""
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got mode={mode!r}")
        rows = [r for r in self.records if key in r and not math.isnan(r[key])]
        if not rows:
            raise ValueError(f"no record has metric {key!r}; recorded keys: {sorted({k for r in self.records for k in r})}")
        return (min if mode == "min" else max)(rows, key=lambda r: r[key])

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1] if self.records else {}

    def to_csv(self) -> str:
        keys: list[str] = []
        for r in self.records:
            keys += [k for k in r if k not in keys]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(self.records)
        return buf.getvalue()

    def write_csv(self, path: str | Path) -> Path:
        return write_text(path, self.to_csv())

    def display_table(self, max_rows: int = 20) -> Table:
        """The records as cells (floats to 4 significant digits), how it ended in the notes."""
        keys: list[str] = []
        for r in self.records:
            keys += [k for k in r if k not in keys]

        def cell(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

        recs = self.records
        rows = [[cell(r.get(k)) for k in keys] for r in recs]
        if len(rows) > max_rows:
            half = max_rows // 2
            rows = rows[:half] + [["…"] * len(keys)] + rows[-half:]
        notes = [f"{self.epochs} epoch(s), {self.steps} step(s), {self.seconds:.1f} s"]
        if self.test:
            notes.append("test: " + ", ".join(f"{k}={cell(v)}" for k, v in self.test.items()))
        if self.diverged:
            notes.append(f"diverged at step {self.diverged_step}")
        if self.stop_reason:
            notes.append(f"stopped: {self.stop_reason}")
        return Table(f"training history ({len(recs)} evaluations)", keys, rows, notes)

    def summary(self) -> dict[str, Any]:
        """Everything but the records (for metrics.json)."""
        d = asdict(self)
        d.pop("records")
        d["final"] = self.last
        return d
