"""C3 — the lecture's softmax example reproduces; the stable softmax survives logits of ±1e4."""

from __future__ import annotations

import torch

from ...lab import Outcome, experiment
from ...nn.softmax import log_softmax, softmax

SETTINGS = {"logits": [1.3, 5.1, 2.2, 0.7, 1.1], "lecture": [0.02, 0.90, 0.05, 0.01, 0.02],
            "exact": [0.0202, 0.9025, 0.0497, 0.0111, 0.0165], "extreme": 1e4}


@experiment(
    "C3",
    title="Softmax example",
    statement="softmax([1.3, 5.1, 2.2, 0.7, 1.1]) = [0.02, 0.90, 0.05, 0.01, 0.02].",
    criterion="our softmax of the example, rounded to 2 decimals, equals the lecture's numbers and to 4 decimals "
              "the exact ones (0.0202, 0.9025, 0.0497, 0.0111, 0.0165); with logits of ±1e4 softmax and log-softmax "
              "are finite, sum to 1, and agree with torch's within 1e-6 (the naive formula gives NaN).",
    settings={"quick": SETTINGS, "full": SETTINGS},
    lecture=("L4",),
)
def run(ctx) -> Outcome:
    from ...plot import new_figure, save_figure

    s = ctx.settings
    z = torch.tensor(s["logits"], dtype=torch.float64)
    p = softmax(z)
    r2 = [round(float(v), 2) for v in p]
    r4 = [round(float(v), 4) for v in p]
    holds = r2 == s["lecture"] and r4 == s["exact"]
    big = s["extreme"]
    ze = torch.tensor([[big, -big, 0.0, big / 2], [-big, -big, -big + 1, -big]], dtype=torch.float32)
    pe, lpe = softmax(ze, dim=1), log_softmax(ze, dim=1)
    naive = torch.exp(ze) / torch.exp(ze).sum(dim=1, keepdim=True)
    stable = (bool(torch.isfinite(pe).all()) and bool(torch.isfinite(lpe).all())
              and float((pe.sum(1) - 1).abs().max()) < 1e-6
              and float((pe - torch.softmax(ze, 1)).abs().max()) < 1e-6
              and float((lpe - torch.log_softmax(ze, 1)).abs().max()) < 1e-6 * big)
    holds = holds and stable
    fig, ax = new_figure(size=(5.0, 3.2))
    idx = range(len(r4))
    ax.bar([i - 0.2 for i in idx], [float(v) for v in p], width=0.4, label="ours")
    ax.bar([i + 0.2 for i in idx], s["lecture"], width=0.4, label="lecture (2 decimals)")
    ax.set_xticks(list(idx), [f"z={v}" for v in s["logits"]])
    ax.set_ylabel("softmax probability")
    ax.legend(fontsize=8)
    ax.set_title("C3: softmax of the lecture's example", fontsize=10)
    fpath = save_figure(fig, ctx.figure("c03_softmax.png"))
    numbers = {"p_max": float(p.max()), "max_abs_diff_vs_exact": max(abs(float(a) - b) for a, b in zip(p, s["exact"])),
               "softmax": [float(v) for v in p], "rounded_2": r2, "rounded_4": r4,
               "naive_nan_at_1e4": bool(torch.isnan(naive).any()), "stable_ok": stable}
    notes = (
        f"softmax({s['logits']}) = {r4} (4 decimals), {r2} (2 decimals), as the lecture says. The stable version "
        "subtracts max(z) first (softmax(z) = softmax(z − m)) and log-softmax uses log-sum-exp, so logits of ±1e4 "
        f"give finite probabilities that sum to 1; the naive exp(z)/Σexp(z) gives NaN there "
        f"({numbers['naive_nan_at_1e4']})."
    )
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fpath.name], notes=notes)
