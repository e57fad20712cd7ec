"""K seeds at once vs K sequential runs, K = 16: MNIST-1D's MLP 40-100-100-10 (target ≥ 2.5),
C16's conv net, a BatchNorm net (reported), and the conv net's stacked training step as one
grouped convolution vs ``torch.func.vmap`` (reported).

Each variant trains the same 16 models (model seeds 0..15, train seeds 0..15) for one epoch:
sequentially with `fit`, and as one stacked model with `fit_seeds`. Rounds alternate;
ratio = sequential time / stacked time, median over rounds.

- MLP: MNIST-1D (4,000 train sequences), 40-100-100-10, batch 128, Adam.
- conv net: C16's full-mode CNN (two 3×3 conv blocks with 16 and 32 channels, max pooling,
  a 64-unit hidden layer) on 640 MNIST-5k images (1×28×28), batch 64, Adam.
- BN net: C10's sigmoid MLP 784-100-100-100-10 with BatchNorm after each bias-free Linear on
  the same 640 images, batch 60, SGD.
- grouped vs vmap: one training step (forward, backward, fused Adam) of the 16 stacked conv
  nets with `initreg.train.stacked` (a grouped convolution, ``groups = 16``) and with
  ``torch.func.vmap`` over ``functional_call`` of one copy; ratio = vmap / grouped.

    python -m bench.bench_seeds
"""

from __future__ import annotations

import copy

from bench._common import interleave, median_ratio, ratio_row, setup_threads

__all__ = ["run"]

K = 16
CNN = {"name": "cnn", "channels": [16, 32], "hidden": 64, "init": "torch"}  # C16's full-mode CNN


def _seq_vs_stacked(d, build, cfg, rounds):
    """(ratio, vectorized) of 16 sequential `fit` runs over one stacked `fit_seeds` run."""
    from initreg.train import fit
    from initreg.train.multiseed import fit_seeds

    flag = {}

    def v_seq():
        for s in range(K):
            fit(build(s), d, {**cfg, "seed": s})

    def v_vec():
        flag["v"] = fit_seeds([build(s) for s in range(K)], d, cfg, seeds=list(range(K))).vectorized

    t = interleave({"sequential": v_seq, "stacked": v_vec}, rounds=rounds)
    return median_ratio(t["sequential"], t["stacked"]), flag.get("v")


def _vmap_vs_grouped(d, rounds):
    """Step time of ``torch.func.vmap`` over ``functional_call`` / the grouped-convolution stack."""
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, stack_module_state, vmap

    from initreg.models import build_model
    from initreg.train.stacked import StackedSequential

    ms = [build_model(CNN, d.input_shape, d.num_outputs, seed=s) for s in range(K)]
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(d.x_train), (K, 64), generator=g)
    x, y = d.x_train[idx], d.y_train[idx]

    def loss(out):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none").view(K, -1).mean(1).sum()

    net = StackedSequential(ms)
    opt_g = torch.optim.Adam(net.parameters(), 1e-3, fused=True)
    base = copy.deepcopy(ms[0]).to("meta")
    params = {n: p.detach().requires_grad_() for n, p in stack_module_state(ms)[0].items()}
    opt_v = torch.optim.Adam(params.values(), 1e-3, fused=True)
    vf = vmap(lambda p, xx: functional_call(base, p, (xx,)))

    def grouped():
        for _ in range(5):
            opt_g.zero_grad()
            loss(net(x)).backward()
            opt_g.step()

    def vmapped():
        for _ in range(5):
            opt_v.zero_grad()
            loss(vf(params, x)).backward()
            opt_v.step()

    t = interleave({"grouped": grouped, "vmap": vmapped}, rounds=rounds)
    return median_ratio(t["vmap"], t["grouped"])


def run(quick: bool = False) -> list[dict]:
    import math

    from initreg.data import load_data
    from initreg.lab.claims.c10_batchnorm import sigmoid_mlp
    from initreg.models import build_model

    setup_threads(1)
    rounds = 3 if quick else 9
    rows = []
    d = load_data({"name": "mnist1d"})
    mc = {"name": "mlp", "widths": [100, 100], "init": "torch"}
    cfg = {"epochs": 1, "batch_size": 128, "lr": 1e-3, "progress": "none", "evaluate_test": False}
    r, v = _seq_vs_stacked(d, lambda s: build_model(mc, d.input_shape, d.num_outputs, seed=s), cfg, rounds)
    detail = (f"MNIST-1D train {len(d.x_train)} (input {d.input_shape[0]}), MLP 40-100-100-10, batch 128, Adam, 1 epoch, "
              f"1 thread; {K} seeds as one stacked model (vectorized={v}) vs {K} fit calls; {rounds} interleaved rounds")
    rows.append(ratio_row(f"{K} seeds at once / sequential (speed-up)", r, "≥ 2.5", r >= 2.5, detail))

    img = load_data({"name": "mnist5k", "train_size": 640, "flatten": False})
    crounds = 3 if quick else 5
    cfg = {"epochs": 1, "batch_size": 64, "lr": 1e-3, "progress": "none", "evaluate_test": False}
    r, v = _seq_vs_stacked(img, lambda s: build_model(CNN, img.input_shape, img.num_outputs, seed=s), cfg, crounds)
    rows.append(ratio_row(f"conv net: {K} seeds at once / sequential (speed-up)", r, "report", None,
                          f"C16's CNN (conv 16, 32 channels, 3×3, max pooling, hidden 64) on {len(img.x_train)} "
                          f"MNIST-5k images 1×28×28, batch 64, Adam, 1 epoch, 1 thread; grouped convolution "
                          f"(vectorized={v}); {crounds} interleaved rounds"))
    cfg = {"epochs": 1, "batch_size": 60, "optimizer": "sgd", "lr": 0.5, "progress": "none", "evaluate_test": False}
    dim = math.prod(img.input_shape)
    r, v = _seq_vs_stacked(img, lambda s: sigmoid_mlp(dim, img.num_outputs, True, s), cfg, crounds)
    rows.append(ratio_row(f"BN net: {K} seeds at once / sequential (speed-up)", r, "report", None,
                          f"C10's sigmoid MLP 784-100-100-100-10 with BatchNorm1d (running statistics per copy), "
                          f"{len(img.x_train)} MNIST-5k images, batch 60, SGD, 1 epoch, 1 thread (vectorized={v}); "
                          f"{crounds} interleaved rounds"))
    r = _vmap_vs_grouped(img, crounds)
    rows.append(ratio_row(f"conv net: {K} stacked copies, vmap step / grouped-convolution step", r, "report", None,
                          "one training step (forward, backward, fused Adam) of 16 copies of C16's CNN at batch 64: "
                          "torch.func.vmap over functional_call vs initreg's grouped convolution (> 1: grouped is "
                          f"faster); 5 steps per round, {crounds} interleaved rounds"))
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
