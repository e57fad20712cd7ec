"""`LayerStats` (one row per layer call) and `ProbeReport` (rows + verdict + overlay)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..utils.display import Table, TableDisplay
from .verdict import Thresholds

__all__ = ["LayerStats", "ProbeReport"]


@dataclass
class LayerStats:
    """What the probe measured for one call of one layer (NaN / None: not measured)."""

    index: int  # 1-based position in execution order
    name: str  # module name; "name#2" for its second call in one pass
    kind: str  # module class
    shape: list[int]  # weight shape (out, in, *kernel)
    fan_in: int
    fan_out: int
    activation: str | None  # the activation module found after it
    mean: float  # of the layer's output (the pre-activation), over all entries
    std: float
    rms: float
    signal_std: float  # std across the batch, averaged over the other entries
    act_mean: float | None = None  # after the activation
    act_std: float | None = None
    dead: float | None = None  # fraction of units zero on the whole batch (rectifiers)
    saturated: float | None = None  # fraction of activation values near a bound (bounded activations)
    grad_rms: float | None = None  # of dL/d(output)
    grad_norm: float | None = None
    weight_norm: float = math.nan
    weight_ms: float = math.nan  # mean(W²)
    bias_ms: float = 0.0  # mean(b²)
    weight_grad_norm: float | None = None  # ||dL/dW||
    grad_to_weight: float | None = None  # ||dL/dW|| / ||W||
    update_ratio: float | None = None  # ||ΔW|| / ||W|| of one optimizer step (trainer callback)
    fwd_ratio: float = math.nan  # rms / the network input's rms
    signal_ratio: float = math.nan  # signal_std / the network input's signal std
    bwd_ratio: float = math.nan  # grad_rms / the last layer's grad_rms
    verdict: str = "healthy"
    issues: list[dict[str, str]] = field(default_factory=list)
    theory_ms: float | None = None  # predicted E[h²] (mean-field)
    theory_grad_ms: float | None = None  # predicted E[δ²], anchored at the last layer's measured value
    theory_fwd_ratio: float | None = None
    theory_bwd_ratio: float | None = None
    theory_saturated: float | None = None
    theory_verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf floats become None / strings."""
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


@dataclass
class ProbeReport(TableDisplay):
    """The probe's findings: per-layer rows, the overall verdict, the theory overlay.

    ``print(report)`` shows the layer table and the verdict; a notebook shows it as HTML."""

    layers: list[LayerStats]
    input_rms: float
    input_signal_std: float
    thresholds: Thresholds
    verdict: dict[str, Any]  # {"label", "first_bad": {...} | None}
    step: int | None = None
    loss: float | None = None
    theory_verdict: dict[str, Any] | None = None
    jacobian: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The overall verdict: healthy / vanishing / exploding / saturated / dead."""
        return self.verdict["label"]

    @property
    def first_bad(self) -> dict[str, Any] | None:
        """The layer where the problem starts (``index``, ``name``, ``direction``, ``issues``)."""
        return self.verdict["first_bad"]

    @property
    def healthy(self) -> bool:
        return self.label == "healthy"

    def column(self, key: str) -> list[Any]:
        """One statistic over the layers."""
        return [getattr(r, key) for r in self.layers]

    def summary(self) -> str:
        """One line: the verdict and where it starts."""
        fb = self.first_bad
        if fb is None:
            return f"healthy: no layer crosses the thresholds ({len(self.layers)} layers)"
        where = "from the input" if fb["direction"] == "forward" else "from the output"
        return (f"{self.label}: starts at layer {fb['index']} ({fb['name']}, {fb['direction']}, first {where}) — "
                + "; ".join(fb["issues"]))

    def to_dict(self) -> dict[str, Any]:
        return _clean({"verdict": self.verdict, "summary": self.summary(), "theory_verdict": self.theory_verdict,
                       "step": self.step, "loss": self.loss, "input_rms": self.input_rms,
                       "input_signal_std": self.input_signal_std, "thresholds": self.thresholds.to_dict(),
                       "layers": [r.to_dict() for r in self.layers], "jacobian": self.jacobian, "meta": self.meta})

    def write_json(self, path: str | Path) -> Path:
        from ..utils.io import write_json

        return write_json(path, self.to_dict())

    def display_table(self) -> Table:
        """The layer table of `table` as plain cells, with the verdict line under it."""
        cols = ["#", "layer", "act", "fwd ×", "theory", "signal ×", "dead", "sat.", "bwd ×", "theory", "verdict"]
        rows = [[str(r.index), r.name, r.activation or "-", _fmt(r.fwd_ratio), _fmt(r.theory_fwd_ratio),
                 _fmt(r.signal_ratio), _pct(r.dead), _pct(r.saturated), _fmt(r.bwd_ratio),
                 _fmt(r.theory_bwd_ratio), r.verdict] for r in self.layers]
        notes = [f"verdict: {self.summary()}"] + ([f"loss {self.loss:.4g}"] if self.loss is not None else [])
        if self.meta.get("not_called"):
            notes.append(f"not measured (forward never called; weight used by another module): "
                         f"{', '.join(self.meta['not_called'])}")
        return Table("signal propagation, layer by layer", cols, rows, notes)

    def table(self, title: str = "signal propagation, layer by layer", *, wide: bool = False):
        """A rich ``Table``: per layer the forward ratio (measured, theory), the signal ratio,
        dead and saturated units, the backward ratio (measured, theory) and the verdict;
        ``wide`` adds the output std, the gradient RMS and ‖∇W‖/‖W‖."""
        from rich import box
        from rich.table import Table

        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        cols = ["#", "layer", "act", "fwd ×", "theory", "signal ×", "dead", "sat.", "bwd ×", "theory", "verdict"]
        if wide:
            cols[3:3] = ["out std"]
            cols[-1:-1] = ["grad rms", "‖∇W‖/‖W‖"]
        for col in cols:
            t.add_column(col, justify="left" if col in ("layer", "act", "verdict") else "right")
        style = {"healthy": "green", "vanishing": "cyan", "exploding": "red", "saturated": "yellow", "dead": "magenta"}
        for r in self.layers:
            cells = [str(r.index), r.name, r.activation or "-", _fmt(r.fwd_ratio), _fmt(r.theory_fwd_ratio),
                     _fmt(r.signal_ratio), _pct(r.dead), _pct(r.saturated), _fmt(r.bwd_ratio),
                     _fmt(r.theory_bwd_ratio), f"[{style.get(r.verdict, 'white')}]{r.verdict}[/]"]
            if wide:
                cells[3:3] = [_fmt(r.std)]
                cells[-1:-1] = [_fmt(r.grad_rms), _fmt(r.grad_to_weight)]
            t.add_row(*cells)
        return t


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.2g}" if 1e-2 <= abs(v) < 1e3 or v == 0 else f"{v:.0e}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"
