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
mnist5k with one global mean/std, batch 60, SGD lr 0.5. Both nets of a seed share the data
split and batch order; each is evaluated on the **validation** split every 50 steps and
stops at the first evaluation reaching the target (85%: below the BN net's plateau near
89–91%, so reaching it is not a matter of test-set noise). A net that does not reach it
within the budget counts as budget + 50 steps, so its ratio is a lower bound: a seed can show
the 3× "far fewer" bound whenever its BN net needs at most a third of the budget (the notes
give, per seed, the largest ratio the budget could show). The test split is not read here.
The seeds of each arm train as one stacked model (`fit_seeds`: copy k on its seed's split,
stopping on its own; BatchNorm keeps running statistics per copy), equal to separate runs up
to float rounding.

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
from initreg.lab.experiment import stacked_note
from initreg.lab.verdict import Criterion
from initreg.regularize.batchnorm import bn_drift
from initreg.train import Callback
from initreg.train.multiseed import fit_seeds

_S = {"widths": [100, 100, 100], "sigma": 0.01, "lr": 0.5, "batch_size": 60}
_SHAPE = (4, 6, 3, 3)  # N, C, H, W for the axes check
_GROUPS = 3  # GroupNorm groups of C = 6 channels

SETTINGS = {
    "quick": {"budget": 3000, "target": 0.85, "eval_every": 50},
    "full": {"budget": 4500, "target": 0.85, "eval_every": 50},
}

CRITERIA = (
    Criterion("bn_reaches_target_faster", metric="log10(steps to the target validation accuracy without BN ÷ with BN)",
              unit="log10", direction=">", threshold=math.log10(3),
              text="'far fewer' read as at least 3× (log10 3 ≈ 0.477), the bound this claim used before; a net "
                   "that misses the target within the budget counts as budget + one evaluation interval (a lower "
                   "bound on its steps); paired by seed: same data split, batch order"),
    Criterion("bn_train_eval_formulas", metric="max |BN output − formula| (fp64): train mode vs batch statistics, "
              "eval mode vs running statistics, and the running-statistics update", unit="", direction="<",
              threshold=1e-9, kind="exact"),
    Criterion("bn_modes_differ", metric="max |train-mode − eval-mode output| of the first BN layer", unit="",
              direction=">", threshold=1e-3, kind="exact", text="the two modes are distinguishable"),
    Criterion("norm_axes_partition", metric="normalization layers (BN, LN, IN, GroupNorm) whose Jacobian groups "
              "differ from the expected axes partition", unit="", direction="<", threshold=0.5, kind="exact"),
    Criterion("norm_hand_formula", metric="max |output − hand normalization over the expected axes| (fp64)", unit="",
              direction="<", threshold=1e-8, kind="exact"),
)

NOTES = (
    "Speed: with BN the net reached {target:.0%} validation accuracy in {bn_steps_words} steps "
    "({bn_steps[mean]:.0f} on average); without BN in {plain_steps_words} steps, where a value above the budget of "
    "{settings[budget]} steps means never (its best validation accuracy was {plain_best[min]:.1%}–"
    "{plain_best[max]:.1%}). Per seed, without ÷ with BN: {ratio_words}× (log10 mean {log_ratio[mean]:.2f}, "
    "interval {log_ratio[lo]:.2f} … {log_ratio[hi]:.2f}); the budget allowed a ratio up to {max_ratio_words}× per "
    "seed. The gain depends on the tiny init: at σ = {sigma:g} the un-normalized sigmoid net starts with "
    "near-constant hidden units and vanishing gradients, which BN rescales away.\n\n"
    "Train vs eval (first BN layer, {n_check} validation images, fp64, each seed's trained BN net): train mode "
    "matches the batch-statistics formula and eval mode the running-statistics formula to at most "
    "{formula_error:.1e}; the two modes' outputs differ by up to {modes_differ[min]:.3f}–{modes_differ[max]:.3f} "
    "(whole net, seed {seeds[0]}: relative output drift {drift:.3f}). torch stores the *unbiased* batch variance "
    "in `running_var` (the normalization itself uses the biased one).\n\n"
    "Axes ({shape} tensor, fp64): the groups read off the Jacobian ∂y/∂x are BN = one per channel "
    "({group_size[batch]} entries: N·H·W), LN = one per sample ({group_size[layer]}: C·H·W), IN = one per sample "
    "and channel ({group_size[instance]}: H·W), GroupNorm({groups}) = one per sample and channel group "
    "({group_size[group]}); mismatching layers over the seeds: {axes_mismatch}, hand-formula error at most "
    "{hand_error:.1e}. In the figure, rows are channels, columns are the samples' H·W positions; the blue entries "
    "share one mean and variance with the first entry (sample, channel, row and column zero)."
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


class _StopAtTarget(Callback):
    """Stops the run at the first evaluation whose *validation* accuracy (fit's ``val_acc``) reaches ``target``."""

    stacks = True  # epoch-level only: in stacked training each copy stops on its own

    def __init__(self, target: float):
        self.target, self.reached, self.curve = target, None, []

    def on_evaluate(self, state, record):
        acc = float(record["val_acc"])
        self.curve.append((state.step, acc))
        if acc >= self.target and self.reached is None:
            self.reached = state.step
            state.stop, state.stop_reason = True, f"validation accuracy {acc:.3f} >= {self.target}"


def speed_runs(datas: list[Splits], seeds: list[int], bn: bool, budget: int, target: float, eval_every: int
               ) -> tuple[list[dict[str, Any]], Any]:
    """Per seed, train until the validation accuracy reaches ``target`` or ``budget`` steps pass: the
    step it was reached (None if never), the validation curve and the trained model. The seeds
    train as one stacked model (copy k: ``datas[k]``, init and train seed ``seeds[k]``); also
    returns `fit_seeds`' result (how they trained)."""
    models = [sigmoid_mlp(math.prod(d.input_shape), d.num_outputs, bn, s) for d, s in zip(datas, seeds)]
    cbs = [_StopAtTarget(target) for _ in seeds]
    hists = fit_seeds(models, datas, {"optimizer": "sgd", "lr": _S["lr"], "batch_size": _S["batch_size"],
                                      "steps": budget, "eval_every": eval_every, "progress": "none",
                                      "evaluate_test": False}, seeds=seeds, callbacks=lambda k: [cbs[k]])
    cbs = [c[0] for c in hists.callbacks]  # the instances each copy used
    return [{"steps": cb.reached, "curve": cb.curve, "best": max(a for _, a in cb.curve), "model": m}
            for cb, m in zip(cbs, models)], hists


def log_speedup(bn_steps: int | None, plain_steps: int | None, budget: int, eval_every: int) -> float:
    """log10(steps without BN ÷ steps with BN); a plain run that never reached the target counts as
    ``budget + eval_every`` (a lower bound); NaN when the BN run itself never reached it (nothing to compare)."""
    if bn_steps is None:
        return math.nan
    plain = plain_steps if plain_steps is not None else budget + eval_every
    return math.log10(plain / bn_steps)


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


def _figures(ctx: Context, speed: dict[str, list[dict[str, Any]]], axes: dict[str, Any], budget: int,
             target: float) -> list[str]:
    from matplotlib.colors import ListedColormap

    from initreg.plot import new_figure, save_figure

    fig, ax = new_figure(1, size=(6.0, 4.0))
    for key, color, label in (("bn", "tab:blue", "with BatchNorm"), ("plain", "tab:red", "without")):
        for i, r in enumerate(speed[key]):
            s, a = zip(*r["curve"])
            ax.plot(s, a, color=color, alpha=0.7, lw=1, label=label if i == 0 else None)
    ax.axhline(target, color="k", ls=":", lw=0.8)
    ax.set_xlim(0, budget)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("validation accuracy")
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


def axes_counts(axes: dict[str, Any]) -> tuple[float, float]:
    """(number of normalization layers whose Jacobian groups differ from the expected partition, max hand error)."""
    return float(sum(not v["groups_match"] for v in axes.values())), max(v["hand_error"] for v in axes.values())


@experiment(
    "C10",
    title="BatchNorm: batch vs running statistics, speed, normalization axes",
    statement=("BatchNorm uses batch statistics in training and running estimates at evaluation; it reaches a target "
               "accuracy in far fewer steps on a deep sigmoid net with small init; BN, LN and IN normalize over the "
               "axes the lecture's figure shows."),
    criteria=CRITERIA,
    notes=NOTES,
    headline="bn_reaches_target_faster",
    lecture=("R3", "R4"),
    settings=SETTINGS,
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    budget, target, every = st["budget"], st["target"], st["eval_every"]
    speed: dict[str, list[dict[str, Any]]] = {"bn": [], "plain": []}
    tves: list[dict[str, float]] = []
    axes_per_seed: list[dict[str, Any]] = []
    n_check = 256
    seeds = list(ctx.seeds)
    datas = [load_data({"name": "mnist5k", "seed": seed}) for seed in seeds]
    speed["bn"], bn_hists = speed_runs(datas, seeds, True, budget, target, every)
    speed["plain"], plain_hists = speed_runs(datas, seeds, False, budget, target, every)
    for i, (seed, data) in enumerate(zip(seeds, datas)):
        tves.append(train_vs_eval(speed["bn"][i]["model"], data.x_val[:n_check]))
        axes_per_seed.append(axes_check(seed))
        if i == 0:
            drift = bn_drift(speed["bn"][i]["model"], data.x_val[:n_check])
        ctx.log(f"seed {seed}: BN {speed['bn'][i]['steps']} steps, plain {speed['plain'][i]['steps']} "
                f"(best {speed['plain'][i]['best']:.3f})")
    bn_steps = [r["steps"] for r in speed["bn"]]
    plain_steps = [r["steps"] for r in speed["plain"]]
    log_ratio = [log_speedup(b, p, budget, every) for b, p in zip(bn_steps, plain_steps)]
    counts = [axes_counts(a) for a in axes_per_seed]
    meas = {
        "bn_reaches_target_faster": log_ratio,
        "bn_train_eval_formulas": [max(t["train_vs_batch_formula"], t["eval_vs_running_formula"],
                                       t["running_update_error"]) for t in tves],
        "bn_modes_differ": [t["train_minus_eval_max"] for t in tves],
        "norm_axes_partition": [c[0] for c in counts],
        "norm_hand_formula": [c[1] for c in counts],
    }
    S = ctx.summarize
    axes = axes_per_seed[0]
    n, c, h, w = _SHAPE

    def words(xs: list[int | None]) -> str:
        return ", ".join(str(x) if x is not None else f"> {budget}" for x in xs)

    numbers: dict[str, Any] = {
        "target": target,
        "sigma": _S["sigma"],
        "n_check": n_check,
        "bn_steps": S([float(x) for x in bn_steps if x is not None]) if any(x is not None for x in bn_steps)
        else {"mean": math.nan},
        "bn_steps_per_seed": bn_steps,
        "plain_steps_per_seed": plain_steps,
        "bn_steps_words": words(bn_steps),
        "plain_steps_words": words(plain_steps),
        "log_ratio": S(log_ratio),
        "ratio_words": ", ".join(f"{10 ** x:.1f}" if math.isfinite(x) else "—" for x in log_ratio),
        "max_ratio_words": ", ".join(f"{(budget + every) / b:.1f}" if b else "—" for b in bn_steps),
        "plain_best": S([r["best"] for r in speed["plain"]]),
        "formula_error": max(meas["bn_train_eval_formulas"]),
        "modes_differ": S(meas["bn_modes_differ"]),
        "drift": drift["relative"],
        "output_drift": {k: v for k, v in drift.items() if k != "layers"},
        "shape": f"{n}×{c}×{h}×{w}",
        "groups": _GROUPS,
        "group_size": {k: v["group_size"] for k, v in axes.items()},
        "axes_mismatch": ", ".join(f"{x:.0f}" for x in meas["norm_axes_partition"]),
        "hand_error": max(meas["norm_hand_formula"]),
    }
    numbers["vectorized"] = {"bn": bn_hists.vectorized, "plain": plain_hists.vectorized}
    numbers["stacked"] = (f"with BN: {stacked_note(bn_hists, 'nets')}; "
                          f"without: {stacked_note(plain_hists, 'nets')}")
    figs = _figures(ctx, speed, axes, budget, target)
    return Outcome(measurements=meas, numbers=numbers, figures=figs)
