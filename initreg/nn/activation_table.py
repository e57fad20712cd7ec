"""The activation table as rows for display (``initreg activations``): each registered
activation's formula, derivative, correct range (and the lecture's, where it differs),
whether it is zero-centred, and its forward / backward gains (`initreg.init.gain`).

>>> rows = {r["name"]: r for r in activations_table()}
>>> rows["relu"]["range"], round(rows["relu"]["gain_forward"], 4)
('[0, ∞)', 1.4142)
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError
from ..init.gain import gain
from .activations import activation_info, activations

__all__ = ["activations_table"]


def activations_table() -> list[dict[str, Any]]:
    """One row per activation (aliases skipped): name, formula, derivative, range, gains."""
    rows = []
    seen: set[int] = set()
    for name in activations.names():
        info = activation_info(name)
        if id(info) in seen or name != info.name:
            continue
        seen.add(id(info))
        fwd = gain(name, mode="forward")
        try:
            bwd = gain(name, mode="backward")
        except ConfigError:
            bwd = math.inf
        rows.append({"name": name, "formula": info.formula, "derivative": info.derivative,
                     "formula_text": info.plain[0], "derivative_text": info.plain[1],
                     "range": info.range.describe(**info.params), "lecture_range": info.lecture_range or "",
                     "zero_centred": info.zero_centred, "gain_forward": fwd, "gain_backward": bwd,
                     "params": dict(info.params), "note": info.note})
    return rows
