"""A verdict is a measurement: declared criteria, paired effects over seeds, three outcomes.

Each lab claim declares, before it is run, one `Criterion` per judged part: what one seed
measures (a paired effect — both arms of a seed share data split, init and batch order — or a
per-seed value), its unit, the threshold and on which side of it the lecture's claim lies.
The lab collects one value per seed and judges:

* ``kind="paired"`` — the mean over seeds with a two-sided 95% Student-t interval,
  ``mean ± t₀.₉₇₅(n−1)·s/√n``. The part **holds** when the whole interval lies on the claim's
  side of the threshold, **does not hold** when it lies entirely on the other side, and is
  **inconclusive** when it straddles the threshold (or when fewer seeds were run than the
  claim's minimum: too few to decide).
* ``kind="exact"`` — a deterministic check (an identity to float precision, a rank): it holds
  when every seed's value is on the claim's side, and does not hold otherwise. Its interval is
  ``[min, max]`` over seeds.

A claim holds when every part holds, does not hold when any part does not hold, and is
inconclusive otherwise.

>>> c = Criterion("gain", metric="test accuracy with − without", unit="pp", direction=">", threshold=0.0)
>>> judge(c, [1.2, 0.8, 1.0], seeds=[0, 1, 2])["verdict"]
'holds'
>>> judge(c, [2.0, -1.5, 0.4], seeds=[0, 1, 2])["verdict"]
'inconclusive'
>>> judge(c, [-1.2, -0.8, -1.0], seeds=[0, 1, 2])["verdict"]
'does_not_hold'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..utils.stats import mean_ci
from .messages import message, unit_text

__all__ = ["Criterion", "VERDICTS", "combine", "criteria_hash", "criterion_sentence", "judge", "t_interval"]

VERDICTS = ("holds", "does_not_hold", "inconclusive")
Verdict = Literal["holds", "does_not_hold", "inconclusive"]
_PART = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Criterion:
    """One judged part of a claim, declared in code before the run.

    Args:
        part: the part's id (snake_case), the key of `Outcome.measurements`.
        metric: what one seed measures, in words (e.g. "test error without − with dropout").
        unit: the metric's unit as shown to readers ("pp", "log10", "×", "" for none).
        direction: ``">"`` — the claim says the effect exceeds ``threshold``; ``"<"`` — it stays below.
        threshold: the bound the claim is judged against.
        kind: ``"paired"`` (95% t-interval over seeds) or ``"exact"`` (every seed must pass).
        changed: ISO date this criterion (metric, threshold, data or budget) was last changed;
            every change after results were seen is logged in ``docs/criteria-changelog.md``.
        text: optional words added to the criterion sentence (e.g. why the threshold).
    """

    part: str
    metric: str
    unit: str
    direction: Literal[">", "<"]
    threshold: float
    kind: Literal["paired", "exact"] = "paired"
    changed: str = "2026-12-06"
    text: str = ""

    def __post_init__(self) -> None:
        if not _PART.match(self.part):
            raise ValueError(f"Criterion part must be snake_case ([a-z][a-z0-9_]*); got part={self.part!r}")
        if self.direction not in (">", "<"):
            raise ValueError(f"Criterion {self.part}: direction must be '>' or '<'; got direction={self.direction!r}")
        if self.kind not in ("paired", "exact"):
            raise ValueError(f"Criterion {self.part}: kind must be 'paired' or 'exact'; got kind={self.kind!r}")
        if not isinstance(self.threshold, (int, float)) or not math.isfinite(self.threshold):
            raise ValueError(f"Criterion {self.part}: threshold must be a finite number; got threshold={self.threshold!r}")
        try:
            _dt.date.fromisoformat(self.changed)
        except (TypeError, ValueError):
            raise ValueError(f"Criterion {self.part}: changed must be an ISO date (YYYY-MM-DD); "
                             f"got changed={self.changed!r}") from None
        if not self.metric.strip():
            raise ValueError(f"Criterion {self.part}: metric must say in words what one seed measures; got an empty string")

    def sentence(self) -> str:
        """The criterion in words, e.g. ``"test error without − with dropout (pp): the mean's 95%
        t-interval over seeds lies entirely > 0"``."""
        return criterion_sentence(self.kind, self.metric, self.unit, self.direction, self.threshold, self.text)


def criterion_sentence(kind: str, metric: str, unit: str, direction: str, threshold: float, text: str = "",
                       lang: str = "en") -> str:
    """A criterion in words in ``lang`` (`Criterion.sentence`; the report renders it again in the
    reader's language from a part's record).

    >>> criterion_sentence("exact", "max error", "", "<", 1e-6, "float32 noise")
    'max error: < 1e-06 for every seed (exact check); float32 noise'
    """
    u = unit_text(unit, lang)
    s = message("criterion.paired" if kind == "paired" else "criterion.exact", lang, metric=metric,
                unit=f" ({u})" if u else "", direction=direction, threshold=f"{threshold:g}")
    return s + (f"; {text}" if text else "")


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean with its two-sided Student-t interval; ``lo = hi = nan`` for n < 2.

    >>> m, lo, hi = t_interval([1.0, 2.0, 3.0]); round(m, 3), round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("t_interval needs at least one value; got an empty sequence")
    r = mean_ci(vals, level)
    if len(vals) < 2 or math.isnan(r["ci"]):
        return r["mean"], math.nan, math.nan
    return r["mean"], r["lo"], r["hi"]


def _side(value: float, c: Criterion) -> bool:
    return value > c.threshold if c.direction == ">" else value < c.threshold


def judge(c: Criterion, values: Sequence[float], seeds: Sequence[int], *, min_seeds: int = 1) -> dict[str, Any]:
    """Judge one part from its per-seed values (one per seed, in seed order): the part's record.

    ``min_seeds`` is the claim's declared minimum for the mode: a paired part judged on fewer
    seeds is inconclusive whatever its interval (too few to decide).
    """
    vals = [float(v) for v in values]
    if len(vals) != len(seeds):
        raise ValueError(f"part {c.part}: needs one value per seed ({len(seeds)} seeds {list(seeds)}); got {len(vals)} values")
    rec: dict[str, Any] = {**asdict(c), "text": c.sentence(), "seeds": list(seeds), "values": vals}
    if not vals:
        return {**rec, "effect": None, "interval": [None, None], "verdict": "inconclusive",
                "reason": message("reason.no_seeds")}
    if any(math.isnan(v) for v in vals):
        m = sum(vals) / len(vals)
        return {**rec, "effect": m, "interval": [None, None], "verdict": "inconclusive",
                "reason": message("reason.nan")}
    if c.kind == "exact":
        ok = all(_side(v, c) for v in vals)
        return {**rec, "effect": sum(vals) / len(vals), "interval": [min(vals), max(vals)],
                "interval_method": "min-max over seeds", "verdict": "holds" if ok else "does_not_hold"}
    m, lo, hi = t_interval(vals)
    rec.update(effect=m, interval=[lo, hi] if not math.isnan(lo) else [None, None],
               interval_method="95% Student t over seeds")
    if len(vals) < max(2, min_seeds):
        return {**rec, "verdict": "inconclusive",
                "reason": message("reason.too_few_seeds", n=len(vals), minimum=max(2, min_seeds))}
    if _side(lo, c) and _side(hi, c):
        v: Verdict = "holds"
    elif not _side(lo, c) and not _side(hi, c) and lo != c.threshold and hi != c.threshold:
        v = "does_not_hold"
    else:
        v = "inconclusive"
    return {**rec, "verdict": v}


def combine(verdicts: Iterable[str]) -> Verdict:
    """A claim's verdict from its parts': any part not holding → does_not_hold; all holding →
    holds; otherwise inconclusive.

    >>> combine(["holds", "inconclusive"]), combine(["holds", "does_not_hold", "inconclusive"])
    ('inconclusive', 'does_not_hold')
    """
    vs = list(verdicts)
    if not vs:
        raise ValueError("combine needs at least one part verdict; got none")
    for v in vs:
        if v not in VERDICTS:
            raise ValueError(f"unknown verdict {v!r}; expected one of {VERDICTS}")
    if "does_not_hold" in vs:
        return "does_not_hold"
    return "holds" if all(v == "holds" for v in vs) else "inconclusive"


def criteria_hash(criteria: Sequence[Criterion], extra: Mapping[str, Any] | None = None) -> str:
    """A short hash of the declared criteria (and ``extra``: seeds and budgets), recorded in
    ``results.json`` so a reader can tell whether two runs were judged by the same rules."""
    blob = json.dumps({"criteria": [asdict(c) for c in criteria], "extra": dict(extra or {})}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
