"""C5 (lecture I4, I2, I3): legacy uniform init U[−1/√n, 1/√n] has n·Var(w) = 1/3, so in a
(near-)linear net the activation variance shrinks about 3× per layer.

Set-up: chains of 20 Linear(512, 512) layers, each followed by the activation (identity and
tanh), weights `legacy_uniform`, biases zero, standard normal input. Per seed the per-layer shrink
factor is the geometric mean over the chain, f = (E[x_1²]/E[x_L²])^(1/(L−1)) of the
activation outputs; the claim is f ≈ 3. An extra, unjudged finding: PyTorch's default bias
(also U[±1/√n]) puts a floor under the variance.
"""

from __future__ import annotations

from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion
from ._deepnet import chain, measure, plot_variances, theory

SETTINGS = {"quick": {"depth": 20, "width": 512, "batch": 256, "activations": ["identity", "tanh"]},
            "full": {"depth": 20, "width": 512, "batch": 1024, "activations": ["identity", "tanh"]}}
_WHY = ("\"about 3×\" read as within 10%: finite-width noise moves one layer's factor by ≈ √(2/n) ≈ 6% at n = 512 "
        "and the geometric mean over the chain far less; 10% still tells 3× apart from 2× or 4×")
CRITERIA = (
    Criterion("linear_shrinks_3x", metric="linear net: |per-layer shrink factor of E[x²] − 3| (geometric mean over "
              "the chain)", unit="×", direction="<", threshold=0.3, changed="2026-12-06", text=_WHY),
    Criterion("tanh_shrinks_3x", metric="tanh net: |per-layer shrink factor of E[x²] − 3| (geometric mean over the "
              "chain)", unit="×", direction="<", threshold=0.3, changed="2026-12-06", text=_WHY),
)
NOTES = (
    "Chains of {settings[depth]} Linear({settings[width]}, {settings[width]}) layers, each followed by the "
    "activation, weights {formula[legacy]} (`legacy_uniform`), biases zero, standard normal input, batch {settings[batch]}. "
    "The per-layer shrink factor of E[x²] (geometric mean over the chain) is {identity_factor[mean]:.4f} ± "
    "{identity_factor[ci]:.4f} for the linear net (theory {theory[identity]:.4f}) and {tanh_factor[mean]:.4f} ± "
    "{tanh_factor[ci]:.4f} for tanh (theory {theory[tanh]:.4f}); single layers range over "
    "[{identity_layer[min]:.3f}, {identity_layer[max]:.3f}] (linear) and [{tanh_layer[min]:.3f}, "
    "{tanh_layer[max]:.3f}] (tanh). Backward, the gradient shrinks by the same factor per layer towards the input "
    "(fan_out·Var(w) is the same for square layers).\n\n"
    "**PyTorch's default bias stops it** (not judged): with the bias also drawn from {formula[legacy]} the variance "
    "stops falling at the bias floor and the consecutive ratio over the last layers is "
    "{torch_default_bias_last_ratio:.3f} (seed {seeds[0]}), so the claim needs zero biases."
)


def shrink_factor(post: list[float]) -> float:
    """Geometric-mean per-layer shrink factor ``(v_1/v_L)^(1/(L−1))`` of a list of second moments.

    >>> round(shrink_factor([1.0, 1 / 3, 1 / 9, 1 / 27]), 6)
    3.0
    """
    if len(post) < 2:
        raise ValueError(f"shrink_factor needs at least two layers; got {len(post)}")
    return (post[0] / post[-1]) ** (1.0 / (len(post) - 1))


@experiment(
    "C5",
    title="Legacy uniform init: variance shrinks about 3× per layer",
    statement="With w ~ U[−1/√n, 1/√n], Var(w) = 1/(3n), so n·Var(w) = 1/3: in a deep linear (or tanh, near-linear) "
              "net the activation variance shrinks about 3× per layer (biases zero).",
    criteria=CRITERIA,
    notes=NOTES,
    headline="linear_shrinks_3x",
    settings=SETTINGS,
    lecture=("I4", "I2", "I3"),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    numbers: dict[str, Any] = {"theory": {}, "formula": {"legacy": "U[−1/√n, 1/√n]"}}
    measurements: dict[str, list[float]] = {}
    curves: dict[str, list] = {}
    theo: dict[str, dict] = {}
    for act in s["activations"]:
        factors, layers, runs = [], [], []
        for seed in ctx.seeds:
            x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))  # not the init stream
            m = measure(chain(widths, act, "legacy_uniform", seed=seed), x, seed=seed)
            runs.append(m)
            factors.append(shrink_factor(m["post"]))
            layers += [a / b for a, b in zip(m["post"][:-1], m["post"][1:])]
        label = f"{act}, zero bias"
        curves[label], theo[label] = runs, theory(widths, act, "legacy_uniform")
        numbers[f"{act}_factor"] = ctx.summarize(factors)
        numbers[f"{act}_layer"] = ctx.summarize(layers)
        numbers["theory"][act] = shrink_factor(theo[label]["post"])
        part = "linear_shrinks_3x" if act == "identity" else f"{act}_shrinks_3x"
        measurements[part] = [abs(f - 3.0) for f in factors]
    seed = ctx.seeds[0]
    x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))
    m = measure(chain(widths, "identity", "torch", seed=seed), x, seed=seed)
    tail = m["post"][-6:]
    numbers["torch_default_bias_last_ratio"] = (tail[-1] / tail[0]) ** (1 / (len(tail) - 1))
    curves["identity, PyTorch default bias"] = [m]
    theo["identity, PyTorch default bias"] = theory(widths, "identity", "legacy_uniform", bias_var=1 / (3 * s["width"]))
    fig = plot_variances(ctx.figure("c05_variance.png"), curves, f"C5: legacy uniform, {s['depth']}x{s['width']}",
                         theo, keys=("post", "backward_post"))
    return Outcome(measurements=measurements, numbers=numbers, figures=[fig.name])
