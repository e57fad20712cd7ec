"""K3 (lecture part 2): overfitting — train loss keeps falling while validation loss rises.

A 784-256-256-10 ReLU MLP trained with Adam on a small subset of real MNIST (`mnist5k`),
train and validation loss measured on the whole splits in eval mode after every epoch
(``eval_train=True``). The overfitting point is the epoch of minimal validation loss.
"""

from __future__ import annotations

import math
from typing import Any

from initreg.data import load_data
from initreg.lab import Context, Outcome, experiment
from initreg.models import build_model
from initreg.train import History, fit

# Fixed before the run; the same in quick and full mode.
MAX_BEST_FRACTION = 0.5  # the validation minimum lies in the first half of training
MIN_VAL_RISE = 1.15  # final validation loss ≥ 1.15 × its minimum
MAX_TRAIN_RATIO = 0.5  # final train loss ≤ 0.5 × the train loss at the validation minimum

CRITERION = (
    f"for every seed, with e* the epoch of minimal validation loss and E the last epoch: "
    f"e* ≤ {MAX_BEST_FRACTION} × E; val_loss(E) ≥ {MIN_VAL_RISE} × val_loss(e*); "
    f"train_loss(E) ≤ {MAX_TRAIN_RATIO} × train_loss(e*); and over the last quarter of training "
    f"the validation loss still rises while the train loss still falls: "
    f"val_loss(E) > val_loss(¾E), train_loss(E) < train_loss(¾E)"
)


def overfitting_point(history: History) -> dict[str, Any]:
    """The overfitting point of a history with ``train_loss`` and ``val_loss`` per epoch.

    Returns ``best_epoch`` (e*, the epoch of minimal validation loss), ``last_epoch`` (E),
    the losses there, and the ratios of the criterion (``late_*``: end vs. three quarters).
    """
    recs = [r for r in history.records if "val_loss" in r and "train_loss" in r]
    if not recs:
        raise ValueError("overfitting_point needs records with train_loss and val_loss")
    best = min(recs, key=lambda r: r["val_loss"])
    last = recs[-1]
    q = recs[len(recs) - 1 - len(recs) // 4]  # the record at three quarters of training
    return {
        "late_val_rise": last["val_loss"] / q["val_loss"], "late_train_ratio": last["train_loss"] / q["train_loss"],
        "best_epoch": best["epoch"], "last_epoch": last["epoch"],
        "val_loss_best": best["val_loss"], "val_loss_last": last["val_loss"],
        "train_loss_best": best["train_loss"], "train_loss_last": last["train_loss"],
        "best_fraction": best["epoch"] / max(last["epoch"], 1),
        "val_rise": last["val_loss"] / best["val_loss"],
        "train_ratio": last["train_loss"] / best["train_loss"],
    }


def holds(point: dict[str, Any]) -> bool:
    """The criterion for one seed."""
    return (point["best_fraction"] <= MAX_BEST_FRACTION and point["val_rise"] >= MIN_VAL_RISE
            and point["train_ratio"] <= MAX_TRAIN_RATIO and point["late_val_rise"] > 1 and point["late_train_ratio"] < 1)


def _run_seed(seed: int, st: dict[str, Any]) -> History:
    data = load_data({"name": "mnist5k", "train_size": st["train_size"], "seed": seed})
    model = build_model({"name": "mlp", "depth": 2, "width": 256, "init": "torch"}, data.input_shape,
                        data.num_outputs, seed=seed)
    return fit(model, data, {"optimizer": "adam", "lr": st["lr"], "epochs": st["epochs"], "batch_size": st["batch_size"],
                             "eval_train": True, "seed": seed, "progress": "none"})


def _figure(ctx: Context, hists: list[History], points: list[dict[str, Any]]) -> str:
    from initreg.plot import new_figure, save_figure

    fig, (a1, a2, a3) = new_figure(3, size=(4.4, 3.6))
    for i, (h, p) in enumerate(zip(hists, points)):
        ep = h.column("epoch")
        alpha = 1.0 if i == 0 else 0.35
        first = i == 0
        a1.plot(ep, h.column("train_loss"), color="tab:blue", alpha=alpha, label="train" if first else None)
        a1.plot(ep, h.column("val_loss"), color="tab:red", alpha=alpha, label="validation" if first else None)
        a2.plot(ep, h.column("val_loss"), color="tab:red", alpha=alpha)
        a2.plot([p["best_epoch"]], [p["val_loss_best"]], "v", color="black", alpha=alpha,
                label="minimum (overfitting point)" if first else None)
        a3.plot(ep, h.column("train_acc"), color="tab:blue", alpha=alpha, label="train" if first else None)
        a3.plot(ep, h.column("val_acc"), color="tab:red", alpha=alpha, label="validation" if first else None)
    a1.set_yscale("log")
    a1.set_xlabel("epoch")
    a1.set_ylabel("cross-entropy loss")
    a1.set_title("train and validation loss (log scale)")
    a1.legend()
    a2.set_xlabel("epoch")
    a2.set_ylabel("validation loss")
    a2.set_title("validation loss (linear scale)")
    a2.legend()
    a3.set_xlabel("epoch")
    a3.set_ylabel("accuracy")
    a3.set_title("accuracy")
    a3.legend()
    save_figure(fig, ctx.figure("overfitting.png"))
    return "overfitting.png"


@experiment(
    "K3",
    title="Overfitting: train loss falls while validation loss rises",
    statement="Overfitting: the training loss keeps falling while the validation loss rises.",
    criterion=CRITERION,
    lecture=("K3",),
    order=3.5,  # after part 1 of the lecture (C1–C3), before weight initialization (C4–)
    settings={
        "quick": {"train_size": 200, "epochs": 40, "batch_size": 32, "lr": 3e-3},
        "full": {"train_size": 200, "epochs": 100, "batch_size": 32, "lr": 3e-3},
    },
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    hists = [_run_seed(seed, st) for seed in ctx.seeds]
    diverged = [s for s, h in zip(ctx.seeds, hists) if h.diverged]
    if diverged:
        raise RuntimeError(f"K3: training diverged for seeds {diverged}")
    points = [overfitting_point(h) for h in hists]
    ok = [holds(p) for p in points]
    numbers: dict[str, Any] = {
        "best_epoch": ctx.summarize([p["best_epoch"] for p in points]),
        "last_epoch": points[0]["last_epoch"],
        "val_loss_rise": ctx.summarize([p["val_rise"] for p in points]),
        "train_loss_ratio": ctx.summarize([p["train_ratio"] for p in points]),
        "late_val_rise": ctx.summarize([p["late_val_rise"] for p in points]),
        "late_train_ratio": ctx.summarize([p["late_train_ratio"] for p in points]),
        "val_loss_best": ctx.summarize([p["val_loss_best"] for p in points]),
        "val_loss_last": ctx.summarize([p["val_loss_last"] for p in points]),
        "train_loss_last": ctx.summarize([p["train_loss_last"] for p in points]),
        "val_acc_best": ctx.summarize([h.best("val_loss")["val_acc"] for h in hists]),
        "val_acc_last": ctx.summarize([h.last["val_acc"] for h in hists]),
        "holds_per_seed": ok,
    }
    fig = _figure(ctx, hists, points)
    p0 = points[0]
    acc_best, acc_last = numbers["val_acc_best"]["mean"], numbers["val_acc_last"]["mean"]
    acc_trend = "it does not fall" if acc_last >= acc_best - 0.005 else f"it falls by {acc_best - acc_last:.3f}, far less than the loss rises"
    notes = f"""
A 784-256-256-10 ReLU MLP, Adam {st['lr']:g}, batch {st['batch_size']}, {st['epochs']} epochs on {st['train_size']} MNIST images (`mnist5k`), seeds {ctx.seeds}; losses on the whole train and validation splits after every epoch.
- Seed {ctx.seeds[0]}: validation loss is lowest at epoch {p0['best_epoch']} ({p0['val_loss_best']:.3f}) and ends at {p0['val_loss_last']:.3f} ({p0['val_rise']:.2f}×), while the train loss falls from {p0['train_loss_best']:.3g} to {p0['train_loss_last']:.3g}.
- The first epochs are noisy (Adam {st['lr']:g} on 200 images: the minimum is a dip between spikes), but once the train loss is near zero the validation loss climbs steadily: over the last quarter of training it still rises ×{numbers['late_val_rise']['mean']:.3f} while the train loss falls to {numbers['late_train_ratio']['mean']:.2f}× its value (means over seeds).
- Validation accuracy at the loss minimum is {acc_best:.3f} and at the end {acc_last:.3f} (means over seeds): {acc_trend}. The rising validation loss is over-confidence on the examples the model gets wrong (the train loss heads to zero, logits grow), so "validation loss rises" and "validation accuracy falls" are different signals — a model chosen by validation loss (early stopping, C15) is not the one with the best validation accuracy.
"""
    if any(math.isnan(p["val_rise"]) for p in points):
        notes += "\nSome histories contain NaN."
    return Outcome(holds=all(ok), numbers=numbers, figures=[fig], notes=notes)
