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
with and without dropout p = 0.5 (inverted), PyTorch's default init.

(c) Weight scaling vs MC: on the dropout net of (b), the test accuracy of the
weight-scaling prediction (eval mode) against `initreg.regularize.mc_predict` with N masks.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from initreg.data import Splits, load_data
from initreg.lab import Context, Outcome, experiment
from initreg.models import build_model
from initreg.nn import Dropout
from initreg.regularize.mc_dropout import dropout_sampling, mc_predict, weight_scaling_predict
from initreg.train import fit

_EQ = {"train_size": 500, "width": 128, "p": 0.3, "lr": 0.05, "batch_size": 50}
_SMALL = {"train_size": 1000, "width": 512, "p": 0.5, "lr": 0.02, "momentum": 0.9, "batch_size": 64}
_NS = [1, 2, 5, 10, 20, 50, 100]

CRITERION = (
    "(a) for every seed, after training in fp64 the classic model (lr γ) and the inverted model (next-layer "
    "weights × (1−p) at init, their lr × (1−p)²) give eval-mode logits equal to 1e-9, while without the lr "
    "rescaling they differ by more than 1e-3; (b) for every seed dropout 0.5 lowers the test error by at least "
    "0.5 pp; (c) for every seed the MC prediction's accuracy is within 1 pp of weight scaling at N = 50 and "
    "N = 100 (and an independent mc_predict call with N = 50), and the share of test images where their "
    "predicted classes differ at N = 100 is at most half of "
    "that at N = 1"
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


def small_data(data: Splits, seed: int, p: float, epochs: int) -> tuple[dict[str, float], nn.Module]:
    s = _SMALL
    model = build_model({"name": "mlp", "depth": 2, "width": s["width"], "dropout": p, "init": "torch"},
                        data.input_shape, data.num_outputs, seed=seed)
    steps = epochs * math.ceil(len(data.x_train) / s["batch_size"])
    hist = fit(model, data, {"optimizer": "sgd", "lr": s["lr"], "momentum": s["momentum"], "batch_size": s["batch_size"],
                             "epochs": epochs, "eval_every": steps, "seed": seed, "progress": "none"})
    return {"test_err": 1 - hist.test["acc"], "test_loss": hist.test["loss"]}, model


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


def verdict(eq: list[dict[str, float]], small: dict[str, list[dict[str, float]]], gaps: list[dict[int, float]],
            disagree: list[dict[int, float]]) -> dict[str, bool]:
    return {
        "classic_equals_inverted": all(r["max_diff"] <= 1e-9 and r["max_diff_no_lr_rescale"] > 1e-3 for r in eq),
        "dropout_lowers_test_error": all(b["test_err"] - a["test_err"] >= 0.005
                                         for a, b in zip(small["dropout"], small["none"])),
        "mc_matches_weight_scaling": all(abs(g[50]) <= 1.0 and abs(g[100]) <= 1.0 and abs(g.get("mc_predict", 0.0)) <= 1.0
                                         for g in gaps)
        and all(d[100] <= 0.5 * d[1] for d in disagree),
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
    criterion=CRITERION,
    lecture=("R5", "R6"),
    settings={
        "quick": {"eq_steps": 150, "epochs": 40},
        "full": {"eq_steps": 400, "epochs": 60},
    },
)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    eq: list[dict[str, float]] = []
    small: dict[str, list[dict[str, float]]] = {"none": [], "dropout": []}
    gaps: list[dict[int, float]] = []
    disagree: list[dict[int, float]] = []
    for seed in ctx.seeds:
        eq.append(equivalence(load_data({"name": "mnist5k", "train_size": _EQ["train_size"], "seed": seed}), seed,
                              st["eq_steps"]))
        data = load_data({"name": "mnist5k", "train_size": _SMALL["train_size"], "seed": seed})
        small["none"].append(small_data(data, seed, 0.0, st["epochs"])[0])
        res, model = small_data(data, seed, _SMALL["p"], st["epochs"])
        small["dropout"].append(res)
        g, dis = mc_gaps(model, data, seed)
        gaps.append(g)
        disagree.append(dis)
        ctx.log(f"seed {seed}: eq {eq[-1]['max_diff']:.1e}/{eq[-1]['max_diff_no_lr_rescale']:.1e}, err "
                f"{small['none'][-1]['test_err']:.4f}->{small['dropout'][-1]['test_err']:.4f}, gaps {gaps[-1]}, "
                f"disagree {disagree[-1]}")
    parts = verdict(eq, small, gaps, disagree)
    S = ctx.summarize
    numbers: dict[str, Any] = {
        "classic_vs_inverted_max_logit_diff": max(r["max_diff"] for r in eq),
        "without_lr_rescale_max_logit_diff": S([r["max_diff_no_lr_rescale"] for r in eq]),
        "test_err_none": S([r["test_err"] for r in small["none"]]),
        "test_err_dropout": S([r["test_err"] for r in small["dropout"]]),
        "test_err_drop_pp": S([100 * (a["test_err"] - b["test_err"]) for a, b in zip(small["none"], small["dropout"])]),
        "test_loss_none": S([r["test_loss"] for r in small["none"]]),
        "test_loss_dropout": S([r["test_loss"] for r in small["dropout"]]),
        **{f"mc_gap_pp_N{n}": S([g[n] for g in gaps]) for n in _NS},
        "mc_predict_N50_gap_pp": S([g["mc_predict"] for g in gaps]),
        **{f"mc_disagree_pct_N{n}": S([d[n] for d in disagree]) for n in _NS},
        "parts": parts,
    }
    fig = _figure(ctx, gaps, disagree, small)
    p = _EQ["p"]
    notes = (
        f"(a) classic vs inverted, p = {p}, fp64, {st['eq_steps']} SGD steps (lr {_EQ['lr']}, batch {_EQ['batch_size']}) "
        f"on {_EQ['train_size']} images with identical masks: with the next layers' weights × (1−p) = {1 - p:g} at init "
        f"and their lr × (1−p)² = {(1 - p) ** 2:g}, the eval-mode logits agree to "
        f"{numbers['classic_vs_inverted_max_logit_diff']:.1e}; with the weights rescaled but the same lr they drift "
        f"apart by {numbers['without_lr_rescale_max_logit_diff']['mean']:.2g}. So the two are the same *model* "
        "(same function class, same predictions) but not the same *training run* at the same learning rate: the "
        "lecture's \"approximately the same\" hides this learning-rate factor. (The issue's sizing runs found that "
        "in fp32 the match is bitwise only for p = 0.5, where the scalings are exact powers of two; hence fp64.)\n\n"
        f"(b) {_SMALL['train_size']} train images, 784-512-512-10 (PyTorch default init), SGD lr {_SMALL['lr']} "
        f"momentum {_SMALL['momentum']}, batch {_SMALL['batch_size']}, {st['epochs']} epochs: dropout "
        f"{_SMALL['p']} lowers the test error from {100 * numbers['test_err_none']['mean']:.1f}% to "
        f"{100 * numbers['test_err_dropout']['mean']:.1f}% ({numbers['test_err_drop_pp']['min']:.1f}–"
        f"{numbers['test_err_drop_pp']['max']:.1f} pp per seed). (The issue's sizing runs found the gain fragile "
        "with Adam.)\n\n"
        "(c) MC minus weight-scaling test accuracy: "
        + ", ".join(f"N={n}: {numbers[f'mc_gap_pp_N{n}']['mean']:+.2f} pp" for n in _NS)
        + "; predicted classes differ on "
        + ", ".join(f"{numbers[f'mc_disagree_pct_N{n}']['mean']:.1f}%" for n in (1, 10, 100))
        + " of the test images at N = 1, 10, 100. One mask is a noisier predictor than weight scaling; by N ≈ 50 "
        "the two agree within test-set noise (≈0.3 pp on 1000 images), so the bound is 1 pp."
    )
    return Outcome(holds=all(parts.values()), numbers=numbers, figures=[fig], notes=notes)
