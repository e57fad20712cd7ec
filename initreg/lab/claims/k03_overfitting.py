"""K3 (lecture K3): overfitting — the training loss keeps falling while the validation loss rises.

A 784-256-256-10 ReLU MLP trained with Adam (its default learning rate, 1e-3) on 200 MNIST
images (`mnist5k`, a different subset per seed); train and validation loss on the whole splits
in eval mode after every epoch (``eval_train=True``). "Keeps falling while rising" is judged
over the last quarter of training on smoothed curves: the mean loss over the last ``window``
epochs against the mean over the ``window`` epochs ending at three quarters of training, so
one noisy epoch cannot decide it. The overfitting point e* (the minimum of the smoothed
validation loss) is reported, not judged.
"""

from __future__ import annotations

import math
from typing import Any

from initreg.data import load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.train import History
from initreg.train.multiseed import fit_seeds

_BASE = {"train_size": 200, "batch_size": 32, "lr": 1e-3, "window": 5}
SETTINGS = {"quick": {**_BASE, "epochs": 40}, "full": {**_BASE, "epochs": 100}}
CRITERIA = (
    Criterion("val_loss_rises_late", metric="log10(mean validation loss over the last window ÷ over the window ending "
              "at ¾ of training)", unit="log10", direction=">", threshold=0.0, changed="2026-12-06",
              text="smoothed: windows of 5 epochs, not single epochs"),
    Criterion("train_loss_falls_late", metric="log10(mean train loss over the last window ÷ over the window ending "
              "at ¾ of training)", unit="log10", direction="<", threshold=0.0, changed="2026-12-06",
              text="the same windows, the same runs"),
)
NOTES = """
A {arch} ReLU MLP, Adam {settings[lr]:g}, batch {settings[batch_size]}, {settings[epochs]} epochs on {settings[train_size]} MNIST images (`mnist5k`, a subset per seed), seeds {seeds}; losses on the whole train and validation splits after every epoch, smoothed over windows of {settings[window]} epochs.
- Over the last quarter (epochs {late[q_first]}–{late[q_last]} vs {late[e_first]}–{late[e_last]}) the validation loss changes ×{val_late_ratio[mean]:.3f} ± {val_late_ratio[ci]:.3f} while the train loss changes ×{train_late_ratio[mean]:.3f} ± {train_late_ratio[ci]:.3f} (means over seeds; {words[late]}).
- The smoothed validation loss is lowest around epoch {best_epoch[mean]:.0f} (seeds: {best_epoch[min]:.0f}–{best_epoch[max]:.0f}) at {val_loss_best[mean]:.3f} and ends at {val_loss_last[mean]:.3f} (×{val_rise[mean]:.2f}), while the train loss falls from {train_loss_best[mean]:.3g} to {train_loss_last[mean]:.3g}.
- Validation accuracy at the smoothed minimum is {val_acc_best[mean]:.3f} and over the last window {val_acc_last[mean]:.3f} (means over seeds): the rising validation loss is over-confidence on the examples the model gets wrong (the train loss heads to zero, logits grow), so "validation loss rises" and "validation accuracy falls" are different signals — a model chosen by validation loss (early stopping, C15) is not the one with the best validation accuracy.
"""


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing moving average: entry ``i`` is the mean of ``values[max(0, i−window+1) : i+1]``.

    >>> moving_average([1.0, 2.0, 3.0, 4.0], 2)
    [1.0, 1.5, 2.5, 3.5]
    """
    if window < 1:
        raise ValueError(f"window must be >= 1; got window={window}")
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1):i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def overfitting_point(history: History, window: int) -> dict[str, Any]:
    """The smoothed overfitting statistics of a history with ``train_loss`` and ``val_loss`` per epoch.

    ``late_val_ratio`` / ``late_train_ratio``: mean loss over the last ``window`` epochs ÷ mean
    over the ``window`` epochs ending at three quarters of training; ``best_epoch`` (e*): the
    centre of the ``window`` epochs whose mean validation loss is lowest, with the smoothed
    losses of that window and of the last one.
    """
    recs = [r for r in history.records if "val_loss" in r and "train_loss" in r]
    if not recs:
        raise ValueError("overfitting_point needs records with train_loss and val_loss")
    n = len(recs)
    q_end = n - n // 4  # records[:q_end] end at three quarters of training
    if window < 1 or n // 4 < window:
        raise ValueError(f"overfitting_point needs window >= 1 and a last quarter of at least window epochs "
                         f"(so the two windows do not overlap); got {n} epochs, window={window}")
    val, train = [r["val_loss"] for r in recs], [r["train_loss"] for r in recs]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    sv, st = moving_average(val, window), moving_average(train, window)
    b = min(range(n), key=lambda i: sv[i])  # the window ending at b has the lowest mean validation loss
    centre = max(0, b - (window - 1) // 2)
    acc = [r.get("val_acc", math.nan) for r in recs]
    return {
        "late_val_ratio": mean(val[-window:]) / mean(val[q_end - window:q_end]),
        "late_train_ratio": mean(train[-window:]) / mean(train[q_end - window:q_end]),
        "windows": {"e_first": recs[q_end - window]["epoch"], "e_last": recs[q_end - 1]["epoch"],
                    "q_first": recs[n - window]["epoch"], "q_last": recs[-1]["epoch"]},
        "best_epoch": recs[centre]["epoch"], "last_epoch": recs[-1]["epoch"],
        "val_loss_best": sv[b], "val_loss_last": sv[-1], "train_loss_best": st[b], "train_loss_last": st[-1],
        "val_rise": sv[-1] / sv[b],
        "val_acc_best": mean(acc[max(0, b - window + 1):b + 1]), "val_acc_last": mean(acc[-window:]),
    }


def _run_seeds(seeds: list[int], st: dict[str, Any]) -> list[History]:
    """All seeds at once, stacked (`fit_seeds`): copy k trains on seed k's subset with model and
    train seed k — the same runs as one `fit` per seed, to float rounding."""
    datas = [load_data({"name": "mnist5k", "train_size": st["train_size"], "seed": seed}) for seed in seeds]
    models = [build_model({"name": "mlp", "depth": 2, "width": 256, "init": "torch"}, d.input_shape,
                          d.num_outputs, seed=seed) for d, seed in zip(datas, seeds)]
    return list(fit_seeds(models, datas, {"optimizer": "adam", "lr": st["lr"], "epochs": st["epochs"],
                                          "batch_size": st["batch_size"], "eval_train": True, "progress": "none"},
                          seeds=seeds))


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
    criteria=CRITERIA,
    notes=NOTES,
    headline="val_loss_rises_late",
    lecture=("K3",),
    order=3.5,  # after part 1 of the lecture (C1–C3), before weight initialization (C4–)
    settings=SETTINGS,
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    hists = _run_seeds(list(ctx.seeds), st)
    diverged = [s for s, h in zip(ctx.seeds, hists) if h.diverged]
    if diverged:
        raise RuntimeError(f"K3: training diverged for seeds {diverged}")
    points = [overfitting_point(h, st["window"]) for h in hists]
    col = lambda k: [p[k] for p in points]  # noqa: E731
    numbers: dict[str, Any] = {k: ctx.summarize(col(k)) for k in (
        "best_epoch", "val_rise", "val_loss_best", "val_loss_last", "train_loss_best", "train_loss_last",
        "val_acc_best", "val_acc_last")}
    numbers["val_late_ratio"] = ctx.summarize(col("late_val_ratio"))
    numbers["train_late_ratio"] = ctx.summarize(col("late_train_ratio"))
    numbers["late"] = points[0]["windows"]
    numbers["arch"] = "784-256-256-10"
    both = sum(p["late_val_ratio"] > 1 and p["late_train_ratio"] < 1 for p in points)
    numbers["both_per_seed"] = both
    numbers["words"] = {"late": f"both directions on {both} of {len(points)} seeds"}
    fig = _figure(ctx, hists, points)
    return Outcome(measurements={"val_loss_rises_late": [math.log10(v) for v in col("late_val_ratio")],
                                 "train_loss_falls_late": [math.log10(v) for v in col("late_train_ratio")]},
                   numbers=numbers, figures=[fig])
