"""C6 — Xavier keeps forward and backward variance from collapsing (tanh); the lecture's
swapped formula is wrong when widths change."""

from __future__ import annotations

import math

import torch

from ...lab import Outcome, experiment
from ._deepnet import chain, measure, plot_variances, theory

XAVIER = {"name": "xavier_normal", "gain": 1.0}
SETTINGS = {"depth": 20, "width": 512, "batch": 256, "xavier_min": 0.05, "legacy_max": 1e-8,
            "widths": [32, 64, 128, 256, 512, 1024], "fan_in_tol_log2": 0.5, "swapped_max_log2": -4.0}


@experiment(
    "C6",
    title="Xavier init keeps signal and gradient (tanh)",
    statement="Xavier init Var(w) = 2/(n_in + n_out) keeps forward and backward variance from collapsing with depth "
              "in a tanh net (at most a slow, polynomial drift), against legacy init's exponential 3x per layer. "
              "The forward factor is n_in·Var(w), not n_out·Var(w) (the lecture has them swapped).",
    criterion="tanh, 20 x 512, zero biases, input N(0, I), every seed: Xavier's E[x_20²]/E[x_1²] >= 0.05 and "
              "E[(dL/dx_1)²]/E[(dL/dx_20)²] >= 0.05, while legacy's are both <= 1e-8. Linear net with widths "
              "32→64→…→1024 (5 layers): Var(w) = 1/n_in keeps E[y²] within 2^±0.5 of the input's, while the lecture's "
              "Var(w) = 1/n_out gives log2(E[y_5²]/E[x_0²]) <= -4 (theory: -5).",
    settings={"quick": SETTINGS, "full": {**SETTINGS, "batch": 1024}},
    lecture=("I3", "I5", "I6"),
)
def run(ctx) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    holds = True
    numbers: dict = {}
    curves: dict = {"xavier": [], "legacy": []}
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
        for label, scheme in (("xavier", XAVIER), ("legacy", "legacy_uniform")):
            m = measure(chain(widths, "tanh", scheme, seed=seed), x, seed=seed)
            curves[label].append(m)
            fwd = m["post"][-1] / m["post"][0]
            bwd = m["backward_post"][0] / m["backward_post"][-1]
            numbers.setdefault(f"{label}_forward_last_over_first", []).append(fwd)
            numbers.setdefault(f"{label}_backward_first_over_last", []).append(bwd)
            if label == "xavier":
                holds &= fwd >= s["xavier_min"] and bwd >= s["xavier_min"]
            else:
                holds &= fwd <= s["legacy_max"] and bwd <= s["legacy_max"]
    theo = {"xavier": theory(widths, "tanh", XAVIER), "legacy": theory(widths, "tanh", "legacy_uniform")}
    for k in list(numbers):
        numbers[k] = ctx.summarize(numbers[k])
    numbers["xavier_forward_theory"] = theo["xavier"]["post"][-1] / theo["xavier"]["post"][0]
    numbers["xavier_backward_theory"] = theo["xavier"]["backward_post"][0] / theo["xavier"]["backward_post"][-1]
    numbers["legacy_forward_theory"] = theo["legacy"]["post"][-1] / theo["legacy"]["post"][0]
    f1 = plot_variances(ctx.figure("c06_tanh.png"), curves, f"C6: tanh, {s['depth']}x{s['width']}, Xavier vs legacy",
                        theo, keys=("post", "backward_post"))

    # the lecture's swapped formula on a net whose widths double: Var(w) = 1/n_out (lecture) vs 1/n_in
    ws = s["widths"]
    wcurves: dict = {"Var(w)=1/n_in (right)": [], "Var(w)=1/n_out (lecture I3)": []}
    schemes = {"Var(w)=1/n_in (right)": "lecun_normal",
               "Var(w)=1/n_out (lecture I3)": {"name": "variance_scaling", "scale": 1.0, "mode": "fan_out"}}
    right, swapped = [], []
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], ws[0], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
        for label, scheme in schemes.items():
            m = measure(chain(ws, "identity", scheme, seed=seed), x, seed=seed)
            wcurves[label].append(m)
            lr = math.log2(m["forward"][-1] / float(x.pow(2).mean()))
            (right if "n_in" in label else swapped).append(lr)
    holds &= all(abs(v) <= s["fan_in_tol_log2"] for v in right) and all(v <= s["swapped_max_log2"] for v in swapped)
    wtheo = {k: theory(ws, "identity", v) for k, v in schemes.items()}
    numbers["widths_fan_in_log2_ratio"] = ctx.summarize(right)
    numbers["widths_lecture_log2_ratio"] = ctx.summarize(swapped)
    numbers["widths_lecture_log2_theory"] = math.log2(wtheo["Var(w)=1/n_out (lecture I3)"]["forward"][-1])
    f2 = plot_variances(ctx.figure("c06_widths.png"), wcurves, f"C6: linear net, widths {ws}", wtheo)
    notes = (
        f"tanh chains of {s['depth']} Linear({s['width']}) layers, zero biases, input N(0, I), batch {s['batch']}; "
        "forward = E[x_l²] of the activation outputs, backward = E[(dL/dx_l)²] for L = sum(r·x_20), r ~ N(0, 1). "
        "**'Within 2x over depth' is false for tanh**: with Xavier the variance drifts down *polynomially* "
        "(q_(l+1) ≈ q_l − 2q_l² in tanh's near-linear range, so q_l ~ 1/(2l)), "
        f"last/first ≈ {numbers['xavier_forward_last_over_first']['mean']:.3f} forward and "
        f"{numbers['xavier_backward_first_over_last']['mean']:.3f} backward (mean-field: "
        f"{numbers['xavier_forward_theory']:.3f}, {numbers['xavier_backward_theory']:.3f}); legacy falls "
        f"exponentially to {numbers['legacy_forward_last_over_first']['mean']:.1e}. Note the ratio of pre-activations "
        "q_20/q_1 is smaller (≈0.03 by theory) because q_1 = 1 is outside tanh's linear range.\n\n"
        f"**The lecture's forward formula is swapped (erratum I3)**: in a linear net whose widths double "
        f"({ws}), Var(w) = 1/n_in keeps the output variance (log2 ratio "
        f"{numbers['widths_fan_in_log2_ratio']['mean']:+.2f}), while the lecture's Var(w) = 1/n_out loses a factor "
        f"n_in/n_out = 1/2 per layer (log2 ratio {numbers['widths_lecture_log2_ratio']['mean']:+.2f}, theory "
        f"{numbers['widths_lecture_log2_theory']:+.2f}). 1/n_out is the *backward* condition: the right panel "
        "shows it keeps the gradient instead, which is why Glorot & Bengio average the two."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[f1.name, f2.name], notes=notes)
