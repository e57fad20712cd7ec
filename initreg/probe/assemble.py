"""The probe's report builder: recorded tensors (`Snapshot`) → a `ProbeReport` with one
`LayerStats` row per layer call, verdicts, and the mean-field overlay (`initreg.probe.overlay`).

Per row: output mean / std / RMS and signal std (`initreg.probe.stats.finish_moments`),
activation statistics, gradient RMS (divided by fp16's loss scale), weight and bias norms,
fans (torch's convention, `initreg.init.fan`), update-to-weight ratio, and the forward /
backward ratios to the input and to the last layer.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from torch import Tensor, nn

from ..init.fan import fan_in_and_fan_out
from .overlay import add_theory
from .report import LayerStats, ProbeReport
from .stats import finish_moments
from .verdict import Thresholds, layer_verdict, overall_verdict

__all__ = ["WeightGrad", "SiteRecord", "Snapshot", "build_report"]


class WeightGrad(NamedTuple):
    """What a weight's gradient hook recorded in one backward pass (sums of squares, 0-d tensors)."""

    grad_ss: Tensor  # ‖∂L/∂W‖²
    weight_ss: Tensor  # ‖W‖² of the weights this pass used
    bias_ss: Tensor | None  # ‖b‖² of the layer's bias, if it has one
    grad_id: tuple[int, int] | None  # (data_ptr, version) of the gradient seen: is ``.grad`` still that tensor?


class SiteRecord(NamedTuple):
    """One call of one layer in a `Snapshot`."""

    name: str
    module: nn.Module
    activation: nn.Module | None
    stats: dict[str, Tensor]
    n: int  # entries of the output
    grad_n: int  # entries of ∂L/∂output


class Snapshot:
    """Recorded statistics of one pass, as tensors (see `Probe.snapshot`)."""

    __slots__ = ("sites", "input", "wgrad")

    def __init__(self, sites: list[SiteRecord], input: dict[str, Any], wgrad: dict[int, WeightGrad]):
        self.sites, self.input, self.wgrad = sites, input, wgrad


def _fans(w: Tensor, m: nn.Module) -> tuple[int, int]:
    """torch's fan convention (`initreg.init.fan`); an embedding row feeds one output each."""
    return (1, w.shape[1]) if isinstance(m, nn.Embedding) else fan_in_and_fan_out(w)


def _ratio(a: float | None, b: float | None) -> float:
    if a is None or b is None or a != a or b != b:
        return math.nan
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def build_report(snap: Snapshot, thresholds: Thresholds, *, theory: bool = True,
                 update_ratios: dict[str, Any] | None = None, step: int | None = None,
                 loss: float | None = None, grad_scale: float = 1.0) -> ProbeReport:
    """A `ProbeReport` from a `Snapshot`: per-layer rows with verdicts, and the theory overlay.
    ``grad_scale``: the loss scale the backward pass ran under (fp16's ``GradScaler``);
    gradient statistics are divided by it. ``update_ratios``: per layer name, the ratio or
    ``(‖ΔW‖², ‖W‖², scale of the first)`` from the trainer callback."""
    gs2 = float(grad_scale) ** 2
    inp = snap.input
    if "col" in inp:
        im, iv, isv = finish_moments(inp["col"], inp["ss"], inp["n"])
        in_rms, in_sd = math.sqrt(max(iv + im * im, 0.0)), (math.sqrt(isv) if isv == isv and isv >= 0 else math.nan)
    else:
        in_rms = in_sd = math.nan
    rows: list[LayerStats] = []
    for i, (name, module, act, st, n, grad_n) in enumerate(snap.sites, 1):
        mean, var, sv = finish_moments(st["col"], st["ss"], n) if "col" in st else (math.nan,) * 3
        w = module._parameters.get("weight")
        b = module._parameters.get("bias")
        wd = w.detach() if isinstance(w, Tensor) else None
        fan_in, fan_out = _fans(wd, module) if wd is not None and wd.ndim >= 2 else (0, 0)
        rec = snap.wgrad.get(id(w)) if w is not None else None
        wgrad_ss = None
        if rec is not None:  # captured during backward (Σ squares): the weights this pass used
            wgrad_ss = float(rec.grad_ss) / gs2
            w_norm = math.sqrt(float(rec.weight_ss))
        else:
            w_norm = float(wd.float().norm()) if wd is not None else math.nan
        if isinstance(b, Tensor) and b.numel():
            b_ss = rec.bias_ss if rec is not None and rec.bias_ss is not None else b.detach().float().pow(2).sum()
            b_ms = float(b_ss) / b.numel()
        else:
            b_ms = 0.0
        w_ms = w_norm ** 2 / wd.numel() if wd is not None and wd.numel() else math.nan
        act_mean = act_std = dead = sat = None
        if "act_mean" in st:
            act_mean = float(st["act_mean"])
            act_std = math.sqrt(max(float(st["act_ss"]) / max(n, 1), 0.0))
        if "amax" in st:
            dead = float((st["amax"] <= 0).double().mean())
        if "sat" in st:
            sat = float(st["sat"]) / max(n, 1)
        upd = (update_ratios or {}).get(name.split("#")[0])
        if isinstance(upd, tuple):  # (‖ΔW‖², ‖W‖², scale of the first) from the trainer callback
            num, den = float(upd[0]) * upd[2], float(upd[1])
            upd = math.sqrt(num / den) if den > 0 else math.nan
        g_ms = float(st["grad_ss"]) / gs2 / grad_n if "grad_ss" in st and grad_n else None
        row = LayerStats(
            index=i, name=name, kind=type(module).__name__,
            shape=list(wd.shape) if wd is not None else [], fan_in=fan_in, fan_out=fan_out,
            activation=type(act).__name__ if act is not None else None,
            mean=mean, std=math.sqrt(max(var, 0.0)) if var == var else math.nan,
            rms=math.sqrt(max(var + mean * mean, 0.0)) if var == var else math.nan,
            signal_std=math.sqrt(max(sv, 0.0)) if sv == sv else math.nan,
            act_mean=act_mean, act_std=act_std, dead=dead, saturated=sat,
            grad_rms=math.sqrt(g_ms) if g_ms is not None else None,
            grad_norm=math.sqrt(g_ms * grad_n) if g_ms is not None else None,
            weight_norm=w_norm, weight_ms=w_ms, bias_ms=b_ms,
            weight_grad_norm=math.sqrt(wgrad_ss) if wgrad_ss is not None else None,
            update_ratio=float(upd) if upd is not None else None,
        )
        if row.weight_grad_norm is not None and w_norm > 0:
            row.grad_to_weight = row.weight_grad_norm / w_norm
        row.fwd_ratio = _ratio(row.rms, in_rms)
        row.signal_ratio = _ratio(row.signal_std, in_sd)
        rows.append(row)
    with_grad = [r for r in rows if r.grad_rms is not None]
    if with_grad:
        ref = with_grad[-1].grad_rms
        for r in with_grad:
            r.bwd_ratio = _ratio(r.grad_rms, ref)
    t = thresholds
    for r in rows:
        r.verdict, r.issues = layer_verdict(r, t)
    rep = ProbeReport(layers=rows, input_rms=in_rms, input_signal_std=in_sd, thresholds=t,
                      verdict=overall_verdict(rows, t), step=step, loss=loss)
    if theory:
        add_theory(rep, [site.activation for site in snap.sites])
    return rep
