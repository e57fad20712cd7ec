"""In-place init functions: every one of ``torch.nn.init``'s, drop-in, and initreg's own.

**torch's** (``uniform_``, ``normal_``, ``trunc_normal_``, ``constant_``, ``ones_``, ``zeros_``,
``eye_``, ``dirac_``, ``xavier_uniform_``, ``xavier_normal_``, ``kaiming_uniform_``,
``kaiming_normal_``, ``orthogonal_``, ``sparse_``) take torch's positional and keyword
arguments with torch's meaning and defaults, and give the same tensor bit for bit under the
same generator: after initreg's argument checks (a bad value is a `ConfigError`, a
``ValueError``, naming the argument and what is allowed) the tensor is filled by torch's own
code. ``kaiming_*`` with no arguments is He et al.'s ReLU init (torch's ``a=0``,
``mode="fan_in"``, ``nonlinearity="leaky_relu"``); ``xavier_*`` and ``orthogonal_`` use gain 1.
initreg's extras are keyword-only:

- ``activation=`` on ``xavier_*``, ``kaiming_*``, ``orthogonal_``: the gain computed for
  that activation (any registered name, config, module or callable; `initreg.init.gain`) in
  place of torch's table — forward gain for ``fan_in``/Xavier/orthogonal, backward gain for
  ``fan_out``;
- ``gain=`` on ``kaiming_*``: an explicit gain; ``mode="fan_avg"`` on ``kaiming_*``.

Two choices differ from torch: ``sparse_`` draws its zero positions from ``generator`` too
(torch draws them from the global RNG, so with ``generator=None`` the two agree bit for bit,
and with a generator only initreg's result is reproducible from it); parameters that torch
turns into a tensor of NaN or of zeros without a word — a non-finite mean, std or gain, a
``sparsity`` outside [0, 1] — are refused.

**initreg's own**: ``legacy_uniform_``, ``lecun_normal_``, ``lecun_uniform_``,
``variance_scaling_`` (and ``auto_``, ``critical_``, ``lsuv_`` in their modules).

Each scheme is in the `inits` registry by its name without the underscore, with its facts
(`initreg.init.facts`), so configs say ``init: kaiming_normal`` or
``init: {name: normal, std: 0.01}``. Fans follow torch's ``(out, in, *kernel)``
(`initreg.init.fan`).

================  =====================================  =====================================
name              distribution                            paper
================  =====================================  =====================================
constant, zeros,  w = val, 0, 1, identity matrix,         (a constant breaks no symmetry)
ones, eye, dirac  identity conv (Dirac delta)
normal            N(mean, std²), fixed std               —
uniform           U[a, b] with fixed bounds               —
trunc_normal      N(mean, std²) cut to [a, b]             —
sparse            N(0, std²), a fraction zero per column  Martens (2010)
legacy_uniform    U[−1/√fan_in, 1/√fan_in] (Var 1/3n)     LeCun et al. (1998); PyTorch's default
xavier_uniform    U[−g√(6/(fan_in+fan_out)), +…]          Glorot & Bengio (2010)
xavier_normal     N(0, g²·2/(fan_in+fan_out))             Glorot & Bengio (2010)
kaiming_normal    N(0, g²/fan), g = √(2/(1+a²)) (torch)   He et al. (2015)
kaiming_uniform   U[−g√(3/fan), +…]                       He et al. (2015)
lecun_normal      N(0, 1/fan_in)                          LeCun et al. (1998); Klambauer et al. (2017)
lecun_uniform     U[−√(3/fan_in), +√(3/fan_in)]           LeCun et al. (1998)
orthogonal        g·Q, Q Haar-orthogonal                  Saxe et al. (2014)
variance_scaling  scale/fan, normal/uniform/trunc-normal  the general form (Keras)
================  =====================================  =====================================

>>> g = torch.Generator().manual_seed(0)
>>> w = kaiming_normal_(torch.empty(256, 512), generator=g)  # torch's default: He init for ReLU
>>> round(w.var().item() * 512, 1)
2.0
>>> w = kaiming_normal_(torch.empty(256, 512), activation="tanh", generator=g)  # computed gain, 1.59
>>> round(w.var().item() * 512, 1)
2.5
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import torch

from ..errors import ConfigError
from ..registry import validate_params
from .facts import SchemeFacts, inits, register_scheme, scheme_facts, schemes_with
from .fan import FAN_MODES, fan, fan_in_and_fan_out
from .gain import Nonlinearity, calculate_gain
from .gain import gain as activation_gain

__all__ = [
    "inits",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
    "legacy_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "variance_scaling_",
    "weight_variance",
    "kaiming_std",
    "resolve_gain_request",
    "check_tensor",
    "warn_zero_element",
]

Distribution = Literal["normal", "uniform", "truncated_normal"]
FanModeArg = Literal["fan_in", "fan_out", "fan_avg"]
Activation = str | dict | Callable


def check_tensor(tensor: Any, fn: str) -> None:
    """A `ConfigError` unless ``tensor`` is a ``torch.Tensor``."""
    if not isinstance(tensor, torch.Tensor):
        raise ConfigError(f"{fn}: expected a torch.Tensor; got {type(tensor).__name__}")


def warn_zero_element(tensor: torch.Tensor) -> bool:
    """torch's warning for a tensor with a zero-size dimension (nothing to initialize); True if it warned."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def _number(name: str, value: Any, fn: str, *, low: float | None = None, strict: bool = False) -> float:
    """``value`` as a finite float (``>= low``, or ``> low`` if ``strict``), else a `ConfigError` naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{fn}: {name} must be a number; got {name}={value!r}") from None
    bad_low = low is not None and (v <= low if strict else v < low)
    if not math.isfinite(v) or bad_low:
        need = "finite" if low is None else f"{'>' if strict else '>='} {low:g} and finite"
        raise ConfigError(f"{fn}: {name} must be {need}; got {name}={value!r}")
    return v


def _mode(mode: Any, fn: str) -> None:
    if mode not in FAN_MODES:
        raise ConfigError(f"{fn}: mode must be one of {', '.join(FAN_MODES)}; got mode={mode!r}")


def _computed_gain(activation: Activation, mode: str = "fan_in") -> float:
    """The variance-preserving gain of ``activation``: forward for ``fan_in``, backward for
    ``fan_out``, their geometric mean for ``fan_avg`` (`initreg.init.gain`)."""
    if mode == "fan_in":
        return activation_gain(activation, mode="forward")
    if mode == "fan_out":
        return activation_gain(activation, mode="backward")
    return math.sqrt(activation_gain(activation, mode="forward") * activation_gain(activation, mode="backward"))


def _gain_or_activation(gain: Any, activation: Activation | None, fn: str, default: float = 1.0) -> float:
    """``gain`` (torch's argument), or the forward gain of ``activation`` (initreg's), not both."""
    if activation is None:
        return gain
    if float(gain) != default:
        raise ConfigError(f"{fn}: give gain= (a number) or activation= (its gain is computed), not both; "
                          f"got gain={gain!r}, activation={activation!r}")
    return activation_gain(activation, mode="forward")


# ---- fixed distributions and constants (torch's) -------------------------------------------------

def _uniform_var(shape, a=0.0, b=1.0):
    return (float(a) ** 2 + float(a) * float(b) + float(b) ** 2) / 3.0


@register_scheme("uniform", "U[a, b] with fixed bounds (torch's default U[0, 1])",
                 SchemeFacts(variance=_uniform_var, torch_name="uniform_"))
def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ U[a, b]``: ``E[w] = (a+b)/2``, ``Var = (b − a)²/12`` (``torch.nn.init.uniform_``).

    >>> w = uniform_(torch.empty(4), -1.0, 1.0, generator=torch.Generator().manual_seed(0)); bool(w.abs().max() <= 1)
    True
    """
    check_tensor(tensor, "uniform_")
    if not _number("a", a, "uniform_") <= _number("b", b, "uniform_"):
        raise ConfigError(f"uniform_: need a <= b; got a={a}, b={b}")
    return torch.nn.init.uniform_(tensor, a, b, generator)


def _normal_var(shape, mean=0.0, std=1.0):
    return float(mean) ** 2 + float(std) ** 2


@register_scheme("normal", "N(mean, std^2) with a fixed std: vanishes (small std) or explodes/saturates (large) "
                 "with depth", SchemeFacts(variance=_normal_var, torch_name="normal_"))
def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ N(mean, std²)`` with a fixed ``std`` (no fan; ``torch.nn.init.normal_``).

    >>> normal_(torch.empty(1000), std=0.01, generator=torch.Generator().manual_seed(0)).std() < 0.011
    tensor(True)
    """
    check_tensor(tensor, "normal_")
    _number("mean", mean, "normal_")
    _number("std", std, "normal_", low=0.0)
    return torch.nn.init.normal_(tensor, mean, std, generator)


def _trunc_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    """Mean and variance of ``N(mean, std²)`` truncated to ``[a, b]``."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    if z <= 0:
        return min(max(mean, a), b), 0.0
    d = (pdf(alpha) - pdf(beta)) / z
    term = (alpha * pdf(alpha) if math.isfinite(alpha) else 0.0) - (beta * pdf(beta) if math.isfinite(beta) else 0.0)
    return mean + std * d, std * std * max(1.0 + term / z - d * d, 0.0)


def _trunc_var(shape, mean=0.0, std=1.0, a=-2.0, b=2.0):
    m, v = _trunc_moments(float(mean), float(std), float(a), float(b))
    return v + m * m


@register_scheme("trunc_normal", "N(mean, std^2) truncated to [a, b] (redrawn outside)",
                 SchemeFacts(variance=_trunc_var, torch_name="trunc_normal_"))
def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ N(mean, std²)`` restricted to ``[a, b]`` (``torch.nn.init.trunc_normal_``; ``a``
    and ``b`` are absolute bounds, not multiples of ``std``).

    >>> w = trunc_normal_(torch.empty(1000), std=1.0, a=-0.5, b=0.5, generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    check_tensor(tensor, "trunc_normal_")
    _number("mean", mean, "trunc_normal_")
    _number("std", std, "trunc_normal_", low=0.0, strict=True)
    if not _number("a", a, "trunc_normal_") <= _number("b", b, "trunc_normal_"):
        raise ConfigError(f"trunc_normal_: need a <= b; got a={a}, b={b}")
    return torch.nn.init.trunc_normal_(tensor, mean, std, a, b, generator)


def _constant_var(shape, val=None, value=None):
    return float(val if val is not None else value) ** 2


@register_scheme("constant", "w = val for every entry (symmetry is never broken)",
                 SchemeFacts(variance=_constant_var, torch_name="constant_"))
def constant_(tensor: torch.Tensor, val: float | None = None, *, value: float | None = None) -> torch.Tensor:
    """Fill with ``val`` (``torch.nn.init.constant_``). Every unit of the layer then gets the
    same gradient, so the units stay identical for ever (symmetry is never broken).
    ``value=`` is the former name of ``val`` (deprecated).

    >>> constant_(torch.empty(2, 2), 0.5)
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    check_tensor(tensor, "constant_")
    if value is not None:
        if val is not None:
            raise ConfigError(f"constant_: give val (value is its deprecated name), not both; got val={val!r}, "
                              f"value={value!r}")
        warnings.warn("constant_: value= is deprecated; use val= (torch's name)", FutureWarning, stacklevel=2)
        val = value
    if val is None:
        raise ConfigError("constant_: val is required (the value every entry gets), e.g. constant_(w, 0.1)")
    _number("val", val, "constant_")
    return torch.nn.init.constant_(tensor, val)


@register_scheme("ones", "w = 1", SchemeFacts(variance=lambda shape: 1.0, torch_name="ones_"))
def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill with 1 (``torch.nn.init.ones_``; e.g. a norm layer's scale).

    >>> ones_(torch.empty(3))
    tensor([1., 1., 1.])
    """
    check_tensor(tensor, "ones_")
    return torch.nn.init.ones_(tensor)


@register_scheme("zeros", "w = 0 (a ReLU net with zero weights passes no gradient to its hidden layers)",
                 SchemeFacts(variance=lambda shape: 0.0, torch_name="zeros_"))
def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill with 0 (``torch.nn.init.zeros_``; also the usual bias init).

    >>> zeros_(torch.ones(3))
    tensor([0., 0., 0.])
    """
    check_tensor(tensor, "zeros_")
    return torch.nn.init.zeros_(tensor)


def _eye_var(shape):
    n = math.prod(shape)
    return min(shape[0], shape[1]) / n if n else 0.0


@register_scheme("eye", "the identity matrix (a Linear layer passes its first min(in, out) inputs through)",
                 SchemeFacts(variance=_eye_var, torch_name="eye_"))
def eye_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill a 2-D tensor with the identity matrix (``torch.nn.init.eye_``): a Linear layer
    then passes its inputs through unchanged (Le et al. 2015, IRNN, for recurrent weights).

    >>> eye_(torch.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    check_tensor(tensor, "eye_")
    if tensor.ndim != 2:
        raise ConfigError(f"eye_: needs a 2-D tensor (out, in); got a tensor of shape {tuple(tensor.shape)}")
    return torch.nn.init.eye_(tensor)


def _dirac_var(shape, groups=1):
    n = math.prod(shape)
    return groups * min(shape[0] // groups, shape[1]) / n if n else 0.0


@register_scheme("dirac", "a Conv layer's identity: passes its first min(in, out) channels through (per group)",
                 SchemeFacts(variance=_dirac_var, torch_name="dirac_"))
def dirac_(tensor: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Fill a 3/4/5-D conv weight with the Dirac delta (``torch.nn.init.dirac_``): the conv
    passes its first ``min(in, out/groups)`` input channels through unchanged in each group.

    >>> dirac_(torch.empty(2, 2, 3))[:, :, 1]
    tensor([[1., 0.],
            [0., 1.]])
    """
    check_tensor(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ConfigError(f"dirac_: needs a conv weight with 3, 4 or 5 dimensions (out, in, *kernel); got a tensor "
                          f"of shape {tuple(tensor.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"dirac_: groups must be an integer >= 1; got groups={groups!r}")
    if tensor.shape[0] % groups:
        raise ConfigError(f"dirac_: dim 0 of the weight ({tensor.shape[0]}) must be divisible by groups; "
                          f"got groups={groups}")
    return torch.nn.init.dirac_(tensor, groups)


def _sparse_var(shape, sparsity, std=0.01):
    rows = shape[0]
    return (1.0 - math.ceil(float(sparsity) * rows) / rows) * float(std) ** 2 if rows else 0.0


@register_scheme("sparse", "N(0, std^2) with a fraction `sparsity` of each column set to zero",
                 SchemeFacts(variance=_sparse_var, torch_name="sparse_"))
def sparse_(tensor: torch.Tensor, sparsity: float, std: float = 0.01,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Martens (2010), "Deep learning via Hessian-free optimization": ``w ~ N(0, std²)``, then
    ``ceil(sparsity·rows)`` entries of each column set to 0 (``torch.nn.init.sparse_``). The
    zero positions come from ``generator`` too (torch takes them from the global RNG).

    >>> w = sparse_(torch.empty(10, 4), 0.3, generator=torch.Generator().manual_seed(0))
    >>> (w == 0).sum(0).tolist()
    [3, 3, 3, 3]
    """
    check_tensor(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ConfigError(f"sparse_: needs a 2-D tensor; got a tensor of shape {tuple(tensor.shape)}")
    sp = _number("sparsity", sparsity, "sparse_", low=0.0)
    if sp > 1:
        raise ConfigError(f"sparse_: sparsity must be in [0, 1] (the fraction of each column set to 0); "
                          f"got sparsity={sparsity!r}")
    _number("std", std, "sparse_", low=0.0)
    if tensor.is_meta:
        return tensor
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    device = generator.device if generator is not None else torch.device("cpu")
    with torch.no_grad():
        tensor.normal_(0, std, generator=generator)
        for col_idx in range(cols):
            zero_indices = torch.randperm(rows, generator=generator, device=device)[:num_zeros]
            tensor[zero_indices, col_idx] = 0
    return tensor


# ---- fan-based (torch's) ------------------------------------------------------------------------

def _xavier_var(shape, gain=1.0, *, activation=None):
    fi, fo = fan_in_and_fan_out(shape)
    g = activation_gain(activation, mode="forward") if activation is not None else float(gain)
    return g ** 2 * 2.0 / (fi + fo)


def _gain_of(p: dict[str, Any]) -> float:
    a = p.get("activation")
    return activation_gain(a, mode="forward") if a is not None else float(p.get("gain", 1.0))


_XAVIER = SchemeFacts(variance=_xavier_var, activation="on_request", gain_params=("gain",), gain=_gain_of)


def _xavier_fans(tensor: torch.Tensor, fn: str) -> None:
    fi, fo = fan_in_and_fan_out(tensor)
    if fi + fo == 0:
        raise ConfigError(f"{fn}: fan_in + fan_out is 0 for a tensor of shape {tuple(tensor.shape)}; nothing to scale")


@register_scheme("xavier_uniform", "U[-g*sqrt(6/(fan_in+fan_out)), +...]: Var = 2g^2/(fan_in+fan_out), g = 1 "
                 "unless gain: auto", replace(_XAVIER, torch_name="xavier_uniform_"))
def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None, *,
                    activation: Activation | None = None) -> torch.Tensor:
    """Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks": ``w ~ U[−g·√(6/(fan_in+fan_out)), +g·√(6/(fan_in+fan_out))]``, i.e.
    ``Var(w) = g²·2/(fan_in + fan_out)`` — the compromise between the forward condition
    ``fan_in·Var(w) = 1`` and the backward one ``fan_out·Var(w) = 1`` (``torch.nn.init.xavier_uniform_``).

    Args:
        gain: ``g`` (1: Glorot's init).
        activation: (initreg, keyword-only) use the forward gain computed for this activation as ``g``.

    >>> w = xavier_uniform_(torch.empty(30, 20), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
    True
    """
    check_tensor(tensor, "xavier_uniform_")
    _number("gain", gain, "xavier_uniform_", low=0.0)
    _xavier_fans(tensor, "xavier_uniform_")
    return torch.nn.init.xavier_uniform_(tensor, _gain_or_activation(gain, activation, "xavier_uniform_"), generator)


@register_scheme("xavier_normal", "N(0, 2g^2/(fan_in+fan_out)), g = 1 unless gain: auto",
                 replace(_XAVIER, torch_name="xavier_normal_"))
def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None, *,
                   activation: Activation | None = None) -> torch.Tensor:
    """Glorot & Bengio (2010): ``w ~ N(0, g²·2/(fan_in + fan_out))`` (``torch.nn.init.xavier_normal_``).

    Args:
        gain: ``g`` (1: Glorot's init).
        activation: (initreg, keyword-only) use the forward gain computed for this activation as ``g``.

    >>> w = xavier_normal_(torch.empty(400, 600), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 500, 2)
    1.0
    """
    check_tensor(tensor, "xavier_normal_")
    _number("gain", gain, "xavier_normal_", low=0.0)
    _xavier_fans(tensor, "xavier_normal_")
    return torch.nn.init.xavier_normal_(tensor, _gain_or_activation(gain, activation, "xavier_normal_"), generator)


def _kaiming_args(a: Any, mode: Any, nonlinearity: Any, activation: Any, gain: Any, fn: str) -> None:
    _mode(mode, fn)
    if activation is not None and gain is not None:
        raise ConfigError(f"{fn}: give activation= (a computed gain) or gain= (a number), not both; "
                          f"got activation={activation!r}, gain={gain!r}")
    if (activation is not None or gain is not None) and (a != 0 or nonlinearity != "leaky_relu"):
        raise ConfigError(f"{fn}: a= and nonlinearity= choose torch's gain, activation=/gain= set it directly: give "
                          f"one or the other; got a={a!r}, nonlinearity={nonlinearity!r}, "
                          f"{'activation' if activation is not None else 'gain'}="
                          f"{activation if activation is not None else gain!r}")


def kaiming_std(shape: tuple[int, ...] | torch.Size, a: float = 0, mode: FanModeArg = "fan_in",
                nonlinearity: Nonlinearity = "leaky_relu", *, activation: Activation | None = None,
                gain: float | None = None) -> float:
    """``g / √fan`` of Kaiming init: ``g`` is torch's ``calculate_gain(nonlinearity, a)``, or the
    gain computed for ``activation`` (forward for ``fan_in``, backward for ``fan_out``, their
    geometric mean for ``fan_avg``), or the given ``gain``.

    >>> round(kaiming_std((10, 50)), 6), round(kaiming_std((10, 50), nonlinearity="linear"), 6)
    (0.2, 0.141421)
    """
    _kaiming_args(a, mode, nonlinearity, activation, gain, "kaiming")
    f = fan(tuple(shape), mode)
    if gain is not None:
        g = _number("gain", gain, "kaiming", low=0.0)
    elif activation is not None:
        g = _computed_gain(activation, mode)
    else:
        g = calculate_gain(nonlinearity, a)
    return g / math.sqrt(f)


def _kaiming_var(shape, a=0, mode="fan_in", nonlinearity="leaky_relu", *, activation=None, gain=None):
    return kaiming_std(shape, a, mode, nonlinearity, activation=activation, gain=gain) ** 2


def _kaiming_gain(p: dict[str, Any]) -> float:
    if p.get("gain") is not None:
        return float(p["gain"])
    if p.get("activation") is not None:
        return _computed_gain(p["activation"], p.get("mode", "fan_in"))
    return float(calculate_gain(p.get("nonlinearity", "leaky_relu"), p.get("a", 0)))


_KAIMING = SchemeFacts(variance=_kaiming_var, activation="on_request", gain_params=("a", "nonlinearity", "gain"),
                       gain=_kaiming_gain)


def _kaiming(tensor: torch.Tensor, a, mode, nonlinearity, generator, activation, gain, fn: str,
             distribution: str) -> torch.Tensor | None:
    """Checks; the filled tensor if initreg filled it, None if torch's function should."""
    check_tensor(tensor, fn)
    if warn_zero_element(tensor):
        return tensor
    _kaiming_args(a, mode, nonlinearity, activation, gain, fn)
    fan_in_and_fan_out(tensor)  # the < 2-D error
    if activation is None and gain is None and mode != "fan_avg":
        calculate_gain(nonlinearity, a)  # its errors, before torch's
        return None
    std = kaiming_std(tensor.shape, a, mode, nonlinearity, activation=activation, gain=gain)
    with torch.no_grad():
        if distribution == "normal":
            return tensor.normal_(0, std, generator=generator)
        bound = math.sqrt(3.0) * std
        return tensor.uniform_(-bound, bound, generator=generator)


@register_scheme("kaiming_normal", "N(0, g^2/fan), g = sqrt(2/(1+a^2)) for torch's default leaky_relu with a=0 "
                 "(He init); gain: auto computes g for the activation after each layer",
                 replace(_KAIMING, torch_name="kaiming_normal_"))
def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: FanModeArg = "fan_in",
                    nonlinearity: Nonlinearity = "leaky_relu", generator: torch.Generator | None = None, *,
                    activation: Activation | None = None, gain: float | None = None) -> torch.Tensor:
    """He et al. (2015), "Delving deep into rectifiers": ``w ~ N(0, g²/fan)`` with
    ``g = calculate_gain(nonlinearity, a)`` (``torch.nn.init.kaiming_normal_``; by default
    ``√2``, so ``Var(w) = 2/fan_in``).

    Args:
        a: the negative slope of the leaky ReLU after the layer (only with ``"leaky_relu"``).
        mode: ``fan_in`` keeps the forward variance, ``fan_out`` the backward variance;
            ``fan_avg`` (initreg) in between.
        nonlinearity: torch's name for the activation (`calculate_gain`).
        activation: (initreg, keyword-only) compute ``g`` for this activation instead —
            any registered name, ``{"name": ..., **params}``, module or callable
            (`initreg.init.gain`): the forward gain for ``fan_in``, the backward one for ``fan_out``.
        gain: (initreg, keyword-only) an explicit ``g``.

    >>> w = kaiming_normal_(torch.empty(500, 500), activation="tanh", generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 500 ** 0.5, 2)  # forward gain of tanh
    1.59
    """
    done = _kaiming(tensor, a, mode, nonlinearity, generator, activation, gain, "kaiming_normal_", "normal")
    return done if done is not None else torch.nn.init.kaiming_normal_(tensor, a, mode, nonlinearity, generator)


@register_scheme("kaiming_uniform", "U[-g*sqrt(3/fan), +...]: He init, uniform (g as kaiming_normal)",
                 replace(_KAIMING, torch_name="kaiming_uniform_"))
def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: FanModeArg = "fan_in",
                     nonlinearity: Nonlinearity = "leaky_relu", generator: torch.Generator | None = None, *,
                     activation: Activation | None = None, gain: float | None = None) -> torch.Tensor:
    """He et al. (2015), uniform: ``w ~ U[−g·√(3/fan), g·√(3/fan)]``, the variance of
    :func:`kaiming_normal_` (``torch.nn.init.kaiming_uniform_``; same arguments).

    >>> w = kaiming_uniform_(torch.empty(8, 12), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (2 * 3 / 12) ** 0.5)
    True
    """
    done = _kaiming(tensor, a, mode, nonlinearity, generator, activation, gain, "kaiming_uniform_", "uniform")
    return done if done is not None else torch.nn.init.kaiming_uniform_(tensor, a, mode, nonlinearity, generator)


def _orth_var(shape, gain=1.0, *, activation=None):
    g = activation_gain(activation, mode="forward") if activation is not None else float(gain)
    return g ** 2 / max(shape[0], math.prod(shape[1:]))


@register_scheme("orthogonal", "g*Q with Q a Haar-random (semi-)orthogonal matrix, g = 1 unless gain: auto",
                 SchemeFacts(variance=_orth_var, activation="on_request", gain_params=("gain",), gain=_gain_of,
                             torch_name="orthogonal_"))
def orthogonal_(tensor: torch.Tensor, gain: float = 1, generator: torch.Generator | None = None, *,
                activation: Activation | None = None) -> torch.Tensor:
    """Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks": ``W = g·Q`` with ``Q`` Haar-distributed
    (semi-)orthogonal — rows orthonormal if ``out ≤ in·r``, columns otherwise. ``Q`` comes
    from the QR decomposition of a Gaussian matrix with the signs of ``diag(R)`` fixed
    (Mezzadri 2007), so it is uniform over the orthogonal group. Conv weights are reshaped
    to ``(out, in·r)`` (``torch.nn.init.orthogonal_``).

    Args:
        gain: ``g``.
        activation: (initreg, keyword-only) use the forward gain computed for this activation as ``g``.

    >>> w = orthogonal_(torch.empty(4, 6), generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)
    True
    """
    check_tensor(tensor, "orthogonal_")
    fan_in_and_fan_out(tensor)  # the < 2-D error
    _number("gain", gain, "orthogonal_")
    return torch.nn.init.orthogonal_(tensor, _gain_or_activation(gain, activation, "orthogonal_"), generator)


# ---- initreg's own ---------------------------------------------------------------------------------

def _legacy_var(shape):
    fi, _ = fan_in_and_fan_out(shape)
    return 1.0 / (3.0 * fi)


def _fill_uniform(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def _fill_normal(tensor: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


@register_scheme("legacy_uniform", "U[-1/sqrt(fan_in), 1/sqrt(fan_in)]: PyTorch's default; Var(w)*fan_in = 1/3",
                 SchemeFacts(variance=_legacy_var))
def legacy_uniform_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ U[−1/√fan_in, 1/√fan_in]`` (LeCun et al. 1998, "Efficient BackProp").

    ``Var(w) = 1/(3·fan_in)``, so ``fan_in·Var(w) = 1/3``: in a (near-)linear net the
    activation variance shrinks 3× per layer. This is PyTorch's default for ``nn.Linear`` and
    ``nn.Conv*`` (``kaiming_uniform_(a=√5)`` gives exactly this bound); with the same
    generator the values are identical to torch's.

    >>> w = legacy_uniform_(torch.empty(10, 100), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= 0.1)
    True
    """
    check_tensor(tensor, "legacy_uniform_")
    fi, _ = fan_in_and_fan_out(tensor)
    if warn_zero_element(tensor):
        return tensor
    return _fill_uniform(tensor, 1.0 / math.sqrt(fi), generator)


def _lecun_var(shape):
    return 1.0 / fan_in_and_fan_out(shape)[0]


@register_scheme("lecun_normal", "N(0, 1/fan_in): the SELU init", SchemeFacts(variance=_lecun_var))
def lecun_normal_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ N(0, 1/fan_in)`` (LeCun et al. 1998; the init SELU needs, Klambauer et al. 2017).

    >>> w = lecun_normal_(torch.empty(300, 400), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 400, 1)
    1.0
    """
    check_tensor(tensor, "lecun_normal_")
    fan_in_and_fan_out(tensor)
    if warn_zero_element(tensor):
        return tensor
    return _fill_normal(tensor, math.sqrt(_lecun_var(tensor.shape)), generator)


@register_scheme("lecun_uniform", "U[-sqrt(3/fan_in), sqrt(3/fan_in)]", SchemeFacts(variance=_lecun_var))
def lecun_uniform_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ U[−√(3/fan_in), √(3/fan_in)]``: ``Var(w) = 1/fan_in`` (LeCun et al. 1998).

    >>> w = lecun_uniform_(torch.empty(3, 12), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    check_tensor(tensor, "lecun_uniform_")
    fan_in_and_fan_out(tensor)
    if warn_zero_element(tensor):
        return tensor
    return _fill_uniform(tensor, math.sqrt(3.0 * _lecun_var(tensor.shape)), generator)


def _vs_var(shape, scale=1.0, mode="fan_in", distribution="normal"):
    return float(scale) / fan(tuple(shape), mode)


@register_scheme("variance_scaling", "the general form: Var(w) = scale/fan, normal, uniform or truncated normal",
                 SchemeFacts(variance=_vs_var))
def variance_scaling_(tensor: torch.Tensor, scale: float = 1.0, mode: FanModeArg = "fan_in",
                      distribution: Distribution = "normal", *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``Var(w) = scale / fan`` (Keras' ``VarianceScaling``): He = (2, fan_in), LeCun =
    (1, fan_in), Glorot = (1, fan_avg). ``truncated_normal`` cuts at ±2σ and rescales so the
    variance is still ``scale/fan``.

    >>> w = variance_scaling_(torch.empty(200, 300), 2.0, "fan_avg", "uniform", generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 250 / 2, 1)
    1.0
    """
    check_tensor(tensor, "variance_scaling_")
    _mode(mode, "variance_scaling_")
    s = _number("scale", scale, "variance_scaling_", low=0.0, strict=True)
    if distribution not in ("normal", "uniform", "truncated_normal"):
        raise ConfigError(f"variance_scaling_: distribution must be one of normal, uniform, truncated_normal; "
                          f"got distribution={distribution!r}")
    fan_in_and_fan_out(tensor)
    if warn_zero_element(tensor):
        return tensor
    std = math.sqrt(s / fan(tensor, mode))
    if distribution == "normal":
        return _fill_normal(tensor, std, generator)
    if distribution == "uniform":
        return _fill_uniform(tensor, math.sqrt(3.0) * std, generator)
    # truncated at ±2 (in units of the untruncated σ): Var of N(0,1) truncated to [-2, 2]
    sigma = std / math.sqrt(_trunc_moments(0.0, 1.0, -2.0, 2.0)[1])
    with torch.no_grad():
        torch.nn.init.trunc_normal_(tensor, 0.0, sigma, -2 * sigma, 2 * sigma, generator=generator)
    return tensor


# ---- facts for callers ------------------------------------------------------------------------------

def resolve_gain_request(name: str, params: dict[str, Any], gains: bool) -> tuple[dict[str, Any], bool]:
    """``(params without gain: auto, whether to pass the activation)`` for a scheme config.

    The activation after a layer is passed to a scheme whose facts say ``activation="always"``;
    to one with ``"on_request"`` when its config says ``gain: auto``, or when ``gains`` is true
    and the config sets none of its ``gain_params``. ``gain: auto`` on any other scheme is an error.
    """
    facts = scheme_facts(name)
    p = dict(params)
    if p.get("gain") == "auto":
        if facts.activation != "on_request":
            raise ConfigError(f"init scheme {name!r}: gain: auto needs a scheme whose gain can be computed from the "
                              f"activation; those are: {', '.join(schemes_with(activation='on_request'))}")
        del p["gain"]
        return p, True
    if facts.activation == "always":
        return p, True
    on_request = facts.activation == "on_request" and gains and not any(k in p for k in facts.gain_params)
    return p, on_request


def weight_variance(scheme: str | dict, shape: tuple[int, ...], activation: Activation | None = None, *,
                    gains: bool = False) -> float:
    """``E[w²]`` a scheme gives a weight of ``shape`` (for mean-field predictions).

    ``activation`` is the one after the layer: it is used by the schemes defined by it
    (``auto``, ``critical``), and by those with a computable gain (``xavier_*``,
    ``kaiming_*``, ``orthogonal``) only when the config says ``gain: auto`` or ``gains=True``
    — as in `initreg.init.initialize`.

    >>> round(weight_variance("legacy_uniform", (10, 30)) * 30, 12)
    0.333333333333
    >>> round(weight_variance("kaiming_normal", (10, 30), "tanh") * 30, 6)  # torch's: gain sqrt(2)
    2.0
    >>> round(weight_variance({"name": "kaiming_normal", "gain": "auto"}, (10, 30), "tanh") * 30, 4)
    2.5362
    """
    cfg = {"name": scheme} if isinstance(scheme, str) else dict(scheme)
    name = cfg.pop("name", None)
    fn = inits.get(name)
    facts = scheme_facts(name)
    if facts.variance is None:
        raise ConfigError(f"init scheme {name!r} has no closed-form weight variance (it depends on data or the model)")
    cfg, use_activation = resolve_gain_request(name, cfg, gains)
    params = validate_params(fn, cfg, where=f"init scheme {name!r}", supplied={"tensor", "generator"})
    if use_activation and activation is not None and "activation" not in params:
        params["activation"] = activation
    return float(facts.variance(tuple(shape), **params))

