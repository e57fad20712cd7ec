"""K seeds at once vs K sequential runs: MNIST-1D's MLP 40-100-100-10, K = 16.

Both variants train the same 16 models (model seeds 0..15, train seeds 0..15) for one epoch
at batch 128: sequentially with `fit`, and as one stacked model with `fit_seeds` (weights
``(16, out, in)``, ``baddbmm``). Rounds alternate; ratio = sequential time / stacked time,
median over rounds. Target: ≥ 2.5.

    python -m bench.bench_seeds
"""

from __future__ import annotations

from bench._common import interleave, median_ratio, ratio_row, setup_threads

__all__ = ["run"]


def run(quick: bool = False) -> list[dict]:
    from initreg.data import load_data
    from initreg.models import build_model
    from initreg.train import fit
    from initreg.train.multiseed import fit_seeds

    setup_threads(1)
    d = load_data({"name": "mnist1d"})
    K = 16
    mc = {"name": "mlp", "widths": [100, 100], "init": "torch"}
    cfg = {"epochs": 1, "batch_size": 128, "lr": 1e-3, "progress": "none", "evaluate_test": False}
    fresh = lambda: [build_model(mc, d.input_shape, d.num_outputs, seed=s) for s in range(K)]  # noqa: E731
    vec_flag = {}

    def v_seq():
        for s, m in enumerate(fresh()):
            fit(m, d, {**cfg, "seed": s})

    def v_vec():
        vec_flag["v"] = fit_seeds(fresh(), d, cfg, seeds=list(range(K))).vectorized

    rounds = 3 if quick else 9
    t = interleave({"sequential": v_seq, "stacked": v_vec}, rounds=rounds)
    r = median_ratio(t["sequential"], t["stacked"])
    detail = (f"MNIST-1D train {len(d.x_train)} (input {d.input_shape[0]}), MLP 40-100-100-10, batch 128, Adam, 1 epoch, "
              f"1 thread; {K} seeds as one stacked model (vectorized={vec_flag.get('v')}) vs {K} fit calls; "
              f"{rounds} interleaved rounds")
    return [ratio_row(f"{K} seeds at once / sequential (speed-up)", r, "≥ 2.5", r >= 2.5, detail)]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
