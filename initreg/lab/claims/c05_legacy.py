"""C5 — legacy uniform init U[−1/√n, 1/√n] shrinks the activation variance ~3× per layer."""

from __future__ import annotations

import statistics

import torch

from ...lab import Outcome, experiment
from ._deepnet import chain, measure, plot_variances, theory

SETTINGS = {"depth": 20, "width": 512, "batch": 256, "activations": ["identity", "tanh"],
            "ratio_mean": [0.30, 0.37], "ratio_each": [0.27, 0.40]}


@experiment(
    "C5",
    title="Legacy uniform init: variance shrinks 3x per layer",
    statement="With w ~ U[-1/sqrt(n), 1/sqrt(n)], Var(w) = 1/(3n), so n·Var(w) = 1/3: in a deep linear (or tanh, "
              "near-linear) net the activation variance shrinks about 3x per layer (biases zero).",
    criterion="20 layers x 512, zero biases, x ~ N(0, I): for the linear and the tanh net and every seed, the ratio "
              "of activation second moments between consecutive layers has mean in [0.30, 0.37] and every one in "
              "[0.27, 0.40] (theory: 1/3).",
    settings={"quick": SETTINGS, "full": {**SETTINGS, "batch": 1024}},
    lecture=("I4", "I2", "I3"),
)
def run(ctx) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    holds = True
    numbers: dict = {}
    curves: dict = {}
    theo: dict = {}
    for act in s["activations"]:
        means, lows, highs = [], [], []
        runs = []
        for seed in ctx.seeds:
            x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
            m = measure(chain(widths, act, "legacy_uniform", seed=seed), x, seed=seed)
            runs.append(m)
            post = m["post"]
            ratios = [b / a for a, b in zip(post[:-1], post[1:])]
            means.append(statistics.fmean(ratios))
            lows.append(min(ratios))
            highs.append(max(ratios))
            ok = (s["ratio_mean"][0] <= means[-1] <= s["ratio_mean"][1]
                  and s["ratio_each"][0] <= lows[-1] and highs[-1] <= s["ratio_each"][1])
            holds &= ok
        curves[f"{act}, zero bias"] = runs
        theo[f"{act}, zero bias"] = theory(widths, act, "legacy_uniform")
        numbers[f"{act}_ratio_mean"] = ctx.summarize(means)
        numbers[f"{act}_ratio_min"] = min(lows)
        numbers[f"{act}_ratio_max"] = max(highs)
    # PyTorch's own default also draws the bias from U[-1/sqrt(n), 1/sqrt(n)]: Var(b) = 1/(3n) sets a floor
    seed = ctx.seeds[0]
    x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
    m = measure(chain(widths, "identity", "torch", seed=seed), x, seed=seed)
    tail = [b / a for a, b in zip(m["post"][-6:-1], m["post"][-5:])]
    numbers["torch_default_bias_last_ratios_mean"] = statistics.fmean(tail)
    curves["identity, PyTorch default bias"] = [m]
    theo["identity, PyTorch default bias"] = theory(widths, "identity", "legacy_uniform", bias_var=1 / (3 * s["width"]))
    fig = plot_variances(ctx.figure("c05_variance.png"), curves,
                         f"C5: legacy uniform, {s['depth']}x{s['width']}", theo, keys=("post", "backward_post"))
    notes = (
        f"Chains of {s['depth']} Linear({s['width']}, {s['width']}) layers, each followed by the activation, weights "
        f"U[-1/sqrt(n), 1/sqrt(n)] (`legacy_uniform`), biases zero, input N(0, I), batch {s['batch']}; the ratio is "
        "E[x_(l+1)^2]/E[x_l^2] of consecutive activation outputs. Mean-field theory (dashed): 1/3 per layer for "
        "linear; for tanh slightly below 1/3 while the variance is still large, then 1/3. Backward: the gradient "
        "shrinks 3x per layer going down (fan_out·Var(w) = 1/3 for square layers).\n\n"
        "**PyTorch's default bias breaks it**: with the bias also drawn from U[-1/sqrt(n), 1/sqrt(n)] "
        "(Var(b) = 1/(3n)) the variance stops falling at the bias floor q* = 1/(2n), and the consecutive ratio climbs "
        f"towards 1 (last 5 layers: {numbers['torch_default_bias_last_ratios_mean']:.2f}). The claim needs zero biases."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fig.name], notes=notes)
