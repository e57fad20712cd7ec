"""C4 (lecture I1): with a constant init every unit of a layer gets the same gradient, so the
units stay identical for ever (symmetry is never broken); zero init of a ReLU net also kills
the gradient.

Set-up: a 784-64-64-10 MLP on MNIST-5k, zero biases, trained with `fit` (SGD, full train
split shuffled by the seed). Arms: every weight 0.01 (tanh, sigmoid, ReLU); PyTorch's default
random init (the control: the same measurement must see distinct units); every weight 0 with
ReLU. Each arm's seeds train as one stacked model where the model allows it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion

_BASE = {"data": "mnist5k", "hidden": [64, 64], "value": 0.01, "lr": 0.1, "batch": 100,
         "activations": ["tanh", "sigmoid", "relu"]}
SETTINGS = {"quick": {**_BASE, "steps": 200}, "full": {**_BASE, "steps": 400}}
CRITERIA = (
    Criterion("constant_units_identical", kind="exact", unit="",
              metric="constant init 0.01, after training: max over hidden layers and activations of max_j ‖w_j − w_0‖∞",
              direction="<", threshold=1e-6, changed="2026-12-06",
              text="identical units up to float rounding (in exact arithmetic: 0)"),
    Criterion("random_units_differ", kind="exact", unit="",
              metric="random init (PyTorch default), after training: min over hidden layers and activations of the "
                     "closest pair of units ‖w_i − w_j‖∞", direction=">", threshold=0.01, changed="2026-12-06",
              text="control: the same measurement sees distinct units when the init breaks symmetry"),
    Criterion("zero_relu_weights_frozen", kind="exact", unit="",
              metric="all-zero init, ReLU: max |Δw| over every weight after training", direction="<", threshold=1e-12,
              changed="2026-12-06", text="no gradient reaches any weight: 0 exactly"),
)
NOTES = (
    "MLP {arch} on {settings[data]} ({n_train} train images), SGD lr {settings[lr]}, batch "
    "{settings[batch]}, {settings[steps]} steps, biases zero. With every weight {settings[value]}, each hidden unit "
    "computes the same function and gets the same gradient, so after training the units are still identical (largest "
    "unit spread over seeds, layers and activations {constant_spread[max]:.1g}); the network is effectively one unit "
    "wide. PyTorch's default random init keeps them apart (closest pair {random_min_dist[min]:.3f} over seeds). With "
    "all weights zero and ReLU, every hidden unit outputs ReLU of zero, which is zero, and every weight gradient is "
    "zero (PyTorch takes ReLU's derivative at zero as zero, and the output layer sees zero inputs): no weight moves (largest change {zero_change[max]:.1g}); only the "
    "output biases learn the class prior, so the train loss ends at {zero_loss[mean]:.4f}, the prior's entropy being "
    "{prior_entropy:.4f}."
)


def unit_spread(w: torch.Tensor) -> float:
    """``max_j ‖w_j − w_0‖∞`` over the rows (units) of a weight: 0 iff all units are identical.

    >>> unit_spread(torch.ones(3, 4)), unit_spread(torch.eye(2))
    (0.0, 1.0)
    """
    return float((w - w[:1]).abs().max())


def min_pair_distance(w: torch.Tensor) -> float:
    """``min_{i≠j} ‖w_i − w_j‖∞``: the closest pair of units.

    >>> min_pair_distance(torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]))
    1.0
    """
    d = torch.cdist(w.double(), w.double(), p=float("inf"))
    d.fill_diagonal_(math.inf)
    return float(d.min())


def _hidden(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)][:-1]


def _train(s: dict[str, Any], data, act: str, init: Any, seeds: list[int]) -> tuple[list[nn.Module], list]:
    from ...train.multiseed import train_seeds

    model = {"name": "mlp", "widths": s["hidden"], "depth": len(s["hidden"]), "activation": act, "init": init}
    cfg = {"optimizer": "sgd", "lr": s["lr"], "batch_size": s["batch"], "steps": s["steps"], "eval_every": s["steps"],
           "eval_train": True, "evaluate_test": False, "seed": seeds[0], "progress": "none"}
    return train_seeds(model, data, cfg, seeds)


@experiment(
    "C4",
    title="Constant init: units stay identical",
    statement="With a constant init every unit of a layer gets the same gradient, so the units stay identical for "
              "ever (symmetry is never broken); zero init of a ReLU net also kills the gradient.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="constant_units_identical",
    settings=SETTINGS,
    lecture=("I1",),
)
def run(ctx: Context) -> Outcome:
    from ...data import load_data
    from ...plot import new_figure, save_figure

    s = ctx.settings
    seeds = list(ctx.seeds)
    data = load_data({"name": s["data"]})
    prior = torch.bincount(data.y_train, minlength=data.num_classes).double() / len(data.y_train)
    spread = [0.0] * len(seeds)
    dist = [math.inf] * len(seeds)
    fig_vals: dict[str, tuple[list[float], list[float]]] = {}
    for act in s["activations"]:
        const, _ = _train(s, data, act, {"name": "constant", "val": s["value"]}, seeds)
        rnd, _ = _train(s, data, act, "torch", seeds)
        sp = [max(unit_spread(m.weight.detach()) for m in _hidden(net)) for net in const]
        di = [min(min_pair_distance(m.weight.detach()) for m in _hidden(net)) for net in rnd]
        fig_vals[act] = (sp, di)
        spread = [max(a, b) for a, b in zip(spread, sp)]
        dist = [min(a, b) for a, b in zip(dist, di)]
    from ...models import build_model

    before = build_model({"name": "mlp", "widths": s["hidden"], "depth": len(s["hidden"]), "activation": "relu",
                          "init": "zeros"}, data.input_shape, data.num_outputs, seed=seeds[0])
    w0 = [m.weight.detach().clone() for m in before.modules() if isinstance(m, nn.Linear)]
    zero, hists = _train(s, data, "relu", "zeros", seeds)
    change = [max(float((m.weight.detach() - w).abs().max()) for m, w in
                  zip([m for m in net.modules() if isinstance(m, nn.Linear)], w0)) for net in zero]
    numbers: dict[str, Any] = {
        "constant_spread": ctx.summarize(spread), "random_min_dist": ctx.summarize(dist),
        "zero_change": ctx.summarize(change), "zero_loss": ctx.summarize([h.last["train_loss"] for h in hists]),
        "prior_entropy": float(-(prior * prior.log()).sum()), "n_train": len(data.y_train),
        "arch": "-".join(str(h) for h in [math.prod(data.input_shape), *s["hidden"], data.num_outputs]),
    }
    fig, ax = new_figure(size=(6.0, 3.6))
    for i, (sp, di) in enumerate(fig_vals.values()):
        ax.scatter([i - 0.1] * len(sp), [max(v, 1e-12) for v in sp], color="C3",
                   label=f"constant {s['value']}: max unit spread" if i == 0 else None)
        ax.scatter([i + 0.1] * len(di), di, color="C0", label="random (PyTorch default): closest pair" if i == 0 else None)
    ax.axhline(CRITERIA[1].threshold, color="C0", ls=":", lw=1)
    ax.set_xticks(range(len(fig_vals)), list(fig_vals))
    ax.set_yscale("log")
    ax.set_ylabel("L∞ distance between hidden units (1e-12 = exactly 0)")
    ax.set_title(f"C4: units of a hidden layer after {s['steps']} SGD steps", fontsize=10)
    ax.legend(fontsize=7)
    fpath = save_figure(fig, ctx.figure("c04_units.png"))
    return Outcome(measurements={"constant_units_identical": spread, "random_units_differ": dist,
                                 "zero_relu_weights_frozen": change}, numbers=numbers, figures=[fpath.name])
