"""C4 — constant init never breaks symmetry; zero init of a ReLU net does not learn at all."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...lab import Outcome, experiment

SETTINGS = {"data": "mnist5k", "hidden": [64, 64], "value": 0.01, "lr": 0.1, "batch": 100, "steps": 200,
            "activations": ["tanh", "sigmoid", "relu"], "spread_max": 1e-6, "random_min_dist": 0.01,
            "loss_tol": 0.01}


def _hidden_linears(model: nn.Module) -> list[nn.Linear]:
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return lin[:-1]


def _spread(w: torch.Tensor) -> float:
    """max over units j of ||w_j − w_0||_∞ (0 ⇔ all units of the layer identical)."""
    return float((w - w[:1]).abs().max())


def _min_pair_dist(w: torch.Tensor) -> float:
    d = torch.cdist(w.double(), w.double(), p=float("inf"))
    d.fill_diagonal_(math.inf)
    return float(d.min())


def _train(model, xt, yt, s, seed):
    opt = torch.optim.SGD(model.parameters(), lr=s["lr"])
    g = torch.Generator().manual_seed(seed)
    for _ in range(s["steps"]):
        idx = torch.randint(len(xt), (s["batch"],), generator=g)
        loss = F.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(F.cross_entropy(model(xt), yt))


@experiment(
    "C4",
    title="Constant init: units stay identical",
    statement="With a constant init every unit of a layer gets the same gradient, so the units stay identical for "
              "ever (symmetry is never broken); zero init of a ReLU net also kills the gradient.",
    criterion="784-64-64-10 on MNIST-5k, SGD lr 0.1, batch 100 (200 steps quick, 400 full), zero biases, every seed: "
              "with all weights "
              "0.01 the units of each hidden layer are still identical after training (max |w_j - w_0| <= 1e-6; "
              "tanh, sigmoid, ReLU) while a random (auto) init leaves every pair of units >= 0.01 apart (L-inf); "
              "with all weights 0 the ReLU net's weights do not change at all and its train loss equals the entropy "
              "of the class prior within 0.01.",
    settings={"quick": SETTINGS, "full": {**SETTINGS, "steps": 400}},
    lecture=("I1",),
)
def run(ctx) -> Outcome:
    from ...data import load_data
    from ...models import build_model
    from ...plot import new_figure, save_figure

    s = ctx.settings
    data = load_data({"name": s["data"]})
    xt, yt = data.x_train, data.y_train
    prior = torch.bincount(yt, minlength=data.num_classes).double() / len(yt)
    entropy = float(-(prior * prior.log()).sum())
    holds = True
    numbers: dict = {}
    fig_vals: dict = {}

    def mlp(act, init, seed):
        return build_model({"name": "mlp", "widths": s["hidden"], "depth": len(s["hidden"]), "activation": act,
                            "init": init}, data.input_shape, data.num_outputs, seed=seed)

    for seed in ctx.seeds:
        for act in s["activations"]:
            const = mlp(act, {"name": "constant", "value": s["value"]}, seed)
            _train(const, xt, yt, s, seed)
            spreads = [_spread(m.weight.detach()) for m in _hidden_linears(const)]
            rnd = mlp(act, "auto", seed)
            _train(rnd, xt, yt, s, seed)
            dists = [_min_pair_dist(m.weight.detach()) for m in _hidden_linears(rnd)]
            numbers.setdefault(f"{act}_constant_max_spread", []).append(max(spreads))
            numbers.setdefault(f"{act}_random_min_pair_dist", []).append(min(dists))
            fig_vals.setdefault(act, []).append((max(spreads), min(dists)))
            holds &= max(spreads) <= s["spread_max"] and min(dists) >= s["random_min_dist"]
        zero = mlp("relu", "zeros", seed)
        before = [m.weight.detach().clone() for m in zero.modules() if isinstance(m, nn.Linear)]
        loss = _train(zero, xt, yt, s, seed)
        after = [m.weight.detach() for m in zero.modules() if isinstance(m, nn.Linear)]
        changed = max(float((a - b).abs().max()) for a, b in zip(after, before))
        numbers.setdefault("zero_relu_max_weight_change", []).append(changed)
        numbers.setdefault("zero_relu_train_loss", []).append(loss)
        holds &= changed == 0.0 and abs(loss - entropy) <= s["loss_tol"]
    numbers = {k: ctx.summarize(v) for k, v in numbers.items()}
    numbers["class_prior_entropy"] = entropy

    fig, ax = new_figure(size=(6.0, 3.6))
    acts = list(fig_vals)
    for i, act in enumerate(acts):
        sp = [max(v[0], 1e-12) for v in fig_vals[act]]
        di = [v[1] for v in fig_vals[act]]
        ax.scatter([i - 0.1] * len(sp), sp, color="C3", label="constant 0.01: max unit spread" if i == 0 else None)
        ax.scatter([i + 0.1] * len(di), di, color="C0", label="random (auto): min pair distance" if i == 0 else None)
    ax.axhline(s["random_min_dist"], color="C0", ls=":", lw=1)
    ax.set_xticks(range(len(acts)), acts)
    ax.set_yscale("log")
    ax.set_ylabel("L∞ distance between hidden units (1e-12 = exactly 0)")
    ax.set_title(f"C4: units of a hidden layer after {s['steps']} SGD steps", fontsize=10)
    ax.legend(fontsize=7)
    fpath = save_figure(fig, ctx.figure("c04_units.png"))
    notes = (
        f"MLP 784-{'-'.join(map(str, s['hidden']))}-10 on {s['data']} ({len(yt)} train images), SGD lr {s['lr']}, "
        f"batch {s['batch']}, {s['steps']} steps, biases zero. With every weight {s['value']}, each hidden unit "
        "computes the same function and gets the same gradient, so after training the units are still identical "
        f"(max spread {max(numbers[f'{a}_constant_max_spread']['max'] for a in s['activations']):.1g} — exactly 0 in "
        "floating point); the network is effectively one unit wide. A random init keeps them apart (min pair "
        f"distance {min(numbers[f'{a}_random_min_pair_dist']['min'] for a in s['activations']):.3f}). With all "
        "weights 0 and ReLU, every hidden activation is relu(0) = 0 and every weight gradient is 0 (ReLU'(0) = 0 "
        f"in PyTorch, and the output layer sees zero inputs): no weight moves (max change "
        f"{numbers['zero_relu_max_weight_change']['max']:g}); only the output biases learn the class prior, so the "
        f"loss is its entropy ({numbers['zero_relu_train_loss']['mean']:.4f} vs {entropy:.4f}; ln 10 = 2.3026)."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fpath.name], notes=notes)
