"""The lecture's parts (ids as in ``docs/LECTURE.md``), the ones no experiment can test, and
which claims test each — pure data, so the report can use it without the claim registry.

>>> [r["claims"] for r in coverage_of([("C1", ["L2"])]) if r["lecture_id"] == "L2"]
[['C1']]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["LECTURE_IDS", "UNTESTABLE", "coverage_of"]

# The lecture's parts in the order of docs/LECTURE.md (a test checks this list against the page).
LECTURE_IDS: tuple[str, ...] = (
    *(f"L{i}" for i in range(1, 5)),
    *(f"K{i}" for i in range(1, 5)),
    *(f"I{i}" for i in range(1, 9)),
    *(f"R{i}" for i in range(1, 14)),
)

# Parts that no experiment can falsify, with the reason (shown in the report and in --list --json).
UNTESTABLE: dict[str, str] = {
    "L1": ("a definition: it fixes the notation y = σ(xᵀW) with the bias folded in as row 0 of W; "
           "there is no statement about data or training to falsify (its consequences are tested: "
           "L2 by C1, L3 by C2)"),
}


def coverage_of(claims: Iterable[tuple[str, Sequence[str]]]) -> list[dict[str, Any]]:
    """`coverage` from ``(claim id, lecture ids)`` pairs, e.g. the records of a ``results.json``.

    >>> [r for r in coverage_of([("C1", ["L2"])]) if r["lecture_id"] in ("L1", "L2")][1]["claims"]
    ['C1']
    """
    pairs = [(c, tuple(ids)) for c, ids in claims]
    return [{"lecture_id": lid, "claims": [c for c, ids in pairs if lid in ids], "untestable_because": UNTESTABLE.get(lid)}
            for lid in LECTURE_IDS]
