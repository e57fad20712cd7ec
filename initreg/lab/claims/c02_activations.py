"""C2 — every activation's derivative equals autograd's; the (corrected) ranges hold."""

from __future__ import annotations

import math

import torch

from ...lab import Outcome, experiment
from ...nn.activations import Range, activation_info, make_activation

# each row of the table, with the parameter values we test
CASES = [("identity", {}), ("binary_step", {}), ("binary_step", {"straight_through": True}), ("sigmoid", {}),
         ("tanh", {}), ("relu", {}), ("softplus", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
         ("elu", {}), ("elu", {"alpha": 0.5}), ("gelu", {}), ("silu", {}), ("selu", {}), ("mish", {})]
# the lecture's printed ranges that are wrong (erratum L3)
LECTURE_WRONG = {"softplus": Range(0.0, 1.0), "leaky_relu": Range(-1.0, 1.0),
                 "elu": Range(0.0, math.inf, (True, False))}
SETTINGS = {"grid": [-6.0, 6.0, 4801], "range_grid": [-15.0, 15.0, 30001], "samples": 100_000, "atol": 1e-9,
            "tight": 1e-5}


def _label(name, params):
    return name + ("(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")


@experiment(
    "C2",
    title="Activations: derivatives and ranges",
    statement="Each activation's derivative (the lecture's table, plus GELU, SiLU, SELU, Mish) is what it says; the "
              "ranges are as corrected (softplus (0, ∞), leaky ReLU (-∞, ∞), ELU (-α, ∞)).",
    criterion="float64: on a 4801-point grid in [-6, 6] (x = 0 excluded where the derivative jumps), the hand-written "
              "derivative equals autograd's through the nn.Module within 1e-9, and the formula equals the module; on "
              "a grid in [-15, 15] plus 100k N(0, 5²) samples every output lies in the corrected range and comes "
              "within 1e-5 of each finite end (never past it; an infinite end: |f(±1e6)| > 1e3); the lecture's three wrong ranges are each "
              "violated by some sample; 'zero-centred' holds iff |E f(z)| < 1e-3 for z ~ N(0, 1).",
    settings={"quick": SETTINGS, "full": SETTINGS},
    lecture=("L3",),
)
def run(ctx) -> Outcome:
    from ...init.gain import moments
    from ...plot import new_figure, save_figure

    s = ctx.settings
    g = torch.Generator().manual_seed(ctx.seeds[0])
    grid = torch.linspace(*s["grid"][:2], int(s["grid"][2]), dtype=torch.float64)
    rgrid = torch.linspace(*s["range_grid"][:2], int(s["range_grid"][2]), dtype=torch.float64)
    samples = (torch.randn(int(s["samples"]), generator=g, dtype=torch.float64) * 5).clamp(-15, 15)
    xs_range = torch.cat([rgrid, samples])
    holds = True
    rows = []
    worst = 0.0
    for name, params in CASES:
        info = activation_info(name)
        p = info.with_defaults(params)
        mod = make_activation(name, **params).double()
        x = grid[grid != 0] if info.kink_at_zero else grid
        x = x.clone().requires_grad_(True)
        y = mod(x)
        (auto,) = torch.autograd.grad(y.sum(), x)
        mine = info.df(x.detach(), **p)
        d_err = float((auto - mine).abs().max())
        f_err = float((info.f(x.detach(), **p) - y.detach()).abs().max())
        worst = max(worst, d_err, f_err)
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
        wrong = LECTURE_WRONG.get(name)
        lecture_violated = None if wrong is None else not bool(wrong.contains(yr).all())
        mean = moments({"name": name, **params})["mean"]
        centred_ok = info.zero_centred == (abs(mean) < 1e-3)
        ok = d_err <= s["atol"] and f_err <= s["atol"] and inside and tight and centred_ok and lecture_violated is not False
        holds &= ok
        rows.append({"activation": _label(name, params), "derivative_err": d_err, "formula_err": f_err,
                     "range": info.range.describe(**p), "in_range": inside, "tight": tight,
                     "lecture_range": info.lecture_range or "", "lecture_range_violated": lecture_violated,
                     "E_f": mean, "zero_centred": info.zero_centred, "ok": ok})

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
    bad = [r["activation"] for r in rows if not r["ok"]]
    notes = (
        f"{len(CASES)} activation/parameter cases in float64. Largest |hand-written − autograd| derivative error: "
        f"{worst:.1e}. Ranges checked on a dense grid in [-15, 15] and 100k samples: each output is inside the "
        "corrected range and gets within 1e-5 of every finite end (ReLU's 0 attained; the GELU/SiLU/Mish minima "
        "−0.1700, −0.2785, −0.3088 approached from above; the step's {0, 1} both taken); infinite ends are checked at "
        "x = ±1e6. **Erratum confirmed**: the lecture's softplus (0, 1), leaky ReLU (-1, 1) and "
        "ELU [0, ∞) are each violated by samples (softplus(2) > 1, leaky(5) > 1, ELU(-1) < 0). Binary step: its "
        "true derivative is 0 wherever it exists, so autograd passes no gradient; with `straight_through=True` "
        "the module backpropagates 1[|x| <= 1] and the table's derivative says the same. ReLU, leaky ReLU, ELU and "
        "SELU are not differentiable at 0 (ELU is iff α = 1), so x = 0 is excluded for them. Zero-centred (E f(z) = 0 "
        "for z ~ N(0, 1)): identity, tanh, SELU."
        + (f" Failing: {', '.join(bad)}." if bad else "")
    )
    table = ["| activation | range (corrected) | lecture's range | violated by samples | max deriv. error | E f(z) | zero-centred | ok |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        viol = "" if r["lecture_range_violated"] is None else ("yes" if r["lecture_range_violated"] else "no")
        table.append(f"| {r['activation']} | {r['range']} | {r['lecture_range']} | {viol} | {r['derivative_err']:.1e} | "
                     f"{r['E_f']:.4f} | {'yes' if r['zero_centred'] else 'no'} | {'yes' if r['ok'] else 'NO'} |")
    notes += "\n\n" + "\n".join(table)
    numbers = {"max_derivative_error": worst, "cases": len(CASES), "cases_ok": sum(r["ok"] for r in rows),
               "ranges": {r["activation"]: r["range"] for r in rows}, "rows": rows}
    return Outcome(holds=bool(holds), numbers=numbers, figures=[fpath.name], notes=notes)
