"""Overhead of the signal-propagation probe: recording every training step vs. no probe.

A 10-layer ReLU MLP (width 256, batch 128, SGD) trained with `initreg.train.fit` on the
digits data, from the same weights each time. Variants alternate in short chunks of
steps (A B C D D C B A ...); the ratio is the median over rounds of (step time with the
probe) / (step time without it). ``ProbeCallback(every=1)`` records, at every step, the
forward statistics and dead units of each layer, the gradients w.r.t. each layer output
and weight, and the update-to-weight ratio — for plain SGD read off the gradient
(``‖ΔW‖ = lr·‖∂L/∂W‖``), for other optimizers from a copy of the weights. Target: ≤ 1.3×
(issue 4). Also reported: SGD with the weights copied anyway (``updates="copy"``, the
path every other optimizer takes), without update ratios, every 10 steps, and Adam
(fit's default optimizer; copy path) against Adam without the probe.

    python -m bench.bench_probe [--quick]
"""

from __future__ import annotations

import statistics
import sys

from bench._common import interleave, median_ratio, ratio_row, setup_threads

__all__ = ["run"]


def run(quick: bool = False) -> list[dict]:
    from initreg.data import load_data
    from initreg.models import build_model
    from initreg.probe import ProbeCallback
    from initreg.train import fit

    setup_threads(1)
    data = load_data({"name": "digits"})
    model = build_model({"name": "mlp", "depth": 10, "width": 256, "init": "kaiming_normal"}, data.input_shape,
                        data.num_outputs, seed=0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    steps, rounds = (10, 6) if quick else (20, 15)
    base = {"steps": steps, "batch_size": 128, "progress": "none", "eval_every": 10 ** 6, "evaluate_test": False}
    sgd, adam = {**base, "optimizer": "sgd", "lr": 0.01}, {**base, "optimizer": "adam", "lr": 1e-3}

    def train(cfg, make):
        def go():
            model.load_state_dict(state)
            fit(model, data, cfg, callbacks=make())
        return go

    variants = {
        "none": train(sgd, lambda: []),
        "every step": train(sgd, lambda: [ProbeCallback(every=1)]),
        "every step, weights copied": train(sgd, lambda: [ProbeCallback(every=1, updates="copy")]),
        "every step, no update ratios": train(sgd, lambda: [ProbeCallback(every=1, updates=False)]),
        "every 10 steps": train(sgd, lambda: [ProbeCallback(every=10)]),
        "adam: none": train(adam, lambda: []),
        "adam: every step": train(adam, lambda: [ProbeCallback(every=1)]),
    }
    times = interleave(variants, rounds=rounds, warmup=1)
    out = []
    for k, ref in (("every step", "none"), ("every step, weights copied", "none"), ("every step, no update ratios", "none"),
                   ("every 10 steps", "none"), ("adam: every step", "adam: none")):
        r = median_ratio(times[k], times[ref])
        main = k == "every step"
        label = "Adam, recording every step (weights copied)" if k.startswith("adam") else f"SGD, recording {k}"
        out.append(ratio_row(f"probe overhead, {label} (10-layer MLP 256 wide, batch 128)", r,
                             "≤ 1.3×" if main else "report", (r <= 1.3) if main else None,
                             f"median step {statistics.median(times[k]) / steps * 1e3:.1f} ms vs "
                             f"{statistics.median(times[ref]) / steps * 1e3:.1f} ms without the probe; "
                             f"{rounds} interleaved rounds of {steps} steps, 1 thread"))
    return out


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']}: {row['ratio']:.2f}x (target {row['target']}, ok={row['ok']}) — {row['detail']}")
