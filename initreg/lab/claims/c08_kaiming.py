"""C8 — deep ReLU nets: Kaiming keeps the variance, Xavier halves it per layer; only Kaiming trains."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...lab import Outcome, experiment
from ._deepnet import chain, log2_ratio, measure, plot_variances, theory

XAVIER = {"name": "xavier_normal", "gain": 1.0}
SCHEMES = {"kaiming": "kaiming_normal", "xavier": XAVIER, "legacy": "legacy_uniform"}
SETTINGS = {"depth": 30, "width": 256, "batch": 256, "data": "mnist5k", "lr": 0.005, "momentum": 0.9,
            "train_batch": 100, "steps": 150, "kaiming_log2_max": 3.0, "xavier_log2_max": -20.0,
            "legacy_log2_max": -50.0, "kaiming_acc_min": 0.6, "stalled_acc_max": 0.2, "stalled_loss_min": 2.25}


@experiment(
    "C8",
    title="Kaiming init for deep ReLU nets",
    statement="For ReLU, E[x²] = Var(y_prev)/2, so Var(w) = 2/n_in keeps the variance through a deep ReLU net (up to "
              "finite-width noise); Xavier halves it per layer; a 30-layer ReLU net trains with Kaiming init and "
              "stalls with Xavier or legacy init.",
    criterion="30 layers x 256 ReLU, zero biases, every seed: at init |log2(q_30/q_1)| <= 3 for Kaiming, <= -20 for "
              "Xavier (theory -29), <= -50 for legacy; trained on MNIST-5k (SGD, momentum 0.9, lr 0.005, batch 100), "
              "the Kaiming net reaches train accuracy >= 0.6 while the Xavier and legacy nets stay <= 0.2 with train "
              "loss >= 2.25 (chance: 0.1 and ln 10 = 2.303).",
    settings={"quick": SETTINGS, "full": {**SETTINGS, "steps": 250, "batch": 1024}},
    lecture=("I8", "K4"),
)
def run(ctx) -> Outcome:
    from ...data import load_data
    from ...models import build_model

    s = ctx.settings
    widths = [s["width"]] * (s["depth"] + 1)
    holds = True
    numbers: dict = {}
    curves: dict = {k: [] for k in SCHEMES}
    limits = {"kaiming": s["kaiming_log2_max"], "xavier": s["xavier_log2_max"], "legacy": s["legacy_log2_max"]}
    for seed in ctx.seeds:
        x = torch.randn(s["batch"], s["width"], generator=torch.Generator().manual_seed(seed + 7919))
        for label, scheme in SCHEMES.items():
            m = measure(chain(widths, "relu", scheme, seed=seed), x, seed=seed)
            curves[label].append(m)
            lr = log2_ratio(m["forward"][-1], m["forward"][0])
            numbers.setdefault(f"{label}_log2_q{s['depth']}_over_q1", []).append(lr)
            holds &= (abs(lr) <= limits[label]) if label == "kaiming" else (lr <= limits[label])
    theo = {label: theory(widths, "relu", scheme) for label, scheme in SCHEMES.items()}
    for label in SCHEMES:
        numbers[f"{label}_log2_theory"] = log2_ratio(theo[label]["forward"][-1], theo[label]["forward"][0])

    data = load_data({"name": s["data"]})
    xt, yt = data.x_train, data.y_train
    for seed in ctx.seeds:
        for label, scheme in SCHEMES.items():
            model = build_model({"name": "mlp", "depth": s["depth"], "width": s["width"], "activation": "relu",
                                 "init": scheme}, data.input_shape, data.num_outputs, seed=seed)
            opt = torch.optim.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])
            g = torch.Generator().manual_seed(seed)
            for _ in range(s["steps"]):
                idx = torch.randint(len(xt), (s["train_batch"],), generator=g)
                loss = F.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                out = model(xt)
                acc = float((out.argmax(1) == yt).float().mean())
                tl = float(F.cross_entropy(out, yt))
            numbers.setdefault(f"{label}_train_acc", []).append(acc)
            numbers.setdefault(f"{label}_train_loss", []).append(tl)
            if label == "kaiming":
                holds &= acc >= s["kaiming_acc_min"] and math.isfinite(tl)
            else:
                holds &= acc <= s["stalled_acc_max"] and tl >= s["stalled_loss_min"]
    numbers = {k: (ctx.summarize(v) if isinstance(v, list) else v) for k, v in numbers.items()}
    fig = plot_variances(ctx.figure("c08_variance.png"), curves, f"C8: ReLU, {s['depth']}x{s['width']}", theo)
    d = s["depth"]
    notes = (
        f"At init: chains of {d} Linear({s['width']}) → ReLU, zero biases, input N(0, I); q_l = E[y_l²] of the "
        f"pre-activations. log2(q_{d}/q_1): Kaiming {numbers[f'kaiming_log2_q{d}_over_q1']['mean']:+.2f} "
        f"(theory 0; the spread is finite-width noise: each layer multiplies q by a random factor with relative "
        f"sd ≈ sqrt(5/n)), Xavier {numbers[f'xavier_log2_q{d}_over_q1']['mean']:+.1f} (theory "
        f"{numbers['xavier_log2_theory']:+.1f}: n·Var(w)·1/2 = 1/2 per layer), legacy "
        f"{numbers[f'legacy_log2_q{d}_over_q1']['mean']:+.1f} (theory {numbers['legacy_log2_theory']:+.1f}: 1/6 per "
        f"layer).\n\nTraining: `mlp` with {d} hidden ReLU layers of {s['width']} on {s['data']} "
        f"({len(yt)} train images), SGD momentum {s['momentum']}, lr {s['lr']}, batch {s['train_batch']}, "
        f"{s['steps']} steps, biases zero; train accuracy after training: Kaiming "
        f"{numbers['kaiming_train_acc']['mean']:.2f} (min {numbers['kaiming_train_acc']['min']:.2f}), Xavier "
        f"{numbers['xavier_train_acc']['mean']:.2f}, legacy {numbers['legacy_train_acc']['mean']:.2f} (loss "
        f"{numbers['xavier_train_loss']['mean']:.3f}, {numbers['legacy_train_loss']['mean']:.3f} vs ln 10 = 2.303). "
        "Quick mode trains 150 steps (Kaiming 0.69–0.88 over seeds 0–4), full mode 250 as in the issue (Kaiming "
        "0.925–0.938 over seeds 0–2; the issue's sizing saw 0.87–0.95, and lr >= 0.02 unstable — not re-measured "
        "here). The Xavier and legacy nets' output does not depend on the input (2^-29 and 2^-75 of the signal is "
        "left), so the gradient only moves the last biases towards the class prior."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fig.name], notes=notes)
