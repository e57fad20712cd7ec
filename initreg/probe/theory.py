"""The theory overlay's maths, in the probe's terms: a thin adapter over `initreg.init`.

For a chain of weight layers ``h_l = W_l x_{l-1} + b_l``, ``x_l = f_l(h_l)``, with i.i.d.
zero-mean weights of second moment ``E[W_l²] = σ_w²/fan_in`` (Poole et al. 2016,
"Exponential expressivity in deep neural networks through transient chaos"; Schoenholz et
al. 2017, "Deep information propagation"), the second moment of the pre-activations obeys

    q_1 = σ_w,1² · E[x_0²] + σ_b,1²
    q_{l+1} = σ_w,l+1² · E_z[f_l(√q_l z)²] + σ_b,l+1²,     z ~ N(0, 1)

and the gradient with respect to the pre-activations obeys (backward factor χ)

    E[δ_l²] = E[δ_{l+1}²] · fan_out_{l+1} E[W_{l+1}²] · E_z[f_l'(√q_l z)²].

That recursion is `initreg.init.meanfield.predicted_variances` and the expectations are
`initreg.init.gain.moments` (Gauss–Hermite, or Gauss–Legendre split at kinks and, for wide
inputs, at the activation's scale: accurate to ~1e-13 for q from 1e-8 to 1e8). This module
only maps the probe's inputs onto them: an activation *module* (``None`` = no activation)
is passed as is — one that computes a registered activation gets its exact derivative, any
other elementwise module its derivative by autograd — and the saturated fraction of a
bounded activation is a Gaussian expectation of an indicator, integrated exactly by cutting
the quadrature where the indicator jumps. The probe evaluates the recursion with the
layers' *actual* weights (``σ_w² = fan_in · mean(W²)``, ``σ_b² = mean(b²)``,
`initreg.probe.overlay`), so it works for any scheme; it assumes a plain chain (weight layer
→ elementwise activation); norm layers, pooling and residual connections are outside it.

>>> import torch
>>> q = variance_map(torch.nn.ReLU(), [1.0, 1.0], sw2=[2.0, 2.0], sb2=[0.0, 0.0])
>>> [round(v, 3) for v in q]   # Kaiming: E[relu(h)²] = q/2, times σ_w² = 2 keeps q
[2.0, 2.0]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..init.gain import WINDOW, gauss_expectation, gauss_nodes, moments, resolve_activation
from ..init.meanfield import predicted_variances
from ..nn.activations import activation_bounds

__all__ = ["expectations", "variance_map", "saturation_fraction"]


def expectations(f: Callable | None, q: float) -> tuple[float, float]:
    """``(E[f(√q z)²], E[f'(√q z)²])`` for z ~ N(0, 1); ``f=None`` is the identity.

    Any elementwise ``nn.Module`` or function works (`initreg.init.gain.moments`); a
    non-finite ``q`` gives NaNs.

    >>> e, d = expectations(torch.nn.ReLU(), 4.0)
    >>> round(e, 3), round(d, 3)
    (2.0, 0.5)
    """
    if f is None:
        return q, 1.0
    if not math.isfinite(q):
        return math.nan, math.nan
    m = moments(f, q)
    return m["second_moment"], m["derivative_second_moment"]


def variance_map(f: Callable | None | Sequence[Callable | None], x_ms: float | Sequence[float], *,
                 sw2: Sequence[float], sb2: Sequence[float]) -> list[float]:
    """The predicted second moments ``q_1 … q_L`` of the pre-activations
    (`initreg.init.meanfield.predicted_variances` with ``σ_w²`` given directly).

    Args:
        f: the activation after each layer (one for all, or a list; ``None`` = identity).
            Only the activations of layers ``1 … L-1`` are used.
        x_ms: ``E[x_0²]`` of the network's input (a list: only the first entry is used).
        sw2: ``σ_w² = fan_in · E[W²]`` per layer.
        sb2: ``σ_b² = E[b²]`` per layer.
    """
    n = len(sw2)
    acts = list(f) if isinstance(f, (list, tuple)) else [f] * n
    m = float(x_ms[0] if isinstance(x_ms, (list, tuple)) else x_ms)  # type: ignore[arg-type]
    names: list[Any] = [a if a is not None else "identity" for a in acts]
    # fans of 1: then fan_in · Var(W) is σ_w² itself
    return predicted_variances(names, [(1, 1)] * n,
                               weight_var=list(sw2), bias_var=list(sb2), input_moment=m).forward


def _bounds_of(f: Callable) -> tuple[float, float] | None:
    return activation_bounds(f) if isinstance(f, torch.nn.Module) else None


@functools.lru_cache(maxsize=4)
def _unit_grid(k: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, k + 1)


def _crossings(g: Callable[[torch.Tensor], torch.Tensor], levels: Sequence[float], x: np.ndarray,
               k: int = 4096, steps: int = 2) -> list[float]:
    """The points where ``g`` crosses one of ``levels`` between neighbours of the ascending
    points ``x``: each bracket is narrowed to its ``k``-th part where the side first changes,
    then the crossing is found by ``steps`` of regula falsi (to ~1e-13 of the bracket). The
    bookkeeping is numpy; ``g`` is called ``steps + 1`` times."""
    with torch.no_grad():
        def gn(a: np.ndarray) -> np.ndarray:
            return g(torch.from_numpy(a)).double().numpy()

        lev = np.asarray(levels, dtype=np.float64)
        above = gn(x)[:, None] >= lev  # (points, levels)
        i, which = np.nonzero(above[1:] != above[:-1])
        if i.size == 0:
            return []
        lev = lev[which]
        grid = x[i, None] + (x[i + 1] - x[i])[:, None] * _unit_grid(k)
        gg = gn(grid.ravel()).reshape(grid.shape)
        side = gg >= lev[:, None]
        j = np.maximum((side != side[:, :1]).argmax(1), 1)
        rows = np.arange(len(j))
        x0, x1, g0, g1 = grid[rows, j - 1], grid[rows, j], gg[rows, j - 1], gg[rows, j]
        side = side[:, 0]
        for step in range(steps):
            d = g1 - g0
            frac = np.where(d != 0, (lev - g0) / np.where(d != 0, d, 1.0), 0.5)
            c = x0 + np.minimum(np.maximum(frac, 0.0), 1.0) * (x1 - x0)
            if step < steps - 1:
                gc = gn(c)
                left = (gc >= lev) == side  # c is on the left end's side: it becomes the left end
                x0, g0 = np.where(left, c, x0), np.where(left, gc, g0)
                x1, g1 = np.where(left, x1, c), np.where(left, g1, gc)
    return c.tolist()


def saturation_fraction(f: Callable | None, q: float, margin: float) -> float | None:
    """P(f(√q z) within ``margin``·(hi−lo)/2 of a bound) for a bounded activation, else None.

    The indicator is integrated by `initreg.init.gain.gauss_expectation` with the points
    where it jumps (bracketed by the quadrature's own points) as kinks: exact for a step.
    """
    if f is None:
        return None
    b = _bounds_of(f)
    if b is None or not math.isfinite(q):
        return None
    lo, hi = b
    tol = margin * (hi - lo) / 2
    g = resolve_activation(f, kinks=())[0]
    mid, half = (hi + lo) / 2, (hi - lo) / 2 - tol

    def near(x: torch.Tensor) -> torch.Tensor:  # within tol of lo or hi (run under no_grad)
        return (g(x) - mid).abs() >= half

    # the indicator jumps where f crosses lo + tol or hi - tol: cut the quadrature there
    x = gauss_nodes(q, kinks=(0.0,))[0].numpy()
    edge = WINDOW * math.sqrt(q)
    x = np.concatenate([[-edge], x, [edge]])
    return gauss_expectation(near, q, kinks=tuple(_crossings(g, (lo + tol, hi - tol), x)))
