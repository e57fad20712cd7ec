"""C10 (lecture R3, R4): BatchNorm uses batch statistics in training and running ones at
evaluation; it lets a deep sigmoid net with small initial weights reach a target accuracy
in far fewer steps; BN, LN, IN (and GroupNorm) share one mean and variance over the axes
the lecture's figure shows.

(a) Train vs eval, numerically: a ``BatchNorm1d`` layer of the trained BN net is fed a
test batch; its train-mode output is compared with ``(x − μ_B)/√(σ²_B + ε)·γ + β`` from the
batch's own statistics, its eval-mode output with the same formula on the running
estimates, and one update of the running estimates with ``(1 − m)·r + m·(batch stat)``
(torch keeps the *unbiased* variance there). `initreg.regularize.bn_drift` then reports
how far the net's outputs move between the two modes.

(b) Speed: Ioffe & Szegedy's MNIST set-up scaled down: 784-100-100-100-10, sigmoid,
weights N(0, 0.01²) (biases 0), BatchNorm between a bias-free Linear and the sigmoid,
mnist5k with one global mean/std, batch 60, SGD lr 0.5; test accuracy every 50 steps.

(c) Axes: on a real N×C×H×W tensor, entry ``j``'s output depends on input ``i ≠ j`` only
through the shared mean and variance, so the non-zero pattern of the Jacobian
``∂y/∂x`` (autograd, fp64) *is* the partition into normalization groups. It is compared
with the expected partitions (BN: per channel over N,H,W; LN: per sample over C,H,W; IN:
per sample and channel over H,W; GroupNorm: per sample and channel group), and each
output with a hand normalization over those axes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from initreg.data import Splits, load_data
from initreg.lab import Context, Outcome, experiment
from initreg.regularize.batchnorm import bn_drift
from initreg.train import Callback, fit

_S = {"widths": [100, 100, 100], "sigma": 0.01, "lr": 0.5, "batch_size": 60, "target": 0.90, "eval_every": 50}
_SHAPE = (4, 6, 3, 3)  # N, C, H, W for the axes check
_GROUPS = 3  # GroupNorm groups of C = 6 channels

CRITERION = (
    "(a) train-mode BN output equals the batch-statistics formula, eval-mode output the running-statistics "
    "formula, and the running update the momentum formula, each to 1e-4, and the two modes' outputs differ "
    "(max |Δ| > 1e-3); (b) for every seed the BN net reaches 90% test accuracy, and the net without BN needs "
    "at least 3× as many steps (never reaching it within the budget counts as budget + 1 steps; the budget is "
    "at least 3× the slowest BN run); (c) for BN, LN, IN and GroupNorm the Jacobian's groups equal the "
    "expected axes partition exactly and outputs match a hand normalization to 1e-8"
)


def sigmoid_mlp(input_dim: int, classes: int, bn: bool, seed: int) -> nn.Sequential:
    """784-100-100-100-10 sigmoid; weights N(0, σ²), biases 0; BN (bias-free Linear) if ``bn``."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = [nn.Flatten()]
    fan = input_dim
    for w in _S["widths"]:
        layers.append(nn.Linear(fan, w, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm1d(w))
        layers.append(nn.Sigmoid())
        fan = w
    layers.append(nn.Linear(fan, classes))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, _S["sigma"], generator=gen)
                if m.bias is not None:
                    m.bias.zero_()
    return model


class _TestAccuracy(Callback):
    """Test accuracy at every evaluation; stops the run at the first one reaching ``target``."""

    def __init__(self, target: float):
        self.target, self.reached, self.curve = target, None, []

    def on_evaluate(self, state, record):
        model = state.model
        was = model.training
        model.eval()
        with torch.no_grad():
            acc = float((model(state.data.x_test).argmax(1) == state.data.y_test).float().mean())
        model.train(was)
        self.curve.append((state.step, acc))
        record["test_acc"] = acc
        if acc >= self.target and self.reached is None:
            self.reached = state.step
            state.stop, state.stop_reason = True, f"test accuracy {acc:.3f} >= {self.target}"


def speed_run(data: Splits, seed: int, bn: bool, budget: int) -> dict[str, Any]:
    model = sigmoid_mlp(math.prod(data.input_shape), data.num_outputs, bn, seed)
    cb = _TestAccuracy(_S["target"])
    fit(model, data, {"optimizer": "sgd", "lr": _S["lr"], "batch_size": _S["batch_size"], "steps": budget,
                      "eval_every": _S["eval_every"], "seed": seed, "progress": "none", "evaluate_test": False},
        callbacks=[cb])
    return {"steps": cb.reached, "curve": cb.curve, "best": max(a for _, a in cb.curve), "model": model}


def train_vs_eval(model: nn.Sequential, x: torch.Tensor) -> dict[str, float]:
    """Check the first BN layer's train/eval formulas on the batch ``x`` (no state of ``model`` changes)."""
    import copy

    model = copy.deepcopy(model).double()
    idx = next(i for i, m in enumerate(model) if isinstance(m, nn.BatchNorm1d))
    bn = model[idx]
    with torch.no_grad():
        h = model[:idx](x.double())
        mu, var = h.mean(0), h.var(0, unbiased=False)
        r_mean, r_var = bn.running_mean.clone(), bn.running_var.clone()
        bn.eval()
        y_eval = bn(h)
        bn.train()
        y_train = bn(h)
        n, m = len(h), bn.momentum
        by_batch = (h - mu) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
        by_running = (h - r_mean) / torch.sqrt(r_var + bn.eps) * bn.weight + bn.bias
        upd_mean = (1 - m) * r_mean + m * mu
        upd_var = (1 - m) * r_var + m * var * n / (n - 1)
    return {
        "train_vs_batch_formula": float((y_train - by_batch).abs().max()),
        "eval_vs_running_formula": float((y_eval - by_running).abs().max()),
        "running_update_error": float(max((bn.running_mean - upd_mean).abs().max(), (bn.running_var - upd_var).abs().max())),
        "train_minus_eval_max": float((y_train - y_eval).abs().max()),
        "batch_vs_running_mean_max": float((mu - r_mean).abs().max()),
        "batch_var_over_running_var_median": float((var / r_var).median()),
    }


def _expected_groups(kind: str, shape: tuple[int, ...]) -> torch.Tensor:
    n, c, h, w = shape
    ni = torch.arange(n).view(n, 1, 1, 1).expand(shape)
    ci = torch.arange(c).view(1, c, 1, 1).expand(shape)
    if kind == "batch":
        g = ci
    elif kind == "layer":
        g = ni
    elif kind == "instance":
        g = ni * c + ci
    elif kind == "group":
        g = ni * _GROUPS + ci // (c // _GROUPS)
    else:
        raise ValueError(f"kind must be batch, layer, instance or group; got {kind!r}")
    return g.reshape(-1)


def _norm_module(kind: str, shape: tuple[int, ...]) -> nn.Module:
    c = shape[1]
    mod = {"batch": lambda: nn.BatchNorm2d(c), "layer": lambda: nn.LayerNorm(list(shape[1:])),
           "instance": lambda: nn.InstanceNorm2d(c), "group": lambda: nn.GroupNorm(_GROUPS, c)}[kind]()
    return mod.double().train()


def _partition(labels: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, g in enumerate(labels):
        groups.setdefault(g, set()).add(i)
    return {frozenset(s) for s in groups.values()}


def axes_check(seed: int) -> dict[str, Any]:
    """Groups read off the Jacobian vs the expected axes, and outputs vs a hand normalization."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(_SHAPE, generator=gen, dtype=torch.float64) * 2 + 1
    out: dict[str, Any] = {}
    for kind, axes in (("batch", (0, 2, 3)), ("layer", (1, 2, 3)), ("instance", (2, 3)), ("group", None)):
        mod = _norm_module(kind, _SHAPE)
        jac = torch.autograd.functional.jacobian(mod, x).reshape(x.numel(), x.numel())
        linked = (jac.abs() > 1e-12) | torch.eye(x.numel(), dtype=torch.bool)
        # connected components of the dependency graph (small: plain label propagation)
        labels = list(range(x.numel()))
        changed = True
        while changed:
            changed = False
            for i, j in linked.nonzero().tolist():
                lo = min(labels[i], labels[j])
                if labels[i] != lo or labels[j] != lo:
                    labels[i] = labels[j] = lo
                    changed = True
        expected = _expected_groups(kind, _SHAPE).tolist()
        if axes is None:
            n, c, h, w = _SHAPE
            xg = x.view(n, _GROUPS, -1)
            hand = ((xg - xg.mean(-1, keepdim=True)) / torch.sqrt(xg.var(-1, unbiased=False, keepdim=True) + mod.eps)).view(_SHAPE)
        else:
            hand = (x - x.mean(axes, keepdim=True)) / torch.sqrt(x.var(axes, unbiased=False, keepdim=True) + mod.eps)
        with torch.no_grad():
            err = float((mod(x) - hand).abs().max())
        out[kind] = {"groups_match": _partition(labels) == _partition(expected), "n_groups": len(set(labels)),
                     "group_size": x.numel() // len(set(labels)), "hand_error": err, "labels": labels}
    return out


def _figures(ctx: Context, speed: dict[str, list[dict[str, Any]]], axes: dict[str, Any], budget: int) -> list[str]:
    from matplotlib.colors import ListedColormap

    from initreg.plot import new_figure, save_figure

    fig, ax = new_figure(1, size=(6.0, 4.0))
    for key, color, label in (("bn", "tab:blue", "with BatchNorm"), ("plain", "tab:red", "without")):
        for i, r in enumerate(speed[key]):
            s, a = zip(*r["curve"])
            ax.plot(s, a, color=color, alpha=0.7, lw=1, label=label if i == 0 else None)
    ax.axhline(_S["target"], color="k", ls=":", lw=0.8)
    ax.set_xlim(0, budget)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("test accuracy")
    ax.set_title("784-100-100-100-10 sigmoid, N(0, 0.01²) init")
    ax.legend(fontsize=8)
    save_figure(fig, ctx.figure("bn_speed.png"))

    n, c, h, w = _SHAPE
    fig, axs = new_figure(4, size=(3.2, 3.4))
    titles = {"batch": "BatchNorm", "layer": "LayerNorm", "instance": "InstanceNorm", "group": f"GroupNorm ({_GROUPS} groups)"}
    for a, kind in zip(axs, ("batch", "layer", "instance", "group")):
        lab = torch.tensor(axes[kind]["labels"]).view(n, c, h * w)
        # rows: channels; columns: samples, each a block of H·W positions
        img = lab.permute(1, 0, 2).reshape(c, n * h * w)
        first = (img == lab[0, 0, 0]).float()  # the group of entry (0, 0, 0, 0)
        a.imshow(first, cmap=ListedColormap(["#f2f2f2", "#2b6cb0"]), vmin=0, vmax=1, aspect="auto",
                 interpolation="nearest")
        for k in range(1, n):
            a.axvline(k * h * w - 0.5, color="k", lw=1)
        for k in range(1, c):
            a.axhline(k - 0.5, color="w", lw=0.5)
        a.set_xticks([k * h * w + (h * w - 1) / 2 for k in range(n)], [f"n={k}" for k in range(n)], fontsize=7)
        a.set_yticks(range(c), [f"c={k}" for k in range(c)], fontsize=7)
        a.set_xlabel(f"sample N (each block: H·W = {h * w})")
        a.set_title(f"{titles[kind]}\n{axes[kind]['n_groups']} groups of {axes[kind]['group_size']}", fontsize=9)
    save_figure(fig, ctx.figure("norm_axes.png"))
    return ["bn_speed.png", "norm_axes.png"]


def verdict(tve: dict[str, float], speed: dict[str, list[dict[str, Any]]], axes: dict[str, Any], budget: int) -> dict[str, bool]:
    bn_steps = [r["steps"] for r in speed["bn"]]
    plain_steps = [r["steps"] if r["steps"] is not None else budget + 1 for r in speed["plain"]]
    return {
        "train_eval_formulas": tve["train_vs_batch_formula"] < 1e-4 and tve["eval_vs_running_formula"] < 1e-4
        and tve["running_update_error"] < 1e-4 and tve["train_minus_eval_max"] > 1e-3,
        "bn_faster": all(b is not None for b in bn_steps) and budget >= 3 * max(bn_steps)
        and all(p >= 3 * b for b, p in zip(bn_steps, plain_steps)),
        "axes": all(v["groups_match"] and v["hand_error"] < 1e-8 for v in axes.values()),
    }


@experiment(
    "C10",
    title="BatchNorm: batch vs running statistics, speed, normalization axes",
    statement=("BatchNorm uses batch statistics in training and running estimates at evaluation; it reaches a target "
               "accuracy in far fewer steps on a deep sigmoid net with small init; BN, LN and IN normalize over the "
               "axes the lecture's figure shows."),
    criterion=CRITERION,
    lecture=("R3", "R4"),
    settings={
        "quick": {"budget": 3200},
        "full": {"budget": 4500},
    },
)
def run(ctx: Context) -> Outcome:
    budget = ctx.settings["budget"]
    speed: dict[str, list[dict[str, Any]]] = {"bn": [], "plain": []}
    for seed in ctx.seeds:
        data = load_data({"name": "mnist5k", "seed": seed})
        speed["bn"].append(speed_run(data, seed, True, budget))
        speed["plain"].append(speed_run(data, seed, False, budget))
        ctx.log(f"seed {seed}: BN {speed['bn'][-1]['steps']} steps, plain best {speed['plain'][-1]['best']:.3f}")
    data = load_data({"name": "mnist5k", "seed": ctx.seeds[0]})
    bn_model = speed["bn"][0]["model"]
    tve = train_vs_eval(bn_model, data.x_test[:256])
    drift = bn_drift(bn_model, data.x_test[:256])
    axes = axes_check(ctx.seeds[0])
    parts = verdict(tve, speed, axes, budget)
    S = ctx.summarize
    bn_steps = [r["steps"] for r in speed["bn"]]
    numbers: dict[str, Any] = {
        "bn_steps_to_90": S([float(s) for s in bn_steps if s is not None]) if any(s is not None for s in bn_steps) else None,
        "bn_steps_per_seed": bn_steps,
        "plain_steps_per_seed": [r["steps"] for r in speed["plain"]],
        "bn_steps_to_85_per_seed": [next((st for st, a in r["curve"] if a >= 0.85), None) for r in speed["bn"]],
        "plain_best_test_acc": S([r["best"] for r in speed["plain"]]),
        "budget_steps": budget,
        "train_vs_eval": tve,
        "output_drift": {k: v for k, v in drift.items() if k != "layers"},
        "axes": {k: {"groups_match": v["groups_match"], "groups": v["n_groups"], "group_size": v["group_size"],
                     "hand_error": v["hand_error"]} for k, v in axes.items()},
        "parts": parts,
    }
    figs = _figures(ctx, speed, axes, budget)
    plain_best = numbers["plain_best_test_acc"]
    n, c, h, w = _SHAPE
    notes = (
        "Set-up: 784-100-100-100-10 sigmoid MLP, weights N(0, 0.01²), biases 0 (this experiment sets its own init), "
        "BatchNorm1d between a bias-free Linear and the sigmoid; mnist5k (3,400 train images, one global mean/std), "
        f"batch 60, SGD lr 0.5, test accuracy every 50 steps, budget {budget} steps.\n\n"
        f"With BN the net reached 90% test accuracy in {', '.join(str(s) for s in bn_steps)} steps; without BN its "
        f"best test accuracy within {budget} steps was {plain_best['min']:.1%}–{plain_best['max']:.1%}. The BN net "
        "levels off near 89–91% on this 3,400-image train set, so its step count to 90% is noisy (it passes 85% in "
        f"{', '.join(str(s) for s in numbers['bn_steps_to_85_per_seed'])} steps). The gain "
        "depends on the tiny init: at σ = 0.01 the un-normalized sigmoid net starts with near-constant hidden units "
        "and vanishing gradients, which BN rescales away; the issue's sizing runs found BN only 1.6–2.7× faster and "
        "no better in final accuracy at σ = 0.05–0.1.\n\n"
        f"Train vs eval (first BN layer, 256 test images): train mode matches the batch-statistics formula to "
        f"{tve['train_vs_batch_formula']:.1e}, eval mode the running-statistics formula to "
        f"{tve['eval_vs_running_formula']:.1e}; the two outputs differ by up to {tve['train_minus_eval_max']:.3f} "
        f"(whole net: relative output drift {drift['relative']:.3f}). torch stores the *unbiased* batch variance in "
        "`running_var` (the normalization itself uses the biased one).\n\n"
        f"Axes ({n}×{c}×{h}×{w} tensor, fp64): the groups read off the Jacobian ∂y/∂x are exactly BN = one per channel "
        f"({axes['batch']['group_size']} entries: N·H·W), LN = one per sample ({axes['layer']['group_size']}: C·H·W), "
        f"IN = one per sample and channel ({axes['instance']['group_size']}: H·W), GroupNorm({_GROUPS}) = one per "
        f"sample and channel group ({axes['group']['group_size']}). In the figure, rows are channels, columns are the "
        "samples' H·W positions; the blue entries share one mean and variance with entry (0, 0, 0, 0)."
    )
    for r in speed["bn"] + speed["plain"]:
        r.pop("model", None)
    return Outcome(holds=all(parts.values()), numbers=numbers, figures=figs, notes=notes)
