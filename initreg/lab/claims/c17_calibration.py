"""C17 (lecture R12, R13): mixup and label smoothing reduce the calibration error of an
overconfident model (and label smoothing can overshoot into underconfidence on an already
calibrated one).

Overconfident model: a 40-256-256-10 ReLU MLP (PyTorch's default init) trained with Adam
1e-3, batch 64, without early stopping, on MNIST-1D generated with 20,000 sequences (3,400
for training — the regime of the package's 5,000-sequence set — and 4,000 for testing, so a
difference of two models' accuracies has a standard error near 1 pp). Arms: no remedy,
label smoothing 0.1, mixup with α = 0.2 (one λ ~ Beta(α, α) per batch, soft-target
cross-entropy). Calibrated model: the same MLP on 1,000 mnist5k images, with and without
label smoothing. ECE uses 15 equal-width bins on the test split. One seed gives every arm
the same init and batch order; the data split is the same for every seed (data seed
``data_seed``), so the seeds' no-remedy and label-smoothing models train as one stacked model
each (`initreg.train.multiseed`); the mixup arm stacks where its callback can run per copy.
"""

from __future__ import annotations

from typing import Any

import torch

from ...data import load_data
from ...metrics import expected_calibration_error
from ...metrics.reliability import reliability_figure
from ...models import build_model
from ...regularize.mixup import Mixup
from ...train.multiseed import fit_seeds, train_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

_MODEL = {"name": "mlp", "depth": 2, "width": 256, "init": "torch"}
_TRAIN = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}
_COMMON = {"num_samples": 20_000, "train_size": 3400, "data_seed": 0, "label_smoothing": 0.1, "mixup_alpha": 0.2,
           "mnist_train_size": 1000, "mnist_epochs": 20}
SETTINGS = {"quick": {**_COMMON, "epochs": 40}, "full": {**_COMMON, "epochs": 60}}

CRITERIA = (
    Criterion("mixup_lowers_ece", metric="MNIST-1D test ECE without − with mixup", unit="pp", direction=">",
              threshold=0.0, text="paired by seed: same split, init and batch order"),
    Criterion("label_smoothing_lowers_ece", metric="MNIST-1D test ECE without − with label smoothing", unit="pp",
              direction=">", threshold=0.0, text="paired by seed"),
    Criterion("baseline_overconfident", metric="MNIST-1D without a remedy: mean confidence − accuracy on the test "
              "split", unit="pp", direction=">", threshold=0.0, text="the claim's premise: an overconfident model"),
    Criterion("smoothing_underconfident_when_calibrated", metric="mnist5k with label smoothing: mean confidence − "
              "accuracy on the test split", unit="pp", direction="<", threshold=0.0,
              text="the overshoot into underconfidence"),
)

NOTES = (
    "MNIST-1D ({train_size} training and {test_size} test sequences, {settings[epochs]} epochs; {stacked}; {stacked_mixup}): the "
    "model without a remedy ends {overconf[mean]:.1f} pp more confident than accurate (interval {overconf[lo]:.1f} … "
    "{overconf[hi]:.1f}). Mixup (α = {settings[mixup_alpha]:g}) lowers its test ECE from {ece_base[mean]:.3f} to "
    "{ece_mixup[mean]:.3f} (paired drop {mixup_drop[mean]:.1f} pp, interval {mixup_drop[lo]:.1f} … "
    "{mixup_drop[hi]:.1f}); label smoothing ({settings[label_smoothing]:g}) to {ece_ls[mean]:.3f} (drop "
    "{ls_drop[mean]:.1f} pp, {ls_drop[lo]:.1f} … {ls_drop[hi]:.1f}). Test accuracy: {acc_base[mean]:.1f}% without, "
    "{acc_mixup[mean]:.1f}% with mixup (paired change {acc_mixup_change[mean]:+.1f} pp, interval "
    "{acc_mixup_change[lo]:+.1f} … {acc_mixup_change[hi]:+.1f}), {acc_ls[mean]:.1f}% with label smoothing "
    "({acc_ls_change[mean]:+.1f} pp, {acc_ls_change[lo]:+.1f} … {acc_ls_change[hi]:+.1f}).\n\n"
    "mnist5k ({settings[mnist_train_size]} train images, {settings[mnist_epochs]} epochs): without a remedy the "
    "model is nearly calibrated (ECE {mn_ece_base[mean]:.3f}, confidence − accuracy {mn_overconf_base[mean]:+.1f} "
    "pp); label smoothing pushes the mean confidence {mn_underconf[mean]:.1f} pp from the accuracy (interval "
    "{mn_underconf[lo]:.1f} … {mn_underconf[hi]:.1f}; negative = underconfident) and moves its ECE to "
    "{mn_ece_ls[mean]:.3f}. Calibration remedies fix overconfidence; they are not free on a calibrated model.\n\n"
    "{table}\n\nFigure: reliability diagrams of seed {seeds[0]} (bars below the diagonal are overconfident)."
)


def _scores(model: torch.nn.Module, data) -> dict[str, Any]:
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(data.x_test), 1)
    acc = float((probs.argmax(1) == data.y_test).float().mean())
    conf = float(probs.max(1).values.mean())
    return {"ece": expected_calibration_error(probs, data.y_test), "acc": 100 * acc, "conf": 100 * conf,
            "probs": probs}


def train_arm(data, seeds: list[int], epochs: int, *, label_smoothing: float = 0.0,
              mixup_alpha: float | None = None) -> tuple[list[dict[str, Any]], Any]:
    """One arm for every seed: the per-seed test scores, and the `SeedsResult` (the mixup arm's seeds stack
    where the `Mixup` callback can run per copy, else they train one at a time)."""
    cfg = {**_TRAIN, "label_smoothing": label_smoothing, "epochs": epochs, "progress": "none"}
    if mixup_alpha is None:
        models, hs = train_seeds(_MODEL, data, cfg, seeds)
        return [_scores(m, data) for m in models], hs
    models = [build_model(_MODEL, data.input_shape, data.num_outputs, seed=seed) for seed in seeds]
    hs = fit_seeds(models, data, {**cfg, "evaluate_test": False}, seeds=seeds,
                   callbacks=lambda k: [Mixup(alpha=mixup_alpha)])
    return [_scores(m, data) for m in models], hs


def effects(res: dict[str, list[dict[str, Any]]], mn: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Per seed, each declared part's value (ECE in pp; confidence and accuracy already in %)."""
    return {
        "mixup_lowers_ece": [100 * (b["ece"] - r["ece"]) for b, r in zip(res["baseline"], res["mixup"])],
        "label_smoothing_lowers_ece": [100 * (b["ece"] - r["ece"]) for b, r in zip(res["baseline"], res["smoothing"])],
        "baseline_overconfident": [b["conf"] - b["acc"] for b in res["baseline"]],
        "smoothing_underconfident_when_calibrated": [r["conf"] - r["acc"] for r in mn["smoothing"]],
    }


@experiment(
    "C17",
    title="Calibration: mixup and label smoothing vs an overconfident baseline",
    statement="Mixup and label smoothing reduce the calibration error of an overconfident model (label smoothing "
              "can overshoot into underconfidence on an already calibrated one).",
    criteria=CRITERIA,
    notes=NOTES,
    headline="mixup_lowers_ece",
    settings=SETTINGS,
    lecture=("R12", "R13"),
)
def run(ctx: Context) -> Outcome:
    torch.set_num_threads(1)
    s = ctx.settings
    seeds = list(ctx.seeds)
    d1 = load_data({"name": "mnist1d", "seed": s["data_seed"], "train_size": s["train_size"],
                    "options": {"num_samples": s["num_samples"]}})
    res: dict[str, list[dict[str, Any]]] = {}
    res["baseline"], hs = train_arm(d1, seeds, s["epochs"])
    res["smoothing"], _ = train_arm(d1, seeds, s["epochs"], label_smoothing=s["label_smoothing"])
    res["mixup"], hs_mix = train_arm(d1, seeds, s["epochs"], mixup_alpha=s["mixup_alpha"])
    d2 = load_data({"name": "mnist5k", "seed": s["data_seed"], "train_size": s["mnist_train_size"]})
    mn: dict[str, list[dict[str, Any]]] = {}
    mn["baseline"], _ = train_arm(d2, seeds, s["mnist_epochs"])
    mn["smoothing"], _ = train_arm(d2, seeds, s["mnist_epochs"], label_smoothing=s["label_smoothing"])
    meas = effects(res, mn)
    names = {"baseline": "no remedy", "smoothing": f"label smoothing {s['label_smoothing']:g}",
             "mixup": f"mixup α={s['mixup_alpha']:g}"}
    panels = {f"MNIST-1D {names[a]}": (res[a][0]["probs"], d1.y_test) for a in res}
    panels.update({f"mnist5k {names[a]}": (mn[a][0]["probs"], d2.y_test) for a in mn})
    reliability_figure(panels, ctx.figure("reliability.png"), ncols=3)
    S = ctx.summarize

    def row(name: str, rs: list[dict[str, Any]]) -> str:
        cols = [", ".join(f"{r['ece']:.3f}" for r in rs), ", ".join(f"{r['acc']:.1f}" for r in rs),
                ", ".join(f"{r['conf']:.1f}" for r in rs)]
        return f"| {name} | " + " | ".join(cols) + " |"

    table = "\n".join(["| run | test ECE per seed | test accuracy % per seed | mean confidence % per seed |",
                       "|---|---|---|---|"] + [row(f"MNIST-1D, {names[a]}", rs) for a, rs in res.items()]
                      + [row(f"mnist5k, {names[a]}", rs) for a, rs in mn.items()])
    numbers: dict[str, Any] = {
        "train_size": len(d1.x_train), "test_size": len(d1.x_test),
        "stacked": stacked_note(hs, "no-remedy models"), "vectorized": hs.vectorized,
        "stacked_mixup": stacked_note(hs_mix, "mixup models"),
        "overconf": S(meas["baseline_overconfident"]),
        "ece_base": S([r["ece"] for r in res["baseline"]]),
        "ece_mixup": S([r["ece"] for r in res["mixup"]]),
        "ece_ls": S([r["ece"] for r in res["smoothing"]]),
        "mixup_drop": S(meas["mixup_lowers_ece"]),
        "ls_drop": S(meas["label_smoothing_lowers_ece"]),
        "acc_base": S([r["acc"] for r in res["baseline"]]),
        "acc_mixup": S([r["acc"] for r in res["mixup"]]),
        "acc_ls": S([r["acc"] for r in res["smoothing"]]),
        "acc_mixup_change": S([r["acc"] - b["acc"] for b, r in zip(res["baseline"], res["mixup"])]),
        "acc_ls_change": S([r["acc"] - b["acc"] for b, r in zip(res["baseline"], res["smoothing"])]),
        "mn_ece_base": S([r["ece"] for r in mn["baseline"]]),
        "mn_ece_ls": S([r["ece"] for r in mn["smoothing"]]),
        "mn_overconf_base": S([r["conf"] - r["acc"] for r in mn["baseline"]]),
        "mn_underconf": S(meas["smoothing_underconfident_when_calibrated"]),
        "table": table,
    }
    return Outcome(measurements=meas, numbers=numbers, figures=["reliability.png"])
