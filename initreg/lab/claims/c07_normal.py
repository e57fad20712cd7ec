"""C7 — fixed-σ normal init: small σ vanishes, large σ explodes (ReLU) or saturates (tanh)."""

from __future__ import annotations

import torch

from ...lab import Outcome, experiment
from ._deepnet import chain, measure, plot_variances, theory

SETTINGS = {"depth": 10, "width": 256, "batch": 256, "small": 0.01, "large": 1.0,
            "vanish_max": 1e-7, "explode_min": 1e9, "saturated_min": 0.8}


@experiment(
    "C7",
    title="Fixed-sigma normal init vanishes or explodes",
    statement="Plain normal init N(0, σ²) with a fixed σ: too small a σ makes the signal vanish with depth, too large "
              "a σ makes it explode (ReLU) or saturate the units (tanh).",
    criterion="10 layers x 256, zero biases, input N(0, I), every seed: with σ = 0.01 the std of the last activation "
              "output over the input's is <= 1e-7 (ReLU and tanh); with σ = 1 it is >= 1e9 for ReLU, and >= 80% of "
              "the tanh units of the last layer have |a| > 0.99.",
    settings={"quick": SETTINGS, "full": {**SETTINGS, "batch": 1024}},
    lecture=("I7", "K4"),
)
def run(ctx) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    cases = {f"relu, σ={s['small']}": ("relu", s["small"]), f"tanh, σ={s['small']}": ("tanh", s["small"]),
             f"relu, σ={s['large']}": ("relu", s["large"]), f"tanh, σ={s['large']}": ("tanh", s["large"])}
    holds = True
    numbers: dict = {}
    curves: dict = {k: [] for k in cases}
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))
        sx = float(x.std())
        for label, (act, sigma) in cases.items():
            m = measure(chain(widths, act, {"name": "normal", "std": sigma}, seed=seed), x, seed=seed)
            curves[label].append(m)
            ratio = m["post"][-1] ** 0.5 / sx
            numbers.setdefault(f"{act}_sigma{sigma}_std_ratio", []).append(ratio)
            if sigma == s["small"]:
                holds &= ratio <= s["vanish_max"]
            elif act == "relu":
                holds &= ratio >= s["explode_min"]
            else:
                sat = m["saturated"][-1]
                numbers.setdefault("tanh_sigma1_saturated_fraction", []).append(sat)
                numbers.setdefault("tanh_sigma1_grad_first_over_last", []).append(
                    m["backward_post"][0] / m["backward_post"][-1])
                holds &= sat >= s["saturated_min"]
    theo = {label: theory(widths, act, {"name": "normal", "std": sigma}) for label, (act, sigma) in cases.items()}
    numbers = {k: ctx.summarize(v) for k, v in numbers.items()}
    fig = plot_variances(ctx.figure("c07_variance.png"), curves, f"C7: N(0, σ²), {s['depth']}x{s['width']}", theo,
                         keys=("post", "backward_post"))
    notes = (
        f"Chains of {s['depth']} Linear({s['width']}) layers with weights N(0, σ²), zero biases, input N(0, I). "
        f"Per layer the variance is multiplied by n·σ² (times E[f(√q z)²]/q): σ = {s['small']} gives "
        f"256·1e-4 = 0.0256 (÷2 more for ReLU), so after 10 layers the std ratio is "
        f"{numbers['relu_sigma' + str(s['small']) + '_std_ratio']['mean']:.1e} (ReLU) and "
        f"{numbers['tanh_sigma' + str(s['small']) + '_std_ratio']['mean']:.1e} (tanh); "
        f"σ = 1 gives 256/2 = 128 per layer for ReLU (std ratio {numbers['relu_sigma1.0_std_ratio']['mean']:.1e}) while "
        f"tanh saturates: {100 * numbers['tanh_sigma1_saturated_fraction']['mean']:.0f}% of the last layer's units "
        "have |a| > 0.99. Saturated tanh does not stop the gradient from *exploding* backward here: "
        "χ₁ = n·σ²·E[tanh′²] ≫ 1 (the chaotic phase), E[(dL/dx_1)²]/E[(dL/dx_10)²] = "
        f"{numbers['tanh_sigma1_grad_first_over_last']['mean']:.1e}. Dashed: mean-field theory."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fig.name], notes=notes)
