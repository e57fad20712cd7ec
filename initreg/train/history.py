"""`History`: the per-evaluation records of a run, its test metrics and how it ended."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..utils.io import write_text

__all__ = ["History"]


@dataclass
class History:
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

    def summary(self) -> dict[str, Any]:
        """Everything but the records (for metrics.json)."""
        d = asdict(self)
        d.pop("records")
        d["final"] = self.last
        return d
