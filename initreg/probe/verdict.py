"""Verdicts: healthy / vanishing / exploding / saturated / dead, per layer and overall.

The thresholds are ratios, so they do not depend on the data's scale:

- **forward ratio** of layer l: the RMS of its output (the pre-activation ``h_l``) divided
  by the RMS of the network's input (the first weight layer's input). Exploding if
  ``> explode`` (default 100: the signal grew 100-fold, 10⁴ in variance), vanishing if
  ``< vanish`` (default 0.01). A second, *signal* ratio uses the across-batch standard
  deviation (how much ``h_l`` still depends on the input, averaged over units): a layer
  whose output is the same for every input (e.g. sigmoid nets at tiny σ, whose units all sit
  at 0.5) is vanishing even though its RMS is not.
- **backward ratio** of layer l: the RMS of ∂L/∂h_l divided by the RMS of ∂L/∂h at the last
  weight layer (the output). Exploding if ``> explode``, vanishing if ``< vanish``.
- **saturated**: the fraction of activation values within ``margin`` of a bound of a
  bounded activation (``|tanh| > 0.99``, ``sigmoid < 0.01`` or ``> 0.99``) exceeds
  ``saturated`` (default 0.5).
- **dead**: the fraction of units of a rectifier (ReLU family) that are zero for *every*
  example of the batch exceeds ``dead`` (default 0.5). Needs a batch of ≳ 32: with a batch
  of 1 half of a healthy ReLU layer looks dead.
- **update ratio** (training only): ‖ΔW‖/‖W‖ of one optimizer step above ``update``
  (default 0.1) is exploding.

Where a problem *starts*: for forward problems (and saturated / dead units) the first layer
from the input that crosses a threshold; for gradient problems the first layer from the
*output* (gradients flow backward). The overall verdict is the label of that layer,
forward problems first (they cause the backward ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["Thresholds", "LABELS", "layer_verdict", "overall_verdict"]

LABELS = ("healthy", "vanishing", "exploding", "saturated", "dead")
_PRIORITY = ("exploding", "vanishing", "saturated", "dead")


@dataclass(frozen=True)
class Thresholds:
    """The documented thresholds behind every verdict (see the module docstring)."""

    explode: float = 1e2  # forward / backward ratio above this: exploding
    vanish: float = 1e-2  # forward / backward ratio below this: vanishing
    saturated: float = 0.5  # fraction of saturated activation values above this: saturated
    dead: float = 0.5  # fraction of dead units above this: dead
    margin: float = 0.01  # "near a bound": within this fraction of the activation's range
    update: float = 0.1  # update-to-weight ratio of one step above this: exploding (training)

    def __post_init__(self) -> None:
        if not (0 < self.vanish < 1 < self.explode):
            raise ConfigError(f"thresholds need 0 < vanish < 1 < explode; got vanish={self.vanish}, explode={self.explode}")
        for name in ("saturated", "dead", "margin"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ConfigError(f"threshold {name} must be in (0, 1); got {name}={v}")
        if self.update <= 0:
            raise ConfigError(f"threshold update must be > 0; got update={self.update}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _get(row: Any, key: str) -> Any:
    """A field of a row: a mapping or an object with attributes (`LayerStats`)."""
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def _bad(x: float | None, t: Thresholds) -> str | None:
    if x is None or x != x:  # None or NaN: not measured
        return None
    if x == float("inf") or x > t.explode:
        return "exploding"
    if x < t.vanish:
        return "vanishing"
    return None


def layer_verdict(row: Any, t: Thresholds) -> tuple[str, list[dict[str, str]]]:
    """``(label, issues)`` for one layer's record (a `LayerStats` or its ``to_dict()``).

    Each issue is ``{"label", "direction", "text"}``; direction is ``forward`` (the
    activations, saturated and dead units, updates) or ``backward`` (the gradients).
    """
    issues: list[dict[str, str]] = []

    def add(label: str, direction: str, text: str) -> None:
        issues.append({"label": label, "direction": direction, "text": text})

    fwd = _bad(_get(row, "fwd_ratio"), t)
    if fwd:
        add(fwd, "forward", f"forward {fwd}: output RMS is {_get(row, 'fwd_ratio'):.2g}x the input's")
    sig = _bad(_get(row, "signal_ratio"), t)
    if sig == "vanishing" and fwd is None:
        add("vanishing", "forward", f"forward signal vanishing: across-batch std is {_get(row, 'signal_ratio'):.2g}x the input's")
    bwd = _bad(_get(row, "bwd_ratio"), t)
    if bwd:
        add(bwd, "backward", f"backward {bwd}: gradient RMS is {_get(row, 'bwd_ratio'):.2g}x the output layer's")
    sat = _get(row, "saturated")
    if sat is not None and sat > t.saturated:
        add("saturated", "forward", f"{sat:.0%} of activations within {t.margin:g} of a bound")
    dead = _get(row, "dead")
    if dead is not None and dead > t.dead:
        add("dead", "forward", f"{dead:.0%} of units inactive on the whole batch")
    upd = _get(row, "update_ratio")
    if upd is not None and (upd != upd or upd > t.update):
        add("exploding", "forward", f"one step changed the weights by {upd:.2g}x their norm")
    if not issues:
        return "healthy", []
    return _worst(issues), issues


def _worst(issues: list[dict[str, str]]) -> str:
    return min((i["label"] for i in issues), key=_PRIORITY.index)


def overall_verdict(rows: list[Any], t: Thresholds | None = None) -> dict[str, Any]:
    """The network's verdict and the layer where it starts.

    ``rows`` carry ``index``, ``name`` and ``issues`` (from `layer_verdict`). Returns
    ``{"label", "first_bad": {"index", "name", "label", "direction", "issues"} | None}``.
    """
    fwd = [(r, [i for i in (_get(r, "issues") or []) if i["direction"] == "forward"]) for r in rows]
    fwd = [(r, i) for r, i in fwd if i]
    bwd = [(r, [i for i in (_get(r, "issues") or []) if i["direction"] == "backward"]) for r in rows]
    bwd = [(r, i) for r, i in bwd if i]
    if fwd:
        r, issues = min(fwd, key=lambda x: _get(x[0], "index"))
        direction = "forward"
    elif bwd:
        r, issues = max(bwd, key=lambda x: _get(x[0], "index"))
        direction = "backward"
    else:
        return {"label": "healthy", "first_bad": None}
    label = _worst(issues)
    return {"label": label, "first_bad": {"index": _get(r, "index"), "name": _get(r, "name"), "label": label,
                                          "direction": direction, "issues": [i["text"] for i in issues]}}
