"""Gains computed, not looked up: Gauss–Hermite quadrature of E[f(z)²] and E[f′(z)²].

A layer ``y = W x`` with ``Var(w) = g²/fan_in`` and ``x = f(y_prev)`` keeps the
pre-activation variance at ``q`` when ``g² · E[f(√q·z)²] = 1`` (z ~ N(0, 1)); it keeps the
gradient variance when ``g² · E[f′(√q·z)²] = 1`` (with ``fan_out`` in place of ``fan_in``).
So

    forward gain  = 1 / sqrt(E[f(√q·z)²]),     backward gain = 1 / sqrt(E[f′(√q·z)²]),

evaluated by default at q = 1 (a unit-variance pre-activation). This is He et al. (2015)'s
argument for *any* activation: for ReLU both are √2; for a positively homogeneous
activation (linear, ReLU, leaky ReLU) the value does not depend on q.

**Against ``torch.nn.init.calculate_gain``.** Torch's value is exact for linear/identity/
conv (1), ReLU (√2) and leaky ReLU (√(2/(1+a²))); ours agrees to machine precision. Where
torch uses a heuristic we compute something else, on purpose:

======== =============== =========================================================
name     torch            ours (forward / backward, q = 1)
======== =============== =========================================================
tanh     5/3 ≈ 1.667      1.593 / 1.467 — the gain that makes q = 1 a fixed point
sigmoid  1                1.846 / 4.723 — E[σ(z)²] includes the 0.5 mean
SELU     3/4              1 / 0.966 — SELU is built so E[selu(z)²] = 1: LeCun normal
======== =============== =========================================================

(torch's 5/3 for tanh was chosen empirically to keep activations in tanh's near-linear
range over depth; 3/4 for SELU trades self-normalization for stabler training.)

**Accuracy.** ``n`` Gauss–Hermite nodes (default 200, float64) integrate a smooth
integrand to ~1e-15. Gauss–Hermite converges only algebraically across a kink (ELU/SELU
would be off by ~1e-5 in E[f²] and ~6e-4 in E[f]), so for the registered activations
whose derivative jumps at 0 (``Activation.kink_at_zero``) the expectation is split at the
kink and each half is integrated with ``n`` Gauss–Legendre nodes on a ±12σ window
(exact to ~1e-14). The same split at x = 0 is used for any integrand when q > 2: there an
activation's features (tanh′'s peak) are narrower than the Gauss–Hermite node spacing
(plain Gauss–Hermite is off by 0.03 in E[tanh′(10z)²]; split, ~1e-14).

>>> round(gain("relu"), 6), round(gain("leaky_relu", negative_slope=0.2), 6)
(1.414214, 1.38675)
>>> round(gain("tanh"), 4), round(gain("tanh", mode="backward"), 4)
(1.5925, 1.4674)
>>> round(gain(lambda x: 2 * x), 6)  # any callable
0.5
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from ..errors import ConfigError
from ..nn.activations import activation_function

__all__ = ["gauss_hermite", "gauss_expectation", "moments", "second_moment", "gain", "calculate_gain", "TORCH_HEURISTIC_GAINS"]

GainMode = Literal["forward", "backward"]
DEFAULT_NODES = 200

# where torch.nn.init.calculate_gain returns a heuristic instead of the variance-preserving value
TORCH_HEURISTIC_GAINS = {"tanh": 5.0 / 3.0, "selu": 0.75, "sigmoid": 1.0}


@functools.lru_cache(maxsize=8)
def _nodes(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-x²/2)
    w = w / math.sqrt(2.0 * math.pi)
    return torch.from_numpy(x), torch.from_numpy(w)


def gauss_hermite(n: int = DEFAULT_NODES) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights (float64) with ``Σ w_i g(x_i) ≈ E[g(z)]``, z ~ N(0, 1).

    >>> x, w = gauss_hermite(20); round(float((w * x**2).sum()), 12)
    1.0
    """
    if not isinstance(n, int) or n < 2:
        raise ConfigError(f"the number of quadrature nodes must be an integer >= 2; got n={n!r}")
    return _nodes(n)


@functools.lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def gauss_expectation(fn: Callable[[torch.Tensor], torch.Tensor], q: float = 1.0, mean: float = 0.0,
                      n: int = DEFAULT_NODES, kinks: tuple[float, ...] = ()) -> float:
    """``E[fn(mean + √q·z)]`` for z ~ N(0, 1).

    Gauss–Hermite with ``n`` nodes; if ``kinks`` (points in x-space where ``fn`` is not
    smooth) are given, Gauss–Legendre between them over a ±12σ window instead.
    """
    if not q >= 0:
        raise ConfigError(f"the variance q must be >= 0; got q={q}")
    if q == 0:
        with torch.no_grad():
            return float(fn(torch.tensor([float(mean)], dtype=torch.float64))[0])
    s = math.sqrt(q)
    if not kinks and q > 2.0:  # wide input: the activation's features at x = 0 shrink to width 1/√q in z
        kinks = (0.0,)
    if not kinks:
        x, w = gauss_hermite(n)
        with torch.no_grad():
            v = fn(mean + s * x)
        return float((w * v.to(torch.float64)).sum())
    t, u = _legendre(n)
    cuts = sorted(min(max((k - mean) / s, -12.0), 12.0) for k in kinks)
    edges = [-12.0, *cuts, 12.0]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a <= 0:
            continue
        z = 0.5 * (b - a) * t + 0.5 * (a + b)
        w = 0.5 * (b - a) * u * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        with torch.no_grad():
            v = fn(mean + s * torch.from_numpy(z))
        total += float((torch.from_numpy(w) * v.to(torch.float64)).sum())
    return total


def _kinks(activation: Any, params: dict[str, Any]) -> tuple[float, ...]:
    """Where a registered activation or its derivative jumps (empty for callables)."""
    from ..nn.activations import activation_info

    name = activation.get("name") if isinstance(activation, dict) else activation
    if not isinstance(name, str):
        return ()
    if name == "binary_step" and params.get("straight_through"):
        return (-1.0, 0.0, 1.0)
    return (0.0,) if activation_info(name).kink_at_zero else ()


def _derivative(f: Callable, df: Callable | None) -> Callable:
    if df is not None:
        return df

    def auto(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            y = f(x)
            (g,) = torch.autograd.grad(y.sum(), x)
        return g

    return auto


def moments(activation: str | dict | Callable = "relu", q: float = 1.0, n: int = DEFAULT_NODES,
            **params: Any) -> dict[str, float]:
    """``E[f]``, ``E[f²]`` and ``E[f′²]`` at ``√q·z`` for an activation name, config or callable."""
    f, df, p = activation_function(activation, **params)
    d = _derivative(f, df)
    k = _kinks(activation, p)
    return {"mean": gauss_expectation(f, q, n=n, kinks=k),
            "second_moment": gauss_expectation(lambda x: f(x) ** 2, q, n=n, kinks=k),
            "derivative_second_moment": gauss_expectation(lambda x: d(x) ** 2, q, n=n, kinks=k)}


def second_moment(activation: str | dict | Callable = "relu", q: float = 1.0, *, derivative: bool = False,
                  n: int = DEFAULT_NODES, **params: Any) -> float:
    """``E[f(√q z)²]`` (or ``E[f′(√q z)²]`` with ``derivative=True``) — one quadrature.

    >>> round(second_moment("relu", 4.0), 12)
    2.0
    """
    f, df, p = activation_function(activation, **params)
    g = _derivative(f, df) if derivative else f
    return gauss_expectation(lambda x: g(x) ** 2, q, n=n, kinks=_kinks(activation, p))


def gain(activation: str | dict | Callable = "relu", *, mode: GainMode = "forward", q: float = 1.0,
         n: int = DEFAULT_NODES, **params: Any) -> float:
    """The variance-preserving gain of an activation (see the module docstring).

    Args:
        activation: a registered name (``initreg activations``), ``{"name": ..., **params}``,
            or any element-wise callable (its derivative then comes from autograd).
        mode: ``"forward"`` = 1/√E[f(√q z)²] (use with fan_in), ``"backward"`` =
            1/√E[f′(√q z)²] (use with fan_out).
        q: the pre-activation variance at which to evaluate (1 by default).
        params: the activation's parameters (``negative_slope``, ``alpha``, ...).
    """
    f, df, p = activation_function(activation, **params)
    k = _kinks(activation, p)
    if mode == "forward":
        m = gauss_expectation(lambda x: f(x) ** 2, q, n=n, kinks=k)
        what = "E[f(z)^2]"
    elif mode == "backward":
        d = _derivative(f, df)
        m = gauss_expectation(lambda x: d(x) ** 2, q, n=n, kinks=k)
        what = "E[f'(z)^2]"
    else:
        raise ConfigError(f"mode must be 'forward' or 'backward'; got mode={mode!r}")
    if not m > 0 or not math.isfinite(m):
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))
        hint = " (binary_step: use straight_through=True for a usable gradient)" if name == "binary_step" else ""
        raise ConfigError(f"{mode} gain of activation {name!r} is undefined: {what} = {m}{hint}")
    return 1.0 / math.sqrt(m)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Drop-in for ``torch.nn.init.calculate_gain`` with our computed (forward, q = 1) value.

    Equal to torch's for linear/conv/identity/relu/leaky_relu; different, by design, for
    tanh, sigmoid and selu (torch's values there are heuristics).

    >>> round(calculate_gain("leaky_relu", 0.01), 6)
    1.414143
    """
    conv_like = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "identity"}
    if nonlinearity in conv_like:
        return 1.0
    if nonlinearity == "leaky_relu":
        return gain("leaky_relu", negative_slope=0.01 if param is None else float(param))
    if nonlinearity == "elu" and param is not None:
        return gain("elu", alpha=float(param))
    return gain(nonlinearity)
