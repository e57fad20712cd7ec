"""Put the mean-field prediction (`initreg.init.meanfield` via `initreg.probe.theory`) next to
each measured row."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from ..init.meanfield import predicted_variances
from .report import ProbeReport
from .theory import saturation_fraction
from .verdict import layer_verdict, overall_verdict

__all__ = ["add_theory"]


def add_theory(rep: ProbeReport, acts: Sequence[nn.Module | None]) -> ProbeReport:
    """Fill ``theory_*`` of every row and ``rep.theory_verdict`` (in place; returns ``rep``).

    Forward: ``q_l`` from the measured input second moment and each layer's actual
    ``fan_in·mean(W²)`` and ``mean(b²)``. Backward: anchored at the last layer's measured
    gradient RMS, each step down multiplies by ``fan_out·mean(W²)`` of the layer above and
    ``E[f'(√q z)²]`` of this layer's activation.
    """
    rows = rep.layers
    if not rows or not math.isfinite(rep.input_rms):
        return rep
    # forward q_l and the backward factors χ_l = E[f_l'(√q_l z)²] · fan_out_{l+1} mean(W_{l+1}²)
    pred = predicted_variances([f if f is not None else "identity" for f in acts],
                               [(r.fan_in, r.fan_out) for r in rows], weight_var=[r.weight_ms for r in rows],
                               bias_var=[r.bias_ms for r in rows], input_moment=rep.input_rms ** 2)
    qs = pred.forward
    t = rep.thresholds
    for r, q, f in zip(rows, qs, acts):
        r.theory_ms = q
        r.theory_fwd_ratio = math.sqrt(q) / rep.input_rms if rep.input_rms > 0 and q == q else math.nan
        r.theory_saturated = saturation_fraction(f, q, t.margin)
    last = rows[-1]
    if last.grad_rms is not None:
        g = last.grad_rms ** 2
        gs = [g]
        for i in range(len(rows) - 2, -1, -1):
            g = g * pred.chi[i]
            gs.append(g)
        gs.reverse()
        for r, g in zip(rows, gs):
            r.theory_grad_ms = g
            r.theory_bwd_ratio = math.sqrt(g / last.grad_rms ** 2) if last.grad_rms > 0 and g == g else math.nan
    trows = []
    for r in rows:
        tr = {"index": r.index, "name": r.name, "fwd_ratio": r.theory_fwd_ratio,
              "bwd_ratio": r.theory_bwd_ratio if r.theory_bwd_ratio is not None else math.nan,
              "saturated": r.theory_saturated}
        r.theory_verdict, tr["issues"] = layer_verdict(tr, t)
        trows.append(tr)
    rep.theory_verdict = overall_verdict(trows, t)
    return rep
