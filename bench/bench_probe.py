"""Overhead of the signal-propagation probe: recording every training step vs. no probe.

A 10-layer ReLU MLP (width 256, batch 128, SGD) trained with `initreg.train.fit` on the
digits data, from the same weights each time. Variants alternate in short chunks of
steps (A B C D D C B A ...); the ratio is the median over rounds of (step time with the
probe) / (step time without it). ``ProbeCallback(every=1)`` records, at every step, the
forward statistics and dead units of each layer, the gradients w.r.t. each layer output
(tensor hooks) and weight, and the update-to-weight ratio (one copy of the weights per
step). Target: ≤ 1.3× (issue 4). Also reported: without update ratios, and every 10 steps.

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
    cfg = {"optimizer": "sgd", "lr": 0.01, "steps": steps, "batch_size": 128, "progress": "none",
           "eval_every": 10 ** 6, "evaluate_test": False}

    def train(make):
        def go():
            model.load_state_dict(state)
            fit(model, data, cfg, callbacks=make())
        return go

    variants = {
        "none": train(lambda: []),
        "every step": train(lambda: [ProbeCallback(every=1)]),
        "every step, no update ratios": train(lambda: [ProbeCallback(every=1, updates=False)]),
        "every 10 steps": train(lambda: [ProbeCallback(every=10)]),
    }
    times = interleave(variants, rounds=rounds, warmup=1)
    base = statistics.median(times["none"]) / steps
    out = []
    for k in ("every step", "every step, no update ratios", "every 10 steps"):
        r = median_ratio(times[k], times["none"])
        main = k == "every step"
        out.append(ratio_row(f"probe overhead, recording {k} (10-layer MLP 256 wide, batch 128)", r,
                             "≤ 1.3×" if main else "report", (r <= 1.3) if main else None,
                             f"median step {statistics.median(times[k]) / steps * 1e3:.1f} ms vs {base * 1e3:.1f} ms "
                             f"without the probe; {rounds} interleaved rounds of {steps} steps, 1 thread"))
    return out


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']}: {row['ratio']:.2f}x (target {row['target']}, ok={row['ok']}) — {row['detail']}")
