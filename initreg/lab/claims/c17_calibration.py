"""C17: mixup and label smoothing reduce the calibration error of an overconfident model (and
label smoothing can overshoot into underconfidence on an already calibrated one) (LECTURE R12, R13)."""

from __future__ import annotations

from typing import Any

import torch

from ...data import load_data
from ...metrics import expected_calibration_error
from ...metrics.reliability import reliability_figure
from ...models import build_model
from ...regularize.mixup import Mixup
from ...train import fit
from ..experiment import Context, Outcome, experiment

REDUCTION = 0.5  # each remedy must at least halve the baseline's ECE
# Percentage points of test accuracy a remedy may cost. MNIST-1D is generated with 20,000 sequences so
# that the test split has 4,000 (standard error of a ~64% accuracy ≈ 0.8 pp; of a difference of two
# models ≤ 1.1 pp). With the package's 5,000 (1,000 test) that error was ~2 pp: the every-seed check
# flipped when a float-rounding change to Adam (fused kernel) moved one seed's mixup-α=1 run by 4 pp.
MAX_ACC_DROP = 3.0
MNIST1D_SAMPLES = 20_000
TRAIN_SIZE = 3400  # the training split of the package's 5,000-sample MNIST-1D: the same overfitting regime

_ARMS = {  # name -> (train overrides, callbacks factory)
    "baseline": ({}, None),
    "label smoothing 0.1": ({"label_smoothing": 0.1}, None),
    "mixup α=0.2": ({}, 0.2),
    "mixup α=1": ({}, 1.0),
}
_MODEL = {"name": "mlp", "depth": 2, "width": 256, "init": "torch"}
_TRAIN = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}


def _mnist1d(s: dict[str, Any], seed: int):
    return load_data({"name": "mnist1d", "seed": seed, "train_size": s["train_size"],
                      "options": {"num_samples": s.get("num_samples", 5000)}})


def _train(data, arm: str, epochs: int, seed: int) -> dict[str, Any]:
    over, alpha = _ARMS[arm]
    model = build_model(_MODEL, data.input_shape, data.num_outputs, seed=seed)
    cbs = [Mixup(alpha=alpha)] if alpha is not None else []
    h = fit(model, data, {**_TRAIN, **over, "epochs": epochs, "seed": seed, "progress": "none"}, callbacks=cbs)
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(data.x_test), 1)
    return {"ece": expected_calibration_error(probs, data.y_test), "acc": 100 * h.test["acc"], "probs": probs,
            "conf": float(probs.max(1).values.mean())}


def verdict(res: dict[str, list[dict[str, Any]]], mn: dict[str, list[dict[str, Any]]]) -> dict[str, bool]:
    """The criterion's parts over every seed; ``res``/``mn``: arm -> per-seed {"ece", "acc" (%), "conf"}."""
    out = {}
    for arm in list(_ARMS)[1:]:
        out[f"{arm} cuts ECE >= {int(REDUCTION * 100)}%"] = all(
            r["ece"] <= (1 - REDUCTION) * b["ece"] for b, r in zip(res["baseline"], res[arm]))
        out[f"{arm} costs <= {MAX_ACC_DROP:g} pp"] = all(
            r["acc"] >= b["acc"] - MAX_ACC_DROP for b, r in zip(res["baseline"], res[arm]))
    ls = mn["label smoothing 0.1"]
    out["MNIST 5k: label smoothing raises ECE"] = all(b["ece"] < r["ece"] for b, r in zip(mn["baseline"], ls))
    out["MNIST 5k: label smoothing is underconfident"] = all(r["conf"] < r["acc"] / 100 for r in ls)
    return out


@experiment(
    "C17",
    title="Calibration: mixup and label smoothing vs an overconfident baseline",
    statement="Mixup and label smoothing reduce the calibration error of an overconfident model (label smoothing "
              "can overshoot into underconfidence on an already calibrated one).",
    criterion=f"MNIST-1D, every seed: label smoothing 0.1, mixup α=0.2 and mixup α=1 each cut the baseline's "
              f"test ECE (15 bins) by at least {int(REDUCTION * 100)}% at a test-accuracy cost of at most "
              f"{MAX_ACC_DROP:g} pp. MNIST 5k (shown, and checked): the baseline's ECE is below its ECE with "
              f"label smoothing 0.1, whose mean confidence falls below its accuracy (underconfident).",
    settings={"quick": {"epochs": 40, "train_size": TRAIN_SIZE, "num_samples": MNIST1D_SAMPLES, "mnist_epochs": 20,
                        "mnist_train_size": 1000},
              "full": {"epochs": 60, "train_size": TRAIN_SIZE, "num_samples": MNIST1D_SAMPLES, "mnist_epochs": 20,
                       "mnist_train_size": 1000}},
    lecture=("R12", "R13"),
)
def c17(ctx: Context) -> Outcome:
    torch.set_num_threads(1)
    s = ctx.settings
    res: dict[str, list[dict[str, Any]]] = {a: [] for a in _ARMS}
    mn: dict[str, list[dict[str, Any]]] = {"baseline": [], "label smoothing 0.1": []}
    first = None  # the first seed's data sets, for the figure and the notes
    for seed in ctx.seeds:
        d1 = _mnist1d(s, seed)
        for arm in _ARMS:
            res[arm].append(_train(d1, arm, s["epochs"], seed))
        d2 = load_data({"name": "mnist5k", "seed": seed, "train_size": s["mnist_train_size"]})
        for arm in mn:
            mn[arm].append(_train(d2, arm, s["mnist_epochs"], seed))
        first = first or (d1, d2)
    parts = verdict(res, mn)
    d1, d2 = first
    panels = {f"MNIST-1D {a}": (res[a][0]["probs"], d1.y_test) for a in _ARMS}
    panels.update({f"MNIST 5k {a}": (mn[a][0]["probs"], d2.y_test) for a in mn})
    reliability_figure(panels, ctx.figure("reliability.png"), ncols=3)
    numbers: dict[str, Any] = {}
    for arm, rs in res.items():
        numbers[f"ece {arm}"] = ctx.summarize([r["ece"] for r in rs])
    for arm, rs in res.items():
        numbers[f"acc % {arm}"] = ctx.summarize([r["acc"] for r in rs])
    for arm, rs in mn.items():
        numbers[f"MNIST 5k ece {arm}"] = ctx.summarize([r["ece"] for r in rs])
        numbers[f"MNIST 5k acc % {arm}"] = ctx.summarize([r["acc"] for r in rs])
        numbers[f"MNIST 5k mean confidence {arm}"] = ctx.summarize([r["conf"] for r in rs])

    def row(name: str, rs: list[dict[str, Any]]) -> str:
        ece = ", ".join(f"{r['ece']:.3f}" for r in rs)
        acc = ", ".join(f"{r['acc']:.1f}" for r in rs)
        conf = ", ".join(f"{100 * r['conf']:.1f}" for r in rs)
        return f"| {name} | {ece} | {acc} | {conf} |"

    table = "\n".join([row(f"MNIST-1D, {a}", rs) for a, rs in res.items()] +
                      [row(f"MNIST 5k, {a}", rs) for a, rs in mn.items()])
    notes = f"""Set-up: 40-256-256-10 ReLU MLP on MNIST-1D ({s.get('num_samples', 5000):,} generated sequences;
{s['train_size'] or 3400} for training, {len(d1.x_test):,} for testing), PyTorch's default init, Adam lr 1e-3, batch 64, {s['epochs']} epochs, no early stopping; the same MLP
(784 inputs) on MNIST 5k ({s['mnist_train_size'] or 3400} train images) for {s['mnist_epochs']} epochs. ECE with 15 equal-width bins on the test split;
mixup draws one λ ~ Beta(α, α) per batch and trains on the soft-target cross-entropy.

| run | test ECE per seed | test accuracy % per seed | mean confidence % per seed |
|---|---|---|---|
{table}

On MNIST-1D the baseline memorizes its train split and ends far more confident than accurate; both remedies pull
the confidence down to the accuracy. **Where the lecture's picture needs care:** on MNIST 5k the same baseline is
already nearly calibrated, and label smoothing (which caps the target probability at 0.91) makes it
*underconfident* — its ECE rises. Calibration remedies fix overconfidence; they are not free on a calibrated model.
Figure: reliability diagrams of seed {ctx.seeds[0]} (bars below the diagonal are overconfident)."""
    numbers.update({f"criterion: {k}": v for k, v in parts.items()})
    return Outcome(holds=all(parts.values()), numbers=numbers, figures=["reliability.png"], notes=notes)
