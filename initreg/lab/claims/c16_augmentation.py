"""C16 (lecture R11, K1): augmentation with label-preserving transforms (rotations for digits)
improves robustness to them at little clean cost; a transform that is not label-preserving
(horizontal flips of digits) costs accuracy.

Set-up: mnist5k (one global mean/std), an MLP (784-256-256-10) and a small CNN (two 3×3
conv blocks, then a hidden layer), PyTorch's default init, Adam 1e-3, batch 64. Three arms
per model and seed — no augmentation, random rotations in ±45° (kornia affine warp, border
padding), horizontal flips — each applied to a training image with probability 0.5. One
seed gives the three arms the same data split, init and batch order; all seeds and arms of a
model train as one stacked model (`fit_seeds`: copy k on its seed's split, with its arm's
augmentation on its own random stream, exactly as a separate run). Test sets: the clean
test split and the same images rotated by fixed random angles in ±45° (robustness to the
transformation, K1). Per model, three paired effects: the rotated-test gain of rotation
training (> 0), its clean-test cost (< 1 pp: "little"), and the clean-test cost of flip
training (> 1 pp: a cost of at least 1 pp, ten test images in a thousand, not a
one-image difference). Quick mode uses fewer images, epochs and CNN channels.
"""

from __future__ import annotations

from typing import Any

import torch

from ...data import load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.augment import ImageAugment, rotate_images
from ...train.multiseed import fit_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

_MLP = {"name": "mlp", "depth": 2, "width": 256, "init": "torch"}
SETTINGS = {
    "quick": {"rotation": 45.0, "p": 0.5, "models": {
        "mlp": {"model": _MLP, "flatten": True, "train_size": 1000, "epochs": 8},
        "cnn": {"model": {"name": "cnn", "channels": [4, 8], "hidden": 32, "init": "torch"}, "flatten": False,
                "train_size": 800, "epochs": 6}}},
    "full": {"rotation": 45.0, "p": 0.5, "models": {
        "mlp": {"model": _MLP, "flatten": True, "train_size": None, "epochs": 20},
        "cnn": {"model": {"name": "cnn", "channels": [16, 32], "hidden": 64, "init": "torch"}, "flatten": False,
                "train_size": None, "epochs": 20}}},
}
_ROTATION_COST = 1.0  # pp: "little" clean cost; the same 1 pp that counts as a real cost for flips


def _criteria(model: str) -> tuple[Criterion, ...]:
    return (
        Criterion(f"{model}_rotated_gain", metric=f"{model.upper()}: rotated-test accuracy with − without rotation "
                  "augmentation", unit="pp", direction=">", threshold=0.0,
                  text="paired by seed: same split, init and batch order"),
        Criterion(f"{model}_rotation_clean_cost", metric=f"{model.upper()}: clean-test accuracy without − with rotation "
                  "augmentation", unit="pp", direction="<", threshold=_ROTATION_COST,
                  text="'little clean cost' read as less than 1 pp, the size of a real cost in the flip part"),
        Criterion(f"{model}_flip_cost", metric=f"{model.upper()}: clean-test accuracy without − with horizontal-flip "
                  "augmentation", unit="pp", direction=">", threshold=1.0,
                  text="a cost of at least 1 pp (10 test images per 1,000), not a one-image difference"),
    )


CRITERIA = _criteria("mlp") + _criteria("cnn")

NOTES = (
    "Set-up ({settings[p]:g} probability per training image, rotations in ±{settings[rotation]:g}°): {setup_words}. "
    "Over {n_seeds} seeds, paired by seed — MLP: rotations add {mlp_rotated_gain[mean]:.1f} pp on the rotated test "
    "set (interval {mlp_rotated_gain[lo]:.1f} … {mlp_rotated_gain[hi]:.1f}) and cost "
    "{mlp_rotation_clean_cost[mean]:.2f} pp clean ({mlp_rotation_clean_cost[lo]:.2f} … "
    "{mlp_rotation_clean_cost[hi]:.2f}); flips cost {mlp_flip_cost[mean]:.2f} pp clean ({mlp_flip_cost[lo]:.2f} … "
    "{mlp_flip_cost[hi]:.2f}). CNN: rotations add {cnn_rotated_gain[mean]:.1f} pp ({cnn_rotated_gain[lo]:.1f} … "
    "{cnn_rotated_gain[hi]:.1f}) and cost {cnn_rotation_clean_cost[mean]:.2f} pp clean "
    "({cnn_rotation_clean_cost[lo]:.2f} … {cnn_rotation_clean_cost[hi]:.2f}); flips cost {cnn_flip_cost[mean]:.2f} "
    "pp ({cnn_flip_cost[lo]:.2f} … {cnn_flip_cost[hi]:.2f}).\n\n{table}\n\n"
    "**Why \"rotations and flips\" depends on the data:** augmentation tells the model that `T(x)` has the label of "
    "`x`. A moderate rotation keeps a digit's identity, so the model learns an invariance the test data can need. A "
    "mirror image of most digits is not a digit at all, and a mirrored two resembles a five: flip augmentation feeds "
    "the model mislabelled look-alikes and removes information it needs (handedness). Flips are label-preserving for "
    "natural photos (a mirrored cat is a cat) and for symmetric shapes, not for text or digits; likewise rotations "
    "by half a turn would turn a six into a nine. The same flip training makes mirrored digits easy to classify "
    "(last column), which is exactly the invariance one should *not* want here."
)


def _arms(rotation: float, p: float) -> dict[str, ImageAugment | None]:
    return {"baseline": None,
            "rotations": ImageAugment(rotation=rotation, p=p),
            "horizontal flips": ImageAugment(hflip=p)}


def _acc(model, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return 100 * float((model(x).argmax(1) == y).float().mean())


def _model_runs(ctx: Context, model_name: str) -> tuple[list[dict[str, Any]], Any]:
    """Per seed, the three arms' clean / rotated / mirrored test accuracies of model ``model_name``:
    every (seed, arm) pair is one copy of a stacked model (`fit_seeds`), trained on its seed's split
    (model and train seed ``seed``) with its arm's augmentation."""
    s = ctx.settings
    m = s["models"][model_name]
    cfg = m["model"]
    datas = {seed: load_data({"name": "mnist5k", "seed": seed, "train_size": m["train_size"], "flatten": m["flatten"]})
             for seed in ctx.seeds}
    arms = list(_arms(s["rotation"], s["p"]))
    copies = [(seed, arm) for arm in arms for seed in ctx.seeds]
    models = [build_model(cfg, datas[seed].input_shape, datas[seed].num_outputs, seed=seed) for seed, _ in copies]

    def callbacks(k: int) -> list[ImageAugment]:
        aug = _arms(s["rotation"], s["p"])[copies[k][1]]  # a fresh instance per copy
        return [aug] if aug is not None else []

    hists = fit_seeds(models, [datas[seed] for seed, _ in copies],
                      {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": m["epochs"], "progress": "none",
                       "evaluate_test": False}, seeds=[seed for seed, _ in copies], callbacks=callbacks)
    trained = dict(zip(copies, models))
    out: list[dict[str, Any]] = []
    for seed in ctx.seeds:
        data = datas[seed]
        shape = data.meta["image_shape"]
        xt = data.x_test.reshape(-1, *shape)
        g = torch.Generator().manual_seed(10_000 + seed)  # the rotated test set: fixed random angles in ±rotation
        angles = (torch.rand(len(xt), generator=g) * 2 - 1) * s["rotation"]
        x_rot = rotate_images(xt, angles).reshape(data.x_test.shape)
        x_flip = xt.flip(3).reshape(data.x_test.shape)
        r: dict[str, Any] = {}
        for arm in arms:
            model = trained[(seed, arm)]
            r[arm] = {"clean": _acc(model, data.x_test, data.y_test), "rotated": _acc(model, x_rot, data.y_test),
                      "flipped": _acc(model, x_flip, data.y_test)}
        r["examples"] = (xt[:6], rotate_images(xt[:6], angles[:6]), xt[:6].flip(3), data.y_test[:6])
        out.append(r)
    return out, hists


def effects(runs: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Per model and seed (pp): rotated-test gain of rotations, clean cost of rotations, clean cost of flips."""
    out: dict[str, list[float]] = {}
    for m, rs in runs.items():
        out[f"{m}_rotated_gain"] = [r["rotations"]["rotated"] - r["baseline"]["rotated"] for r in rs]
        out[f"{m}_rotation_clean_cost"] = [r["baseline"]["clean"] - r["rotations"]["clean"] for r in rs]
        out[f"{m}_flip_cost"] = [r["baseline"]["clean"] - r["horizontal flips"]["clean"] for r in rs]
    return out


@experiment(
    "C16",
    title="Augmentation: rotations help on rotated digits, flips hurt",
    statement="Augmentation with label-preserving transforms (rotations for digits) improves robustness to them at "
              "little clean cost; a transform that is not label-preserving (horizontal flips of digits) costs accuracy.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="cnn_rotated_gain",
    settings=SETTINGS,
    lecture=("R11",),
)
def run(ctx: Context) -> Outcome:
    torch.set_num_threads(1)
    s = ctx.settings
    trained = {m: _model_runs(ctx, m) for m in s["models"]}
    runs = {m: t[0] for m, t in trained.items()}
    meas = effects(runs)
    numbers: dict[str, Any] = {k: ctx.summarize(v) for k, v in meas.items()}
    rows = []
    for m, rs in runs.items():
        for arm in ("baseline", "rotations", "horizontal flips"):
            for test in ("clean", "rotated", "flipped"):
                numbers[f"{m}: {arm} on {test} %"] = ctx.summarize([r[arm][test] for r in rs])
            rows.append(f"| {m} | {arm} | " + " | ".join(
                ", ".join(f"{r[arm][t]:.1f}" for r in rs) for t in ("clean", "rotated", "flipped")) + " |")
    # Figure: example images and accuracies per arm.
    xs, xr, xf, ys = runs[next(iter(s["models"]))][0]["examples"]
    fig, axes = new_figure(6, 4, size=(1.3, 1.3))
    for j in range(6):
        for i, (img, lab) in enumerate(((xs, "test"), (xr, "rotated"), (xf, "flipped"))):
            ax = axes[i * 6 + j]
            ax.imshow(img[j, 0].numpy(), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(lab, fontsize=8)
        axes[18 + j].set_visible(False)
    ax = fig.add_subplot(4, 1, 4)
    labels, width = ["clean", "rotated", "flipped"], 0.8 / (3 * len(runs))
    k = 0
    for m, rs in runs.items():
        for arm in ("baseline", "rotations", "horizontal flips"):
            vals = [sum(r[arm][t] for r in rs) / len(rs) for t in labels]
            ax.bar([i + (k - (3 * len(runs) - 1) / 2) * width for i in range(3)], vals, width, label=f"{m}: {arm}")
            k += 1
    ax.set_xticks(range(3), [f"{t} test" for t in labels])
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, ctx.figure("augmentation.png"))
    numbers["table"] = ("| model | training | clean test % (per seed) | rotated test % | mirrored test % |\n"
                        "|---|---|---|---|---|\n" + "\n".join(rows))
    numbers["setup_words"] = "; ".join(
        f"{m.upper()}{' channels ' + str(v['model']['channels']) if 'channels' in v['model'] else ''} on "
        f"{v['train_size'] or 'all'} train images, {v['epochs']} epochs" for m, v in s["models"].items())
    numbers["vectorized"] = {m: t[1].vectorized for m, t in trained.items()}
    numbers["stacked"] = "; ".join(
        f"{m.upper()}: {len(t[1])} runs ({len(ctx.seeds)} seeds × {len(t[1]) // len(ctx.seeds)} arms) trained as one "
        f"stacked model" if t[1].vectorized else f"{m.upper()}: {stacked_note(t[1], 'runs')}" for m, t in trained.items())
    return Outcome(measurements=meas, numbers=numbers, figures=["augmentation.png"])
