"""I6 (lecture I6): Xavier's uniform version ``U[−√6/√(n_in+n_out), +√6/√(n_in+n_out)]`` has the
same variance ``2/(n_in + n_out)`` as the normal version N(0, 2/(n_in+n_out)), so it keeps the
signal and the gradient the same way with depth.

(a) Moments: a ``fan_out × fan_in`` weight drawn with ``xavier_uniform_`` (gain 1) and one with
``xavier_normal_`` (gain 1): each sample variance against ``2/(n_in + n_out)``; the uniform
draw stays inside its bound. The tolerance, 1%, is about eight standard errors of a sample
variance at half a million weights (``√((κ − 1)/n)``, κ = 1.8 uniform, 3 normal).

(b) Depth: the tanh chain of C6 (``depth`` Linear(``width``) layers, zero biases, input
N(0, I)) initialized with each version (the same seed for both): ``E[x_L²]`` of the last
activation and ``E[(∂L/∂x_1)²]`` at the first, compared on a log10 scale. Paired by seed:
same input, same loss weights; only the weights' distribution differs. The bound, 0.1 in
log10 (×1.26), is a quarter of one layer of legacy init's 3× collapse (log10 3 ≈ 0.48).
"""

from __future__ import annotations

import math

import torch

from initreg.init.schemes import xavier_normal_, xavier_uniform_
from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion

from ._deepnet import chain, measure

SETTINGS = {"quick": {"fan_in": 512, "fan_out": 1024, "depth": 20, "width": 256, "batch": 256},
            "full": {"fan_in": 512, "fan_out": 1024, "depth": 20, "width": 256, "batch": 1024}}
CRITERIA = (
    Criterion("same_variance", metric="max over uniform and normal of |sample Var(w) / (2/(n_in+n_out)) − 1|",
              unit="", direction="<", threshold=0.01, kind="exact", changed="2026-12-06",
              text="1% ≈ eight standard errors of a sample variance at half a million weights"),
    Criterion("uniform_in_bound", metric="max |w| / (√6/√(n_in+n_out)) of the uniform draw", unit="", direction="<",
              threshold=1.0, kind="exact", changed="2026-12-06"),
    Criterion("same_depth_behaviour", metric="max over forward E[x_L²] and backward E[(∂L/∂x_1)²] of |log10 uniform − "
              "log10 normal|, tanh chain", unit="log10", direction="<", threshold=0.1, changed="2026-12-06",
              text="paired by seed: same input and loss weights; 0.1 is a quarter of one layer of legacy's 3×"),
)
NOTES = (
    "A {settings[fan_out]}×{settings[fan_in]} weight: Xavier uniform's sample variance is off the target variance by at most "
    "{err_uniform[max]:.2%} (worst seed), the normal version's by {err_normal[max]:.2%}; the uniform draw reaches "
    "{bound[max]:.4f} of its bound. In a tanh chain of {settings[depth]} layers × {settings[width]} the last "
    "activation's E[x²] is {fwd_u[mean]:.3f} (uniform) vs {fwd_n[mean]:.3f} (normal) and the first layer's gradient "
    "E[(∂L/∂x)²] {bwd_u[mean]:.3f} vs {bwd_n[mean]:.3f}; the larger log10 gap per seed averages {gap[mean]:.3f} "
    "(CI {gap[lo]:.3f} … {gap[hi]:.3f}). The two versions differ in their distribution's shape, not in the variance "
    "that the depth behaviour depends on."
)


def moments(fan_in: int, fan_out: int, generator_seed: int) -> dict[str, float]:
    """Relative variance errors of one uniform and one normal Xavier draw, and max|w|/bound.

    >>> r = moments(256, 512, 0)
    >>> r["err_uniform"] < 0.02 and r["err_normal"] < 0.02 and r["bound"] <= 1
    True
    """
    target = 2 / (fan_in + fan_out)
    u = xavier_uniform_(torch.empty(fan_out, fan_in, dtype=torch.float64), gain=1.0,
                        generator=torch.Generator().manual_seed(generator_seed))
    n = xavier_normal_(torch.empty(fan_out, fan_in, dtype=torch.float64), gain=1.0,
                       generator=torch.Generator().manual_seed(generator_seed))
    return {"err_uniform": abs(float(u.var()) / target - 1), "err_normal": abs(float(n.var()) / target - 1),
            "bound": float(u.abs().max()) / math.sqrt(6 / (fan_in + fan_out))}


@experiment("I6", title="Xavier uniform = Xavier normal in variance and with depth", lecture=("I6",),
            statement=("Xavier's uniform version U[±√6/√(n_in+n_out)] has the variance 2/(n_in + n_out) of the normal "
                       "version, and keeps signal and gradient with depth the same way."),
            criteria=CRITERIA, notes=NOTES, headline="same_depth_behaviour", settings=SETTINGS, order=18.4)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    widths = [st["width"]] * (st["depth"] + 1)
    rows = []
    for seed in ctx.seeds:
        r = moments(st["fan_in"], st["fan_out"], seed)
        x = torch.randn(st["batch"], st["width"], generator=torch.Generator().manual_seed(seed + 7919))
        for tag, name in (("u", "xavier_uniform"), ("n", "xavier_normal")):
            m = measure(chain(widths, "tanh", {"name": name, "gain": 1.0}, seed=seed), x, seed=seed)
            r[f"fwd_{tag}"], r[f"bwd_{tag}"] = m["post"][-1], m["backward_post"][0]
        r["gap"] = max(abs(math.log10(r["fwd_u"] / r["fwd_n"])), abs(math.log10(r["bwd_u"] / r["bwd_n"])))
        rows.append(r)
        ctx.log(f"seed {seed}: {r}")
    numbers = {k: ctx.summarize([r[k] for r in rows]) for k in rows[0]}
    return Outcome(measurements={"same_variance": [max(r["err_uniform"], r["err_normal"]) for r in rows],
                                 "uniform_in_bound": [r["bound"] for r in rows],
                                 "same_depth_behaviour": [r["gap"] for r in rows]}, numbers=numbers)
