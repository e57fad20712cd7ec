"""R4 (lecture R3, R4): the normalization layers in training in a small conv net. BatchNorm
normalizes with the statistics of the mini-batch and tests with running averages of them; at a
small batch those statistics are noisy, and the per-example normalizations — InstanceNorm
(per example and channel over H, W) and LayerNorm (per example over C, H, W; GroupNorm with
one group) — do not depend on the batch, so they should train a better model there (Wu & He,
"Group Normalization", ECCV 2018, figure 1). In every one of them γ and β are learned by
gradient descent; learning them (rather than keeping γ = 1, β = 0) should give a better model.

Set-up: scikit-learn's 8×8 digits, ``train_size`` train images (one split for every seed),
a conv net ``[Conv 3×3 → norm → ReLU → max-pool] × 2`` with (8, 16) channels, then a hidden
layer of 32 (PyTorch's default init), Adam 1e-3, batch ``batch_size``, ``epochs`` epochs.
Four arms per seed with the same initial conv and linear weights and the same batch order:
BatchNorm, InstanceNorm (affine), LayerNorm (``GroupNorm(1, C)``), and InstanceNorm with γ, β
frozen at (1, 0). All scored in eval mode (BatchNorm with its running statistics) on the
test split. Judged: the test error of BatchNorm minus each per-example norm; how far γ, β
moved in the InstanceNorm arm; the test loss of the frozen arm minus the learned one.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from initreg.data import Splits, load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.train import fit
from initreg.train.multiseed import fit_seeds

_NET = {"name": "cnn", "channels": [8, 16], "hidden": 32, "activation": "relu", "init": "torch"}
_SET_UP = {"train_size": 300, "batch_size": 4, "epochs": 8, "data_seed": 0, "model": _NET}
SETTINGS = {"quick": dict(_SET_UP), "full": dict(_SET_UP)}
_PAIR = "paired by seed: same data, initial conv and linear weights, and batch order"
CRITERIA = (
    Criterion("instance_beats_batch", metric="test error BatchNorm − InstanceNorm, batch 4", unit="pp",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("layer_beats_batch", metric="test error BatchNorm − LayerNorm (GroupNorm, one group), batch 4",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("gamma_beta_move", metric="mean |γ − 1| + mean |β| over the InstanceNorms after training",
              unit="", direction=">", threshold=0.01, kind="exact", changed="2026-12-06",
              text="0.01 = one hundredth of γ's initial value: a move no rounding makes (as in R3)"),
    Criterion("learning_affine_helps", metric="InstanceNorm net: test loss with γ, β frozen − learned", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
)
NOTES = (
    "Digits, {settings[train_size]} train images, conv net with {settings[model][channels]} channels, batch {settings[batch_size]}, "
    "{settings[epochs]} epochs. Test error: BatchNorm {batch[test_err][mean]:.1f}%, InstanceNorm "
    "{instance[test_err][mean]:.1f}% (BatchNorm − InstanceNorm {d_instance[mean]:+.1f} pp, CI {d_instance[lo]:+.1f} … "
    "{d_instance[hi]:+.1f}), LayerNorm {layer[test_err][mean]:.1f}% (BatchNorm − LayerNorm {d_layer[mean]:+.1f} pp, "
    "CI {d_layer[lo]:+.1f} … {d_layer[hi]:+.1f}). {words[instance]} {words[layer]} {words[why]} The InstanceNorms' γ, β move by "
    "{moved[mean]:.3f} on average (smallest seed {moved[min]:.3f}); with them frozen at their initial values the test "
    "loss is {frozen[test_loss][mean]:.3f} against {instance[test_loss][mean]:.3f} learned (frozen − learned "
    "{d_frozen[mean]:+.3f}, CI {d_frozen[lo]:+.3f} … {d_frozen[hi]:+.3f}; test error {frozen[test_err][mean]:.1f}%). "
    "{words[affine]}"
)
_AFFINE = (nn.InstanceNorm2d, nn.GroupNorm, nn.BatchNorm2d)


def norm_affine_moved(model: nn.Module) -> float:
    """Mean |γ − 1| + mean |β| over every affine BatchNorm2d / InstanceNorm2d / GroupNorm of ``model``."""
    ns = [m for m in model.modules() if isinstance(m, _AFFINE) and m.weight is not None]
    g = torch.cat([m.weight.detach().reshape(-1) for m in ns])
    b = torch.cat([m.bias.detach().reshape(-1) for m in ns])
    return float((g - 1).abs().mean() + b.abs().mean())


def freeze_affine_(model: nn.Module) -> nn.Module:
    """Stop gradient descent on every norm layer's γ and β (they stay at their values)."""
    for m in model.modules():
        if isinstance(m, _AFFINE) and m.weight is not None:
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)
    return model


def scores(model: nn.Module, d: Splits) -> dict[str, float]:
    """Eval-mode test cross-entropy and test error (%)."""
    model.eval()
    with torch.no_grad():
        z = model(d.x_test)
    return {"test_loss": float(F.cross_entropy(z, d.y_test)),
            "test_err": 100 * float((z.argmax(1) != d.y_test).float().mean())}


@experiment("R4", title="InstanceNorm and LayerNorm against BatchNorm at batch 4; γ, β learned", lecture=("R3", "R4"),
            statement=("BatchNorm normalizes with the mini-batch's statistics (running averages at test), so at a "
                       "small batch the per-example normalizations InstanceNorm and LayerNorm train a better conv net; "
                       "in each, γ and β are learned by gradient descent, and learning them gives a better model."),
            criteria=CRITERIA, notes=NOTES, headline="instance_beats_batch", settings=SETTINGS, order=18.65)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = load_data({"name": "digits", "train_size": st["train_size"], "flatten": False, "seed": st["data_seed"]})
    seeds = list(ctx.seeds)
    cfg: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": st["batch_size"], "epochs": st["epochs"],
                           "seed": seeds[0], "progress": "none", "evaluate_test": False}
    res: dict[str, list[dict[str, float]]] = {}
    moved: list[float] = []
    for norm in ("batch", "instance", "layer"):
        ms = [build_model({**st["model"], "norm": norm}, d.input_shape, d.num_outputs, seed=s) for s in seeds]
        fit_seeds(ms, d, cfg, seeds=seeds)
        res[norm] = [scores(m, d) for m in ms]
        if norm == "instance":
            moved = [norm_affine_moved(m) for m in ms]
    res["frozen"] = []
    for s in seeds:  # one fit per seed: the frozen γ, β must stay out of the optimizer whatever stacking does
        m = freeze_affine_(build_model({**st["model"], "norm": "instance"}, d.input_shape, d.num_outputs, seed=s))
        fit(m, d, {**cfg, "seed": s})
        res["frozen"].append(scores(m, d))
    ctx.log(str(res))
    S = ctx.summarize

    def diff(a: str, b: str, k: str) -> list[float]:
        return [x[k] - y[k] for x, y in zip(res[a], res[b])]

    d_instance, d_layer = diff("batch", "instance", "test_err"), diff("batch", "layer", "test_err")
    d_frozen = diff("frozen", "instance", "test_loss")
    numbers: dict[str, Any] = {arm: {k: S([r[k] for r in rows]) for k in rows[0]} for arm, rows in res.items()}
    numbers.update(d_instance=S(d_instance), d_layer=S(d_layer), d_frozen=S(d_frozen), moved=S(moved))
    def against_batch(name: str, key: str) -> str:
        lo, hi = numbers[key]["lo"], numbers[key]["hi"]
        return (f"{name} beats BatchNorm at this batch size." if lo > 0 else
                f"{name} is worse than BatchNorm at this batch size." if hi < 0 else
                f"{name} and BatchNorm are within the seed-to-seed spread of each other at this batch size.")

    numbers["words"] = {
        "instance": against_batch("InstanceNorm", "d_instance"),
        "layer": against_batch("LayerNorm", "d_layer"),
        "why": ("A likely reason: BatchNorm's statistics pool the batch and every pixel of a channel, so even a batch "
                "of a few images gives estimates that are not noisy enough to cost it accuracy."
                if min(numbers["d_instance"]["hi"], numbers["d_layer"]["hi"]) < 0 else ""),
        "affine": ("Learning γ and β lowers the test loss here." if numbers["d_frozen"]["lo"] > 0 else
                   "γ and β move, but the twin with them frozen has the lower test loss: 'learning them gives a better "
                   "model' does not hold here." if numbers["d_frozen"]["hi"] < 0 else
                   "Whether learning them helps is within the seed-to-seed spread here."),
    }
    return Outcome(measurements={"instance_beats_batch": d_instance, "layer_beats_batch": d_layer,
                                 "gamma_beta_move": moved, "learning_affine_helps": d_frozen}, numbers=numbers)
