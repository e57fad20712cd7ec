"""C2 (lecture L3): each activation's derivative is what the table says (the lecture's table plus
GELU, SiLU, SELU, Mish), and the ranges are as corrected (softplus (0, ∞), leaky ReLU (−∞, ∞),
ELU (−α, ∞)) — the lecture's three wrong ranges are each violated by some sample.

In float64, per seed: on a fixed grid in [−6, 6] plus seed-drawn N(0, 3²) points (x = 0
excluded where the derivative jumps), the hand-written derivative against autograd through
the `nn.Module`, and the formula against the module; on a grid in [−15, 15] plus seed-drawn
N(0, 5²) samples, every output inside the corrected range and within 1e-5 of each finite end
(an infinite end: |f(±1e6)| > 1e3).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...lab import Context, Outcome, experiment
from ...lab.verdict import Criterion
from ...nn.activations import Range, activation_info, make_activation

# each row of the table, with the parameter values we test
CASES = [("identity", {}), ("binary_step", {}), ("binary_step", {"straight_through": True}), ("sigmoid", {}),
         ("tanh", {}), ("relu", {}), ("softplus", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
         ("elu", {}), ("elu", {"alpha": 0.5}), ("gelu", {}), ("silu", {}), ("selu", {}), ("mish", {})]
# the lecture's printed ranges that are wrong (erratum L3)
LECTURE_WRONG = {"softplus": Range(0.0, 1.0), "leaky_relu": Range(-1.0, 1.0),
                 "elu": Range(0.0, math.inf, (True, False))}
_S = {"grid": [-6.0, 6.0, 4801], "points": 2000, "range_grid": [-15.0, 15.0, 30001], "samples": 100_000,
      "tight": 1e-5}
SETTINGS = {"quick": _S, "full": _S}
CRITERIA = (
    Criterion("derivative_matches_autograd", kind="exact", unit="",
              metric="max |hand-written f′ − autograd| over every case and point (float64)", direction="<",
              threshold=1e-9, changed="2026-12-06", text="float64 agreement up to rounding"),
    Criterion("formula_matches_module", kind="exact", unit="",
              metric="max |formula f − nn.Module output| over every case and point (float64)", direction="<",
              threshold=1e-9, changed="2026-12-06", text="float64 agreement up to rounding"),
    Criterion("corrected_ranges_hold", kind="exact", unit="cases",
              metric="cases whose outputs leave the corrected range or stay more than 1e-5 from a finite end",
              direction="<", threshold=0.5, changed="2026-12-06", text="none may"),
    Criterion("lecture_ranges_violated", kind="exact", unit="ranges",
              metric="of the lecture's three wrong ranges (softplus, leaky ReLU, ELU), those no sample violates",
              direction="<", threshold=0.5, changed="2026-12-06", text="each must be violated by some sample"),
)
NOTES = (
    "{n_cases} activation/parameter cases in float64. Largest |hand-written − autograd| derivative error over seeds: "
    "{derivative_err[max]:.1e}; largest |formula − module|: {formula_err[max]:.1e}. Every output lies inside the "
    "corrected range and reaches each finite end within the tolerance (cases failing, worst seed: "
    "{range_fail[max]:.0f}). **Erratum confirmed**: the lecture's ranges for softplus, leaky ReLU and ELU are each "
    "violated by samples (largest outputs past them: {lecture_excess}). The binary step's true derivative is zero "
    "wherever it exists, so autograd passes no gradient; with `straight_through=True` the module backpropagates "
    "the indicator of |x| ≤ one and the table's derivative says the same. ReLU, leaky ReLU, ELU and SELU are not "
    "differentiable at zero, so that point is excluded for them. Zero-centred (E f(z) = zero for a standard normal z): "
    "{zero_centred}.{words[failing]}\n\n{table}"
)


def _label(name: str, params: dict) -> str:
    return name + ("(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")


def check_seed(s: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """One row per case: derivative and formula errors, range checks, the lecture's wrong range."""
    from ...init.gain import moments

    g = torch.Generator().manual_seed(seed)
    grid = torch.cat([torch.linspace(*s["grid"][:2], int(s["grid"][2]), dtype=torch.float64),
                      torch.randn(int(s["points"]), generator=g, dtype=torch.float64) * 3])
    rgrid = torch.linspace(*s["range_grid"][:2], int(s["range_grid"][2]), dtype=torch.float64)
    samples = (torch.randn(int(s["samples"]), generator=g, dtype=torch.float64) * 5).clamp(-15, 15)
    xs_range = torch.cat([rgrid, samples])
    rows = []
    for name, params in CASES:
        info = activation_info(name)
        p = info.with_defaults(params)
        mod = make_activation(name, **params).double()
        x = grid[grid != 0] if info.kink_at_zero else grid
        x = x.clone().requires_grad_(True)
        y = mod(x)
        (auto,) = torch.autograd.grad(y.sum(), x)
        d_err = float((auto - info.df(x.detach(), **p)).abs().max())
        f_err = float((info.f(x.detach(), **p) - y.detach()).abs().max())
        with torch.no_grad():
            yr = mod(xs_range)
        inside = bool(info.range.contains(yr, **p).all())
        lo, hi = info.range.bounds(**p)
        if info.range.values is not None:
            tight = all(bool(((yr - v).abs() == 0).any()) for v in info.range.values)
        else:
            tight = True
            with torch.no_grad():
                far = mod(torch.tensor([-1e6, 1e6], dtype=torch.float64))
            if math.isfinite(lo):
                gap = float(yr.min()) - lo
                tight &= 0 <= gap <= s["tight"] if info.range.closed[0] else 0 < gap <= s["tight"]
            else:
                tight &= float(far[0]) < -1e3  # unbounded below
            if math.isfinite(hi):
                gap = hi - float(yr.max())
                tight &= 0 <= gap <= s["tight"] if info.range.closed[1] else 0 < gap <= s["tight"]
            else:
                tight &= float(far[1]) > 1e3  # unbounded above
        wrong = LECTURE_WRONG.get(name) if not params else None
        excess = None
        if wrong is not None:
            wlo, whi = wrong.bounds()
            excess = max(wlo - float(yr.min()), float(yr.max()) - whi)
        rows.append({"activation": _label(name, params), "derivative_err": d_err, "formula_err": f_err,
                     "range": info.range.describe(**p), "in_range": inside, "tight": tight,
                     "lecture_range": info.lecture_range or "",
                     "lecture_range_violated": None if wrong is None else not bool(wrong.contains(yr).all()),
                     "lecture_excess": excess, "E_f": moments({"name": name, **params})["mean"],
                     "zero_centred": info.zero_centred})
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    out = ["| activation | range (corrected) | lecture's range | violated by samples | max deriv. error | E f(z) | "
           "zero-centred |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        viol = "" if r["lecture_range_violated"] is None else ("yes" if r["lecture_range_violated"] else "no")
        out.append(f"| {r['activation']} | {r['range']} | {r['lecture_range']} | {viol} | {r['derivative_err']:.1e} | "
                   f"{r['E_f']:.4f} | {'yes' if r['zero_centred'] else 'no'} |")
    return "\n".join(out)


@experiment(
    "C2",
    title="Activations: derivatives and ranges",
    statement="Each activation's derivative (the lecture's table, plus GELU, SiLU, SELU, Mish) is what it says; the "
              "ranges are as corrected (softplus (0, ∞), leaky ReLU (−∞, ∞), ELU (−α, ∞)), and the lecture's printed "
              "ranges for these three are wrong.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="derivative_matches_autograd",
    settings=SETTINGS,
    lecture=("L3",),
)
def run(ctx: Context) -> Outcome:
    from ...plot import new_figure, save_figure

    s = ctx.settings
    per = [check_seed(s, seed) for seed in ctx.seeds]
    d_err = [max(r["derivative_err"] for r in rows) for rows in per]
    f_err = [max(r["formula_err"] for r in rows) for rows in per]
    fails = [sum(not (r["in_range"] and r["tight"]) for r in rows) for rows in per]
    unviolated = [sum(r["lecture_range_violated"] is False for r in rows) for rows in per]
    bad = sorted({r["activation"] for rows in per for r in rows if not (r["in_range"] and r["tight"])})
    excess = {}
    for rows in per:
        for r in rows:
            if r["lecture_excess"] is not None:
                excess[r["activation"]] = max(excess.get(r["activation"], -math.inf), r["lecture_excess"])
    numbers: dict[str, Any] = {
        "n_cases": len(CASES), "derivative_err": ctx.summarize(d_err), "formula_err": ctx.summarize(f_err),
        "range_fail": ctx.summarize(fails), "lecture_unviolated": ctx.summarize(unviolated),
        "lecture_excess": ", ".join(f"{k} by {v:.3g}" for k, v in excess.items()),
        "zero_centred": ", ".join(r["activation"] for r in per[0] if r["zero_centred"]),
        "ranges": {r["activation"]: r["range"] for r in per[0]}, "rows": per[0], "table": _table(per[0]),
        "words": {"failing": f" Failing the range check: {', '.join(bad)}." if bad else ""},
    }

    names = [(n, pr) for n, pr in CASES if not pr or n == "binary_step"]
    fig, axes = new_figure(4, math.ceil(len(names) / 4), size=(3.0, 2.4))
    xplot = torch.linspace(-4, 4, 801, dtype=torch.float64)
    for ax, (name, params) in zip(axes, names):
        info = activation_info(name)
        p = info.with_defaults(params)
        ax.plot(xplot, info.f(xplot, **p), label="f")
        ax.plot(xplot, info.df(xplot, **p), "--", label="f′")
        ax.set_title(f"{_label(name, params)}  range {info.range.describe(**p)}", fontsize=7)
        ax.axhline(0, color="k", lw=0.4)
        ax.axvline(0, color="k", lw=0.4)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    for ax in axes[len(names):]:
        ax.axis("off")
    fpath = save_figure(fig, ctx.figure("c02_activations.png"))
    return Outcome(measurements={"derivative_matches_autograd": d_err, "formula_matches_module": f_err,
                                 "corrected_ranges_hold": fails, "lecture_ranges_violated": unviolated},
                   numbers=numbers, figures=[fpath.name])
