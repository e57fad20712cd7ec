"""`LabResults`: the lab's records (one dict per claim) as a list that prints as a table.

`run_lab` returns one; `LabResults.load(out)` reads a finished lab's ``results.json``.
``print(results)`` shows claim, verdict, headline effect with its interval, threshold,
seeds and seconds — the table ``initreg lab`` prints — and a notebook shows it as HTML.
"""

from __future__ import annotations

from pathlib import Path

from ..utils.display import Table, TableDisplay
from .i18n import localize
from .messages import message
from .report import (
    effect_text,
    headline,
    interval_text,
    key_numbers,
    read_results,
    threshold_text,
    verdict_of,
    verdict_text,
)

__all__ = ["LabResults", "claim_row"]


class LabResults(TableDisplay, list):
    """A list of the lab's per-claim records with a readable ``__str__`` and ``_repr_html_``.

    >>> r = LabResults([{"claim": "C0", "title": "a claim", "status": "error", "error": "boom", "seconds": 1.0}])
    >>> print(r)
    lab results (1 claims)
    claim  title    verdict  effect  threshold  seeds  seconds
    -----  -------  -------  ------  ---------  -----  -------
    C0     a claim  error    boom                      1
    """

    lang: str = "en"  # the language of the table (`initreg.lab.messages.languages`); run_lab sets its own

    @classmethod
    def load(cls, out: str | Path) -> LabResults:
        """The records of ``out/results.json`` (or of that file's path), either format."""
        return cls(read_results(out)["claims"])

    def display_table(self) -> Table:
        cols = ("col.claim", "col.title", "col.verdict", "col.effect_part", "col.threshold", "col.seeds", "results.seconds")
        return Table(message("results.title", self.lang, count=len(self)), [message(k, self.lang) for k in cols],
                     [claim_row(r, self.lang) for r in self])


def claim_row(r: dict, lang: str = "en") -> list[str]:
    """One claim's row as text: claim, title, verdict, headline effect with its interval (or the
    error, or key numbers for a record without a headline), threshold, number of seeds and
    seconds; shared by `LabResults` and the table ``initreg lab`` prints."""
    r = localize(r, lang, notes=False)
    v = verdict_of(r)
    h = headline(r) if v != "error" else {}
    if v == "error":
        effect = str(r.get("error", ""))
    elif h.get("effect") is not None:
        effect = f"{effect_text(h, lang)} {interval_text(h, lang)}"
    else:
        effect = key_numbers(r, 3, lang)
    seeds = r.get("seeds")
    return [str(r.get("claim", "")), str(r.get("title", "")), verdict_text(r, lang), effect,
            threshold_text(h, lang) if v != "error" else "",
            str(len(seeds)) if isinstance(seeds, list) else "", f"{r.get('seconds', 0):.0f}"]
