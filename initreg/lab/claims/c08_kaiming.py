"""C8 (lecture I8, K4): for ReLU, E[x²] = Var(y_prev)/2, so Var(w) = 2/n_in (Kaiming) keeps the
variance through a deep ReLU net while Xavier's Var(w) = 1/n halves it per layer; the deep
net trains with Kaiming init and stalls with Xavier (the vanishing signal of K4).

At init: chains of 30 Linear(256, 256) → ReLU, zero biases, standard normal input; per seed
log2(q_30/q_1) of the pre-activations q_l = E[y_l²] (theory: 0 for Kaiming, −29 for Xavier).
Training: `mlp` with 30 hidden ReLU layers of 256 on MNIST-5k, SGD with momentum, the same
seed giving both arms the same batch order; per seed the paired effect is the train accuracy
of Kaiming minus Xavier's. Legacy init (C5) is drawn in the figure, not judged here.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.experiment import stacked_note
from ...lab.verdict import Criterion
from ._deepnet import chain, log2_ratio, measure, plot_variances, theory

XAVIER = {"name": "xavier_normal", "gain": 1.0}  # the lecture's Xavier: Var(w) = 2/(n_in + n_out), no ReLU gain
KAIMING = {"name": "variance_scaling", "scale": 2.0, "mode": "fan_in"}  # He et al.: N(0, 2/n_in), stated explicitly
SCHEMES = {"kaiming": KAIMING, "xavier": XAVIER, "legacy": "legacy_uniform"}
_BASE = {"depth": 30, "width": 256, "batch": 256, "data": "mnist5k", "lr": 0.005, "momentum": 0.9, "train_batch": 100}
SETTINGS = {"quick": {**_BASE, "steps": 150}, "full": {**_BASE, "steps": 250, "batch": 1024}}
CRITERIA = (
    Criterion("kaiming_keeps_variance", metric="Kaiming at init: |log2(q_30/q_1)| of the pre-activations", unit="log2",
              direction="<", threshold=3.0, changed="2026-12-06",
              text="theory 0; 3 = a factor 8 over 30 layers of finite-width noise (relative sd ≈ √(5/n) per layer)"),
    Criterion("xavier_halves_per_layer", metric="Xavier at init: log2(q_30/q_1) of the pre-activations", unit="log2",
              direction="<", threshold=-20.0, changed="2026-12-06",
              text="theory −29 (a factor 1/2 per layer); −20 leaves a third of it for noise"),
    Criterion("kaiming_trains_xavier_stalls", metric="train accuracy after training, Kaiming − Xavier", unit="pp",
              direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: same data, batch order and training budget"),
)
NOTES = (
    "At init: chains of {settings[depth]} Linear({settings[width]}) → ReLU, zero biases, standard normal input, batch "
    "{settings[batch]}; q_l = E[y_l²] of the pre-activations. log2(q_L/q_1): Kaiming {kaiming_log2[mean]:+.2f} ± "
    "{kaiming_log2[ci]:.2f} (theory {theory[kaiming]:+.2f}; the spread is finite-width noise), Xavier "
    "{xavier_log2[mean]:+.1f} ± {xavier_log2[ci]:.1f} (theory {theory[xavier]:+.1f}: n·Var(w)·½ = ½ per layer), legacy "
    "{legacy_log2[mean]:+.1f} (theory {theory[legacy]:+.1f}, not judged).\n\n"
    "Training: `mlp` with {settings[depth]} hidden ReLU layers of {settings[width]} on {settings[data]} ({n_train} "
    "train images), SGD momentum {settings[momentum]}, lr {settings[lr]}, batch {settings[train_batch]}, "
    "{settings[steps]} steps, biases zero; {stacked}. Train accuracy at the end: Kaiming {kaiming_acc[mean]:.1%} "
    "(seeds: {kaiming_acc[min]:.1%} to {kaiming_acc[max]:.1%}), Xavier {xavier_acc[mean]:.1%} (train loss "
    "{xavier_loss[mean]:.3f}; chance: {chance[acc]:.1%} and ln of the class count = {chance[loss]:.3f}); paired "
    "difference {parts[kaiming_trains_xavier_stalls][effect]:.1f} pp. {words[xavier]}"
)


def train_arms(s: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Train the Kaiming and the Xavier net for every seed (each arm's seeds as one stacked model
    where possible): per arm the train accuracy and loss per seed, and how it was trained."""
    from ...data import load_data
    from ...train.multiseed import train_seeds

    data = load_data({"name": s["data"]})
    cfg = {"optimizer": "sgd", "lr": s["lr"], "momentum": s["momentum"], "batch_size": s["train_batch"],
           "steps": s["steps"], "eval_every": s["steps"], "eval_train": True, "evaluate_test": False,
           "seed": seeds[0], "progress": "none"}
    out: dict[str, Any] = {"n_train": len(data.y_train), "num_classes": data.num_classes}
    for label in ("kaiming", "xavier"):
        model = {"name": "mlp", "depth": s["depth"], "width": s["width"], "activation": "relu", "init": SCHEMES[label]}
        _, hists = train_seeds(model, data, cfg, seeds)
        out[f"{label}_acc"] = [h.last.get("train_acc", math.nan) for h in hists]
        out[f"{label}_loss"] = [h.last.get("train_loss", math.nan) for h in hists]
        out["stacked"] = stacked_note(hists, "nets of each arm")
    return out


@experiment(
    "C8",
    title="Kaiming init for deep ReLU nets",
    statement="For ReLU, E[x²] = Var(y_prev)/2, so Var(w) = 2/n_in keeps the variance through a deep ReLU net (up to "
              "finite-width noise) while Xavier halves it per layer; a 30-layer ReLU net trains with Kaiming init and "
              "stalls with Xavier init.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="kaiming_trains_xavier_stalls",
    settings=SETTINGS,
    lecture=("I8", "K4"),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    vals: dict[str, list[float]] = {}
    curves: dict[str, list] = {k: [] for k in SCHEMES}
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))
        for label, scheme in SCHEMES.items():
            m = measure(chain(widths, "relu", scheme, seed=seed), x, seed=seed)
            curves[label].append(m)
            vals.setdefault(f"{label}_log2", []).append(log2_ratio(m["forward"][-1], m["forward"][0]))
    theo = {label: theory(widths, "relu", scheme) for label, scheme in SCHEMES.items()}
    tr = train_arms(s, list(ctx.seeds))
    numbers: dict[str, Any] = {k: ctx.summarize(v) for k, v in vals.items()}
    numbers["theory"] = {k: log2_ratio(t["forward"][-1], t["forward"][0]) for k, t in theo.items()}
    for k in ("kaiming_acc", "kaiming_loss", "xavier_acc", "xavier_loss"):
        numbers[k] = ctx.summarize(tr[k])
    numbers["n_train"], numbers["stacked"] = tr["n_train"], tr["stacked"]
    numbers["per_seed"] = {k: tr[k] for k in ("kaiming_acc", "xavier_acc")}
    numbers["chance"] = {"acc": 1.0 / tr["num_classes"], "loss": math.log(tr["num_classes"])}
    stalled = max(tr["xavier_acc"]) < 2.0 / tr["num_classes"]
    numbers["words"] = {"xavier": "The Xavier net stays at chance on every seed: its output does not depend on the "
                                  "input, so the gradient only moves the last biases towards the class prior."
                        if stalled else "The Xavier net gets above chance on some seed: see the per-seed values."}
    measurements = {
        "kaiming_keeps_variance": [abs(v) for v in vals["kaiming_log2"]],
        "xavier_halves_per_layer": vals["xavier_log2"],
        "kaiming_trains_xavier_stalls": [100.0 * (a - b) for a, b in zip(tr["kaiming_acc"], tr["xavier_acc"])],
    }
    fig = plot_variances(ctx.figure("c08_variance.png"), curves, f"C8: ReLU, {s['depth']}x{s['width']}", theo)
    return Outcome(measurements=measurements, numbers=numbers, figures=[fig.name])
