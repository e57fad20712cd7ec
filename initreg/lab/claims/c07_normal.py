"""C7 (lecture I7, K4): plain normal init N(0, σ²) with a fixed σ — too small a σ makes the
signal vanish as depth grows, too large a σ makes it explode (ReLU) or saturate the units (tanh).

Set-up: chains of 10 Linear(256, 256) layers with weights N(0, σ²), σ ∈ {0.01, 1}, zero
biases, standard normal input, ReLU and tanh. "As depth grows" is read per layer: the signal's
per-layer factor g = (E[x_L²]/E[x_1²])^(1/(L−1)) (geometric mean over the chain) is below 1
when it vanishes and above 1 when it explodes; the judged value is log10 g. Saturation: the
fraction of the last tanh layer's units with |a| > 0.99.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion
from ._deepnet import SATURATED, chain, measure, plot_variances, theory

SETTINGS = {"quick": {"depth": 10, "width": 256, "batch": 256, "small": 0.01, "large": 1.0},
            "full": {"depth": 10, "width": 256, "batch": 1024, "small": 0.01, "large": 1.0}}
_G = "log10 of the per-layer factor of E[x²] (geometric mean over the chain)"
CRITERIA = (
    Criterion("small_sigma_vanishes_relu", metric=f"ReLU, σ = 0.01: {_G}", unit="log10", direction="<", threshold=0.0,
              changed="2026-12-06", text="below 0: the signal shrinks with every layer"),
    Criterion("small_sigma_vanishes_tanh", metric=f"tanh, σ = 0.01: {_G}", unit="log10", direction="<", threshold=0.0,
              changed="2026-12-06", text="below 0: the signal shrinks with every layer"),
    Criterion("large_sigma_explodes_relu", metric=f"ReLU, σ = 1: {_G}", unit="log10", direction=">", threshold=0.0,
              changed="2026-12-06", text="above 0: the signal grows with every layer"),
    Criterion("large_sigma_saturates_tanh", metric="tanh, σ = 1: fraction of the last layer's units with |a| > 0.99",
              unit="", direction=">", threshold=0.8, changed="2026-12-06",
              text="0.8 = most units saturated (the bound predates this set-up)"),
)
NOTES = (
    "Chains of {settings[depth]} Linear({settings[width]}) layers with weights {formula[normal]}, zero biases, standard normal input, "
    "batch {settings[batch]}. Per layer the second moment is multiplied by n·σ² times the activation's factor "
    "(one half for ReLU, below one for tanh). σ = {settings[small]}: the per-layer factor is "
    "{relu_small_factor[mean]:.3g} (ReLU; theory {theory[relu_small]:.3g}) and {tanh_small_factor[mean]:.3g} (tanh; "
    "theory {theory[tanh_small]:.3g}), so after {settings[depth]} layers the std over the input's is "
    "{relu_small_std_ratio[mean]:.1e} (ReLU) and {tanh_small_std_ratio[mean]:.1e} (tanh): it vanishes. σ = "
    "{settings[large]}: ReLU grows ×{relu_large_factor[mean]:.3g} per layer (theory {theory[relu_large]:.3g}; std ratio "
    "{relu_large_std_ratio[mean]:.1e}) while tanh saturates: {tanh_saturated[mean]:.1%} ± {tanh_saturated[ci]:.1%} of "
    "the last layer's units have |a| > {saturation_level}. Saturated tanh does not stop the gradient from growing backward here "
    "(n·σ²·E[tanh′²] exceeds one, the chaotic phase): E[(∂L/∂x_1)²]/E[(∂L/∂x_L)²] = {tanh_grad_first_over_last[mean]:.1e}. "
    "Dashed in the figure: mean-field theory."
)


def per_layer_factor(post: list[float]) -> float:
    """Geometric-mean per-layer factor ``(v_L/v_1)^(1/(L−1))``.

    >>> round(per_layer_factor([1.0, 2.0, 4.0, 8.0]), 6)
    2.0
    """
    if len(post) < 2:
        raise ValueError(f"per_layer_factor needs at least two layers; got {len(post)}")
    return (post[-1] / post[0]) ** (1.0 / (len(post) - 1))


@experiment(
    "C7",
    title="Fixed-σ normal init vanishes, explodes or saturates",
    statement="Plain normal init N(0, σ²) with a fixed σ: too small a σ makes the signal vanish as depth grows, too "
              "large a σ makes it explode (ReLU) or saturate the units (tanh).",
    criteria=CRITERIA,
    notes=NOTES,
    headline="small_sigma_vanishes_relu",
    settings=SETTINGS,
    lecture=("I7", "K4"),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    cases = {"relu_small": ("relu", s["small"]), "tanh_small": ("tanh", s["small"]),
             "relu_large": ("relu", s["large"]), "tanh_large": ("tanh", s["large"])}
    vals: dict[str, list[float]] = {}
    curves: dict[str, list] = {f"{a}, σ={sg}": [] for a, sg in cases.values()}
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))
        sx = float(x.std())
        for key, (act, sigma) in cases.items():
            m = measure(chain(widths, act, {"name": "normal", "std": sigma}, seed=seed), x, seed=seed)
            curves[f"{act}, σ={sigma}"].append(m)
            f = per_layer_factor(m["post"])
            vals.setdefault(f"{key}_factor", []).append(f)
            vals.setdefault(f"{key}_log10", []).append(math.log10(f) if f > 0 else -math.inf)
            vals.setdefault(f"{key}_std_ratio", []).append(m["post"][-1] ** 0.5 / sx)
            if key == "tanh_large":
                vals.setdefault("tanh_saturated", []).append(m["saturated"][-1])
                vals.setdefault("tanh_grad_first_over_last", []).append(m["backward_post"][0] / m["backward_post"][-1])
    theo = {f"{a}, σ={sg}": theory(widths, a, {"name": "normal", "std": sg}) for a, sg in cases.values()}
    numbers: dict[str, Any] = {k: ctx.summarize(v) for k, v in vals.items() if not k.endswith("_log10")}
    numbers["formula"] = {"normal": "N(0, σ²)"}
    numbers["saturation_level"] = SATURATED
    numbers["theory"] = {k: per_layer_factor(theo[f"{a}, σ={sg}"]["post"]) for k, (a, sg) in cases.items()}
    measurements = {
        "small_sigma_vanishes_relu": vals["relu_small_log10"],
        "small_sigma_vanishes_tanh": vals["tanh_small_log10"],
        "large_sigma_explodes_relu": vals["relu_large_log10"],
        "large_sigma_saturates_tanh": vals["tanh_saturated"],
    }
    fig = plot_variances(ctx.figure("c07_variance.png"), curves, f"C7: N(0, σ²), {s['depth']}x{s['width']}", theo,
                         keys=("post", "backward_post"))
    return Outcome(measurements=measurements, numbers=numbers, figures=[fig.name])
