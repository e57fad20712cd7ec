"""C3 (lecture L4): the lecture's softmax example reproduces — softmax([1.3, 5.1, 2.2, 0.7, 1.1])
= [0.02, 0.90, 0.05, 0.01, 0.02] — and the stable softmax survives logits of ±1e4.

Each seed checks the example in a form the seed changes: the logits shifted by a constant
c ~ U(−50, 50) and permuted (softmax(Pz + c) = P·softmax(z)), so every seed is a fresh check
of the same identity. Stability: a seed-drawn batch of logits of magnitude up to 1e4 against
`torch.softmax` / `torch.log_softmax` (float32).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion
from ...nn.softmax import log_softmax, softmax

_S = {"logits": [1.3, 5.1, 2.2, 0.7, 1.1], "lecture": [0.02, 0.90, 0.05, 0.01, 0.02],
      "exact": [0.0202, 0.9025, 0.0497, 0.0111, 0.0165], "shift": 50.0, "extreme": 1e4, "rows": 64}
SETTINGS = {"quick": _S, "full": _S}
CRITERIA = (
    Criterion("example_matches_lecture", kind="exact", unit="",
              metric="max |softmax − the lecture's two-decimal values| on the shifted, permuted example",
              direction="<", threshold=0.005, changed="2026-12-06", text="within half a unit of the second decimal"),
    Criterion("example_matches_four_decimals", kind="exact", unit="",
              metric="max |softmax − the exact four-decimal values| on the shifted, permuted example",
              direction="<", threshold=5e-5, changed="2026-12-06", text="within half a unit of the fourth decimal"),
    Criterion("stable_at_extreme_logits", kind="exact", unit="",
              metric="max |ours − torch| / max(1, |torch|) over softmax and log-softmax, logits up to ±1e4 (float32; "
                     "∞ if not finite)", direction="<", threshold=1e-6, changed="2026-12-06",
              text="relative, since float32 log-softmax values reach 2e4 in magnitude; 1e-6 ≈ eight float32 ulps"),
)
NOTES = (
    "softmax({settings[logits]}) = {rounded_4} (four decimals), {rounded_2} (two decimals), as the lecture says; "
    "shifted by a seed-drawn constant and permuted, the largest deviation over seeds from the lecture's two-decimal "
    "values is {dev_2[max]:.4f} and from the four-decimal ones {dev_4[max]:.1e}. The stable version subtracts max(z) "
    "first and log-softmax uses log-sum-exp, so logits of magnitude up to {settings[extreme]:g} give finite "
    "probabilities; the largest relative difference from torch is {softmax_err[max]:.1e} for softmax and "
    "{log_softmax_err[max]:.1e} for log-softmax. {words[stable]} The naive exp(z)/Σexp(z) gives {naive_nan[mean]:.0%} "
    "NaN rows there."
)


def _rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((a.double() - ref.double()).abs() / ref.double().abs().clamp_min(1.0)).max())


def check_seed(s: dict[str, Any], seed: int) -> dict[str, float]:
    """One seed's deviations: the shifted, permuted example vs the lecture's values, and the
    extreme logits vs torch."""
    g = torch.Generator().manual_seed(seed)
    z = torch.tensor(s["logits"], dtype=torch.float64)
    perm = torch.randperm(len(z), generator=g)
    c = (torch.rand((), generator=g, dtype=torch.float64) * 2 - 1) * s["shift"]
    p = softmax(z[perm] + c)
    lec = torch.tensor(s["lecture"], dtype=torch.float64)[perm]
    exact = torch.tensor(s["exact"], dtype=torch.float64)[perm]
    big = s["extreme"]
    ze = (torch.rand(s["rows"], len(z), generator=g) * 2 - 1) * big
    ze[0] = torch.tensor([big, -big, 0.0, big / 2, -big + 1])  # ties far from each other, a row of extremes
    pe, lpe = softmax(ze, dim=1), log_softmax(ze, dim=1)
    finite = bool(torch.isfinite(pe).all()) and bool(torch.isfinite(lpe).all())
    err_p, err_lp = _rel_err(pe, torch.softmax(ze, 1)), _rel_err(lpe, torch.log_softmax(ze, 1))
    err = max(err_p, err_lp)
    naive = torch.exp(ze) / torch.exp(ze).sum(dim=1, keepdim=True)
    return {"dev_2": float((p - lec).abs().max()), "dev_4": float((p - exact).abs().max()),
            "extreme_err": err if finite else math.inf, "softmax_err": err_p, "log_softmax_err": err_lp, "naive_nan": float(torch.isnan(naive).any(1).double().mean())}


@experiment(
    "C3",
    title="Softmax example",
    statement="softmax([1.3, 5.1, 2.2, 0.7, 1.1]) = [0.02, 0.90, 0.05, 0.01, 0.02] (exactly 0.0202, 0.9025, 0.0497, "
              "0.0111, 0.0165); computed stably, softmax also works for logits of ±1e4.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="example_matches_lecture",
    settings=SETTINGS,
    lecture=("L4",),
)
def run(ctx: Context) -> Outcome:
    from ...plot import new_figure, save_figure

    s = ctx.settings
    per = [check_seed(s, seed) for seed in ctx.seeds]
    p = softmax(torch.tensor(s["logits"], dtype=torch.float64))
    numbers: dict[str, Any] = {k: ctx.summarize([r[k] for r in per]) for k in per[0]}
    tol = CRITERIA[2].threshold
    numbers["words"] = {"stable": "Both are within the tolerance on every seed." if numbers["extreme_err"]["max"] < tol
                        else "Log-softmax is outside the tolerance: it computes z − (m + log Σ exp(z − m)), so adding the small log-sum "
                             "to a max of magnitude about the extreme logit rounds it away (half a float32 ulp of that "
                             "max); torch computes (z − m) − log Σ exp(z − m) and keeps it."
                        if numbers["log_softmax_err"]["max"] >= tol > numbers["softmax_err"]["max"]
                        else "Softmax itself differs from torch by more than the tolerance on some seed."}
    numbers["softmax"] = [float(v) for v in p]
    numbers["rounded_2"] = [round(float(v), 2) for v in p]
    numbers["rounded_4"] = [round(float(v), 4) for v in p]
    fig, ax = new_figure(size=(5.0, 3.2))
    idx = range(len(p))
    ax.bar([i - 0.2 for i in idx], numbers["softmax"], width=0.4, label="ours")
    ax.bar([i + 0.2 for i in idx], s["lecture"], width=0.4, label="lecture (2 decimals)")
    ax.set_xticks(list(idx), [f"z={v}" for v in s["logits"]])
    ax.set_ylabel("softmax probability")
    ax.legend(fontsize=8)
    ax.set_title("C3: softmax of the lecture's example", fontsize=10)
    fpath = save_figure(fig, ctx.figure("c03_softmax.png"))
    return Outcome(measurements={"example_matches_lecture": [r["dev_2"] for r in per],
                                 "example_matches_four_decimals": [r["dev_4"] for r in per],
                                 "stable_at_extreme_logits": [r["extreme_err"] for r in per]},
                   numbers=numbers, figures=[fpath.name])
