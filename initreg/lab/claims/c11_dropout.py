"""C11 (lecture R5, R6): classic and inverted dropout are the same model up to a rescaling of
the next layer's weights (and its learning rate); the weight-scaling prediction ≈ the
Monte-Carlo average for enough samples; dropout reduces overfitting on scarce data.

(a) Exact equivalence (fp64): two 784-128-128-10 ReLU MLPs with dropout p = 0.3 after each
hidden layer, one ``classic`` (train ``m⊙h``, test ``(1−p)h``) and one ``inverted`` (train
``m⊙h/(1−p)``, test ``h``), fed identical masks (each `initreg.nn.Dropout` has its own
seeded generator). With ``W_inv = (1−p)·W_cls`` for every layer that follows a dropout the
pre-activations agree; for plain SGD to keep them agreeing, the gradient of ``W_inv`` is
``1/(1−p)`` times that of ``W_cls``, so its learning rate must be ``(1−p)²`` times
classic's. Trained on 500 MNIST images, then eval-mode predictions compared; a control
run without the learning-rate rescaling shows the rescaling matters.

(b) Scarce data: 1000 train images, 784-512-512-10, SGD lr 0.02 momentum 0.9, batch 64,
with and without dropout p = 0.5 (inverted), PyTorch's default init. Paired by seed (same
split, init and batch order): the test-error difference of the two arms, judged by its
interval over seeds.

(c) Weight scaling vs MC: on the dropout net of (b), the weight-scaling prediction (eval
mode) against the Monte-Carlo average of N masks: the share of test images whose predicted
class differs, which must fall from N = 1 to N = 100 and be small (< 1%) at N = 100.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from initreg.data import Splits, load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.nn import Dropout
from initreg.regularize.mc_dropout import dropout_sampling, mc_predict, weight_scaling_predict
from initreg.train.multiseed import fit_seeds

_EQ = {"train_size": 500, "width": 128, "p": 0.3, "lr": 0.05, "batch_size": 50}
_SMALL = {"train_size": 1000, "width": 512, "p": 0.5, "lr": 0.02, "momentum": 0.9, "batch_size": 64}
_NS = [1, 2, 5, 10, 20, 50, 100]

SETTINGS = {
    "quick": {"eq_steps": 100, "epochs": 30},
    "full": {"eq_steps": 400, "epochs": 60},
}

CRITERIA = (
    Criterion("dropout_lowers_test_error", metric="test error without − with dropout", unit="pp", direction=">",
              threshold=0.0, text="paired by seed: same split, init and batch order"),
    Criterion("classic_equals_inverted", metric="max |Δ eval logits|, classic vs inverted (next-layer weights × (1−p), "
              "their lr × (1−p)²), fp64", unit="", direction="<", threshold=1e-9, kind="exact"),
    Criterion("lr_rescale_needed", metric="max |Δ eval logits|, classic vs inverted with the weights rescaled but the "
              "same lr", unit="", direction=">", threshold=1e-3, kind="exact",
              text="the learning-rate factor is part of the equivalence"),
    Criterion("mc_matches_weight_scaling", metric="test images whose class differs between the MC average of "
              "100 masks and weight scaling", unit="%", direction="<", threshold=1.0,
              text="'≈' read as: fewer than 1 in 100 test images classified differently"),
    Criterion("mc_converges_to_weight_scaling", metric="test images classified differently from weight scaling, "
              "MC with 1 mask − MC with 100 masks", unit="pp", direction=">", threshold=0.0),
)

NOTES = (
    "(a) classic vs inverted, p = {p}, fp64, {settings[eq_steps]} SGD steps (lr {eq_lr}, batch {eq_batch}) on "
    "{eq_train} images with identical masks: with the next layers' weights scaled by the keep probability ({keep:g}) at "
    "init and their lr by its square ({keep2:g}), the eval-mode logits agree to {eq_diff:.1e}; with the weights rescaled but the same "
    "lr they drift apart by {no_rescale[min]:.2g}–{no_rescale[max]:.2g}. So the two are the same *model* (same "
    "function class, same predictions) but not the same *training run* at the same learning rate: the lecture's "
    "\"approximately the same\" hides this learning-rate factor. (fp64 because in fp32 the scalings are exact "
    "only when the keep probability is a power of two.)\n\n"
    "(b) {small_train} train images, SGD lr {small_lr} momentum {small_momentum}, batch {small_batch}, "
    "{settings[epochs]} epochs: dropout {small_p} changes the test error from {err_none[mean]:.2%} to "
    "{err_drop[mean]:.2%}; paired gain {gain[mean]:.2f} pp (interval {gain[lo]:.2f} … {gain[hi]:.2f}; per seed "
    "{gain[min]:.2f}–{gain[max]:.2f}) over {n_seeds} seeds.\n\n"
    "(c) MC minus weight-scaling test accuracy: {mc_gap_words}; predicted classes differ on {disagree_words} of the "
    "test images at N = {disagree_ns}. One mask is a noisier predictor than weight scaling; with many masks the MC "
    "average and weight scaling classify nearly every test image alike."
)


def _next_layers(model: nn.Sequential) -> list[nn.Linear]:
    """The Linear layer right after each dropout (the weights the two modes scale differently)."""
    out, after = [], False
    for m in model:
        if isinstance(m, Dropout):
            after = True
        elif isinstance(m, nn.Linear) and after:
            out.append(m)
            after = False
    return out


def equivalence(data: Splits, seed: int, steps: int) -> dict[str, float]:
    """Train classic and inverted twins with identical masks; max |Δ eval logits| with and without lr rescaling."""
    s, p = _EQ, _EQ["p"]

    def twin(mode: str) -> nn.Sequential:
        m = build_model({"name": "mlp", "depth": 2, "width": s["width"], "dropout": p, "dropout_mode": mode,
                         "init": "torch"}, data.input_shape, data.num_outputs, seed=seed).double()
        for i, d in enumerate(x for x in m if isinstance(x, Dropout)):
            d.generator = torch.Generator().manual_seed(1000 * seed + i)
        return m

    x, y = data.x_train.double(), data.y_train
    xt = data.x_test.double()
    results = {}
    for rescale in (True, False):
        cls, inv = twin("classic"), twin("inverted")
        with torch.no_grad():
            for layer in _next_layers(inv):
                layer.weight.mul_(1 - p)
        nxt = {id(w.weight) for w in _next_layers(inv)}
        lr_next = s["lr"] * (1 - p) ** 2 if rescale else s["lr"]
        opt_c = torch.optim.SGD(cls.parameters(), lr=s["lr"])
        opt_i = torch.optim.SGD([{"params": [q for q in inv.parameters() if id(q) in nxt], "lr": lr_next},
                                 {"params": [q for q in inv.parameters() if id(q) not in nxt]}], lr=s["lr"])
        gen = torch.Generator().manual_seed(seed)
        cls.train()
        inv.train()
        for _ in range(steps):
            idx = torch.randint(0, len(x), (s["batch_size"],), generator=gen)
            for model, opt in ((cls, opt_c), (inv, opt_i)):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
        cls.eval()
        inv.eval()
        with torch.no_grad():
            oc, oi = cls(xt), inv(xt)
        results["max_diff" if rescale else "max_diff_no_lr_rescale"] = float((oc - oi).abs().max())
        if rescale:
            results["test_acc"] = float((oc.argmax(1) == data.y_test).float().mean())
            results["logit_scale"] = float(oc.abs().max())
    return results


def small_data(datas: list[Splits], seeds: list[int], p: float, epochs: int
               ) -> tuple[list[dict[str, float]], list[nn.Module]]:
    """One arm of (b) over all seeds, stacked (`fit_seeds`): copy k trains on seed k's split with
    model and train seed k (its own dropout masks), as one `fit` per seed would."""
    s = _SMALL
    models = [build_model({"name": "mlp", "depth": 2, "width": s["width"], "dropout": p, "init": "torch"},
                          d.input_shape, d.num_outputs, seed=seed) for d, seed in zip(datas, seeds)]
    steps = epochs * math.ceil(len(datas[0].x_train) / s["batch_size"])
    hists = fit_seeds(models, datas, {"optimizer": "sgd", "lr": s["lr"], "momentum": s["momentum"],
                                      "batch_size": s["batch_size"], "epochs": epochs, "eval_every": steps,
                                      "progress": "none"}, seeds=seeds)
    return [{"test_err": 1 - h.test["acc"], "test_loss": h.test["loss"]} for h in hists], models


def mc_gaps(model: nn.Module, data: Splits, seed: int) -> tuple[dict[int, float], dict[int, float]]:
    """Per N: MC accuracy minus weight-scaling accuracy, and the share of test images whose predicted
    class differs between the two (both in percentage points)."""
    ws_pred = weight_scaling_predict(model, data.x_test).argmax(1)
    ws = float((ws_pred == data.y_test).float().mean())
    gap, disagree = {}, {}
    # One chain of max(N) masks; the N-sample MC mean is the mean of its first N members (the same
    # estimator as mc_predict(samples=N), at a fraction of the cost); plus one independent mc_predict(N=50).
    total = None
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed * 7919)
        with dropout_sampling(model):
            for k in range(1, max(_NS) + 1):
                p = torch.softmax(model(data.x_test), dim=1).double()
                total = p if total is None else total + p
                if k in _NS:
                    pred = (total / k).argmax(1)
                    gap[k] = 100 * (float((pred == data.y_test).float().mean()) - ws)
                    disagree[k] = 100 * float((pred != ws_pred).float().mean())
    check, _ = mc_predict(model, data.x_test, samples=50, generator=torch.Generator().manual_seed(seed))
    gap["mc_predict"] = 100 * (float((check.argmax(1) == data.y_test).float().mean()) - ws)
    return gap, disagree


def effects(eq: list[dict[str, float]], small: dict[str, list[dict[str, float]]],
            disagree: list[dict[int, float]]) -> dict[str, list[float]]:
    """Per seed, each declared part's value (``disagree`` in % of test images per N)."""
    return {
        "dropout_lowers_test_error": [100 * (a["test_err"] - b["test_err"]) for a, b in zip(small["none"], small["dropout"])],
        "classic_equals_inverted": [r["max_diff"] for r in eq],
        "lr_rescale_needed": [r["max_diff_no_lr_rescale"] for r in eq],
        "mc_matches_weight_scaling": [d[100] for d in disagree],
        "mc_converges_to_weight_scaling": [d[1] - d[100] for d in disagree],
    }


def _figure(ctx: Context, gaps: list[dict[int, float]], disagree: list[dict[int, float]],
            small: dict[str, list[dict[str, float]]]) -> str:
    from initreg.plot import new_figure, save_figure

    fig, (a1, a3, a2) = new_figure(3, size=(4.6, 3.6))
    for i, d in enumerate(disagree):
        a3.plot(_NS, [d[n] for n in _NS], marker="o", ms=3, alpha=0.8, label=f"seed {ctx.seeds[i]}")
    a3.set_xscale("log")
    a3.set_xlabel("MC samples N")
    a3.set_ylabel("test images with a different class (%)")
    a3.set_title("MC vs weight-scaling predictions")
    for i, g in enumerate(gaps):
        a1.plot(_NS, [g[n] for n in _NS], marker="o", ms=3, alpha=0.8, label=f"seed {ctx.seeds[i]}")
    a1.axhline(0, color="k", lw=0.8)
    a1.axhspan(-1, 1, color="tab:green", alpha=0.1, label="±1 pp")
    a1.set_xscale("log")
    a1.set_xlabel("MC samples N")
    a1.set_ylabel("MC acc − weight-scaling acc (pp)")
    a1.set_title("MC dropout vs weight scaling")
    a1.legend(fontsize=7)
    for j, key in enumerate(("none", "dropout")):
        v = [100 * r["test_err"] for r in small[key]]
        a2.scatter([j] * len(v), v, s=16)
    for a, b in zip(small["none"], small["dropout"]):
        a2.plot([0, 1], [100 * a["test_err"], 100 * b["test_err"]], color="gray", lw=0.6)
    a2.set_xticks([0, 1], ["no dropout", f"dropout {_SMALL['p']}"])
    a2.set_ylabel("test error (%)")
    a2.set_title(f"{_SMALL['train_size']} train images, 784-512-512-10")
    save_figure(fig, ctx.figure("dropout.png"))
    return "dropout.png"


@experiment(
    "C11",
    title="Dropout: classic = inverted up to rescaling, weight scaling ≈ MC, less overfitting",
    statement=("Weight-scaling inference ≈ the Monte-Carlo average for enough samples; classic and inverted dropout "
               "are the same model up to a rescaling of the next layer's weights (and its learning rate); dropout "
               "reduces overfitting on scarce data."),
    criteria=CRITERIA,
    notes=NOTES,
    headline="dropout_lowers_test_error",
    lecture=("R5", "R6"),
    settings=SETTINGS,
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    small: dict[str, list[dict[str, float]]] = {"none": [], "dropout": []}
    gaps: list[dict[int, float]] = []
    disagree: list[dict[int, float]] = []
    seeds = list(ctx.seeds)
    # (a) trains lockstep twins by hand (identical masks in fp64), one seed at a time
    eq = [equivalence(load_data({"name": "mnist5k", "train_size": _EQ["train_size"], "seed": seed}), seed, st["eq_steps"])
          for seed in seeds]
    datas = [load_data({"name": "mnist5k", "train_size": _SMALL["train_size"], "seed": seed}) for seed in seeds]
    small["none"] = small_data(datas, seeds, 0.0, st["epochs"])[0]
    small["dropout"], models = small_data(datas, seeds, _SMALL["p"], st["epochs"])
    for i, (seed, model, data) in enumerate(zip(seeds, models, datas)):
        g, dis = mc_gaps(model, data, seed)
        gaps.append(g)
        disagree.append(dis)
        ctx.log(f"seed {seed}: eq {eq[i]['max_diff']:.1e}/{eq[i]['max_diff_no_lr_rescale']:.1e}, err "
                f"{small['none'][i]['test_err']:.4f}->{small['dropout'][i]['test_err']:.4f}, "
                f"disagree {dis}")
    meas = effects(eq, small, disagree)
    S = ctx.summarize
    p = _EQ["p"]
    numbers: dict[str, Any] = {
        "p": p, "keep": 1 - p, "keep2": (1 - p) ** 2, "eq_lr": _EQ["lr"], "eq_batch": _EQ["batch_size"],
        "eq_train": _EQ["train_size"], "small_train": _SMALL["train_size"], "small_lr": _SMALL["lr"],
        "small_momentum": _SMALL["momentum"], "small_batch": _SMALL["batch_size"], "small_p": _SMALL["p"],
        "eq_diff": max(meas["classic_equals_inverted"]),
        "no_rescale": S(meas["lr_rescale_needed"]),
        "err_none": S([r["test_err"] for r in small["none"]]),
        "err_drop": S([r["test_err"] for r in small["dropout"]]),
        "gain": S(meas["dropout_lowers_test_error"]),
        "test_loss_none": S([r["test_loss"] for r in small["none"]]),
        "test_loss_dropout": S([r["test_loss"] for r in small["dropout"]]),
        **{f"mc_gap_pp_N{n}": S([g[n] for g in gaps]) for n in _NS},
        "mc_predict_N50_gap_pp": S([g["mc_predict"] for g in gaps]),
        **{f"mc_disagree_pct_N{n}": S([d[n] for d in disagree]) for n in _NS},
    }
    numbers["mc_gap_words"] = ", ".join(f"N={n}: {numbers[f'mc_gap_pp_N{n}']['mean']:+.2f} pp" for n in _NS) + (
        f" (an independent mc_predict call with N=50: {numbers['mc_predict_N50_gap_pp']['mean']:+.2f} pp)")
    numbers["disagree_words"] = ", ".join(f"{numbers[f'mc_disagree_pct_N{n}']['mean']:.1f}%" for n in (1, 10, 100))
    numbers["disagree_ns"] = "1, 10, 100"
    fig = _figure(ctx, gaps, disagree, small)
    return Outcome(measurements=meas, numbers=numbers, figures=[fig])
