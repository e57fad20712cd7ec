"""Which lab claim tests which part of the lecture, and why a part has none.

Every part of the lecture restated in ``docs/LECTURE.md`` has an id (``L1``–``L4``,
``K1``–``K4``, ``I1``–``I8``, ``R1``–``R13``). A part is *covered* when at least one
registered claim lists it in its ``lecture`` ids (the parts its verdict tests); a part no
experiment can falsify (a definition, a notation) is declared here, in `UNTESTABLE`, with
the reason. `coverage` gives one row per part, `listing` the entries that
``initreg lab --list --json`` prints, and `uncovered` the parts that have neither — a test
keeps it empty.

>>> rows = coverage()
>>> [r["lecture_id"] for r in rows][:3]
['L1', 'L2', 'L3']
>>> rows[0]["claims"], rows[0]["untestable_because"][:13]
([], 'a definition:')
>>> uncovered()
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .experiment import Experiment
from .lecture import LECTURE_IDS, UNTESTABLE, coverage_of

__all__ = ["LECTURE_IDS", "UNTESTABLE", "coverage", "coverage_of", "listing", "uncovered"]

def _experiments(exps: Sequence[Experiment] | None) -> list[Experiment]:
    if exps is not None:
        return list(exps)
    from .runner import select

    return select()


def coverage(exps: Sequence[Experiment] | None = None) -> list[dict[str, Any]]:
    """One row per lecture part, in lecture order: ``{"lecture_id", "claims": [ids],
    "untestable_because": str | None}`` (default: over every registered claim)."""
    return coverage_of((e.claim, e.lecture) for e in _experiments(exps))


def uncovered(exps: Sequence[Experiment] | None = None) -> list[str]:
    """Lecture parts tested by no claim and not declared untestable (should be empty)."""
    return [r["lecture_id"] for r in coverage(exps) if not r["claims"] and not r["untestable_because"]]


def listing(exps: Sequence[Experiment] | None = None) -> list[dict[str, Any]]:
    """The entries of ``initreg lab --list --json``: one per claim (``claim``, ``title``,
    ``lecture``, ``statement``, ``criterion``, ``criteria``, ``seeds``), then one
    ``{"lecture_id", "untestable_because"}`` per declared untestable part."""
    out: list[dict[str, Any]] = []
    for e in _experiments(exps):
        out.append({"claim": e.claim, "title": e.title, "lecture": list(e.lecture), "statement": e.statement,
                    "criterion": e.criterion, "seeds": dict(e.seeds),
                    "criteria": [{"part": c.part, "metric": c.metric, "unit": c.unit, "direction": c.direction,
                                  "threshold": c.threshold, "kind": c.kind, "changed": c.changed}
                                 for c in e.criteria]})
    out += [{"lecture_id": lid, "untestable_because": why} for lid, why in UNTESTABLE.items()]
    return out
