"""C9 (lecture R1, R2): L2 shrinks the weights, L1 makes them sparse; on an overfitting
set-up a tuned L2 lowers the test loss and the train–test loss gap; an L1 penalty on a
hidden layer's activations makes its ReLU activations sparse.

Weights: 500 MNIST train images (mnist5k, one global mean/std), 784-256-256-10 ReLU MLP
with PyTorch's default init (``"init": "torch"``), SGD lr 0.05 momentum 0.9, batch 50:
no penalty, L2 ``(λ/2)‖W‖²`` and L1 ``λ‖W‖₁`` (weights only, biases excluded) via
`initreg.regularize` callbacks. **How λ is chosen:** L2's λ is tuned per seed on the
*validation* split (the run with the lowest final validation loss over the grid
``l2_grid``); the test split is read only for the chosen run. L1's λ is fixed at the
lecture's usual 1e-4 (its part is about sparsity, not generalization). Activations: a
784-256-10 ReLU MLP, Adam 1e-3, batch 64, with an L1 penalty on the hidden ReLU outputs
``λ · mean over the batch of Σ|h|``; the share of exactly-zero hidden activations is
measured on the test images. Paired arms: one seed gives every arm the same data split,
init and batch order.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from initreg.data import Splits, load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize import build_regularizers
from initreg.train import evaluate, loss_function
from initreg.train.fit import as_train_config
from initreg.train.multiseed import fit_seeds

_W = {"train_size": 500, "width": 256, "depth": 2, "lr": 0.05, "momentum": 0.9, "batch_size": 50, "small": 1e-3}
_A = {"width": 256, "lr": 1e-3, "batch_size": 64}

SETTINGS = {
    "quick": {"epochs": 40, "l2_grid": [1e-4, 1e-3, 1e-2], "l1": 1e-4, "activity_l1": 1e-3,
              "activity_train_size": 1000, "activity_epochs": 10},
    "full": {"epochs": 60, "l2_grid": [1e-4, 1e-3, 1e-2], "l1": 1e-4, "activity_l1": 1e-3,
             "activity_train_size": 3000, "activity_epochs": 10},
}

CRITERIA = (
    Criterion("l2_lowers_test_loss", metric="test cross-entropy without − with the validation-tuned L2", unit="",
              direction=">", threshold=0.0, text="λ chosen per seed on the validation loss; paired by seed"),
    Criterion("l2_narrows_loss_gap", metric="(test − train cross-entropy) without − with the validation-tuned L2",
              unit="", direction=">", threshold=0.0),
    Criterion("l2_shrinks_weights", metric="‖W‖ with the validation-tuned L2 ÷ ‖W‖ without (all Linear weights)",
              unit="×", direction="<", threshold=1.0),
    Criterion("l1_sparsifies_weights", metric="share of weights with |w| < 1e-3, with − without L1", unit="pp",
              direction=">", threshold=0.0),
    Criterion("activity_l1_sparsifies", metric="share of exactly-zero hidden ReLU outputs on the test images, "
              "with − without the activation L1 penalty", unit="pp", direction=">", threshold=0.0),
)

NOTES = (
    "Weights: {settings[epochs]} epochs on {train_size} train images. L2's λ, chosen per seed on the validation loss "
    "from {l2_grid}, was {l2_chosen}. The tuned L2 lowered the test loss from {test_loss_none[mean]:.3f} to "
    "{test_loss_l2[mean]:.3f} (paired drop {test_loss_drop[mean]:.3f}, interval {test_loss_drop[lo]:.3f} … "
    "{test_loss_drop[hi]:.3f}) and the test − train loss gap from {loss_gap_none[mean]:.3f} to "
    "{loss_gap_l2[mean]:.3f}; it cut the weight norm to {norm_ratio[mean]:.2f}× ({norm_ratio[lo]:.2f} … "
    "{norm_ratio[hi]:.2f}). Test accuracy: {test_acc_none[mean]:.1%} without, {test_acc_l2[mean]:.1%} with L2. "
    "L1 with λ = {settings[l1]:g} left {small_l1[mean]:.1%} of the weights below {small:g} in magnitude "
    "(without: {small_none[mean]:.1%}). Activations ({settings[activity_train_size]} train images, "
    "{settings[activity_epochs]} epochs): the activation L1 penalty λ = {settings[activity_l1]:g} raised the share "
    "of exactly-zero hidden ReLU outputs on the test images from {zeros_none[mean]:.1%} to {zeros_l1[mean]:.1%}."
)


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([m.weight.detach().flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])


def weight_runs(datas: list[Splits], seeds: list[int], reg: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    """Train the weight-penalty set-up once per seed (copy k on ``datas[k]``, model and train seed
    ``seeds[k]``; stacked by `fit_seeds` where the penalty allows); per seed the norms, sparsity and
    losses (validation, train, test) at the end."""
    s = _W
    models = [build_model({"name": "mlp", "depth": s["depth"], "width": s["width"], "init": "torch"},
                          d.input_shape, d.num_outputs, seed=seed) for d, seed in zip(datas, seeds)]
    steps = epochs * math.ceil(len(datas[0].x_train) / s["batch_size"])
    hists = fit_seeds(models, datas, {"optimizer": "sgd", "lr": s["lr"], "momentum": s["momentum"],
                                      "batch_size": s["batch_size"], "epochs": epochs, "eval_every": steps,
                                      "progress": "none"},
                      seeds=seeds, callbacks=lambda k: build_regularizers(reg))
    out = []
    for model, data, hist in zip(models, datas, hists):
        w = _weights(model)
        train = evaluate(model, data.x_train, data.y_train, loss_function(as_train_config(None), data.task))
        out.append({"norm": float(w.norm()), "small_frac": float((w.abs() < s["small"]).float().mean()),
                    "val_loss": hist.records[-1]["val_loss"], "train_loss": train["loss"],
                    "test_loss": hist.test["loss"], "gap": hist.test["loss"] - train["loss"],
                    "test_acc": hist.test["acc"], "weights_sample": w[:20000].abs().clamp_min(1e-8).log10().tolist()})
    return out


def tune_l2(datas: list[Splits], seeds: list[int], grid: list[float], epochs: int
            ) -> list[tuple[float, dict[str, Any], dict[float, float]]]:
    """Train L2 at each λ of ``grid`` (every seed); per seed the run with the lowest final *validation* loss
    (the test split is not consulted), its λ, and every λ's validation loss."""
    runs = {lam: weight_runs(datas, seeds, [{"name": "l2", "strength": lam}], epochs) for lam in grid}
    out = []
    for i in range(len(seeds)):
        best = min(grid, key=lambda lam: runs[lam][i]["val_loss"])
        out.append((best, runs[best][i], {lam: r[i]["val_loss"] for lam, r in runs.items()}))
    return out


def activity_runs(datas: list[Splits], seeds: list[int], lam: float, epochs: int) -> list[float]:
    """Per seed, the share of exactly-zero hidden activations on the test set after training with
    activity L1 ``lam`` (stacked by `fit_seeds` where the penalty allows)."""
    s = _A
    models = [build_model({"name": "mlp", "depth": 1, "width": s["width"], "init": "torch"},
                          d.input_shape, d.num_outputs, seed=seed) for d, seed in zip(datas, seeds)]
    steps = epochs * math.ceil(len(datas[0].x_train) / s["batch_size"])
    fit_seeds(models, datas, {"optimizer": "adam", "lr": s["lr"], "batch_size": s["batch_size"], "epochs": epochs,
                              "eval_every": steps, "progress": "none", "evaluate_test": False},
              seeds=seeds, callbacks=lambda k: (build_regularizers([{"name": "activity", "l1": lam, "modules": ["ReLU"]}])
                                                if lam > 0 else []))
    out = []
    for model, data in zip(models, datas):
        model.eval()
        with torch.no_grad():
            h = model[:3](data.x_test)  # Flatten → Linear → ReLU
        out.append(float((h == 0).float().mean()))
    return out


def effects(w: dict[str, list[dict[str, Any]]], zeros: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per seed, each declared part's paired value (``w``: arm → per-seed weight runs; ``zeros``: arm →
    per-seed share of zero activations)."""
    none, l2, l1 = w["none"], w["l2"], w["l1"]
    return {
        "l2_lowers_test_loss": [a["test_loss"] - b["test_loss"] for a, b in zip(none, l2)],
        "l2_narrows_loss_gap": [a["gap"] - b["gap"] for a, b in zip(none, l2)],
        "l2_shrinks_weights": [b["norm"] / a["norm"] for a, b in zip(none, l2)],
        "l1_sparsifies_weights": [100 * (b["small_frac"] - a["small_frac"]) for a, b in zip(none, l1)],
        "activity_l1_sparsifies": [100 * (b - a) for a, b in zip(zeros["none"], zeros["l1"])],
    }


def _figure(ctx: Context, w: dict[str, list[dict[str, Any]]], zeros: dict[str, list[float]]) -> str:
    from initreg.plot import new_figure, save_figure

    fig, (a1, a2, a3) = new_figure(3, size=(4.4, 3.6))
    for key, color, label in (("none", "tab:gray", "no penalty"), ("l2", "tab:blue", "L2 (tuned)"),
                              ("l1", "tab:red", "L1")):
        a1.hist(w[key][0]["weights_sample"], bins=80, range=(-8, 0.5), histtype="step", color=color, label=label)
    a1.axvline(-3, color="k", lw=0.6, ls=":")
    a1.set_xlabel(f"log10 |w| (first 20k weights, seed {ctx.seeds[0]})")
    a1.set_ylabel("count")
    a1.set_title("weight magnitudes")
    a1.legend(fontsize=8)
    for j, key in enumerate(("none", "l2", "l1")):
        tr = [r["train_loss"] for r in w[key]]
        te = [r["test_loss"] for r in w[key]]
        a2.scatter([j - 0.1] * len(tr), tr, color="tab:blue", s=14, label="train" if j == 0 else None)
        a2.scatter([j + 0.1] * len(te), te, color="tab:red", s=14, label="test" if j == 0 else None)
    a2.set_xticks([0, 1, 2], ["none", "L2 (tuned)", "L1"])
    a2.set_ylabel("cross-entropy")
    a2.set_yscale("log")
    a2.set_title(f"{_W['train_size']} train images")
    a2.legend(fontsize=8)
    for a, b in zip(zeros["none"], zeros["l1"]):
        a3.plot([0, 1], [a, b], marker="o", color="tab:green", alpha=0.7)
    a3.set_xticks([0, 1], ["no penalty", "activation L1"])
    a3.set_ylabel("share of exactly-zero ReLU outputs (test)")
    a3.set_title("784-256-10, L1 on activations")
    save_figure(fig, ctx.figure("penalties.png"))
    return "penalties.png"


@experiment(
    "C9",
    title="L1 and L2 penalties on weights and activations",
    statement=("L2 shrinks the weights and L1 makes them sparse; on an overfitting set-up a tuned L2 lowers the test "
               "loss and the train–test loss gap; an L1 penalty on activations makes them sparse."),
    criteria=CRITERIA,
    notes=NOTES,
    headline="l2_lowers_test_loss",
    lecture=("R1", "R2"),
    settings=SETTINGS,
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    w: dict[str, list[dict[str, Any]]] = {"none": [], "l2": [], "l1": []}
    zeros: dict[str, list[float]] = {"none": [], "l1": []}
    chosen: list[float] = []
    val_by_lambda: list[dict[float, float]] = []
    seeds = list(ctx.seeds)
    datas = [load_data({"name": "mnist5k", "train_size": _W["train_size"], "seed": seed}) for seed in seeds]
    w["none"] = weight_runs(datas, seeds, [], st["epochs"])
    for lam, best, vals in tune_l2(datas, seeds, st["l2_grid"], st["epochs"]):
        chosen.append(lam)
        val_by_lambda.append(vals)
        w["l2"].append(best)
    w["l1"] = weight_runs(datas, seeds, [{"name": "l1", "strength": st["l1"]}], st["epochs"])
    datas = [load_data({"name": "mnist5k", "train_size": st["activity_train_size"], "seed": seed}) for seed in seeds]
    zeros["none"] = activity_runs(datas, seeds, 0.0, st["activity_epochs"])
    zeros["l1"] = activity_runs(datas, seeds, st["activity_l1"], st["activity_epochs"])
    for i, seed in enumerate(seeds):
        ctx.log(f"seed {seed}: L2 λ={chosen[i]:g}, test loss {w['none'][i]['test_loss']:.3f} -> "
                f"{w['l2'][i]['test_loss']:.3f}, L1 small {w['l1'][i]['small_frac']:.3f}, "
                f"zeros {zeros['none'][i]:.3f} -> {zeros['l1'][i]:.3f}")
    meas = effects(w, zeros)
    S = ctx.summarize
    numbers: dict[str, Any] = {
        "train_size": _W["train_size"],
        "small": _W["small"],
        "l2_grid": ", ".join(f"{lam:g}" for lam in st["l2_grid"]),
        "l2_chosen": ", ".join(f"{lam:g}" for lam in chosen),
        "l2_chosen_per_seed": chosen,
        "val_loss_by_lambda": [{f"{k:g}": v for k, v in d.items()} for d in val_by_lambda],
        "test_loss_none": S([r["test_loss"] for r in w["none"]]),
        "test_loss_l2": S([r["test_loss"] for r in w["l2"]]),
        "test_loss_drop": S(meas["l2_lowers_test_loss"]),
        "loss_gap_none": S([r["gap"] for r in w["none"]]),
        "loss_gap_l2": S([r["gap"] for r in w["l2"]]),
        "norm_ratio": S(meas["l2_shrinks_weights"]),
        "test_acc_none": S([r["test_acc"] for r in w["none"]]),
        "test_acc_l2": S([r["test_acc"] for r in w["l2"]]),
        "small_none": S([r["small_frac"] for r in w["none"]]),
        "small_l1": S([r["small_frac"] for r in w["l1"]]),
        "zeros_none": S(zeros["none"]),
        "zeros_l1": S(zeros["l1"]),
    }
    fig = _figure(ctx, w, zeros)
    return Outcome(measurements=meas, numbers=numbers, figures=[fig])
