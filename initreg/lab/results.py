"""`LabResults`: the lab's records (one dict per claim) as a list that prints as a table.

`run_lab` returns one; `LabResults.load(out)` reads a finished lab's ``results.json``.
``print(results)`` shows claim, verdict, headline effect with its interval, threshold,
seeds and seconds — the table ``initreg lab`` prints — and a notebook shows it as HTML.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..utils.display import Table, TableDisplay
from .report import (
    effect_text,
    headline,
    interval_text,
    key_numbers,
    threshold_text,
    verdict_of,
    verdict_text,
)

__all__ = ["LabResults"]


class LabResults(TableDisplay, list):
    """A list of the lab's per-claim records with a readable ``__str__`` and ``_repr_html_``.

    >>> r = LabResults([{"claim": "C0", "title": "a claim", "status": "error", "error": "boom", "seconds": 1.0}])
    >>> print(r)
    lab results (1 claims)
    claim  title    verdict  effect  threshold  seeds  seconds
    -----  -------  -------  ------  ---------  -----  -------
    C0     a claim  error    boom                      1
    """

    lang: str = "en"

    @classmethod
    def load(cls, out: str | Path) -> LabResults:
        """The records of ``out/results.json`` (or of that file's path)."""
        p = Path(out)
        p = p / "results.json" if p.is_dir() else p
        doc = json.loads(p.read_text(encoding="utf-8"))
        return cls(doc.get("claims", []) if isinstance(doc, dict) else doc)

    def display_table(self) -> Table:
        rows = []
        for r in self:
            v = verdict_of(r)
            h = headline(r) if v != "error" else {}
            if v == "error":
                effect = str(r.get("error", ""))
            elif h.get("effect") is not None:
                effect = f"{effect_text(h, self.lang)} {interval_text(h, self.lang)}"
            else:
                effect = key_numbers(r, 3, self.lang)
            seeds = r.get("seeds")
            rows.append([str(r.get("claim", "")), str(r.get("title", "")), verdict_text(r, self.lang), effect,
                         threshold_text(h, self.lang) if v != "error" else "",
                         str(len(seeds)) if isinstance(seeds, list) else "", f"{r.get('seconds', 0):.0f}"])
        return Table(f"lab results ({len(self)} claims)",
                     ["claim", "title", "verdict", "effect", "threshold", "seeds", "seconds"], rows)
