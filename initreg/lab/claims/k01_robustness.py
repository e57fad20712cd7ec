"""K1 (lecture K1): robustness — a model should be stable to noise and corrupted inputs; an
ordinarily trained one is not, and training with the corruption as augmentation makes it
more stable.

Set-up: scikit-learn's 8×8 digits (standardized: noise σ is in train-set standard
deviations), a 64-128-128-10 ReLU MLP, Adam 1e-3, batch 64, ``epochs`` epochs, trained twice
per seed — plainly, and with Gaussian noise of per-example σ ~ U[0, ``sigma_max``] added to
each training batch (`initreg.regularize.corrupt.Corrupt`). Both arms of a seed share the data
split, the initial weights and the batch order. Test accuracy is measured on clean test
images and on noisy copies at each σ of ``sigmas`` (the same noise draw for both models),
and — not judged, for the curve — under occlusion by a random square of each size of
``occlusions``.
"""

from __future__ import annotations

import torch

from initreg.data import load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.experiment import stacked_note
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize.corrupt import Corrupt, gaussian_noise, occlude
from initreg.train.multiseed import fit_seeds

_WIDTH = 128
SETTINGS = {"quick": {"epochs": 30, "sigma_max": 1.5, "sigmas": [0.0, 0.5, 1.0, 1.5], "occlusions": [0, 2, 4]},
            "full": {"epochs": 30, "sigma_max": 1.5, "sigmas": [0.0, 0.5, 1.0, 1.5], "occlusions": [0, 2, 4]}}
CRITERIA = (
    Criterion("noise_lowers_accuracy", metric="clean test accuracy − test accuracy at the largest σ, plain model",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06"),
    Criterion("augmentation_flattens", metric="accuracy drop at the largest σ, plain − noise-trained model", unit="pp",
              direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: same split, init, batch order and test noise"),
)
NOTES = (
    "Digits, an MLP with two hidden layers of {width}, {settings[epochs]} epochs. Test accuracy at noise σ = {sigma_list}: plain model "
    "{curve_plain}; trained with noise σ drawn uniformly up to {settings[sigma_max]}: {curve_aug}. Gaussian noise of σ = "
    "{sigma_top} costs the plain model {drop_plain[mean]:.1f} pp (CI {drop_plain[lo]:.1f} … {drop_plain[hi]:.1f}) "
    "and the noise-trained one {drop_aug[mean]:.1f} pp: training with the corruption flattens the curve by "
    "{flatten[mean]:.1f} pp (CI {flatten[lo]:.1f} … {flatten[hi]:.1f}); its clean accuracy changes by "
    "{clean_cost[mean]:+.1f} pp. Under occlusion by a square of side {occ_list} pixels (not judged; a corruption it "
    "was not trained on): plain {occ_plain}, noise-trained {occ_aug}."
)


def accuracy_curves(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, sigmas: list[float],
                    occlusions: list[int], seed: int) -> dict[str, list[float]]:
    """Test accuracy (%) under Gaussian noise of each σ and occlusion of each square size;
    the corruption draws depend on ``seed`` only, so two models see the same corrupted images."""
    model.eval()
    out: dict[str, list[float]] = {"noise": [], "occlusion": []}
    with torch.no_grad():
        for i, s in enumerate(sigmas):
            xn = gaussian_noise(x, s, generator=torch.Generator().manual_seed(10_000 * seed + i))
            out["noise"].append(100 * float((model(xn).argmax(1) == y).float().mean()))
        for i, k in enumerate(occlusions):
            xo = occlude(x, k, image_shape=[1, 8, 8], generator=torch.Generator().manual_seed(20_000 * seed + i))
            out["occlusion"].append(100 * float((model(xo).argmax(1) == y).float().mean()))
    return out


def _figure(ctx: Context, st: dict, curves: dict[str, list[dict[str, list[float]]]]) -> str:
    from initreg.plot import new_figure, save_figure

    fig, (a1, a2) = new_figure(2)
    for arm, color in (("plain", "tab:red"), ("noise-trained", "tab:blue")):
        for j, c in enumerate(curves[arm]):
            a1.plot(st["sigmas"], c["noise"], marker="o", color=color, alpha=0.7, label=arm if j == 0 else None)
            a2.plot(st["occlusions"], c["occlusion"], marker="o", color=color, alpha=0.7, label=arm if j == 0 else None)
    a1.set_xlabel("test noise σ (train-set std)")
    a1.set_ylabel("test accuracy (%)")
    a1.set_title("K1: Gaussian noise")
    a1.legend(fontsize=7)
    a2.set_xlabel("occluded square side (pixels of 8)")
    a2.set_title("occlusion (not trained on)")
    save_figure(fig, ctx.figure("robustness.png"))
    return "robustness.png"


@experiment("K1", title="Robustness: accuracy falls under noise; noise augmentation flattens the curve",
            lecture=("K1",),
            statement=("A model should be stable to noise and corrupted inputs: an ordinarily trained model's accuracy "
                       "falls as its inputs are corrupted, and training with the corruption as augmentation makes the "
                       "fall smaller."),
            criteria=CRITERIA, notes=NOTES, headline="augmentation_flattens", settings=SETTINGS, order=18.1)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    curves: dict[str, list[dict[str, list[float]]]] = {"plain": [], "noise-trained": []}
    seeds = list(ctx.seeds)
    datas = [load_data({"name": "digits", "seed": seed}) for seed in seeds]
    cfg = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": st["epochs"], "progress": "none",
           "evaluate_test": False}
    notes = {}
    for arm, cbs in (("plain", lambda k: []), ("noise-trained", lambda k: [Corrupt(st["sigma_max"])])):
        models = [build_model({"name": "mlp", "depth": 2, "width": _WIDTH}, d.input_shape, d.num_outputs, seed=seed)
                  for d, seed in zip(datas, seeds)]
        hs = fit_seeds(models, datas, cfg, seeds=seeds, callbacks=cbs)  # copy k: seed k's split, init, batch order
        notes[arm] = stacked_note(hs, f"{arm} models")
        curves[arm] = [accuracy_curves(m, d.x_test, d.y_test, st["sigmas"], st["occlusions"], seed)
                       for m, d, seed in zip(models, datas, seeds)]
    for i, seed in enumerate(seeds):
        ctx.log(f"seed {seed}: {curves['plain'][i]} / {curves['noise-trained'][i]}")
    drop = {arm: [c["noise"][0] - c["noise"][-1] for c in cs] for arm, cs in curves.items()}
    flatten = [a - b for a, b in zip(drop["plain"], drop["noise-trained"])]
    S = ctx.summarize

    def mean_curve(arm: str, key: str) -> str:
        cs = curves[arm]
        return ", ".join(f"{sum(c[key][i] for c in cs) / len(cs):.1f}%" for i in range(len(cs[0][key])))

    numbers = {"width": _WIDTH, "stacked": notes, "drop_plain": S(drop["plain"]), "drop_aug": S(drop["noise-trained"]), "flatten": S(flatten),
               "clean_cost": S([b["noise"][0] - a["noise"][0] for a, b in zip(curves["plain"], curves["noise-trained"])]),
               "curves": curves, "sigma_list": ", ".join(f"{s:g}" for s in st["sigmas"]), "sigma_top": f"{st['sigmas'][-1]:g}",
               "occ_list": ", ".join(str(k) for k in st["occlusions"]),
               "curve_plain": mean_curve("plain", "noise"), "curve_aug": mean_curve("noise-trained", "noise"),
               "occ_plain": mean_curve("plain", "occlusion"), "occ_aug": mean_curve("noise-trained", "occlusion")}
    return Outcome(measurements={"noise_lowers_accuracy": drop["plain"], "augmentation_flattens": flatten},
                   numbers=numbers, figures=[_figure(ctx, st, curves)])
