"""In-place init schemes in the style of ``torch.nn.init`` (trailing ``_``, ``generator=``).

Every function fills its tensor under ``torch.no_grad()`` and returns it. Fans follow
torch's ``(out, in, *kernel)`` convention (`initreg.init.fan`). A zero-size tensor is
returned unchanged. Each scheme is also in the `inits` registry by its name without the
underscore (``"kaiming_normal"``), so configs say ``init: kaiming_normal`` or
``init: {name: normal, std: 0.01}``.

================  =====================================  =====================================
name              distribution                            paper
================  =====================================  =====================================
constant, zeros   w = c                                   (breaks nothing, learns nothing: C4)
normal            N(mean, std²), fixed std               —
uniform           U[a, b]                                 —
legacy_uniform    U[−1/√fan_in, 1/√fan_in] (Var 1/3n)     LeCun et al. (1998); PyTorch's default
xavier_uniform    U[−g√(6/(fan_in+fan_out)), +…]          Glorot & Bengio (2010)
xavier_normal     N(0, g²·2/(fan_in+fan_out))             Glorot & Bengio (2010)
kaiming_normal    N(0, g(f)²/fan), g from the activation  He et al. (2015)
kaiming_uniform   U[−g(f)√(3/fan), +…]                    He et al. (2015)
lecun_normal      N(0, 1/fan_in)                          LeCun et al. (1998); Klambauer et al. (2017)
lecun_uniform     U[−√(3/fan_in), +√(3/fan_in)]           LeCun et al. (1998)
orthogonal        g·Q, Q Haar-orthogonal                  Saxe et al. (2014)
variance_scaling  scale/fan, normal/uniform/trunc-normal  the general form (Keras)
================  =====================================  =====================================

>>> g = torch.Generator().manual_seed(0)
>>> w = kaiming_normal_(torch.empty(256, 512), activation="relu", generator=g)
>>> round(w.var().item() * 512, 1)  # gain² = 2
2.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch

from ..errors import ConfigError
from ..registry import Registry, validate_params
from .fan import FAN_MODES, fan, fan_in_and_fan_out
from .gain import gain as activation_gain

__all__ = [
    "inits",
    "constant_",
    "zeros_",
    "normal_",
    "uniform_",
    "legacy_uniform_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "lecun_normal_",
    "lecun_uniform_",
    "orthogonal_",
    "variance_scaling_",
    "weight_variance",
    "kaiming_std",
]

inits: Registry = Registry("init scheme")

Distribution = Literal["normal", "uniform", "truncated_normal"]
_VARIANCE: dict[str, Callable[..., float]] = {}  # name -> E[w²] given (shape, **params)


def _register(name: str, description: str, variance: Callable[..., float] | None = None, kind: str = "tensor"):
    def add(fn):
        inits.register(name, fn, description=description, kind=kind)
        if variance is not None:
            _VARIANCE[name] = variance
        return fn

    return add


def _check(tensor: Any, fn: str) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise ConfigError(f"{fn}: expected a torch.Tensor; got {type(tensor).__name__}")


def _positive(name: str, value: float, fn: str, allow_zero: bool = False) -> float:
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not ok or not math.isfinite(v):
        raise ConfigError(f"{fn}: {name} must be {'>= 0' if allow_zero else '> 0'} and finite; got {name}={value!r}")
    return v


def _fill_normal(tensor: torch.Tensor, std: float, generator: torch.Generator | None, mean: float = 0.0) -> torch.Tensor:
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _fill_uniform(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


# ---- fixed distributions -------------------------------------------------------------------

@_register("constant", "w = value for every entry (symmetry is never broken)",
           lambda shape, value=0.0: float(value) ** 2)
def constant_(tensor: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """Fill with ``value``. Every unit of the layer then gets the same gradient, so the units
    stay identical for ever (symmetry is never broken).

    >>> constant_(torch.empty(2, 2), 0.5)
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    _check(tensor, "constant_")
    with torch.no_grad():
        return tensor.fill_(float(value))


@_register("zeros", "w = 0 (a ReLU net with zero weights passes no gradient to its hidden layers)",
           lambda shape: 0.0)
def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill with 0 (also the usual bias init).

    >>> zeros_(torch.ones(3))
    tensor([0., 0., 0.])
    """
    _check(tensor, "zeros_")
    with torch.no_grad():
        return tensor.zero_()


@_register("normal", "N(mean, std²) with a fixed std: vanishes (small std) or explodes/saturates (large) with depth",
           lambda shape, mean=0.0, std=1.0: float(mean) ** 2 + float(std) ** 2)
def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ N(mean, std²)`` with a fixed ``std`` (no fan).

    >>> normal_(torch.empty(1000), std=0.01, generator=torch.Generator().manual_seed(0)).std() < 0.011
    tensor(True)
    """
    _check(tensor, "normal_")
    _positive("std", std, "normal_", allow_zero=True)
    return _fill_normal(tensor, float(std), generator, float(mean))


@_register("uniform", "U[a, b] with fixed bounds",
           lambda shape, a=-1.0, b=1.0: (float(a) ** 2 + float(a) * float(b) + float(b) ** 2) / 3.0)
def uniform_(tensor: torch.Tensor, a: float = -1.0, b: float = 1.0, *,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ U[a, b]``: ``Var = (b − a)²/12``.

    >>> w = uniform_(torch.empty(4), 0.0, 1.0, generator=torch.Generator().manual_seed(0)); bool((w >= 0).all())
    True
    """
    _check(tensor, "uniform_")
    if not float(a) < float(b):
        raise ConfigError(f"uniform_: need a < b; got a={a}, b={b}")
    with torch.no_grad():
        return tensor.uniform_(float(a), float(b), generator=generator)


# ---- fan-based -----------------------------------------------------------------------------

def _legacy_var(shape):
    fi, _ = fan_in_and_fan_out(shape)
    return 1.0 / (3.0 * fi)


@_register("legacy_uniform", "U[-1/sqrt(fan_in), 1/sqrt(fan_in)]: PyTorch's default; Var(w)·fan_in = 1/3", _legacy_var)
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
    _check(tensor, "legacy_uniform_")
    if tensor.numel() == 0:
        return tensor
    fi, _ = fan_in_and_fan_out(tensor)
    return _fill_uniform(tensor, 1.0 / math.sqrt(fi), generator)


def _xavier_var(shape, gain=1.0):
    fi, fo = fan_in_and_fan_out(shape)
    return float(gain) ** 2 * 2.0 / (fi + fo)


@_register("xavier_uniform", "U[-g*sqrt(6/(fan_in+fan_out)), +...]: Var = 2g²/(fan_in+fan_out)", _xavier_var)
def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks": ``w ~ U[−g·√(6/(fan_in+fan_out)), +g·√(6/(fan_in+fan_out))]``, i.e.
    ``Var(w) = g²·2/(fan_in + fan_out)`` — the compromise between the forward condition
    ``fan_in·Var(w) = 1`` and the backward one ``fan_out·Var(w) = 1``.

    >>> w = xavier_uniform_(torch.empty(30, 20), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
    True
    """
    _check(tensor, "xavier_uniform_")
    g = _positive("gain", gain, "xavier_uniform_")
    if tensor.numel() == 0:
        return tensor
    return _fill_uniform(tensor, g * math.sqrt(3.0 * _xavier_var(tensor.shape)), generator)


@_register("xavier_normal", "N(0, 2g²/(fan_in+fan_out))", _xavier_var)
def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Glorot & Bengio (2010): ``w ~ N(0, g²·2/(fan_in + fan_out))``.

    >>> w = xavier_normal_(torch.empty(400, 600), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 500, 2)
    1.0
    """
    _check(tensor, "xavier_normal_")
    g = _positive("gain", gain, "xavier_normal_")
    if tensor.numel() == 0:
        return tensor
    return _fill_normal(tensor, g * math.sqrt(_xavier_var(tensor.shape)), generator)


def kaiming_std(shape: tuple[int, ...] | torch.Size, activation: str | dict | Callable = "relu", mode: str = "fan_in",
                gain: float | None = None) -> float:
    """``g / √fan``: ``g`` is the activation's forward gain for ``fan_in``, its backward gain
    for ``fan_out`` (`initreg.init.gain`), the mean of the two for ``fan_avg``; an explicit
    ``gain`` overrides it.

    >>> round(kaiming_std((10, 50), "relu"), 6)
    0.2
    """
    f = fan(tuple(shape), mode)  # validates mode and dims
    if gain is None:
        if mode == "fan_in":
            g = activation_gain(activation, mode="forward")
        elif mode == "fan_out":
            g = activation_gain(activation, mode="backward")
        else:
            g = math.sqrt(activation_gain(activation, mode="forward") * activation_gain(activation, mode="backward"))
    else:
        g = _positive("gain", gain, "kaiming")
    return g / math.sqrt(f)


def _kaiming_var(shape, activation="relu", mode="fan_in", gain=None):
    return kaiming_std(shape, activation, mode, gain) ** 2


def _mode(mode: str, fn: str) -> None:
    if mode not in FAN_MODES:
        raise ConfigError(f"{fn}: mode must be one of {', '.join(FAN_MODES)}; got mode={mode!r}")


@_register("kaiming_normal", "N(0, g(f)²/fan): He init with the activation's computed gain", _kaiming_var)
def kaiming_normal_(tensor: torch.Tensor, activation: str | dict | Callable = "relu",
                    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in", gain: float | None = None, *,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """He et al. (2015), "Delving deep into rectifiers": ``w ~ N(0, g²/fan)`` where ``g`` is
    the activation's variance-preserving gain (√2 for ReLU, so ``Var(w) = 2/fan_in``).

    Args:
        activation: name, ``{"name": ..., **params}`` or callable (any activation: the gain is
            computed by quadrature, `initreg.init.gain`).
        mode: ``fan_in`` keeps the forward variance (forward gain), ``fan_out`` the
            backward variance (backward gain); ``fan_avg`` in between.
        gain: overrides the computed gain.

    >>> w = kaiming_normal_(torch.empty(500, 500), "tanh", generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 500 ** 0.5, 2)  # forward gain of tanh
    1.59
    """
    _check(tensor, "kaiming_normal_")
    _mode(mode, "kaiming_normal_")
    if tensor.numel() == 0:
        return tensor
    return _fill_normal(tensor, kaiming_std(tensor.shape, activation, mode, gain), generator)


@_register("kaiming_uniform", "U[-g(f)sqrt(3/fan), +...]: He init, uniform", _kaiming_var)
def kaiming_uniform_(tensor: torch.Tensor, activation: str | dict | Callable = "relu",
                     mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in", gain: float | None = None, *,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """He et al. (2015), uniform: ``w ~ U[−g·√(3/fan), g·√(3/fan)]`` (same variance as
    :func:`kaiming_normal_`).

    >>> w = kaiming_uniform_(torch.empty(8, 12), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= (2 * 3 / 12) ** 0.5)
    True
    """
    _check(tensor, "kaiming_uniform_")
    _mode(mode, "kaiming_uniform_")
    if tensor.numel() == 0:
        return tensor
    return _fill_uniform(tensor, math.sqrt(3.0) * kaiming_std(tensor.shape, activation, mode, gain), generator)


def _lecun_var(shape):
    return 1.0 / fan_in_and_fan_out(shape)[0]


@_register("lecun_normal", "N(0, 1/fan_in): the SELU init", _lecun_var)
def lecun_normal_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ N(0, 1/fan_in)`` (LeCun et al. 1998; the init SELU needs, Klambauer et al. 2017).

    >>> w = lecun_normal_(torch.empty(300, 400), generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 400, 1)
    1.0
    """
    _check(tensor, "lecun_normal_")
    if tensor.numel() == 0:
        return tensor
    return _fill_normal(tensor, math.sqrt(_lecun_var(tensor.shape)), generator)


@_register("lecun_uniform", "U[-sqrt(3/fan_in), sqrt(3/fan_in)]", _lecun_var)
def lecun_uniform_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``w ~ U[−√(3/fan_in), √(3/fan_in)]``: ``Var(w) = 1/fan_in`` (LeCun et al. 1998).

    >>> w = lecun_uniform_(torch.empty(3, 12), generator=torch.Generator().manual_seed(0))
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    _check(tensor, "lecun_uniform_")
    if tensor.numel() == 0:
        return tensor
    return _fill_uniform(tensor, math.sqrt(3.0 * _lecun_var(tensor.shape)), generator)


def _orth_var(shape, gain=1.0):
    rows = shape[0]
    cols = math.prod(shape[1:])
    return float(gain) ** 2 / max(rows, cols)


@_register("orthogonal", "g·Q with Q a Haar-random (semi-)orthogonal matrix", _orth_var)
def orthogonal_(tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks": ``W = g·Q`` with ``Q`` Haar-distributed
    (semi-)orthogonal — rows orthonormal if ``out ≤ in·r``, columns otherwise. ``Q`` comes
    from the QR decomposition of a Gaussian matrix with the signs of ``diag(R)`` fixed
    (Mezzadri 2007), so it is uniform over the orthogonal group. Conv weights are reshaped
    to ``(out, in·r)``.

    >>> w = orthogonal_(torch.empty(4, 6), generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)
    True
    """
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        fan_in_and_fan_out(tensor)  # raises the 1-D error
    g = _positive("gain", gain, "orthogonal_")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(1, dtype=torch.float64))
    if rows < cols:
        q = q.T
    with torch.no_grad():
        tensor.copy_((g * q).reshape(tensor.shape).to(tensor.dtype))
    return tensor


def _vs_var(shape, scale=1.0, mode="fan_in", distribution="normal"):
    return float(scale) / fan(tuple(shape), mode)


@_register("variance_scaling", "the general form: Var(w) = scale/fan, normal, uniform or truncated normal", _vs_var)
def variance_scaling_(tensor: torch.Tensor, scale: float = 1.0, mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in",
                      distribution: Distribution = "normal", *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``Var(w) = scale / fan`` (Keras' ``VarianceScaling``): He = (2, fan_in), LeCun =
    (1, fan_in), Glorot = (1, fan_avg). ``truncated_normal`` cuts at ±2σ and rescales so the
    variance is still ``scale/fan``.

    >>> w = variance_scaling_(torch.empty(200, 300), 2.0, "fan_avg", "uniform", generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 250 / 2, 1)
    1.0
    """
    _check(tensor, "variance_scaling_")
    _mode(mode, "variance_scaling_")
    s = _positive("scale", scale, "variance_scaling_")
    if distribution not in ("normal", "uniform", "truncated_normal"):
        raise ConfigError(f"variance_scaling_: distribution must be one of normal, uniform, truncated_normal; "
                          f"got distribution={distribution!r}")
    if tensor.numel() == 0:
        return tensor
    std = math.sqrt(s / fan(tensor, mode))
    if distribution == "normal":
        return _fill_normal(tensor, std, generator)
    if distribution == "uniform":
        return _fill_uniform(tensor, math.sqrt(3.0) * std, generator)
    # truncated at ±2 (in units of the untruncated σ): Var of N(0,1) truncated to [-2, 2]
    trunc_var = 0.7737413035499232
    sigma = std / math.sqrt(trunc_var)
    with torch.no_grad():
        torch.nn.init.trunc_normal_(tensor, 0.0, sigma, -2 * sigma, 2 * sigma, generator=generator)
    return tensor


def weight_variance(scheme: str | dict, shape: tuple[int, ...], activation: str | dict | Callable | None = None) -> float:
    """``E[w²]`` a scheme gives a weight of ``shape`` (for mean-field predictions).

    ``activation`` fills the ``activation`` parameter of activation-aware schemes
    (``kaiming_*``, ``critical``, ``auto``) when the config does not set it.

    >>> round(weight_variance("legacy_uniform", (10, 30)) * 30, 12)
    0.333333333333
    >>> round(weight_variance({"name": "kaiming_normal", "activation": "relu"}, (10, 30)) * 30, 6)
    2.0
    """
    cfg = {"name": scheme} if isinstance(scheme, str) else dict(scheme)
    name = cfg.pop("name", None)
    fn = inits.get(name)
    if name not in _VARIANCE:
        raise ConfigError(f"init scheme {name!r} has no closed-form weight variance (it depends on data or the model)")
    params = validate_params(fn, cfg, where=f"init scheme {name!r}", supplied={"tensor", "generator"})
    vfn = _VARIANCE[name]
    import inspect

    if activation is not None and "activation" in inspect.signature(vfn).parameters and "activation" not in params:
        params["activation"] = activation
    return float(vfn(tuple(shape), **params))
