"""Mean-field variance propagation: the q-map, χ₁, and layer-wise predicted variances.

For a deep net ``y_l = W_l x_{l-1} + b_l``, ``x_l = f_l(y_l)`` with i.i.d. zero-mean
weights (``Var(W_l) = v_l``) and biases (``Var(b_l) = β_l``), in the wide limit each
pre-activation is Gaussian with variance ``q_l`` and (Poole et al. 2016; Schoenholz et
al. 2017):

    forward   q_l = fan_in_l · v_l · E[x_{l-1}²] + β_l,      E[x_l²] = E[f_l(√q_l z)²]
    backward  δ_l = E[f_l′(√q_l z)²] · fan_out_{l+1} · v_{l+1} · δ_{l+1}

where ``δ_l = Var(∂L/∂y_l)`` (the "gradient independence" assumption) and ``z ~ N(0, 1)``.
With ``σ_w² = fan_in · v`` and ``σ_b² = β`` the forward step is the **q-map**
``q ↦ σ_w² E[f(√q z)²] + σ_b²``; ``χ₁ = σ_w² E[f′(√q* z)²]`` at its fixed point ``q*`` is
the per-layer gradient factor: χ₁ < 1 vanishes (ordered phase), χ₁ > 1 explodes
(chaotic phase), χ₁ = 1 is the edge of chaos (`initreg.init.critical`).

The lecture's formulas are the special cases: linear f and no bias give
``q_l = fan_in · v · q_{l-1}`` (LECTURE I3: legacy uniform, ``fan_in · v = 1/3``), ReLU gives
``E[x²] = q/2`` (He et al. 2015).

**Stable API** (the signal probe's theory overlay is :func:`predicted_variances` on each
layer's measured weights and activation module, `initreg.probe.overlay`):

- :func:`predicted_variances` — per-layer forward/backward variances for given fans,
  weight variances (or a scheme name), bias variances and activation(s);
- :func:`model_variances` — the same for an ``nn.Module``, reading each Linear/Conv's
  actual weights and the activation that follows it;
- :func:`qmap`, :func:`chi1`, :func:`fixed_point` — the scalar maps.

>>> p = predicted_variances("identity", fans=[(512, 512)] * 3, scheme="legacy_uniform")
>>> [round(v, 4) for v in p.forward]
[0.3333, 0.1111, 0.037]
>>> round(chi1(1.0, "relu", sigma_w=2 ** 0.5), 6)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .gain import moments, second_moment

__all__ = ["MeanFieldPrediction", "qmap", "chi1", "fixed_point", "predicted_variances", "model_variances"]

ActivationSpec = str | dict | Callable


def qmap(q: float, activation: ActivationSpec = "tanh", sigma_w: float = 1.0, sigma_b: float = 0.0,
         **params: Any) -> float:
    """The variance map ``q ↦ σ_w² E[f(√q z)²] + σ_b²``.

    >>> round(qmap(1.0, "relu", sigma_w=2 ** 0.5), 12)
    1.0
    """
    return sigma_w ** 2 * second_moment(activation, q, **params) + sigma_b ** 2


def chi1(q: float, activation: ActivationSpec = "tanh", sigma_w: float = 1.0, **params: Any) -> float:
    """``χ₁ = σ_w² E[f′(√q z)²]``: the mean squared per-layer gradient factor at variance q."""
    return sigma_w ** 2 * second_moment(activation, q, derivative=True, **params)


def fixed_point(activation: ActivationSpec = "tanh", sigma_w: float = 1.0, sigma_b: float = 0.0, *,
                q0: float = 1.0, tol: float = 1e-10, max_iter: int = 10_000, **params: Any) -> float:
    """Iterate the q-map from ``q0`` to its fixed point ``q*``; ``inf`` if it diverges.

    >>> round(fixed_point("tanh", sigma_w=1.0, sigma_b=0.0, max_iter=200), 2) < 0.01  # ordered: q* = 0
    True
    """
    q = float(q0)
    for _ in range(max_iter):
        nq = qmap(q, activation, sigma_w, sigma_b, **params)
        if not math.isfinite(nq) or nq > 1e300:
            return math.inf
        if abs(nq - q) <= tol * max(1.0, q):
            return nq
        q = nq
    return q


@dataclass
class MeanFieldPrediction:
    """Per-layer predictions, layer ``l = 1..L`` at index ``l-1``.

    Attributes:
        forward: ``q_l = Var(y_l)``, the pre-activation variance of layer l.
        post: ``E[x_l²] = E[f_l(√q_l z)²]``, the second moment of its activation output.
        backward: ``δ_l = Var(∂L/∂y_l)`` given ``Var(∂L/∂x_L) = grad_var``.
        input_grad: ``Var(∂L/∂x_0)``.
        chi: the per-layer gradient factor ``E[f_l′²] · fan_out_{l+1} v_{l+1}`` (last: ``E[f_L′²]``).
        weight_var: the ``v_l`` used.
    """

    forward: list[float]
    post: list[float]
    backward: list[float]
    input_grad: float
    chi: list[float] = field(default_factory=list)
    weight_var: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per_layer(value: Any, n: int, what: str) -> list[Any]:
    if isinstance(value, str | dict) or callable(value) or not isinstance(value, Sequence):
        return [value] * n
    if len(value) != n:
        raise ConfigError(f"{what} must be one value or one per layer ({n}); got {len(value)} values")
    return list(value)


def predicted_variances(
    activation: ActivationSpec | Sequence[ActivationSpec] = "relu",
    fans: Sequence[tuple[int, int]] | None = None,
    *,
    weight_var: float | Sequence[float] | None = None,
    scheme: str | dict | None = None,
    bias_var: float | Sequence[float] = 0.0,
    input_moment: float = 1.0,
    grad_var: float = 1.0,
    depth: int | None = None,
    width: int | None = None,
) -> MeanFieldPrediction:
    """Mean-field variances layer by layer (see the module docstring for the recursion).

    Args:
        activation: the activation after every layer, or one per layer (use
            ``"identity"`` for an output layer without one); names, configs, activation modules
            or callables (`initreg.init.gain.resolve_activation`).
        fans: ``(fan_in, fan_out)`` per layer (torch's convention, `initreg.init.fan`);
            or give ``depth`` and ``width`` for ``depth`` square layers.
        weight_var: ``Var(W_l)``, one value or one per layer; or
        scheme: an init scheme name/config (`initreg.init.inits`) whose variance is used
            with each layer's fans and activation (gain-aware schemes get the activation's gain
            only if the config asks for it, e.g. ``{"name": "kaiming_normal", "activation": "relu"}``).
        bias_var: ``Var(b_l)``, one value or one per layer.
        input_moment: ``E[x_0²]`` per input coordinate (1 for standardized data).
        grad_var: ``Var(∂L/∂x_L)``, the gradient arriving at the last activation's output.

    Returns:
        a :class:`MeanFieldPrediction`.
    """
    if fans is None:
        if depth is None or width is None:
            raise ConfigError("predicted_variances needs fans=[(fan_in, fan_out), ...] or depth= and width=")
        fans = [(width, width)] * depth
    fans = [(int(a), int(b)) for a, b in fans]
    n = len(fans)
    if n == 0:
        raise ConfigError("predicted_variances needs at least one layer; got fans=[]")
    acts = (list(activation) if isinstance(activation, Sequence) and not isinstance(activation, str)
            else [activation] * n)
    if len(acts) != n:
        raise ConfigError(f"activation must be one value or one per layer ({n}); got {len(acts)}")
    if (weight_var is None) == (scheme is None):
        raise ConfigError("predicted_variances needs exactly one of weight_var= or scheme=")
    if scheme is not None:
        from .schemes import weight_variance

        wv = [weight_variance(scheme, (fo, fi)) for fi, fo in fans]
    else:
        wv = [float(v) for v in _per_layer(weight_var, n, "weight_var")]
    bv = [float(v) for v in _per_layer(bias_var, n, "bias_var")]
    fwd, post, d2 = [], [], []
    m = float(input_moment)
    for (fi, _fo), v, b, a in zip(fans, wv, bv, acts):
        q = fi * v * m + b
        # past an overflow (q = inf) the prediction stays inf; past an unknown layer (q = NaN), NaN
        mo = moments(a, q) if math.isfinite(q) else {"second_moment": q, "derivative_second_moment": math.nan}
        fwd.append(q)
        m = mo["second_moment"]
        post.append(m)
        d2.append(mo["derivative_second_moment"])
    back = [0.0] * n
    chi = [0.0] * n
    g = float(grad_var)
    for i in range(n - 1, -1, -1):
        factor = d2[i] * (1.0 if i == n - 1 else fans[i + 1][1] * wv[i + 1])
        chi[i] = factor
        g = d2[i] * g if i == n - 1 else factor * back[i + 1]
        back[i] = g
    return MeanFieldPrediction(forward=fwd, post=post, backward=back, input_grad=fans[0][1] * wv[0] * back[0],
                               chi=chi, weight_var=wv)


def model_variances(model, *, input_moment: float = 1.0, grad_var: float = 1.0) -> MeanFieldPrediction:
    """:func:`predicted_variances` for a model: its Linear/Conv layers in forward order, each
    with the *measured* ``mean(w²)`` and ``mean(b²)`` of its current weights and the activation
    found after it (`initreg.init.resolve_layers`; unresolved layers count as linear).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(100, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    >>> len(model_variances(net).forward)
    2
    """
    from .initialize import resolve_layers

    layers = resolve_layers(model)
    if not layers:
        raise ConfigError("model_variances: the model has no Linear/Conv layers")
    fans, wv, bv, acts = [], [], [], []
    for info in layers:
        w = info.module.weight.detach()
        fans.append((info.fan_in, info.fan_out))
        wv.append(float((w.double() ** 2).mean()))
        b = getattr(info.module, "bias", None)
        bv.append(float((b.detach().double() ** 2).mean()) if b is not None else 0.0)
        acts.append(info.activation or "identity")
    return predicted_variances(acts, fans, weight_var=wv, bias_var=bv, input_moment=input_moment, grad_var=grad_var)
