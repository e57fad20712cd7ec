"""Weight decay in three forms, side by side.

With learning rate ``γ``, strength ``λ`` and the optimizer's own update ``u(g)`` of a
gradient ``g`` (``u(g) = g`` for plain SGD; momentum or Adam transform it):

==============  ============================================  ==========================================
form            update                                        where it comes from
==============  ============================================  ==========================================
``coupled``     ``θ ← θ − γ u(∇ℓ + λθ)``                       gradient of ``ℓ + (λ/2)‖θ‖²``: what
                                                              ``torch.optim.SGD(weight_decay=λ)`` and
                                                              ``Adam(weight_decay=λ)`` do
``decoupled``   ``θ ← θ(1 − γλ) − γ u(∇ℓ)``                    Loshchilov & Hutter, "Decoupled weight
                                                              decay regularization", ICLR 2019
                                                              (SGDW, AdamW = ``torch.optim.AdamW``)
``lecture``     ``θ ← θ(1 − λ) − γ u(∇ℓ)``                     the lecture's literal formula (Hanson &
                                                              Pratt 1988): the factor is not scaled by γ
==============  ============================================  ==========================================

When two coincide, and when not:

* plain SGD (no momentum): ``coupled(λ) = decoupled(λ)`` exactly, and both equal
  ``lecture(γλ)`` while γ is constant. With a learning-rate schedule the lecture form's
  decay no longer follows γ, so ``lecture(γ₀λ)`` and ``decoupled(λ)`` part.
* SGD with momentum: ``coupled`` feeds λθ into the velocity, so it acts with an effective
  strength ``λ/(1−μ)`` in the long run; ``decoupled`` does not. They differ.
* Adam: ``coupled`` divides λθ by ``√v̂`` like the gradient (weights with large gradients
  are barely decayed); ``decoupled`` (AdamW) decays every weight at the same rate. They differ.

:func:`sgd_step` gives the three formulas for plain SGD as pure functions;
:class:`WeightDecay` applies any form around any optimizer as a `fit` callback (registered
as ``weight_decay``). Biases and normalization parameters are excluded by default.

>>> import torch
>>> t, g = torch.tensor([1.0]), torch.tensor([0.5])
>>> sgd_step(t, g, lr=0.1, strength=0.01, form="coupled"), sgd_step(t, g, lr=0.1, strength=0.001, form="lecture")
(tensor([0.9490]), tensor([0.9490]))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers
from .penalties import select_parameters

__all__ = ["DecayForm", "FORMS", "sgd_step", "apply_decay_", "WeightDecay"]

DecayForm = Literal["coupled", "decoupled", "lecture"]
FORMS: tuple[str, ...] = ("coupled", "decoupled", "lecture")


def _check(strength: float, form: str) -> None:
    if form not in FORMS:
        raise ConfigError(f"weight decay form must be one of {', '.join(FORMS)}; got form={form!r}")
    if not (isinstance(strength, (int, float)) and math.isfinite(strength) and strength >= 0):
        raise ConfigError(f"weight decay strength must be a finite number >= 0; got strength={strength!r}")
    if form == "lecture" and strength >= 1:
        raise ConfigError(f"form='lecture' multiplies θ by (1 − strength), so strength must be < 1; got strength={strength}")


def sgd_step(theta: torch.Tensor, grad: torch.Tensor, *, lr: float, strength: float, form: DecayForm) -> torch.Tensor:
    """One plain-SGD step with weight decay of the given form (a new tensor).

    ``coupled``: ``θ − γ(g + λθ)``; ``decoupled``: ``θ(1 − γλ) − γg``; ``lecture``: ``θ(1 − λ) − γg``.
    """
    _check(strength, form)
    if form == "coupled":
        return theta - lr * (grad + strength * theta)
    if form == "decoupled":
        return theta * (1 - lr * strength) - lr * grad
    if form == "lecture":
        return theta * (1 - strength) - lr * grad
    raise ConfigError(f"weight decay form must be one of {', '.join(FORMS)}; got form={form!r}")  # pragma: no cover


@torch.no_grad()
def apply_decay_(params: Iterable[torch.Tensor], *, strength: float, form: DecayForm, lr: float | None = None) -> None:
    """The decay part of one step, to be called after ``backward()`` and before ``optimizer.step()``.

    ``coupled`` adds ``λθ`` to each ``.grad`` (the optimizer then treats it as gradient);
    ``decoupled`` multiplies ``θ`` by ``1 − lr·λ`` (needs ``lr``); ``lecture`` by ``1 − λ``.
    Multiplying before the step is the same as after it for the parameter itself, since
    the gradient was already computed at the old ``θ`` (this is how ``AdamW`` orders it).
    """
    _check(strength, form)
    if strength == 0:
        return
    if form == "decoupled" and lr is None:
        raise ConfigError("form='decoupled' scales the decay by the learning rate: pass lr=...")
    for p in params:
        if form == "coupled":
            if p.grad is not None:
                p.grad.add_(p, alpha=strength)
        elif form == "decoupled":
            p.mul_(1 - lr * strength)
        else:
            p.mul_(1 - strength)


class WeightDecay(Callback):
    """Weight decay of a chosen form, around any optimizer (a `fit` callback).

    Acts in ``on_after_backward`` (after the gradient, before the optimizer step), with
    each parameter's own group learning rate for ``decoupled``. Leave the optimizer's own
    ``weight_decay`` at 0 when using this. Note: `fit` clips gradients (``grad_clip``) after
    this hook, so the ``coupled`` term is clipped with the gradient (torch's built-in
    ``weight_decay`` is added after clipping).

    Args:
        strength: λ (>= 0; < 1 for ``lecture``).
        form: ``coupled`` | ``decoupled`` | ``lecture`` (see the module docstring).
        include_bias, include_norm, params: which parameters (`select_parameters`).
    """

    def __init__(self, strength: float, form: DecayForm = "decoupled", *, include_bias: bool = False,
                 include_norm: bool = False, params: Sequence[str] | None = None):
        _check(strength, form)
        self.strength, self.form = float(strength), form
        self.include_bias, self.include_norm = include_bias, include_norm
        self.params = list(params) if params is not None else None
        self._groups: list[tuple[int, list[torch.Tensor]]] = []
        self._names: list[str] | None = None  # stacked training: the selected names, looked up in state.copy

    stacks = True  # in stacked training it decays its copy's slices of the stacked weights (state.copy)

    def bind(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> WeightDecay:
        """Find the selected parameters and their optimizer groups (for use outside `fit`)."""
        chosen = {id(p) for _, p in select_parameters(model, include_bias=self.include_bias,
                                                      include_norm=self.include_norm, params=self.params)}
        self._groups = []
        for gi, g in enumerate(optimizer.param_groups):
            ps = [p for p in g["params"] if id(p) in chosen]
            if ps:
                self._groups.append((gi, ps))
        self._optimizer = optimizer
        return self

    def step_(self) -> None:
        """Apply the decay part now (after ``backward()``, before ``optimizer.step()``)."""
        for gi, ps in self._groups:
            apply_decay_(ps, strength=self.strength, form=self.form, lr=self._optimizer.param_groups[gi]["lr"])

    def on_fit_start(self, state: TrainState) -> None:
        if state.copy is None:
            self.bind(state.model, state.optimizer)
        else:  # the stacked model's optimizer has one group: every copy's weights share its rate
            self._names = [n for n, _ in select_parameters(state.model, include_bias=self.include_bias,
                                                           include_norm=self.include_norm, params=self.params)]
            self._optimizer = state.optimizer

    def on_after_backward(self, state: TrainState) -> None:
        if state.copy is None or self._names is None:
            self.step_()
            return
        lr = self._optimizer.param_groups[0]["lr"]
        with torch.no_grad():
            for n in self._names:
                p, g = state.copy.parameter(n), state.copy.grad(n)
                if self.form == "coupled":
                    if g is not None:
                        g.add_(p, alpha=self.strength)
                else:
                    p.mul_(1 - (lr * self.strength if self.form == "decoupled" else self.strength))

    def get_config(self) -> dict[str, Any]:
        return {"name": "weight_decay", "strength": self.strength, "form": self.form, "include_bias": self.include_bias,
                "include_norm": self.include_norm, "params": self.params}


@regularizers.register("weight_decay", description="weight decay, form coupled | decoupled (SGDW/AdamW) | lecture θ(1−λ)")
def weight_decay(strength: float, form: DecayForm = "decoupled", include_bias: bool = False, include_norm: bool = False,
                 params: list[str] | None = None) -> WeightDecay:
    """Weight decay of strength λ in the chosen form (see :mod:`initreg.regularize.weight_decay`)."""
    return WeightDecay(strength, form, include_bias=include_bias, include_norm=include_norm, params=params)
