"""Gains computed, not looked up: Gauss–Hermite quadrature of E[f(z)²] and E[f′(z)²].

A layer ``y = W x`` with ``Var(w) = g²/fan_in`` and ``x = f(y_prev)`` keeps the
pre-activation variance at ``q`` when ``g² · E[f(√q·z)²] = 1`` (z ~ N(0, 1)); it keeps the
gradient variance when ``g² · E[f′(√q·z)²] = 1`` (with ``fan_out`` in place of ``fan_in``).
So

    forward gain  = 1 / sqrt(E[f(√q·z)²]),     backward gain = 1 / sqrt(E[f′(√q·z)²]),

evaluated by default at q = 1 (a unit-variance pre-activation). This is He et al. (2015)'s
argument for *any* activation: for ReLU both are √2; for a positively homogeneous
activation (linear, ReLU, leaky ReLU) the value does not depend on q.

**Against ``torch.nn.init.calculate_gain``** (also here as :func:`calculate_gain`, with
torch's values). Torch's value is exact for linear/conv (1), ReLU (√2) and leaky ReLU
(√(2/(1+a²))); :func:`gain` agrees to machine precision. Where torch uses a heuristic,
:func:`gain` computes something else, on purpose:

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
whose derivative jumps at 0 (``Activation.kink_at_zero``), for torch's piecewise-linear
modules (at their corners) and for any other callable or module (at 0, the usual place) the
expectation is split at the kinks and each piece is integrated with ``n`` Gauss–Legendre
nodes on a ±12σ window (exact to ~1e-14). For a wide input (q > 1) every integrand is also
split at x = 0 and x = ±40: there an activation's features (tanh′'s peak, of width ~1/√q in
z) are narrower than the Gauss–Hermite node spacing (plain Gauss–Hermite is off by 0.03 in
E[tanh′(10z)²]; a split at 0 alone is off by 16% at q = 1e6). With these cuts E[f²] and
E[f′²] of ReLU, tanh, sigmoid, GELU, SiLU and linear are within ~1e-13 of adaptive quadrature
for every q from 1e-8 to 1e8 (`gauss_nodes`). `initreg.init.meanfield` and the signal
probe's theory overlay (`initreg.probe.theory`) use these same moments.

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
import typing
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..nn.activations import activation_function

__all__ = ["gauss_hermite", "gauss_nodes", "gauss_expectation", "resolve_activation", "moments", "second_moment",
           "gain", "calculate_gain", "TORCH_HEURISTIC_GAINS", "TORCH_NONLINEARITIES", "Nonlinearity"]

GainMode = Literal["forward", "backward"]
# the names torch.nn.init.calculate_gain knows
Nonlinearity = Literal["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                       "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
TORCH_NONLINEARITIES: tuple[str, ...] = typing.get_args(Nonlinearity)
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


WINDOW = 12.0  # the split rule covers z in [-12, 12]: the Gaussian mass outside is < 4e-33
WIDE_Q = 1.0  # above this the split rule is used for every integrand (Gauss–Hermite: 5e-10 off at q = 2)
ACTIVATION_SCALE = 40.0  # an activation's features lie in |x| <= 40 (tanh'(x)² < 1e-68 beyond)


def gauss_nodes(q: float = 1.0, mean: float = 0.0, n: int = DEFAULT_NODES,
                kinks: tuple[float, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """Points ``x`` and weights ``w`` (float64, ``x`` ascending) with ``Σ w g(x) ≈ E[g(mean + √q·z)]``.

    Gauss–Hermite with ``n`` nodes for a narrow input (``q <= 1``) without ``kinks``;
    otherwise Gauss–Legendre with ``n`` nodes on each piece of ``z ∈ [−12, 12]`` cut at the
    ``kinks`` (points in x-space where the integrand is not smooth) and, for a wide input
    (``q > 1``), at ``x = 0`` and ``x = ±40``: there an activation's features, at ``|x| ≲ 40``,
    shrink to a width ``~1/√q`` in z (at q = 1e8, 1e-4) and need nodes of their own.
    ``q = 0`` gives the single point ``mean``.

    >>> x, w = gauss_nodes(1e8, kinks=(0.0,)); round(float((w * (1 - torch.tanh(x) ** 2) ** 2).sum()) * 1e4, 6)
    0.531923
    """
    if not q >= 0:
        raise ConfigError(f"the variance q must be >= 0; got q={q}")
    if not isinstance(n, int) or n < 2:
        raise ConfigError(f"the number of quadrature nodes must be an integer >= 2; got n={n!r}")
    if q == 0:
        return torch.tensor([float(mean)], dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    s = math.sqrt(q)
    if not kinks and q <= WIDE_Q:
        x, w = gauss_hermite(n)
        return mean + s * x, w
    cuts = set(kinks)
    if q > WIDE_Q:
        cuts |= {-ACTIVATION_SCALE, 0.0, ACTIVATION_SCALE}
    edges = sorted({-WINDOW, WINDOW, *(min(max((k - mean) / s, -WINDOW), WINDOW) for k in cuts)})
    t, u = _legendre(n)
    e = np.array(edges)
    a, h = e[:-1, None], 0.5 * np.diff(e)[:, None]
    z = (h * (t + 1.0) + a).ravel()  # one block of n per piece
    w = (h * u).ravel() * np.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))
    return torch.from_numpy(mean + s * z), torch.from_numpy(w)


def gauss_expectation(fn: Callable[[torch.Tensor], torch.Tensor], q: float = 1.0, mean: float = 0.0,
                      n: int = DEFAULT_NODES, kinks: tuple[float, ...] = ()) -> float:
    """``E[fn(mean + √q·z)]`` for z ~ N(0, 1), on the points of :func:`gauss_nodes`.

    >>> round(gauss_expectation(lambda x: x ** 2, q=4.0, mean=1.0), 12)
    5.0
    """
    x, w = gauss_nodes(q, mean, n, kinks)
    with torch.no_grad():
        v = fn(x)
    return float((w * v.to(torch.float64)).sum())


_MODULE_KINKS: dict[type, Callable[[Any], tuple[float, ...]]] = {
    nn.Hardtanh: lambda m: (float(m.min_val), float(m.max_val)),  # and ReLU6
    nn.Hardsigmoid: lambda m: (-3.0, 3.0),
    nn.Hardswish: lambda m: (-3.0, 3.0),
    nn.Hardshrink: lambda m: (-float(m.lambd), float(m.lambd)),
    nn.Softshrink: lambda m: (-float(m.lambd), float(m.lambd)),
    nn.Threshold: lambda m: (float(m.threshold),),
}


def _kinks(activation: Any, params: dict[str, Any]) -> tuple[float, ...]:
    """Where an activation or its derivative jumps: from the registry for a name, from the
    module's parameters for torch's piecewise-linear modules, else 0 (the usual place; a
    split there is exact for a smooth callable too)."""
    from ..nn.activations import activation_info

    name = activation.get("name") if isinstance(activation, dict) else activation
    if not isinstance(name, str):
        for cls, kinks in _MODULE_KINKS.items():
            if isinstance(activation, cls):
                return kinks(activation)
        return (0.0,)
    if name == "binary_step" and params.get("straight_through"):
        return (-1.0, 0.0, 1.0)
    return (0.0,) if activation_info(name).kink_at_zero else ()


def _float64(f: Callable) -> Callable:
    """``f`` on float64 input; an ``f`` that does not take float64 (float32 weights) gets float32."""

    def g(x: torch.Tensor) -> torch.Tensor:
        try:
            return f(x)
        except RuntimeError:
            return f(x.float()).double()

    return g


def resolve_activation(activation: str | dict | Callable, kinks: tuple[float, ...] | None = None,
                       **params: Any) -> tuple[Callable, Callable | None, tuple[float, ...]]:
    """``(f, df, kinks)`` for a registered name, a ``{"name": ..., **params}`` config, an
    activation module or any element-wise callable.

    A module that computes a registered activation (``nn.Tanh()``, ``nn.LeakyReLU(0.2)``,
    `initreg.nn.activations.activation_of_module`) becomes that activation, with its exact
    derivative and kinks; any other module or callable is used as is (``df = None``: its
    derivative comes from autograd) with the kinks of :func:`_kinks` unless ``kinks`` is given.
    """
    from ..nn.activations import activation_of_module

    if isinstance(activation, nn.Module) and not params:
        activation = activation_of_module(activation) or activation
    f, df, p = activation_function(activation, **params)
    if df is None:
        f = _float64(f)
    return f, df, (_kinks(activation, p) if kinks is None else tuple(kinks))


def _values(f: Callable, df: Callable | None, x: torch.Tensor, derivative: bool = True
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``f(x)`` and ``f′(x)`` (float64; ``df`` if given, else autograd) on the points ``x``."""
    if not derivative:
        with torch.no_grad():
            return f(x).to(torch.float64), None
    if df is not None:
        with torch.no_grad():
            return f(x).to(torch.float64), df(x).to(torch.float64)
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        y = f(x)
        g = torch.autograd.grad(y.sum(), x)[0] if y.requires_grad else torch.zeros_like(x)
    return y.detach().to(torch.float64), g.to(torch.float64)


def moments(activation: str | dict | Callable = "relu", q: float = 1.0, n: int = DEFAULT_NODES, *,
            kinks: tuple[float, ...] | None = None, **params: Any) -> dict[str, float]:
    """``E[f]``, ``E[f²]`` and ``E[f′²]`` at ``√q·z`` for an activation name, config, module or
    callable (:func:`resolve_activation`) — one evaluation of ``f`` and ``f′`` on shared points.

    >>> m = moments(torch.nn.ReLU(), 4.0); round(m["second_moment"], 12), round(m["derivative_second_moment"], 12)
    (2.0, 0.5)
    """
    f, df, k = resolve_activation(activation, kinks, **params)
    x, w = gauss_nodes(q, n=n, kinks=k)
    y, d = _values(f, df, x)
    return {"mean": float((w * y).sum()), "second_moment": float((w * y * y).sum()),
            "derivative_second_moment": float((w * d * d).sum())}


def second_moment(activation: str | dict | Callable = "relu", q: float = 1.0, *, derivative: bool = False,
                  n: int = DEFAULT_NODES, kinks: tuple[float, ...] | None = None, **params: Any) -> float:
    """``E[f(√q z)²]`` (or ``E[f′(√q z)²]`` with ``derivative=True``) — one quadrature.

    >>> round(second_moment("relu", 4.0), 12)
    2.0
    """
    f, df, k = resolve_activation(activation, kinks, **params)
    x, w = gauss_nodes(q, n=n, kinks=k)
    y, d = _values(f, df, x, derivative)
    v = d if derivative else y
    return float((w * v * v).sum())


def gain(activation: str | dict | Callable = "relu", *, mode: GainMode = "forward", q: float = 1.0,
         n: int = DEFAULT_NODES, **params: Any) -> float:
    """The variance-preserving gain of an activation (see the module docstring).

    Args:
        activation: a registered name (``initreg activations``), ``{"name": ..., **params}``,
            an activation module, or any element-wise callable (its derivative then comes
            from autograd).
        mode: ``"forward"`` = 1/√E[f(√q z)²] (use with fan_in), ``"backward"`` =
            1/√E[f′(√q z)²] (use with fan_out).
        q: the pre-activation variance at which to evaluate (1 by default).
        params: the activation's parameters (``negative_slope``, ``alpha``, ...).
    """
    if mode not in ("forward", "backward"):
        raise ConfigError(f"mode must be 'forward' or 'backward'; got mode={mode!r}")
    m = second_moment(activation, q, derivative=mode == "backward", n=n, **params)
    what = "E[f(z)^2]" if mode == "forward" else "E[f'(z)^2]"
    if not m > 0 or not math.isfinite(m):
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))
        hint = " (binary_step: use straight_through=True for a usable gradient)" if name == "binary_step" else ""
        raise ConfigError(f"{mode} gain of activation {name!r} is undefined: {what} = {m}{hint}")
    return 1.0 / math.sqrt(m)


def calculate_gain(nonlinearity: Nonlinearity, param: int | float | None = None) -> float:
    """``torch.nn.init.calculate_gain``: torch's recommended gain, the same values, arguments
    and errors (a ``ValueError``; here a `ConfigError` that lists the valid names).

    ``linear``/``conv*``/``sigmoid`` 1, ``tanh`` 5/3, ``relu`` √2, ``leaky_relu``
    √(2/(1+param²)) (``param`` = negative slope, 0.01 by default), ``selu`` 3/4. tanh's,
    sigmoid's and SELU's are heuristics (module docstring); :func:`gain` computes the
    variance-preserving gain of any activation.

    >>> calculate_gain("tanh"), round(calculate_gain("leaky_relu", 0.01), 6)
    (1.6666666666666667, 1.414143)
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in TORCH_NONLINEARITIES:
        raise ConfigError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; torch's gains exist for "
                          f"{', '.join(TORCH_NONLINEARITIES)} (initreg.init.gain computes one for any activation)")
    if nonlinearity == "leaky_relu" and param is not None and (
            isinstance(param, bool) or not isinstance(param, (int, float))):
        raise ConfigError(f"calculate_gain: param (the negative slope of leaky_relu) must be a number; "
                          f"got param={param!r}")
    return torch.nn.init.calculate_gain(nonlinearity, param)
