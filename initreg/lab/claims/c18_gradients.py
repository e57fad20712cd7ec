"""C18 (lecture K4, I7, I8): exploding and vanishing signals are detected and located, layer by layer.

Part 1, at init: deep MLPs built to explode (ReLU, N(0, 1) weights), to vanish (tanh or
sigmoid, N(0, 0.01²)), to saturate (tanh, N(0, 1)) and a healthy one (ReLU, Kaiming's
activation-aware std √(2/n_in)) are probed on one batch of MNIST. *Detected*: the probe's
verdict and the mean-field overlay's (computed from the actual weights) are both what the net
was built for. *Located*: the overlay names the first bad layer and the direction it looks in
— forward (the signal, counted from the input) or backward (the gradient, counted from the
output) — and the probe's first bad layer in that same direction is within one layer of it.
For the sigmoid net the forward RMS does not vanish (every unit sits near sigmoid(0) = 0.5),
so the overlay locates it backward (the gradient shrinks by χ = σ_w²·E[σ'²] per layer) and
the probe's own gradient ratios are compared with that; the probe's overall verdict names the
forward layer where the across-batch signal collapses, which is reported beside it.

Part 2, in training (a Kaiming MLP, plain SGD, probed every step, same seed in every run):
at a too-high learning rate the probe must flag the run before its loss turns non-finite; at
a healthy learning rate (the negative control) it must never flag it; and with the healthy
rate everywhere except one hidden layer that gets the too-high rate (its gradient scaled by
their ratio, which for plain SGD is that layer's learning rate), the first flag must name that
layer. Gradient-norm clipping at the too-high rate is reported, not judged.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ...data import load_data
from ...models import build_model
from ...probe import ProbeCallback, plot_profile, probe
from ...train import fit
from ...train.callbacks import Callback, TrainState
from .. import Context, Outcome, experiment
from ..verdict import Criterion

__all__ = ["CRITERIA", "NETS", "SETTINGS", "HotLayer", "run", "located", "lr_run"]

# name: (activation, init scheme, the verdict it was built for)
NETS = {
    "relu_sigma1": ("relu", {"name": "normal", "std": 1.0}, "exploding"),
    "tanh_sigma0.01": ("tanh", {"name": "normal", "std": 0.01}, "vanishing"),
    "sigmoid_sigma0.01": ("sigmoid", {"name": "normal", "std": 0.01}, "vanishing"),
    "tanh_sigma1": ("tanh", {"name": "normal", "std": 1.0}, "saturated"),
    "relu_kaiming": ("relu", {"name": "kaiming_normal", "activation": "relu"}, "healthy"),
}

_COMMON = {"depth": 20, "width": 256, "batch": 256, "lr": 1.0, "healthy_lr": 0.05, "lr_depth": 10, "lr_width": 128,
           "clip": 1.0}
# the clipping run is reported, not judged: full mode only
SETTINGS = {"quick": {**_COMMON, "lr_steps": 60, "clip_run": False}, "full": {**_COMMON, "lr_steps": 100, "clip_run": True}}

CRITERIA = (
    Criterion("detected_at_init", metric="nets (of five) whose probe or mean-field verdict differs from what the net "
              "was built for", unit="", direction="<", threshold=1.0, kind="exact", changed="2026-12-06",
              text="exploding, vanishing (tanh and sigmoid), saturated, healthy"),
    Criterion("located_at_init", metric="nets with a problem where the probe's first bad layer, in the direction the "
              "mean-field overlay looks, is missing or more than one layer from the overlay's", unit="",
              direction="<", threshold=1.0, kind="exact", changed="2026-12-06"),
    Criterion("flagged_before_divergence", metric="forward passes from the probe's first flag to the first non-finite "
              "loss, SGD at the too-high learning rate", unit="steps", direction=">", threshold=0.0, kind="exact",
              changed="2026-12-06", text="a seed whose run does not diverge is undecided (NaN)"),
    Criterion("healthy_run_never_flagged", metric="probed steps flagged (or a divergence), the same net and seed at "
              "the healthy learning rate", unit="steps", direction="<", threshold=1.0, kind="exact",
              changed="2026-12-06", text="negative control"),
    Criterion("training_flag_located", metric="the first flag in training names a layer other than the one given the "
              "too-high learning rate (1) or names it (0); never flagged counts 1", unit="", direction="<",
              threshold=1.0, kind="exact", changed="2026-12-06"),
)

NOTES = """Depth-{settings[depth]} width-{settings[width]} MLPs (zero biases) probed on a batch of {settings[batch]} MNIST images, {n_seeds} seeds; verdict thresholds are the probe's defaults (forward/backward RMS ratio above {thresholds[explode]:g} or below {thresholds[vanish]:g}, more than {thresholds[frac]:.0%} saturated or dead, update ratio above {thresholds[update]:g}; see docs/probe.md).

- **Detected at init** ({parts[detected_at_init][verdict]}): probe labels {words[labels]}; mean-field labels {words[theory_labels]}.
- **Located at init** ({parts[located_at_init][verdict]}): first bad layer, probe / overlay and the overlay's direction (first seed): {words[located]}. By the last hidden layer the relu_sigma1 net's RMS is {relu_log10_ratio[mean]:.1f} decades (log10) above the input's, the small-weight tanh net's {tanh_log10_ratio[mean]:.1f}.
- **What "located" means for the small-weight sigmoid net**: its forward RMS does not vanish (every unit sits near the sigmoid's midpoint, and the weights times that constant are not small), so the mean-field overlay locates it backward, where the gradient vanishes, and the probe's gradient ratios are compared there; the probe's overall verdict names the forward layer where the across-batch signal collapses ({words[sigmoid_forward]}).
- **Saturation**: in tanh_sigma1 at least {sat_min[min]:.0%} of the hidden tanh values lie within the probe's margin of a bound, in every layer.
- **Too-high learning rate** (SGD lr = {settings[lr]:g}, a depth-{settings[lr_depth]} width-{settings[lr_width]} Kaiming MLP, probed every step, {settings[lr_steps]} steps): the loss turns non-finite at forward pass {diverged_step[mean]:.1f} on average; the probe flags the run {lead[min]:.0f} to {lead[max]:.0f} forward passes earlier ({parts[flagged_before_divergence][verdict]}), first through {words[first_flag]}.
- **Negative control** (lr = {settings[healthy_lr]:g}, the same net and seeds): {healthy_flags[max]:.0f} flagged steps at most, final train loss {healthy_loss[mean]:.2f} ({parts[healthy_run_never_flagged][verdict]}).
- **Located in training**: with lr = {settings[healthy_lr]:g} everywhere but layer {words[hot]}, which gets lr = {settings[lr]:g}, the first flag names, per seed, {words[hot_flagged]} ({parts[training_flag_located][verdict]}); those runs end at a train loss of {hot_loss[mean]:.2f} on average.{words[hot_note]}
- **Gradient-norm clipping** (max norm {settings[clip]:g} at lr = {settings[lr]:g}; reported, not judged): {words[clip]}
"""


class HotLayer(Callback):
    """Multiply one weight's gradient by ``factor`` after each backward pass: for plain SGD,
    that layer's learning rate becomes ``factor·lr`` (the probe reads the scaled gradient)."""

    def __init__(self, weight: torch.Tensor, factor: float):
        self.weight, self.factor = weight, float(factor)

    def on_after_backward(self, state: TrainState) -> None:
        if self.weight.grad is not None:
            self.weight.grad.mul_(self.factor)


def _probe_nets(s: dict[str, Any], data, seed: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.x_train), generator=g)[: s["batch"]]
    x, y = data.x_train[idx], data.y_train[idx]
    out = {}
    for name, (act, init, _) in NETS.items():
        m = build_model({"name": "mlp", "depth": s["depth"], "width": s["width"], "activation": act, "init": init},
                        data.input_shape, data.num_outputs, seed=seed)
        out[name] = probe(m, x, y)
    return out


def probe_first(report, direction: str) -> int | None:
    """The probe's first bad layer looking in ``direction``: the lowest index with a forward
    issue, or the highest with a backward one (the gradient flows from the output)."""
    idx = [r.index for r in report.layers if any(i["direction"] == direction for i in r.issues)]
    if not idx:
        return None
    return min(idx) if direction == "forward" else max(idx)


def located(report) -> tuple[bool, str]:
    """Whether the probe locates a problem net where the mean-field overlay does (within one
    layer, in the overlay's direction), and ``"probe / overlay"`` in words."""
    tv = (report.theory_verdict or {}).get("first_bad")
    if not tv:
        return False, "overlay names no layer"
    p = probe_first(report, tv["direction"])
    ok = p is not None and abs(p - tv["index"]) <= 1
    return ok, f"{p if p is not None else 'none'} / {tv['index']} {tv['direction']}"


def _lr_model(data, s: dict[str, Any], seed: int) -> nn.Module:
    return build_model({"name": "mlp", "depth": s["lr_depth"], "width": s["lr_width"],
                        "init": {"name": "kaiming_normal", "activation": "relu"}}, data.input_shape, data.num_outputs, seed=seed)


def lr_run(data, seed: int, s: dict[str, Any], lr: float, clip: float | None = None, hot: float | None = None
           ) -> dict[str, Any]:
    """One probed SGD run (every step). ``hot``: the middle hidden Linear's gradient is scaled
    by ``hot`` (its learning rate ``hot·lr``)."""
    m = _lr_model(data, s, seed)
    linears = [(n, mod) for n, mod in m.named_modules() if isinstance(mod, nn.Linear)]
    hot_name, hot_mod = linears[len(linears) // 2]
    cbs: list[Callback] = [HotLayer(hot_mod.weight, hot)] if hot is not None else []
    cb = ProbeCallback(every=1)
    h = fit(m, data, {"optimizer": "sgd", "lr": lr, "steps": s["lr_steps"], "batch_size": 100, "seed": seed,
                      "grad_clip": clip, "progress": "none", "evaluate_test": False}, callbacks=[*cbs, cb])
    rows = cb.rows()
    flagged = [(r, rep) for r, rep in zip(rows, cb.reports) if r["label"] != "healthy" and not r["diverged"]]
    first, first_rep = flagged[0] if flagged else (None, None)
    fb = first_rep.first_bad if first_rep is not None else None
    return {"diverged": h.diverged, "diverged_step": h.diverged_step, "steps": h.steps,
            "first_flag": first["step"] if first else None,
            "first_flag_issue": (fb or {}).get("issues", [""])[0] if fb else None,
            "first_flag_layer": fb["name"] if fb else None, "hot_layer": hot_name,
            "flagged_steps": len(flagged), "recorded": len([r for r in rows if not r["diverged"]]),
            "train_loss": h.last.get("train_loss", math.nan) if not h.diverged else math.nan,
            "curve": [(r["step"], r["loss"], r["max_update_ratio"]) for r in rows]}


def lead(run: dict[str, Any]) -> float:
    """Forward passes of warning: a report at step s covers the s-th forward/backward, and the
    non-finite loss came from forward ``diverged_step + 1``; NaN if the run did not diverge,
    0 if it diverged unflagged."""
    if not run["diverged"]:
        return math.nan
    if run["first_flag"] is None:
        return 0.0
    return float(run["diverged_step"] + 1 - run["first_flag"])


def _lr_figure(path, runs: dict[str, dict], thr: float) -> None:
    from ...plot import new_figure, save_figure

    fig, (a1, a2) = new_figure(2, size=(5.2, 3.6))
    for i, (name, r) in enumerate(runs.items()):
        st = [c[0] for c in r["curve"]]
        a1.semilogy(st, [c[1] if c[1] and math.isfinite(c[1]) else float("nan") for c in r["curve"]], f"C{i}-o", ms=2,
                    label=name)
        a2.semilogy(st, [c[2] if c[2] and math.isfinite(c[2]) else float("nan") for c in r["curve"]], f"C{i}-o", ms=2,
                    label=name)
        if r["diverged"]:
            for a in (a1, a2):
                a.axvline(r["diverged_step"] + 1, color=f"C{i}", ls=":", lw=1)
    a2.axhline(thr, color="k", lw=0.8, ls="--", label=f"threshold {thr:g}")
    a1.set_title("batch loss")
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
    criteria=CRITERIA,
    notes=NOTES,
    headline="flagged_before_divergence",
    settings=SETTINGS,
    lecture=("K4", "I7", "I8"),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    torch.set_num_threads(1)
    data = load_data({"name": "mnist5k"})
    detected: list[float] = []
    loc: list[float] = []
    labels: dict[str, set] = {n: set() for n in NETS}
    theory_labels: dict[str, set] = {n: set() for n in NETS}
    where: dict[str, str] = {}
    sat: list[float] = []
    last_fwd: dict[str, list[float]] = {"relu_sigma1": [], "tanh_sigma0.01": []}
    sigmoid_fwd = ""
    for seed in ctx.seeds:
        reps = _probe_nets(s, data, seed)
        if seed == ctx.seeds[0]:
            plot_profile([reps[n] for n in NETS], ctx.figure("c18_profiles.png"), labels=list(NETS),
                         title=f"depth {s['depth']}, width {s['width']}")
        wrong = bad_loc = 0
        for name, (_, _, want) in NETS.items():
            r = reps[name]
            tl = (r.theory_verdict or {}).get("label")
            labels[name].add(r.label)
            theory_labels[name].add(str(tl))
            wrong += r.label != want or tl != want
            if want != "healthy":
                ok, text = located(r)
                bad_loc += not ok
                if seed == ctx.seeds[0]:
                    where[name] = text
            if name in last_fwd:
                last_fwd[name].append(r.layers[-2].fwd_ratio)
            if name == "tanh_sigma1":
                sat.append(min(v for v in r.column("saturated")[:-1] if v is not None))
            if name == "sigmoid_sigma0.01" and seed == ctx.seeds[0]:
                fb = r.first_bad
                sigmoid_fwd = f"layer {fb['index']}, {fb['direction']}" if fb else "no layer"
        detected.append(float(wrong))
        loc.append(float(bad_loc))
    high = [lr_run(data, seed, s, s["lr"]) for seed in ctx.seeds]
    healthy = [lr_run(data, seed, s, s["healthy_lr"]) for seed in ctx.seeds]
    hot = [lr_run(data, seed, s, s["healthy_lr"], hot=s["lr"] / s["healthy_lr"]) for seed in ctx.seeds]
    clipped = [lr_run(data, seed, s, s["lr"], clip=s["clip"]) for seed in ctx.seeds] if s["clip_run"] else []
    thr = ProbeCallback().thresholds
    runs = {f"lr={s['lr']:g}": high[0], f"lr={s['healthy_lr']:g}": healthy[0],
            f"lr={s['healthy_lr']:g}, one layer at {s['lr']:g}": hot[0]}
    if clipped:
        runs[f"lr={s['lr']:g}, grad_clip={s['clip']:g}"] = clipped[0]
    _lr_figure(ctx.figure("c18_lr.png"), runs, thr.update)
    measured = {
        "detected_at_init": detected,
        "located_at_init": loc,
        "flagged_before_divergence": [lead(r) for r in high],
        "healthy_run_never_flagged": [float(r["flagged_steps"] + bool(r["diverged"])) for r in healthy],
        "training_flag_located": [float(r["first_flag_layer"] != r["hot_layer"]) for r in hot],
    }
    numbers: dict[str, Any] = {
        "lead": ctx.summarize([v for v in measured["flagged_before_divergence"] if v == v] or [math.nan]),
        "diverged_step": ctx.summarize([r["diverged_step"] + 1 if r["diverged"] else math.nan for r in high]),
        "healthy_flags": ctx.summarize([r["flagged_steps"] for r in healthy]),
        "healthy_loss": ctx.summarize([r["train_loss"] for r in healthy]),
        "relu_log10_ratio": ctx.summarize([math.log10(v) for v in last_fwd["relu_sigma1"]]),
        "tanh_log10_ratio": ctx.summarize([math.log10(v) for v in last_fwd["tanh_sigma0.01"]]),
        "sat_min": ctx.summarize(sat),

        "thresholds": {"explode": thr.explode, "vanish": thr.vanish, "frac": thr.saturated, "update": thr.update},
        "first_flag_step": [r["first_flag"] for r in high],
        "hot_first_flag": {"step": [r["first_flag"] for r in hot], "layer": [r["first_flag_layer"] for r in hot]},
        "hot_loss": ctx.summarize([r["train_loss"] for r in hot]),
        "hot_max_update_ratio": [max((c[2] for c in r["curve"] if c[2] == c[2]), default=math.nan) for r in hot],
    }
    numbers["words"] = {
        "labels": ", ".join(f"{n}: {'/'.join(sorted(v))}" for n, v in labels.items()),
        "theory_labels": ", ".join(f"{n}: {'/'.join(sorted(v))}" for n, v in theory_labels.items()),
        "located": ", ".join(f"{n}: {t}" for n, t in where.items()),
        "sigmoid_forward": sigmoid_fwd,
        "first_flag": f"'{high[0]['first_flag_issue']}' (first seed)" if high[0]["first_flag_issue"] else "no flag",
        "hot": f"'{hot[0]['hot_layer']}'",
        "hot_flagged": ", ".join(f"'{r['first_flag_layer']}' at step {r['first_flag']}" if r["first_flag_layer"]
                                 else f"no layer (never flagged: its largest update ratio {u:.2g}"
                                      f"{', diverged' if r['diverged'] else ''})"
                                 for r, u in zip(hot, numbers["hot_max_update_ratio"])),
        "clip": "the clipping run is made in full mode only.",
        "hot_note": (" Where no layer is named, the layer at the too-high rate never changed its weights by more than "
                     "the update threshold in one step and nothing else tripped: that seed's run showed the probe no "
                     "problem to locate." if any(r["first_flag"] is None for r in hot) else ""),
    }
    if clipped:
        numbers["clip_loss"] = ctx.summarize([r["train_loss"] for r in clipped])
        numbers["clip_flagged"] = ctx.summarize([r["flagged_steps"] / max(r["recorded"], 1) for r in clipped])
        n_div = sum(bool(r["diverged"]) for r in clipped)
        numbers["words"]["clip"] = (
            f"{'no seed diverges' if n_div == 0 else f'{n_div} of {len(clipped)} seeds still diverge'}; the train loss "
            f"ends at {numbers['clip_loss']['mean']:.2f}, and the update ratio still crosses its threshold on "
            f"{numbers['clip_flagged']['mean']:.0%} of the steps: clipping turns a divergence into a noisy, slow run.")
    return Outcome(measurements=measured, numbers=numbers, figures=["c18_profiles.png", "c18_lr.png"])
