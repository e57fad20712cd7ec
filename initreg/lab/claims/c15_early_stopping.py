"""C15 (lecture R10, K3): early stopping picks the epoch of best validation loss; the test loss
there is lower than at the end of an overfitting run.

Set-up: 500 mnist5k train images, 784-256-256-10 ReLU MLP (PyTorch's default init), Adam
1e-3, batch 64, a fixed epoch budget. Per seed, two identically seeded runs: one over the
whole budget that records the test loss after every epoch (analysis only), and one with the
`EarlyStopping` callback (monitor ``val_loss``, patience, restore the best weights). The two
coincide up to the stop, so (exact checks) the callback must name the epoch of minimal
validation loss and its restored model must have that epoch's test loss; the paired effect is
the test loss at the end of the budget minus the test loss of the early-stopped model (the
held-out loss rising after the best-validation epoch is the lecture's overfitting, K3).
"""

from __future__ import annotations

from typing import Any

import torch

from ...data import load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.early_stopping import EarlyStopping, prechelt_stop
from ...train import Callback
from ...train.fit import evaluate, loss_function
from ...train.multiseed import fit_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

_COMMON = {"data": {"name": "mnist5k", "train_size": 500}, "model": {"name": "mlp", "depth": 2, "width": 256, "init": "torch"},
           "train": {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}}
SETTINGS = {"quick": {**_COMMON, "epochs": 25, "patience": 10}, "full": {**_COMMON, "epochs": 60, "patience": 15}}

CRITERIA = (
    Criterion("early_stop_lowers_test_loss", metric="test loss at the end of the budget − test loss of the "
              "early-stopped (restored) model", unit="", direction=">", threshold=0.0,
              text="paired by seed: the same seeded run, stopped early or not"),
    Criterion("stops_at_best_val_epoch", metric="|callback's best epoch − epoch of minimal validation loss over the "
              "whole budget|", unit="epochs", direction="<", threshold=0.5, kind="exact"),
    Criterion("restores_best_epoch_model", metric="|restored model's test loss − the test loss after the "
              "best-validation epoch|", unit="", direction="<", threshold=1e-5, kind="exact"),
)

NOTES = (
    "Set-up: {train_size} train images, Adam, {settings[epochs]} epochs; the callback monitors the validation loss "
    "with patience {settings[patience]} and restores the best weights. Best-validation epoch per seed: {best_epoch}; "
    "the callback stopped after epoch {stop_epoch}. The early-stopped model's test loss was "
    "{test_loss_es[mean]:.3f} against {test_loss_end[mean]:.3f} at the end of the budget: paired drop "
    "{test_loss_drop[mean]:.3f} (interval {test_loss_drop[lo]:.3f} … {test_loss_drop[hi]:.3f}; per seed "
    "{test_loss_drop[min]:.3f}–{test_loss_drop[max]:.3f}).\n\n{table}\n\n"
    "Prechelt's criteria (strip length {strip}) are evaluated on the same validation/training curves; the cells give "
    "the test loss at the epoch each would stop. **What the lecture leaves out:** the test *loss* is lowest near the "
    "best-validation epoch, but the test *accuracy* can keep creeping up while the model overfits in loss (it grows "
    "more confident on the examples it gets right, and much more confident on those it gets wrong): accuracy at the "
    "early-stopping point is {acc_end_minus_es_pp[mean]:.1f} pp (mean) below the end's. Judge early stopping on the "
    "loss it monitors; monitor `val_acc` if accuracy is what matters. Training: {stacked[full]}; {stacked[stopped]}."
)



class _TestCurve(Callback):
    """Analysis only: the test loss/accuracy after each epoch (the stopping rule never reads it)."""

    stacks = True  # epoch-level only: in stacked training it reads its own copy's model and data

    def on_evaluate(self, state, record):
        loss_fn = loss_function(state.config, state.data.task)
        res = evaluate(state.model, state.data.x_test, state.data.y_test, loss_fn)
        record["test_loss"], record["test_acc"] = res["loss"], res["acc"]


def _runs(ctx: Context) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Runs A and B for every seed, each arm through `fit_seeds` (copy k: seed k's split, model and
    train seed k); the arms stack where their callbacks can run per copy."""
    s = ctx.settings
    seeds = list(ctx.seeds)
    datas = [load_data({**s["data"], "seed": seed}) for seed in seeds]
    train = {**s["train"], "epochs": s["epochs"], "progress": "none"}

    def models() -> list[torch.nn.Module]:
        return [build_model(s["model"], d.input_shape, d.num_outputs, seed=seed) for d, seed in zip(datas, seeds)]

    # Run A: the whole budget, recording the test curve for the figure and the comparison.
    fulls = fit_seeds(models(), datas, train, seeds=seeds, callbacks=lambda k: [_TestCurve()])
    # Run B: the same runs with the early-stopping callback (patience, restore best weights).
    ess = [EarlyStopping(monitor="val_loss", patience=s["patience"], restore_best=True) for _ in seeds]
    stops = fit_seeds(models(), datas, train, seeds=seeds, callbacks=lambda k: [ess[k]])
    runs = []
    for seed, full, stopped, es in zip(seeds, fulls, stops, ess):
        val = full.column("val_loss")
        best = min(range(len(val)), key=lambda i: val[i])  # index of the best validation loss
        tr = full.column("train_loss")
        prechelt = {name: prechelt_stop(c, val, tr, alpha=a, k=5, s=3)
                    for name, (c, a) in {"GL_5": ("GL", 5.0), "PQ_0.5": ("PQ", 0.5), "UP_3": ("UP", None)}.items()}
        runs.append({
            "seed": seed, "val": val, "train": tr, "test": full.column("test_loss"), "test_acc": full.column("test_acc"),
            "best_epoch": best + 1, "es_best_epoch": es.report["best_epoch"], "es_stop_epoch": stopped.epochs,
            "es_reason": stopped.stop_reason or "", "es_test_loss": stopped.test["loss"],
            "es_test_acc": stopped.test["acc"], "end_test_loss": full.test["loss"], "end_test_acc": full.test["acc"],
            "curve_test_at_best": full.records[best]["test_loss"], "prechelt": prechelt,
        })
    return runs, {"full": stacked_note(fulls, "full-budget runs"), "stopped": stacked_note(stops, "early-stopped runs")}


def effects(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per seed, each declared part's value."""
    return {
        "early_stop_lowers_test_loss": [r["end_test_loss"] - r["es_test_loss"] for r in runs],
        "stops_at_best_val_epoch": [float(abs(r["es_best_epoch"] - r["best_epoch"])) for r in runs],
        "restores_best_epoch_model": [abs(r["es_test_loss"] - r["curve_test_at_best"]) for r in runs],
    }


@experiment(
    "C15",
    title="Early stopping: best-validation epoch and the test loss there",
    statement="Early stopping picks the epoch of best validation loss; the test loss there is lower than at the "
              "end of an overfitting run.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="early_stop_lowers_test_loss",
    settings=SETTINGS,
    lecture=("R10", "K3"),
)
def run(ctx: Context) -> Outcome:
    torch.set_num_threads(1)
    runs, stacked = _runs(ctx)
    meas = effects(runs)
    fig, axes = new_figure(2)
    for r in runs:
        ep = list(range(1, len(r["val"]) + 1))
        line, = axes[0].plot(ep, r["val"], label=f"val, seed {r['seed']}")
        axes[0].plot(ep, r["test"], ls="--", color=line.get_color(), label=f"test, seed {r['seed']}")
        axes[0].plot(ep, r["train"], ls=":", color=line.get_color(), alpha=0.6)
        axes[0].axvline(r["best_epoch"], color=line.get_color(), lw=0.8)
        axes[1].plot(ep, [100 * a for a in r["test_acc"]], color=line.get_color(), label=f"seed {r['seed']}")
        axes[1].axvline(r["best_epoch"], color=line.get_color(), lw=0.8)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy", title="train (dotted), val (solid), test (dashed)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy; vertical: best-val epoch")
    save_figure(fig, ctx.figure("early_stopping.png"))
    gap = meas["early_stop_lowers_test_loss"]
    acc_gap = [100 * (r["end_test_acc"] - r["es_test_acc"]) for r in runs]
    numbers = {
        "test_loss_drop": ctx.summarize(gap),
        "best_epoch": [r["best_epoch"] for r in runs],
        "stop_epoch": [r["es_stop_epoch"] for r in runs],
        "test_loss_es": ctx.summarize([r["es_test_loss"] for r in runs]),
        "test_loss_end": ctx.summarize([r["end_test_loss"] for r in runs]),
        "acc_end_minus_es_pp": ctx.summarize(acc_gap),
        "prechelt_stop_epochs": {k: [r["prechelt"][k] for r in runs] for k in ("GL_5", "PQ_0.5", "UP_3")},
        "min_val_loss": ctx.summarize([min(r["val"]) for r in runs]),
    }

    def tl(r: dict, epoch: int | None) -> str:
        return "—" if epoch is None else f"{r['test'][epoch - 1]:.3f} (epoch {epoch})"

    rows = "\n".join(
        f"| {r['seed']} | {r['best_epoch']} | {r['es_stop_epoch']} | {r['es_test_loss']:.3f} | {r['end_test_loss']:.3f} | "
        f"{100 * r['es_test_acc']:.1f} / {100 * r['end_test_acc']:.1f} | {tl(r, r['prechelt']['GL_5'])} | "
        f"{tl(r, r['prechelt']['PQ_0.5'])} | {tl(r, r['prechelt']['UP_3'])} |" for r in runs)
    numbers.update(table="| seed | best-val epoch | stopped after | test loss (early stop) | test loss (end) | "
                   "test acc % (early / end) | GL_5 stop | PQ_0.5 stop | UP_3 stop |\n|---|---|---|---|---|---|---|---|---|\n"
                   + rows, strip=5, train_size=ctx.settings["data"]["train_size"], stacked=stacked)
    return Outcome(measurements=meas, numbers=numbers, figures=["early_stopping.png"])
