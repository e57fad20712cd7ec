"""The theory overlay: the per-layer variances mean-field theory predicts for a network.

For a chain of weight layers ``h_l = W_l x_{l-1} + b_l``, ``x_l = f_l(h_l)``, with i.i.d.
zero-mean weights of second moment ``E[W_l²] = σ_w²/fan_in`` (Poole et al. 2016,
"Exponential expressivity in deep neural networks through transient chaos"; Schoenholz et
al. 2017, "Deep information propagation"), the second moment of the pre-activations obeys

    q_1 = σ_w,1² · E[x_0²] + σ_b,1²
    q_{l+1} = σ_w,l+1² · E_z[f_l(√q_l z)²] + σ_b,l+1²,     z ~ N(0, 1)

and the gradient with respect to the pre-activations obeys (backward factor χ)

    E[δ_l²] = E[δ_{l+1}²] · fan_out_{l+1} E[W_{l+1}²] · E_z[f_l'(√q_l z)²].

With equal widths ``fan_out E[W²] = σ_w²`` and the factor is the χ₁ of Schoenholz et al.
The probe evaluates these with the layers' *actual* weights (``σ_w² = fan_in · mean(W²)``,
``σ_b² = mean(b²)``), so the overlay works for any scheme; for a scheme applied by
`initreg.init` that is the scheme's own variance up to sampling error. The expectations
are computed by quadrature on the activation *module itself* (any elementwise activation,
its derivative by autograd). It assumes a plain chain (weight layer → elementwise
activation); norm layers, pooling and residual connections are outside it.

>>> import torch
>>> q = variance_map(torch.nn.ReLU(), [1.0, 1.0], sw2=[2.0, 2.0], sb2=[0.0, 0.0])
>>> [round(v, 3) for v in q]   # Kaiming: E[relu(h)²] = q/2, times σ_w² = 2 keeps q
[2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

__all__ = ["expectations", "variance_map", "saturation_fraction", "NormalQuadrature"]


class NormalQuadrature:
    """E[g(z)], z ~ N(0,1), by the trapezoid rule on a grid fitted to the activation's scale.

    Gauss–Hermite nodes miss an activation's features once ``√q`` is large (``tanh(√q z)'``
    is a spike of width 1/√q at 0), so the grid is the union of ``z ∈ [−12, 12]`` (the
    Gaussian's scale) and ``u = √q z ∈ [−40, 40]`` (the activation's scale), 4000 points each (an even count: no node exactly at a kink at 0).
    """

    def __init__(self, n: int = 4000):
        self.n = n

    def grid(self, q: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, w)``: nodes and trapezoid weights (summing to 1) for E[g(√q z)]."""
        z = torch.linspace(-12, 12, self.n, dtype=torch.float64)
        s = float(np.sqrt(max(q, 0.0)))
        if s > 40 / 12:
            z = torch.cat([z, torch.linspace(-40, 40, self.n, dtype=torch.float64) / s]).unique()
        pdf = torch.exp(-z * z / 2)
        dz = z[1:] - z[:-1]
        w = torch.zeros_like(z)
        w[1:] += dz / 2
        w[:-1] += dz / 2
        w = w * pdf
        return z, w / w.sum()


_QUAD = NormalQuadrature()


def _call(f: Callable, x: torch.Tensor) -> torch.Tensor:
    try:
        return f(x)
    except RuntimeError:  # an activation that does not take float64: use float32
        return f(x.float()).double()


def expectations(f: Callable | None, q: float, *, quad: NormalQuadrature = _QUAD) -> tuple[float, float]:
    """``(E[f(√q z)²], E[f'(√q z)²])`` for z ~ N(0, 1); ``f=None`` is the identity.

    The derivative comes from autograd, so any elementwise ``nn.Module`` or function works.

    >>> e, d = expectations(torch.nn.ReLU(), 4.0)
    >>> round(e, 3), round(d, 3)
    (2.0, 0.5)
    """
    if f is None:
        return q, 1.0
    if not np.isfinite(q):
        return float("nan"), float("nan")
    z, w = quad.grid(q)
    x = (z * np.sqrt(max(q, 0.0))).requires_grad_(True)
    with torch.enable_grad():
        y = _call(f, x)
        (g,) = torch.autograd.grad(y.sum(), x)
    y = y.detach()
    return float((y * y * w).sum()), float((g * g * w).sum())


def variance_map(f: Callable | None | Sequence[Callable | None], x_ms: float | Sequence[float], *,
                 sw2: Sequence[float], sb2: Sequence[float]) -> list[float]:
    """The predicted second moments ``q_1 … q_L`` of the pre-activations.

    Args:
        f: the activation after each layer (one for all, or a list; ``None`` = identity).
            Only the activations of layers ``1 … L-1`` are used.
        x_ms: ``E[x_0²]`` of the network's input (a list: only the first entry is used).
        sw2: ``σ_w² = fan_in · E[W²]`` per layer.
        sb2: ``σ_b² = E[b²]`` per layer.
    """
    n = len(sw2)
    acts = list(f) if isinstance(f, (list, tuple)) else [f] * n
    m = x_ms[0] if isinstance(x_ms, (list, tuple)) else x_ms
    qs: list[float] = []
    for i in range(n):
        q = sw2[i] * m + sb2[i]
        qs.append(q)
        m = expectations(acts[i], q)[0] if i < n - 1 else m
    return qs


def _bounds_of(f: Callable) -> tuple[float, float] | None:
    from .core import activation_bounds

    return activation_bounds(f) if isinstance(f, torch.nn.Module) else None


def saturation_fraction(f: Callable | None, q: float, margin: float) -> float | None:
    """P(f(√q z) within ``margin``·(hi−lo)/2 of a bound) for a bounded activation, else None."""
    if f is None:
        return None
    b = _bounds_of(f)
    if b is None or not np.isfinite(q):
        return None
    lo, hi = b
    tol = margin * (hi - lo) / 2
    z, w = _QUAD.grid(q)
    with torch.no_grad():
        a = _call(f, z * np.sqrt(max(q, 0.0)))
    near = ((a <= lo + tol) | (a >= hi - tol)).double()
    return float((near * w).sum())
