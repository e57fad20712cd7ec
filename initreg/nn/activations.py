"""The activation table: each activation's module, formula, derivative, range and gains.

Every activation is registered by name in `activations` (a registry of ``nn.Module``
factories, so ``make_activation("leaky_relu", negative_slope=0.1)`` builds one) together
with an :class:`Activation` record (``activation_info(name)``) holding

- ``f(x, **params)`` and its derivative ``df(x, **params)`` as two separate functions
  (the derivative is written by hand, not taken from autograd, so the lab can compare them);
- the formula and the derivative in LaTeX;
- the **correct** range (lecture erratum: softplus is (0, ∞), not (0, 1); leaky ReLU is
  (−∞, ∞), not (−1, 1); ELU is (−α, ∞), not [0, ∞));
- whether it is zero-centred (its mean under a standard normal input is 0).

The lecture's eight (identity/linear, binary step, sigmoid, tanh, ReLU, softplus, leaky
ReLU, ELU) and the modern ones (GELU, Hendrycks & Gimpel 2016, with its tanh and sigmoid
approximations; SiLU/swish, Elfwing et al. 2017, Ramachandran et al. 2017; SELU, Klambauer
et al. 2017; Mish, Misra 2019). Hugging Face's activation modules are recognised by class.

**Binary step.** ``H(x) = 1[x ≥ 0]`` has derivative 0 for every x ≠ 0 (undefined at 0), so
backpropagation through it passes no gradient at all. ``make_activation("binary_step",
straight_through=True)`` uses the straight-through estimator instead (Bengio, Léonard &
Courville 2013; the "hardtanh" variant of Courbariaux et al. 2016): forward ``H(x)``,
backward ``1[|x| ≤ 1]``. ``activation_info("binary_step").df`` is the true derivative (0);
``df(x, straight_through=True)`` is the estimator's.

>>> info = activation_info("elu")
>>> info.range.describe(alpha=1.0)
'(-1, ∞)'
>>> float(info.df(torch.tensor(-1.0), alpha=1.0))  # α·e^x
0.3678794503211975
>>> make_activation("leaky_relu", negative_slope=0.1)
LeakyReLU(negative_slope=0.1)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..registry import Registry
from .dropout import is_dropout

__all__ = [
    "Activation",
    "Range",
    "BinaryStep",
    "activations",
    "activation_info",
    "activation_function",
    "activation_of_module",
    "activation_bounds",
    "is_activation",
    "is_rectifier",
    "is_transparent",
    "TRANSPARENT",
    "make_activation",
    "QuickGELU",
    "SELU_ALPHA",
    "SELU_SCALE",
]

SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. (2017)
SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)

activations: Registry = Registry("activation")


@dataclass(frozen=True)
class Range:
    """An interval ``lo..hi`` (bounds may depend on the parameters) or a finite set.

    ``lo``/``hi`` are floats or callables of the activation's params; ``closed`` says whether
    each end is attained; ``values`` (when set) is a finite set such as {0, 1}.
    """

    lo: float | Callable[..., float] = -math.inf
    hi: float | Callable[..., float] = math.inf
    closed: tuple[bool, bool] = (False, False)
    values: tuple[float, ...] | None = None

    def bounds(self, **params: Any) -> tuple[float, float]:
        lo = self.lo(**params) if callable(self.lo) else self.lo
        hi = self.hi(**params) if callable(self.hi) else self.hi
        return float(lo), float(hi)

    def contains(self, y: torch.Tensor, tol: float = 0.0, **params: Any) -> torch.Tensor:
        """Element-wise membership (``tol`` widens the interval, for rounding)."""
        if self.values is not None:
            return torch.stack([(y - v).abs() <= tol for v in self.values]).any(0)
        lo, hi = self.bounds(**params)
        ok_lo = y >= lo - tol if self.closed[0] else y > lo - tol
        ok_hi = y <= hi + tol if self.closed[1] else y < hi + tol
        return ok_lo & ok_hi

    def describe(self, **params: Any) -> str:
        if self.values is not None:
            return "{" + ", ".join(_num(v) for v in self.values) + "}"
        lo, hi = self.bounds(**params)
        left = "[" if self.closed[0] and math.isfinite(lo) else "("
        right = "]" if self.closed[1] and math.isfinite(hi) else ")"
        return f"{left}{_num(lo)}, {_num(hi)}{right}"


def _num(v: float) -> str:
    if v == math.inf:
        return "∞"
    if v == -math.inf:
        return "-∞"
    return f"{v:.4g}"


@dataclass(frozen=True)
class Activation:
    """One row of the activation table. ``f``/``df`` take a tensor and the params."""

    name: str
    f: Callable[..., torch.Tensor]
    df: Callable[..., torch.Tensor]
    formula: str  # LaTeX
    derivative: str  # LaTeX
    range: Range
    zero_centred: bool  # E[f(z)] = 0 for z ~ N(0, 1)
    params: dict[str, Any] = field(default_factory=dict)  # the parameters and their defaults
    note: str = ""
    lecture_range: str | None = None  # the lecture's (wrong) range, where it differs
    kink_at_zero: bool = False  # derivative undefined/discontinuous at 0
    plain: tuple[str, str] = ("", "")  # formula and derivative as plain text (for terminals)

    def with_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = set(params) - set(self.params)
        if unknown:
            raise ConfigError(f"activation {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                              f"valid: {sorted(self.params) or '(none)'}")
        return {**self.params, **params}


_INFO: dict[str, Activation] = {}


def _register(info: Activation, factory: Callable[..., nn.Module], aliases: tuple[str, ...] = ()) -> None:
    for name in (info.name, *aliases):
        activations.register(name, factory, description=info.note or info.formula)
        _INFO[name] = info


# ---- the binary step and its straight-through estimator ---------------------------------

class _StepFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, straight_through):  # noqa: D401
        ctx.save_for_backward(x)
        ctx.st = straight_through
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.st:
            return g * (x.abs() <= 1).to(g.dtype), None
        return torch.zeros_like(g), None


def binary_step(x: torch.Tensor, straight_through: bool = False) -> torch.Tensor:
    """``H(x) = 1[x ≥ 0]``; gradient 0 (true) or ``1[|x| ≤ 1]`` (straight-through)."""
    return _StepFn.apply(x, straight_through)


class BinaryStep(nn.Module):
    """The Heaviside step ``1[x ≥ 0]`` as a module.

    Args:
        straight_through: if True, backpropagate the straight-through estimator
            ``1[|x| ≤ 1]`` instead of the true derivative (0 almost everywhere).

    >>> BinaryStep()(torch.tensor([-0.5, 0.0, 2.0]))
    tensor([0., 1., 1.])
    """

    def __init__(self, straight_through: bool = False):
        super().__init__()
        self.straight_through = bool(straight_through)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return binary_step(x, self.straight_through)

    def extra_repr(self) -> str:
        return f"straight_through={self.straight_through}"


# ---- the table ---------------------------------------------------------------------------

def _sig(x):
    return torch.sigmoid(x)


def _phi(x):  # standard normal density
    return torch.exp(-0.5 * x * x) * _INV_SQRT2PI


def _Phi(x):  # standard normal cdf
    return 0.5 * (1.0 + torch.erf(x * _INV_SQRT2))


_register(Activation(
    "identity", lambda x: x, lambda x: torch.ones_like(x),
    r"x", r"1", Range(), True, note="linear (no nonlinearity)", plain=("x", "1")), lambda: nn.Identity(), aliases=("linear",))

_register(Activation(
    "binary_step", lambda x, straight_through=False: (x >= 0).to(x.dtype),
    lambda x, straight_through=False: ((x.abs() <= 1).to(x.dtype) if straight_through else torch.zeros_like(x)),
    r"\begin{cases}0 & x<0\\1 & x\ge 0\end{cases}", r"0\ (x\neq 0)\text{, undefined at }0",
    Range(values=(0.0, 1.0)), False, params={"straight_through": False}, kink_at_zero=True,
    note="gradient 0 almost everywhere; straight_through=True backpropagates 1[|x|<=1]", plain=("1[x >= 0]", "0 (x != 0); STE: 1[|x| <= 1]")),
    lambda straight_through=False: BinaryStep(straight_through))

_register(Activation(
    "sigmoid", _sig, lambda x: _sig(x) * (1 - _sig(x)),
    r"\frac{1}{1+e^{-x}}", r"f(x)(1-f(x))", Range(0.0, 1.0), False, plain=("1/(1+e^-x)", "f(1-f)")), lambda: nn.Sigmoid())

_register(Activation(
    "tanh", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2,
    r"\frac{e^x-e^{-x}}{e^x+e^{-x}}", r"1-f(x)^2", Range(-1.0, 1.0), True, plain=("(e^x-e^-x)/(e^x+e^-x)", "1-f^2")), lambda: nn.Tanh())

_register(Activation(
    "relu", torch.relu, lambda x: (x > 0).to(x.dtype),
    r"\max(0, x)", r"0\ (x<0),\ 1\ (x>0)\text{, undefined at }0", Range(0.0, math.inf, (True, False)), False,
    kink_at_zero=True, plain=("max(0, x)", "1[x > 0]")), lambda: nn.ReLU())

_register(Activation(
    "softplus", lambda x: F.softplus(x), _sig,
    r"\ln(1+e^x)", r"\frac{1}{1+e^{-x}}", Range(0.0, math.inf), False, lecture_range="(0, 1)", plain=("ln(1+e^x)", "1/(1+e^-x)")),
    lambda: nn.Softplus())


def _leaky(negative_slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(negative_slope)


def _leaky_lo(negative_slope=0.01):
    return -math.inf if negative_slope > 0 else (0.0 if negative_slope == 0 else -math.inf)


def _leaky_hi(negative_slope=0.01):
    return math.inf


_register(Activation(
    "leaky_relu", lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope),
    lambda x, negative_slope=0.01: torch.where(x >= 0, torch.ones_like(x), torch.full_like(x, negative_slope)),
    r"\begin{cases}a x & x<0\\x & x\ge 0\end{cases}", r"a\ (x<0),\ 1\ (x>0)\text{, undefined at }0",
    Range(_leaky_lo, _leaky_hi, (False, False)), False, params={"negative_slope": 0.01},
    lecture_range="(-1, 1)", kink_at_zero=True, plain=("x (x>=0), a*x (x<0)", "1 (x>0), a (x<0)")), _leaky)


def _elu(alpha: float = 1.0) -> nn.Module:
    return nn.ELU(alpha)


_register(Activation(
    "elu", lambda x, alpha=1.0: F.elu(x, alpha),
    lambda x, alpha=1.0: torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0))),
    r"\begin{cases}\alpha(e^x-1) & x\le 0\\x & x>0\end{cases}",
    r"\alpha e^x\ (x<0),\ 1\ (x>0)\text{; at }0\text{ only if }\alpha=1",
    Range(lambda alpha=1.0: -alpha, math.inf), False, params={"alpha": 1.0}, lecture_range="[0, ∞)",
    kink_at_zero=True, plain=("x (x>0), a(e^x-1) (x<=0)", "1 (x>0), a*e^x (x<0)")), _elu)

# minima of the smooth "self-gated" activations, found numerically (float64, Newton on f')
_GELU_MIN = -0.16997120747990983
_SILU_MIN = -0.27846454276107380
_MISH_MIN = -0.30884341301725040

_register(Activation(
    "gelu", lambda x: x * _Phi(x), lambda x: _Phi(x) + x * _phi(x),
    r"x\,\Phi(x)", r"\Phi(x) + x\,\varphi(x)", Range(_GELU_MIN, math.inf, (True, False)), False,
    note="Hendrycks & Gimpel (2016); exact (erf) form", plain=("x*Phi(x)", "Phi(x) + x*phi(x)")), lambda: nn.GELU())

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_TANH_MIN = -0.1700407505712541  # at x = -0.75246, Newton on f' in float64
_QUICK_GELU_A = 1.702
_QUICK_GELU_MIN = _SILU_MIN / _QUICK_GELU_A  # x σ(a x) = silu(a x) / a


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def _gelu_tanh_df(x):
    t = torch.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)


class QuickGELU(nn.Module):
    """``x·σ(1.702x)``: the sigmoid approximation of GELU (Hendrycks & Gimpel 2016, §2), used by
    CLIP and Hugging Face's ``quick_gelu``.

    >>> QuickGELU()(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8458])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(_QUICK_GELU_A * x)


_register(Activation(
    "gelu_tanh", _gelu_tanh, _gelu_tanh_df,
    r"\tfrac12 x\,(1+\tanh(\sqrt{2/\pi}\,(x+0.044715x^3)))",
    r"\tfrac12(1+t) + \tfrac12 x(1-t^2)\sqrt{2/\pi}\,(1+0.134145x^2),\ t=\tanh(\cdot)",
    Range(_GELU_TANH_MIN, math.inf, (True, False)), False,
    note="GELU's tanh approximation (Hendrycks & Gimpel 2016): GPT-2's gelu_new, nn.GELU(approximate='tanh')",
    plain=("x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))", "(1+t)/2 + x(1-t^2)sqrt(2/pi)(1+0.134145x^2)/2")),
    lambda: nn.GELU(approximate="tanh"))

_register(Activation(
    "quick_gelu", lambda x: x * _sig(_QUICK_GELU_A * x),
    lambda x: _sig(_QUICK_GELU_A * x) * (1 + _QUICK_GELU_A * x * (1 - _sig(_QUICK_GELU_A * x))),
    r"x\,\sigma(1.702x)", r"\sigma(1.702x)\,(1 + 1.702x(1-\sigma(1.702x)))",
    Range(_QUICK_GELU_MIN, math.inf, (True, False)), False,
    note="GELU's sigmoid approximation (Hendrycks & Gimpel 2016); CLIP's quick_gelu",
    plain=("x*sigmoid(1.702x)", "s(1.702x)(1 + 1.702x(1-s(1.702x)))")), lambda: QuickGELU())

_register(Activation(
    "silu", lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x))),
    r"x\,\sigma(x)", r"\sigma(x)\,(1 + x(1-\sigma(x)))", Range(_SILU_MIN, math.inf, (True, False)), False,
    note="swish-1; Elfwing et al. (2017), Ramachandran et al. (2017)", plain=("x*sigmoid(x)", "s(x)(1 + x(1-s(x)))")), lambda: nn.SiLU(), aliases=("swish",))

_register(Activation(
    "selu", lambda x: F.selu(x),
    lambda x: SELU_SCALE * torch.where(x > 0, torch.ones_like(x), SELU_ALPHA * torch.exp(torch.clamp(x, max=0))),
    r"\lambda\begin{cases}\alpha(e^x-1) & x\le 0\\x & x>0\end{cases}",
    r"\lambda\ (x>0),\ \lambda\alpha e^x\ (x<0)", Range(-SELU_SCALE * SELU_ALPHA, math.inf), True,
    note="Klambauer et al. (2017): λ≈1.0507, α≈1.6733; mean 0 and variance 1 under N(0,1) input",
    kink_at_zero=True, plain=("l*x (x>0), l*a(e^x-1) (x<=0)", "l (x>0), l*a*e^x (x<0)")), lambda: nn.SELU())


def _mish_df(x):
    sp = F.softplus(x)
    t = torch.tanh(sp)
    return t + x * (1 - t * t) * _sig(x)


_register(Activation(
    "mish", lambda x: x * torch.tanh(F.softplus(x)), _mish_df,
    r"x\tanh(\ln(1+e^x))", r"\tanh(s) + x\,(1-\tanh^2 s)\,\sigma(x),\ s=\ln(1+e^x)",
    Range(_MISH_MIN, math.inf, (True, False)), False, note="Misra (2019)", plain=("x*tanh(softplus(x))", "tanh(sp) + x*sech^2(sp)*sigmoid(x)")), lambda: nn.Mish())


# ---- lookup ------------------------------------------------------------------------------

def activation_info(name: str) -> Activation:
    """The table row of a registered activation; an unknown name lists the known ones."""
    activations.get(name)  # raises ConfigError listing the known names
    return _INFO[name]


def activation_function(activation: str | dict[str, Any] | Callable, **params: Any) -> tuple[Callable, Callable | None, dict[str, Any]]:
    """``(f, df, params)`` for a name, a ``{"name": ..., **params}`` config, or a callable.

    For a plain callable, ``df`` is None (callers use autograd).
    """
    if callable(activation) and not isinstance(activation, str | dict):
        return activation, None, dict(params)
    if isinstance(activation, dict):
        params = {**{k: v for k, v in activation.items() if k != "name"}, **params}
        name = activation.get("name")
    else:
        name = activation
    if not isinstance(name, str):
        raise ConfigError(f"activation must be a name, a {{'name': ...}} config or a callable; got {name!r}")
    info = activation_info(name)
    p = info.with_defaults(params)
    return (lambda x: info.f(x, **p)), (lambda x: info.df(x, **p)), p


def make_activation(name: str | dict, **params) -> nn.Module:
    """Build a registered activation: ``make_activation("leaky_relu", negative_slope=0.1)``."""
    cfg = {"name": name, **params} if isinstance(name, str) else {**name, **params}
    return activations.build(cfg)


# Hugging Face transformers' activation modules (``transformers.activations``), by class name so
# that recognising them never imports transformers: each computes exactly the named function.
_HF_ACTIVATIONS = {"GELUActivation": "gelu", "NewGELUActivation": "gelu_tanh", "FastGELUActivation": "gelu_tanh",
                   "GELUTanh": "gelu_tanh", "PytorchGELUTanh": "gelu_tanh", "QuickGELUActivation": "quick_gelu",
                   "SiLUActivation": "silu", "MishActivation": "mish", "LinearActivation": "identity"}


def _hf_activation(m: nn.Module) -> dict[str, Any] | None:
    cls = type(m)
    if not cls.__module__.startswith("transformers."):
        return None
    name = _HF_ACTIVATIONS.get(cls.__name__)
    return None if name is None else {"name": name}


def activation_of_module(m: nn.Module) -> dict[str, Any] | None:
    """The activation config (``{"name": ..., **params}``) a module computes, or None.

    >>> activation_of_module(nn.LeakyReLU(0.2))
    {'name': 'leaky_relu', 'negative_slope': 0.2}
    """
    if isinstance(m, nn.LeakyReLU):
        return {"name": "leaky_relu", "negative_slope": float(m.negative_slope)}
    if isinstance(m, nn.ELU):
        return {"name": "elu", "alpha": float(m.alpha)}
    if isinstance(m, BinaryStep):
        return {"name": "binary_step", "straight_through": m.straight_through}
    if isinstance(m, nn.Softplus):
        return {"name": "softplus"} if (m.beta == 1 and m.threshold >= 20) else None
    if isinstance(m, nn.GELU):
        return {"name": "gelu" if m.approximate == "none" else "gelu_tanh"}
    if isinstance(m, QuickGELU):
        return {"name": "quick_gelu"}
    hf = _hf_activation(m)
    if hf is not None:
        return hf
    simple = {nn.Identity: "identity", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu",
              nn.SiLU: "silu", nn.SELU: "selu", nn.Mish: "mish"}
    for cls, name in simple.items():
        if type(m) is cls:
            return {"name": name}
    return None


# ---- modules: which one is an activation, its bounds, and what passes the signal on -----------
# The one place that classifies modules; the probe, the activity penalty and `initialize` use it.

_NOT_ACTIVATIONS = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.MultiheadAttention, nn.GLU, nn.Threshold)
_RECTIFIERS = (nn.ReLU, nn.ReLU6)  # exactly zero on a half-line: dead units are well defined

TRANSPARENT: tuple[type[nn.Module], ...] = (
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.BatchNorm1d, nn.BatchNorm2d,
    nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
    nn.Flatten, nn.Unflatten, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
"""Modules that pass the signal on without changing which activation comes next: dropout,
norm layers, pooling, flatten (`is_transparent` adds `initreg.nn.Dropout`)."""


def is_activation(m: nn.Module) -> bool:
    """An elementwise activation module: a registered one (`activation_of_module`), this
    package's `BinaryStep`, or any of torch's ``torch.nn.modules.activation`` except the
    softmax-like and gated ones. Dropout, norm layers and pooling are not activations.

    >>> is_activation(nn.ReLU()), is_activation(nn.Hardtanh()), is_activation(nn.Softmax(1))
    (True, True, False)
    >>> from initreg.nn import Dropout
    >>> is_activation(Dropout(0.5)), is_activation(nn.Dropout(0.5))
    (False, False)
    """
    if isinstance(m, _NOT_ACTIVATIONS):
        return False
    return (isinstance(m, BinaryStep) or activation_of_module(m) is not None and not isinstance(m, nn.Identity)
            or type(m).__module__ == "torch.nn.modules.activation")


def is_rectifier(m: nn.Module) -> bool:
    """ReLU / ReLU6: exactly zero on a half-line, so a unit that is zero on every example is *dead*."""
    return isinstance(m, _RECTIFIERS)


def activation_bounds(m: nn.Module) -> tuple[float, float] | None:
    """``(lo, hi)`` of a bounded activation module, else None: from the table's `Range` for a
    registered activation (sigmoid, tanh), and for torch's bounded modules it does not register
    (Hardtanh, ReLU6, Softsign, Hardsigmoid); a module may declare ``bounds = (lo, hi)`` itself.

    >>> activation_bounds(nn.Tanh()), activation_bounds(nn.ReLU6()), activation_bounds(nn.ReLU())
    ((-1.0, 1.0), (0.0, 6.0), None)
    """
    if isinstance(m, nn.Hardtanh):  # includes ReLU6
        return float(m.min_val), float(m.max_val)
    if isinstance(m, nn.Softsign):
        return -1.0, 1.0
    if isinstance(m, nn.Hardsigmoid):
        return 0.0, 1.0
    cfg = activation_of_module(m)
    if cfg is not None:
        info = _INFO[cfg["name"]]
        if info.range.values is None:
            lo, hi = info.range.bounds(**{k: v for k, v in cfg.items() if k != "name"})
            return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
        return None
    b = getattr(m, "bounds", None)
    if isinstance(b, tuple) and len(b) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in b):
        return float(b[0]), float(b[1])
    return None


def is_transparent(m: nn.Module) -> bool:
    """A module in `TRANSPARENT`, any torch dropout, or `initreg.nn.Dropout`.

    >>> from initreg.nn import Dropout
    >>> is_transparent(Dropout(0.5)), is_transparent(nn.LayerNorm(4)), is_transparent(nn.ReLU())
    (True, True, False)
    """
    return isinstance(m, TRANSPARENT) or is_dropout(m)
