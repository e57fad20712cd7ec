"""I2 (lecture I2): the variance of one term of a unit, for independent w and x,
``Var(w·x) = E[x]²Var(w) + E[w]²Var(x) + Var(w)Var(x)``, which for zero-mean w and x reduces
to ``Var(w)Var(x)``.

Monte-Carlo check in fp64 with ``samples`` independent draws per seed:

* non-zero means: ``w ~ N(μ_w, σ_w²)`` and ``x = ReLU(z)``, ``z ~ N(0, 1)`` (a ReLU unit's
  output: ``E[x] = 1/√(2π)``, ``Var(x) = 1/2 − 1/(2π)``); the three-term formula must match the
  sample variance, and dropping either of the two terms the zero-mean form drops must not;
* zero means: ``w ~ N(0, σ_w²)``, ``x = tanh(z)`` (a symmetric activation's output); the
  product of variances must match.

The tolerance is set from the Monte-Carlo error: the relative standard error of a sample
variance is ``√((κ − 1)/n)``; κ of w·x is about 15 here (measured on a separate draw of four
million), about 0.19% at four million draws, so a 1% bound is about five standard errors; a
dropped term here is ≥ 15% of the total.
"""

from __future__ import annotations

import math

import torch

from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion

SETTINGS = {"quick": {"samples": 4_000_000, "mu_w": 0.3, "sigma_w": 0.3},
            "full": {"samples": 4_000_000, "mu_w": 0.3, "sigma_w": 0.3}}
CRITERIA = (
    Criterion("three_terms_match", metric="|sample Var(w·x) / (E[x]²Var(w) + E[w]²Var(x) + Var(w)Var(x)) − 1|, "
              "non-zero means", unit="", direction="<", threshold=0.01, kind="exact", changed="2026-12-06",
              text="1% ≈ five Monte-Carlo standard errors at four million draws"),
    Criterion("dropped_terms_matter", metric="min over the two dropped terms of |sample Var(w·x) / (formula without "
              "that term) − 1|, non-zero means", unit="", direction=">", threshold=0.05, kind="exact",
              changed="2026-12-06", text="each term the zero-mean form drops is needed when the means are not zero"),
    Criterion("zero_mean_product", metric="|sample Var(w·x) / (Var(w)Var(x)) − 1|, zero-mean w and x", unit="",
              direction="<", threshold=0.01, kind="exact", changed="2026-12-06"),
)
NOTES = (
    "With w ~ N({settings[mu_w]}, {settings[sigma_w]}²) and x a ReLU output (E[x]² Var(w) = {terms[ex2_varw]:.4f}, "
    "E[w]² Var(x) = {terms[ew2_varx]:.4f}, Var(w) Var(x) = {terms[varw_varx]:.4f}), the sample variance of w·x over "
    "{settings[samples]:,} draws matches the three-term formula to {err_three[max]:.2%} (worst seed); the zero-mean "
    "form Var(w) Var(x) alone would understate it {under[mean]:.1f}×, and dropping only E[x]² Var(w) or only "
    "E[w]² Var(x) misses by at least {err_dropped[min]:.0%}. With zero-mean w and x = tanh(z) the product of "
    "variances matches to {err_zero[max]:.2%}."
)


def mc_check(samples: int, mu_w: float, sigma_w: float, generator: torch.Generator) -> dict[str, float]:
    """One seed's Monte-Carlo check: relative errors of the three-term formula, of each
    formula missing one dropped term, and of the zero-mean product.

    >>> r = mc_check(200_000, 0.3, 0.3, torch.Generator().manual_seed(0))
    >>> r["err_three"] < 0.05 and r["err_dropped"] > 0.05 and r["err_zero"] < 0.05  # six standard errors at 200,000
    True
    """
    d = torch.float64
    w = mu_w + sigma_w * torch.randn(samples, generator=generator, dtype=d)
    x = torch.relu(torch.randn(samples, generator=generator, dtype=d))
    ex, varx = 1 / math.sqrt(2 * math.pi), 0.5 - 1 / (2 * math.pi)  # moments of ReLU(z), z ~ N(0, 1)
    varw, ew = sigma_w**2, mu_w
    terms = {"ex2_varw": ex**2 * varw, "ew2_varx": ew**2 * varx, "varw_varx": varw * varx}
    v = float((w * x).var())
    full = sum(terms.values())
    w0 = sigma_w * torch.randn(samples, generator=generator, dtype=d)
    x0 = torch.tanh(torch.randn(samples, generator=generator, dtype=d))
    v0 = float((w0 * x0).var())
    return {
        "err_three": abs(v / full - 1),
        "err_dropped": min(abs(v / (full - terms["ex2_varw"]) - 1), abs(v / (full - terms["ew2_varx"]) - 1)),
        "err_zero": abs(v0 / (float(w0.var()) * float(x0.var())) - 1),
        "understated": v / terms["varw_varx"],
        **terms,
    }


@experiment("I2", title="Variance of one term: the three-term identity", lecture=("I2",),
            statement=("For independent w and x, Var(w·x) = E[x]²Var(w) + E[w]²Var(x) + Var(w)Var(x); with zero-mean "
                       "w and x it is Var(w)Var(x)."),
            criteria=CRITERIA, notes=NOTES, headline="three_terms_match", settings=SETTINGS, order=18.3)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    rows = [mc_check(st["samples"], st["mu_w"], st["sigma_w"], torch.Generator().manual_seed(seed)) for seed in ctx.seeds]
    S = ctx.summarize
    numbers = {"err_three": S([r["err_three"] for r in rows]), "err_dropped": S([r["err_dropped"] for r in rows]),
               "err_zero": S([r["err_zero"] for r in rows]), "under": S([r["understated"] for r in rows]),
               "terms": {k: rows[0][k] for k in ("ex2_varw", "ew2_varx", "varw_varx")}}
    return Outcome(measurements={"three_terms_match": [r["err_three"] for r in rows],
                                 "dropped_terms_matter": [r["err_dropped"] for r in rows],
                                 "zero_mean_product": [r["err_zero"] for r in rows]}, numbers=numbers)
