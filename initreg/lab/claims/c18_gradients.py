"""C18 (LECTURE K4): exploding and vanishing signals are detected and located, layer by layer.

Part 1, at init: deep MLPs built to explode (ReLU, N(0, 1) weights), to vanish (tanh or
sigmoid, N(0, 0.01²)), to saturate (tanh, N(0, 1)) and a healthy one (ReLU, Kaiming) are
probed on one batch of MNIST; the probe's verdict and first bad layer are compared with
what was built and with the mean-field overlay's own verdict.

Part 2, in training: SGD at a too-high learning rate, probed every step; the probe must
flag the run before its loss turns non-finite. The same run with gradient-norm clipping.
"""

from __future__ import annotations

import math

import torch

from ...data import load_data
from ...models import build_model
from ...probe import ProbeCallback, plot_profile, probe
from ...train import fit
from .. import Context, Outcome, experiment

__all__ = ["c18"]

# name: (activation, init scheme, the verdict it was built for)
NETS = {
    "relu_sigma1": ("relu", {"name": "normal", "std": 1.0}, "exploding"),
    "tanh_sigma0.01": ("tanh", {"name": "normal", "std": 0.01}, "vanishing"),
    "sigmoid_sigma0.01": ("sigmoid", {"name": "normal", "std": 0.01}, "vanishing"),
    "tanh_sigma1": ("tanh", {"name": "normal", "std": 1.0}, "saturated"),
    "relu_kaiming": ("relu", "kaiming_normal", "healthy"),
}


def _probe_nets(ctx: Context, data, seed: int) -> dict[str, dict]:
    s = ctx.settings
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.x_train), generator=g)[: s["batch"]]
    x, y = data.x_train[idx], data.y_train[idx]
    out = {}
    for name, (act, init, _) in NETS.items():
        m = build_model({"name": "mlp", "depth": s["depth"], "width": s["width"], "activation": act, "init": init},
                        data.input_shape, data.num_outputs, seed=seed)
        out[name] = probe(m, x, y)
    return out


def _lr_run(data, seed: int, s: dict, clip: float | None) -> dict:
    m = build_model({"name": "mlp", "depth": s["lr_depth"], "width": s["lr_width"], "init": "kaiming_normal"},
                    data.input_shape, data.num_outputs, seed=seed)
    cb = ProbeCallback(every=1)
    h = fit(m, data, {"optimizer": "sgd", "lr": s["lr"], "steps": s["lr_steps"], "batch_size": 100, "seed": seed,
                      "grad_clip": clip, "progress": "none", "evaluate_test": False}, callbacks=[cb])
    rows = cb.rows()
    flagged = [r for r in rows if r["label"] != "healthy" and not r["diverged"]]
    first = flagged[0] if flagged else None
    return {"diverged": h.diverged, "diverged_step": h.diverged_step, "steps": h.steps,
            "first_flag": first["step"] if first else None, "first_flag_label": first["label"] if first else None,
            "first_flag_issue": (cb.reports[rows.index(first)].first_bad or {}).get("issues", [""])[0] if first else None,
            "flagged_steps": len(flagged), "recorded": len([r for r in rows if not r["diverged"]]),
            "train_loss": h.last.get("train_loss", math.nan) if not h.diverged else math.nan,
            "curve": [(r["step"], r["loss"], r["max_update_ratio"], r["max_fwd_ratio"]) for r in rows]}


def _lr_figure(path, runs: dict[str, dict], lr: float) -> None:
    from ...plot import new_figure, save_figure

    fig, (a1, a2) = new_figure(2, size=(5.2, 3.6))
    for i, (name, r) in enumerate(runs.items()):
        st = [c[0] for c in r["curve"]]
        a1.semilogy(st, [c[1] if c[1] and math.isfinite(c[1]) else float("nan") for c in r["curve"]], f"C{i}-o", ms=2, label=name)
        a2.semilogy(st, [c[2] if c[2] and math.isfinite(c[2]) else float("nan") for c in r["curve"]], f"C{i}-o", ms=2, label=name)
        if r["diverged"]:
            for a in (a1, a2):
                a.axvline(r["diverged_step"] + 1, color=f"C{i}", ls=":", lw=1)
    a2.axhline(0.1, color="k", lw=0.8, ls="--", label="threshold 0.1")
    a1.set_title(f"SGD lr={lr}: batch loss")
    a2.set_title("max update-to-weight ratio per step")
    for a in (a1, a2):
        a.set_xlabel("step")
        a.legend(fontsize=7)
    save_figure(fig, path)


@experiment(
    "C18",
    title="exploding / vanishing signals are detected and located by layer",
    statement="Exploding and vanishing gradients: backprop multiplies per-layer factors; large ones blow the "
              "weights up, small ones make early layers stop learning — and a probe can see where.",
    criterion="For every seed, on depth-20 MLPs at init (MNIST batch): ReLU+N(0,1) is 'exploding', tanh+N(0,0.01²) "
              "and sigmoid+N(0,0.01²) are 'vanishing', tanh+N(0,1) is 'saturated' (≥ 80% of tanh units |a|>0.99), "
              "ReLU+Kaiming is 'healthy'; the mean-field overlay gives the same label for each, and where both "
              "locate the problem in the same direction, the same first bad layer ±1. In training (SGD, too-high lr, "
              "probed every step) every seed's loss turns non-finite and the probe flags the run at an earlier "
              "step; with grad_clip=1 no seed diverges and the final train loss is below ln 10.",
    settings={"quick": {"depth": 20, "width": 256, "batch": 256, "lr": 1.0, "lr_depth": 10, "lr_width": 128,
                        "lr_steps": 60, "clip": 1.0},
              "full": {"depth": 20, "width": 256, "batch": 256, "lr": 1.0, "lr_depth": 10, "lr_width": 128,
                       "lr_steps": 100, "clip": 1.0}},
    lecture=("K4", "I7", "I8"),
)
def c18(ctx: Context) -> Outcome:
    s = ctx.settings
    data = load_data({"name": "mnist5k"})
    ok = True
    labels: dict[str, list[str]] = {n: [] for n in NETS}
    theory_labels: dict[str, list[str]] = {n: [] for n in NETS}
    first_bad: dict[str, list] = {n: [] for n in NETS}
    theory_first: dict[str, list] = {n: [] for n in NETS}
    sat: list[float] = []
    last_fwd: dict[str, list[float]] = {n: [] for n in NETS}
    fail: list[str] = []
    for seed in ctx.seeds:
        reps = _probe_nets(ctx, data, seed)
        if seed == ctx.seeds[0]:
            plot_profile([reps[n] for n in NETS], ctx.figure("c18_profiles.png"), labels=list(NETS),
                         title=f"depth {s['depth']}, width {s['width']}")
        for name, (_, _, want) in NETS.items():
            r = reps[name]
            tv = r.theory_verdict or {"label": None, "first_bad": None}
            labels[name].append(r.label)
            theory_labels[name].append(tv["label"])
            fb, tfb = r.first_bad, tv["first_bad"]
            first_bad[name].append(f"{fb['index']} {fb['direction']}" if fb else None)
            theory_first[name].append(f"{tfb['index']} {tfb['direction']}" if tfb else None)
            last_fwd[name].append(r.layers[-2].fwd_ratio)
            good = r.label == want and tv["label"] == want
            if fb and tfb and fb["direction"] == tfb["direction"] and abs(fb["index"] - tfb["index"]) > 1:
                good = False
            if name == "tanh_sigma1":
                frac = min(v for v in r.column("saturated")[:-1] if v is not None)
                sat.append(frac)
                good = good and frac >= 0.8
            if not good:
                fail.append(f"seed {seed} {name}: got {r.label} (theory {tv['label']}), first bad {first_bad[name][-1]}")
            ok = ok and good
    # Part 2: a too-high learning rate, with and without clipping
    runs_plain, runs_clip = [], []
    for seed in ctx.seeds:
        p = _lr_run(data, seed, s, None)
        c = _lr_run(data, seed, s, s["clip"])
        runs_plain.append(p)
        runs_clip.append(c)
        # a report at step s covers the s-th forward/backward; the non-finite loss came from
        # forward number diverged_step + 1, so "flagged earlier" is first_flag <= diverged_step
        good_p = p["diverged"] and p["first_flag"] is not None and p["first_flag"] <= p["diverged_step"]
        good_c = (not c["diverged"]) and c["train_loss"] < math.log(10)
        if not good_p:
            fail.append(f"seed {seed} lr={s['lr']}: diverged={p['diverged']} at {p['diverged_step']}, first flag {p['first_flag']}")
        if not good_c:
            fail.append(f"seed {seed} lr={s['lr']} clip={s['clip']}: diverged={c['diverged']}, train loss {c['train_loss']}")
        ok = ok and good_p and good_c
    _lr_figure(ctx.figure("c18_lr.png"), {"no clipping": runs_plain[0], f"grad_clip={s['clip']}": runs_clip[0]}, s["lr"])
    nums = {
        "labels": {n: "/".join(sorted(set(v))) for n, v in labels.items()},
        "theory_labels": {n: "/".join(sorted(set(map(str, v)))) for n, v in theory_labels.items()},
        "first_bad_layer": {n: v[0] for n, v in first_bad.items()},
        "theory_first_bad_layer": {n: v[0] for n, v in theory_first.items()},
        "relu_sigma1_last_hidden_log10_ratio": ctx.summarize([math.log10(v) for v in last_fwd["relu_sigma1"]]),
        "tanh_sigma0.01_last_hidden_log10_ratio": ctx.summarize([math.log10(v) for v in last_fwd["tanh_sigma0.01"]]),
        "tanh_sigma1_min_saturated_fraction": ctx.summarize(sat),
        "lr_diverged_step": [r["diverged_step"] for r in runs_plain],
        "lr_first_flag_step": [r["first_flag"] for r in runs_plain],
        "lr_first_flag": runs_plain[0]["first_flag_issue"],
        "clip_diverged": [r["diverged"] for r in runs_clip],
        "clip_final_train_loss": ctx.summarize([r["train_loss"] for r in runs_clip]),
        "clip_flagged_steps_fraction": ctx.summarize([r["flagged_steps"] / max(r["recorded"], 1) for r in runs_clip]),
    }
    notes = f"""Depth-{s['depth']} width-{s['width']} MLPs (zero biases) probed on a batch of {s['batch']} MNIST images; verdict thresholds are the probe's defaults (forward/backward RMS ratio > 100 or < 0.01, > 50% saturated or dead, update ratio > 0.1; see docs/probe.md).

- **Located:** the exploding ReLU net crosses the threshold at layer {first_bad['relu_sigma1'][0]} (its RMS grows ≈ √(256/2) ≈ 11× per layer, 10^{nums['relu_sigma1_last_hidden_log10_ratio']['mean']:.1f}× by the last hidden layer); the tanh σ=0.01 net at layer {first_bad['tanh_sigma0.01'][0]}; the mean-field overlay, computed from the actual weights, predicts the same layer.
- **Sigmoid at σ = 0.01 vanishes differently:** the pre-activations keep an RMS of ≈ 0.08× the input's (every unit sits near sigmoid(0) = 0.5, and W·0.5 is not small), so an RMS-only check misses it; what vanishes is the *across-batch* signal (the net's output no longer depends on the input; measured first bad layer {first_bad['sigmoid_sigma0.01'][0]}) and the gradient (mean-field χ = σ_w²·E[σ'²] ≈ 0.0016 per layer; theory locates it at {theory_first['sigmoid_sigma0.01'][0]}, counting from the output). Labels agree, the located layers are in different directions.
- **Saturation:** tanh with σ = 1: at least {min(sat):.0%} of the hidden tanh values have |a| > 0.99 in every layer (issue's measurement at depth 10: 87–92%); its gradients *grow* toward the input (χ ≈ 256·E[tanh'(16z)²] ≈ 8.5 per layer: the chaotic phase) — saturation does not mean vanishing gradients here.
- **Kaiming** is healthy at depth 20, but the fraction of ReLU units that are off for the whole batch grows with depth (≈ 25% by layer 20, ≈ 35% at 30: inputs become correlated with depth), below the 50% threshold.
- **Too-high learning rate** (SGD lr={s['lr']}, depth {s['lr_depth']}, width {s['lr_width']}, Kaiming): the loss turns non-finite at step {nums['lr_diverged_step']} (per seed); the probe flags the run at step {nums['lr_first_flag_step']} — first through the update-to-weight ratio ({runs_plain[0]['first_flag_issue']}), then the forward signal explodes. Measured while sizing: lr = 0.05 is never flagged; lr = 0.5 diverges in 4 of 5 seeds (the fifth is stuck at chance), flagged at step 1 in all.
- **Gradient-norm clipping** (max norm {s['clip']}) bounds every update to lr·{s['clip']}: no seed diverges and the train loss ends at {nums['clip_final_train_loss']['mean']:.2f}, but the update ratio still crosses 0.1 on {nums['clip_flagged_steps_fraction']['mean']:.0%} of the steps — clipping turns a divergence into a noisy, slow run; it does not make lr = {s['lr']} a good learning rate (lr = 0.05 reaches a lower loss).
"""
    if fail:
        notes += "\n**Failed:** " + "; ".join(fail)
    return Outcome(holds=ok, numbers=nums, figures=["c18_profiles.png", "c18_lr.png"], notes=notes)
