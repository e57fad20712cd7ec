"""C6 (lecture I3, I5, I6): Xavier init keeps signal and gradient in a deep tanh net — at
most a slow, polynomial drift with depth, not legacy init's exponential decay; and the
forward factor is n_in·Var(w), not the lecture's n_out·Var(w).

Set-up: a chain of 2D = 40 tanh layers of width 512, zero biases, standard normal input. The signal
is v_l = E[x_l²] of the activation outputs (forward) and E[(∂L/∂x_l)²] for
L = Σ r·x_2D, r ~ N(0, 1) (backward). "Polynomial, not exponential" is tested by the decay
over one doubling of depth against the decay over the doubling before it:

    m = log(v_2D / v_D) / log(v_D / v_{D/2})      (D = 20: layers 10, 20, 40)

A power law v_l ∝ l^(−a) gives m = 1 for every exponent a (each doubling of depth costs the
same factor 2^(−a)); an exponential v_l ∝ r^l gives m = 2 for every rate r (the second
doubling spans twice as many layers). So the test cannot be passed by a slow exponential
(e.g. 0.86 per layer), and legacy init (×1/3 per layer, C5) is its negative control.

Erratum (I3): a linear net whose widths double, 32 → 64 → … → 1024; Var(w) = 1/n_in keeps
E[y²] while the lecture's Var(w) = 1/n_out loses n_in/n_out = 1/2 per layer.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion
from ._deepnet import chain, measure, plot_variances, theory

XAVIER = {"name": "xavier_normal", "gain": 1.0}  # the lecture's Xavier: no activation gain
LEGACY = "legacy_uniform"
FAN_SCHEMES = {"fan_in": "lecun_normal", "fan_out": {"name": "variance_scaling", "scale": 1.0, "mode": "fan_out"}}
SETTINGS = {
    "quick": {"depth": 40, "width": 512, "batch": 256, "widths": [32, 64, 128, 256, 512, 1024]},
    "full": {"depth": 40, "width": 512, "batch": 1024, "widths": [32, 64, 128, 256, 512, 1024]},
}
_M = "log(v_2D/v_D) / log(v_D/v_{D/2}), D = depth/2"
_WHY = ("a power law l^(−a) gives 1 for any a, an exponential r^l gives 2 for any r: 1.5 is the midpoint, "
        "so no exponential rate, however slow, passes")
CRITERIA = (
    Criterion("xavier_forward_polynomial", metric=f"Xavier, tanh, forward E[x_l²]: {_M}", unit="", direction="<",
              threshold=1.5, changed="2026-12-06", text=_WHY),
    Criterion("xavier_backward_polynomial", metric=f"Xavier, tanh, backward E[(∂L/∂x_l)²]: {_M}", unit="",
              direction="<", threshold=1.5, changed="2026-12-06", text=_WHY),
    Criterion("legacy_exponential", metric=f"legacy U[±1/√n], tanh, forward E[x_l²]: {_M}", unit="", direction=">",
              threshold=1.5, changed="2026-12-06",
              text="negative control: the same test must call legacy init's ×1/3 per layer exponential"),
    Criterion("fan_in_keeps_variance", metric="linear net, widths doubling: |log2(E[y_out²]/E[x²])| with Var(w) = 1/n_in",
              unit="log2", direction="<", threshold=0.5, changed="2026-12-06",
              text="theory 0; 0.5 = a factor √2 of finite-width noise over the five layers"),
    Criterion("fan_out_loses_variance",
              metric="linear net, widths doubling: log2(E[y_out²]/E[x²]) with the lecture's Var(w) = 1/n_out",
              unit="log2", direction="<", threshold=-4.0, changed="2026-12-06",
              text="theory −5 (a factor 1/2 per layer); −4 leaves one layer's factor for noise"),
)
NOTES = (
    "Tanh chains of {settings[depth]} Linear({settings[width]}) layers, zero biases, standard normal input, batch "
    "{settings[batch]}; v_l is E[x_l²] of the activation outputs (forward) or E[(∂L/∂x_l)²] (backward). "
    "The test of \"polynomial, not exponential\" compares the decay over layers {layers[mid]}→{layers[last]} with "
    "the decay over {layers[first]}→{layers[mid]}: a power law gives a ratio m of one, an exponential of any rate "
    "gives two. **Xavier**: forward m = {xavier_forward_m[mean]:.3f} ± {xavier_forward_m[ci]:.3f} "
    "(mean-field theory {theory[xavier_forward_m]:.3f}), backward m = {xavier_backward_m[mean]:.3f} ± "
    "{xavier_backward_m[ci]:.3f} (theory {theory[xavier_backward_m]:.3f}): each doubling of depth costs the "
    "signal about the same factor — forward E[x²] goes {xavier_forward_v[first][mean]:.3g} → "
    "{xavier_forward_v[mid][mean]:.3g} → {xavier_forward_v[last][mean]:.3g} at layers {layers[first]}, "
    "{layers[mid]}, {layers[last]} (theory {theory[xavier_forward_v][first]:.3g}, {theory[xavier_forward_v][mid]:.3g}, "
    "{theory[xavier_forward_v][last]:.3g}: in tanh's near-linear range each layer takes about twice its square off q, "
    "so q falls like one over twice the depth). "
    "So Xavier does not keep the variance constant with tanh, but the drift is polynomial. **Legacy**: m = "
    "{legacy_forward_m[mean]:.3f} ± {legacy_forward_m[ci]:.3f} (theory {theory[legacy_forward_m]:.3f}), forward E[x²] "
    "{legacy_forward_v[first][mean]:.2g} → {legacy_forward_v[mid][mean]:.2g} → {legacy_forward_v[last][mean]:.2g}: "
    "exponential.\n\n"
    "**The lecture's forward formula is swapped (erratum I3)**: in a linear net whose widths double "
    "({settings[widths]}), {formula[fan_in]} keeps the output's second moment (log2 ratio "
    "{fan_in_log2[mean]:+.2f} ± {fan_in_log2[ci]:.2f}), while the lecture's {formula[fan_out]} loses a factor "
    "n_in/n_out, one half, per layer (log2 ratio {fan_out_log2[mean]:+.2f} ± {fan_out_log2[ci]:.2f}, theory "
    "{theory[fan_out_log2]:+.2f}). The lecture's is the backward condition, which is why Glorot & Bengio average the two. "
    "{words[verdict]}"
)


def doubling_ratio(values: list[float], layers: tuple[int, int, int]) -> float:
    """``m = log(v_c/v_b) / log(v_b/v_a)`` for 1-based layers ``(a, b, c)`` with ``b = 2a, c = 2b``:
    1 for a power law, 2 for an exponential; NaN when a value is not positive.

    >>> round(doubling_ratio([float(l) ** -2 for l in range(1, 41)], (10, 20, 40)), 6)
    1.0
    >>> round(doubling_ratio([0.86 ** l for l in range(1, 41)], (10, 20, 40)), 6)
    2.0
    """
    a, b, c = (values[i - 1] for i in layers)
    if min(a, b, c) <= 0 or a == b:
        return math.nan
    return math.log(c / b) / math.log(b / a)


def _layers(depth: int) -> tuple[int, int, int]:
    if depth % 4:
        raise ValueError(f"C6 needs a depth divisible by 4 (layers depth/4, depth/2, depth); got depth={depth}")
    return depth // 4, depth // 2, depth


def run_seed(s: dict[str, Any], seed: int) -> dict[str, Any]:
    """One seed's measurements: the doubling ratios and probe values for Xavier and legacy, and
    the erratum's log2 ratios; ``curves`` for the figure."""
    widths = [s["width"]] * (s["depth"] + 1)
    lay = _layers(s["depth"])
    x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
    out: dict[str, Any] = {"curves": {}}
    for label, scheme in (("xavier", XAVIER), ("legacy", LEGACY)):
        m = measure(chain(widths, "tanh", scheme, seed=seed), x, seed=seed)
        out["curves"][label] = m
        out[f"{label}_forward_m"] = doubling_ratio(m["post"], lay)
        out[f"{label}_backward_m"] = doubling_ratio(m["backward_post"], lay)
        out[f"{label}_forward_v"] = [m["post"][i - 1] for i in lay]
    ws = s["widths"]
    xw = torch.randn(s["batch"], ws[0], generator=torch.Generator().manual_seed(seed + 7919))
    for label, scheme in FAN_SCHEMES.items():
        m = measure(chain(ws, "identity", scheme, seed=seed), xw, seed=seed)
        out["curves"][label] = m
        out[f"{label}_log2"] = math.log2(m["forward"][-1] / float(xw.pow(2).mean()))
    return out


@experiment(
    "C6",
    title="Xavier init: polynomial drift, not exponential decay (tanh)",
    statement="Xavier init Var(w) = 2/(n_in + n_out) keeps forward and backward variance in a deep tanh net: it "
              "drifts down slowly — polynomially, not exponentially — with depth, unlike legacy init's ×1/3 per "
              "layer. The forward factor is n_in·Var(w), not n_out·Var(w) (the lecture has them swapped).",
    criteria=CRITERIA,
    notes=NOTES,
    headline="xavier_forward_polynomial",
    settings=SETTINGS,
    lecture=("I3", "I5", "I6"),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    lay = _layers(s["depth"])
    per = [run_seed(s, seed) for seed in ctx.seeds]
    col = lambda k: [p[k] for p in per]  # noqa: E731
    widths = [s["width"]] * (s["depth"] + 1)
    theo = {"xavier": theory(widths, "tanh", XAVIER), "legacy": theory(widths, "tanh", LEGACY)}
    wtheo = {k: theory(s["widths"], "identity", v) for k, v in FAN_SCHEMES.items()}
    numbers: dict[str, Any] = {k: ctx.summarize(col(k)) for k in (
        "xavier_forward_m", "xavier_backward_m", "legacy_forward_m", "legacy_backward_m", "fan_in_log2", "fan_out_log2")}
    for label in ("xavier", "legacy"):
        numbers[f"{label}_forward_v"] = {name: ctx.summarize([p[f"{label}_forward_v"][i] for p in per])
                                         for i, name in enumerate(("first", "mid", "last"))}
    numbers["formula"] = {"fan_in": "Var(w) = 1/n_in", "fan_out": "Var(w) = 1/n_out"}
    numbers["layers"] = dict(zip(("first", "mid", "last"), lay))
    numbers["theory"] = {
        "xavier_forward_m": doubling_ratio(theo["xavier"]["post"], lay),
        "xavier_backward_m": doubling_ratio(theo["xavier"]["backward_post"], lay),
        "legacy_forward_m": doubling_ratio(theo["legacy"]["post"], lay),
        "xavier_forward_v": {n: theo["xavier"]["post"][i - 1] for n, i in zip(("first", "mid", "last"), lay)},
        "fan_out_log2": math.log2(wtheo["fan_out"]["forward"][-1]),
    }
    measurements = {
        "xavier_forward_polynomial": col("xavier_forward_m"),
        "xavier_backward_polynomial": col("xavier_backward_m"),
        "legacy_exponential": col("legacy_forward_m"),
        "fan_in_keeps_variance": [abs(v) for v in col("fan_in_log2")],
        "fan_out_loses_variance": col("fan_out_log2"),
    }
    mid = CRITERIA[0].threshold
    ok = (max(measurements["xavier_forward_polynomial"] + measurements["xavier_backward_polynomial"]) < mid
          and min(measurements["legacy_exponential"]) > mid)
    numbers["words"] = {"verdict": "Every seed separates the two: Xavier's m below the midpoint, legacy's above."
                        if ok else "Not every seed falls on its side of the midpoint: see the per-seed values."}
    f1 = plot_variances(ctx.figure("c06_tanh.png"), {k: [p["curves"][k] for p in per] for k in ("xavier", "legacy")},
                        f"C6: tanh, {s['depth']}x{s['width']}, Xavier vs legacy", theo, keys=("post", "backward_post"))
    labels = {"fan_in": "Var(w)=1/n_in (right)", "fan_out": "Var(w)=1/n_out (lecture I3)"}
    f2 = plot_variances(ctx.figure("c06_widths.png"), {labels[k]: [p["curves"][k] for p in per] for k in FAN_SCHEMES},
                        f"C6: linear net, widths {s['widths']}", {labels[k]: v for k, v in wtheo.items()})
    return Outcome(measurements=measurements, numbers=numbers, figures=[f1.name, f2.name])
