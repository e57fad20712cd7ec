"""Critical (edge-of-chaos) initialization from mean-field theory.

Poole et al. (2016), "Exponential expressivity in deep neural networks through transient
chaos"; Schoenholz et al. (2017), "Deep information propagation". With
``W ~ N(0, σ_w²/fan_in)`` and ``b ~ N(0, σ_b²)`` the pre-activation variance follows the
q-map ``q ↦ σ_w² E[f(√q z)²] + σ_b²`` (`initreg.init.meanfield`). At its fixed point ``q*``,

    χ₁ = σ_w² · E[f′(√q* z)²]

is the factor by which gradients (and the distance between two inputs) grow per layer.
**Critical** means ``χ₁ = 1``: signals and gradients neither vanish nor explode
exponentially, so very deep nets stay trainable. For any activation, choose ``q*`` and solve

    σ_w² = 1 / E[f′(√q* z)²],      σ_b² = q* − σ_w² · E[f(√q* z)²]   (must be ≥ 0),

or choose ``σ_b`` and solve ``q − E[f²]/E[f′²] = σ_b²`` for ``q*``. For ReLU (positively
homogeneous) the critical set is ``σ_w² = 2, σ_b = 0`` with every q a fixed point: He init.
For tanh, ``q* = 1`` gives ``σ_w ≈ 1.467, σ_b ≈ 0.389``.

>>> p = critical_point("tanh", q_star=1.0)
>>> round(p.sigma_w, 3), round(p.sigma_b, 3), round(p.chi1, 6)
(1.467, 0.389, 1.0)
>>> round(critical_point("relu").sigma_w ** 2, 9), critical_point("relu").sigma_b
(2.0, 0.0)
>>> round(critical_point("tanh", sigma_b=0.05 ** 0.5).sigma_w ** 2, 2)  # Schoenholz et al.'s point
1.76
>>> critical_point("identity", sigma_b=0.2).sigma_w  # a linear (output) layer: χ₁ = σ_w²
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..errors import ConfigError
from .facts import SchemeFacts, register_scheme
from .fan import fan_in_and_fan_out
from .gain import moments
from .schemes import check_tensor, warn_zero_element

__all__ = ["CriticalPoint", "critical_point", "critical_"]


@dataclass(frozen=True)
class CriticalPoint:
    """``σ_w``, ``σ_b`` with ``χ₁ = 1`` at the fixed point ``q*`` of the variance map."""

    sigma_w: float
    sigma_b: float
    q_star: float
    chi1: float
    activation: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name(activation: Any) -> str:
    if isinstance(activation, str):
        return activation
    if isinstance(activation, dict):
        return str(activation.get("name"))
    return getattr(activation, "__name__", repr(activation))


def critical_point(activation: str | dict | Callable = "tanh", *, q_star: float | None = None,
                   sigma_b: float | None = None, **params: Any) -> CriticalPoint:
    """The critical ``(σ_w, σ_b)`` and fixed point ``q*`` for an activation.

    Give ``q_star`` or ``sigma_b`` (not both). With neither, ``q* = 1`` is used if it is
    reachable (``σ_b² ≥ 0``), else ``σ_b = 0``.
    """
    if q_star is not None and sigma_b is not None:
        raise ConfigError(f"critical: give q_star or sigma_b, not both; got q_star={q_star}, sigma_b={sigma_b}")
    name = _name(activation)
    if name in ("identity", "linear") and not params:
        # f(z) = z: χ₁ = σ_w² E[f'²] = σ_w², so σ_w² = 1 is critical for any σ_b (an output layer
        # in `initialize`); q then grows by σ_b² per layer, so a fixed point exists only for σ_b = 0.
        sb = 0.0 if sigma_b is None else float(sigma_b)
        if not sb >= 0:
            raise ConfigError(f"critical: sigma_b must be >= 0; got sigma_b={sigma_b}")
        return _point(1.0, sb * sb, 1.0 if q_star is None else float(q_star), activation, name, params)

    def at(q: float) -> tuple[float, float]:
        m = moments(activation, q, **params)
        if not m["derivative_second_moment"] > 0:
            raise ConfigError(f"critical: activation {name!r} has E[f'(z)^2] = 0 at q={q}; no critical point "
                              "(binary_step: use straight_through=True)")
        sw2 = 1.0 / m["derivative_second_moment"]
        return sw2, q - sw2 * m["second_moment"]

    if q_star is None and sigma_b is None:
        sw2, sb2 = at(1.0)
        if sb2 >= -1e-9:
            return _point(sw2, sb2, 1.0, activation, name, params)
        sigma_b = 0.0
    if q_star is not None:
        if not q_star > 0 or not math.isfinite(q_star):
            raise ConfigError(f"critical: q_star must be > 0 and finite; got q_star={q_star}")
        sw2, sb2 = at(float(q_star))
        if sb2 < -1e-9:
            raise ConfigError(f"critical: activation {name!r} has no critical point with q*={q_star}: it would need "
                              f"sigma_b^2 = {sb2:.4g} < 0. Choose another q_star or give sigma_b instead")
        return _point(sw2, max(sb2, 0.0), float(q_star), activation, name, params)
    if not sigma_b >= 0:
        raise ConfigError(f"critical: sigma_b must be >= 0; got sigma_b={sigma_b}")
    target = float(sigma_b) ** 2

    def h(q: float) -> float:
        return at(q)[1] - target

    grid = [10.0 ** e for e in [x / 4 for x in range(-32, 17)]]  # 1e-8 .. 1e4
    vals = [h(q) for q in grid]
    if all(abs(v) < 1e-10 for v in vals):  # positively homogeneous: every q is a fixed point
        return _point(at(1.0)[0], target, 1.0, activation, name, params)
    for q0, q1, v0, v1 in zip(grid, grid[1:], vals, vals[1:]):
        if abs(v0) < 1e-12 * max(1.0, q0) and target == 0:
            return _point(at(q0)[0], 0.0, q0, activation, name, params)
        if v0 == 0 or (v0 < 0) != (v1 < 0):
            from scipy.optimize import brentq

            q = brentq(h, q0, q1, xtol=1e-14, rtol=1e-12)
            return _point(at(q)[0], target, q, activation, name, params)
    raise ConfigError(f"critical: activation {name!r} has no critical point with sigma_b={sigma_b} for q* in "
                      f"[1e-8, 1e4] (q - E[f^2]/E[f'^2] never equals sigma_b^2). Try another sigma_b or q_star")


def _point(sw2: float, sb2: float, q: float, activation: Any, name: str, params: dict) -> CriticalPoint:
    sw = math.sqrt(sw2)
    m = moments(activation, q, **params)
    return CriticalPoint(sigma_w=sw, sigma_b=math.sqrt(max(sb2, 0.0)), q_star=q,
                         chi1=sw2 * m["derivative_second_moment"], activation=name)


def _critical_var(shape, activation="tanh", q_star=None, sigma_b=None):
    return critical_point(activation, q_star=q_star, sigma_b=sigma_b).sigma_w ** 2 / fan_in_and_fan_out(shape)[0]


def _point_of(p: dict[str, Any]) -> CriticalPoint:
    return critical_point(p.get("activation", "tanh"), q_star=p.get("q_star"), sigma_b=p.get("sigma_b"))


def _details(p: dict[str, Any]) -> dict[str, Any]:
    cp = _point_of(p)
    return {"q_star": cp.q_star, "sigma_w": cp.sigma_w, "sigma_b": cp.sigma_b, "chi1": cp.chi1}


_FACTS = SchemeFacts(variance=_critical_var, activation="always", bias_std=lambda p: _point_of(p).sigma_b,
                     gain=lambda p: _point_of(p).sigma_w, details=_details)


@register_scheme("critical", "edge of chaos: sigma_w, sigma_b with chi1 = 1 at the fixed point q* (weights "
                 "N(0, sigma_w^2/fan_in), biases N(0, sigma_b^2))", _FACTS)
def critical_(tensor: torch.Tensor, activation: str | dict | Callable = "tanh", q_star: float | None = None,
              sigma_b: float | None = None, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a weight with ``N(0, σ_w²/fan_in)`` at the activation's critical point
    (:func:`critical_point`). The bias must get ``N(0, σ_b²)`` — `initialize` does that
    (the scheme's facts carry ``σ_b``).

    >>> w = critical_(torch.empty(400, 400), "tanh", q_star=1.0, generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 20, 2)
    1.47
    """
    check_tensor(tensor, "critical_")
    fi, _ = fan_in_and_fan_out(tensor)
    if warn_zero_element(tensor):
        return tensor
    p = critical_point(activation, q_star=q_star, sigma_b=sigma_b)
    with torch.no_grad():
        return tensor.normal_(0.0, p.sigma_w / math.sqrt(fi), generator=generator)
