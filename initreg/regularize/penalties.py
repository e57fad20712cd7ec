"""Loss penalties: L1, L2 and elastic net on weights, and on activations via forward hooks.

The penalized objective is ``L = L_data + s(t) * R``, with

* weights (Tikhonov 1963 for L2; Tibshirani 1996, the lasso, for L1; Zou & Hastie 2005 for
  the elastic net)::

      R(θ) = l1 * Σ|θ| + (l2 / 2) * Σ θ²

  over the *selected* parameters: by default every weight, but no bias and no parameter of
  a normalization layer (their scale is not what overfits, and decaying a BatchNorm γ
  fights the normalization). With this convention the gradient of the L2 term is
  ``l2 * θ``, exactly what ``torch.optim.SGD(weight_decay=l2)`` adds (Keras' ``L2(l2)``
  has no 1/2: its ``l2`` is our ``l2 / 2``).

* activations/outputs of chosen modules (Keras' ``activity_regularizer``; PyTorch has no
  equivalent), normalized by the batch size ``B`` so that the strength does not depend
  on it::

      R(h) = (1 / B) * Σ_batch (l1 * Σ|h| + (l2 / 2) * Σ h²)

* ``s(t)`` is a strength schedule over training progress ``t = step / total_steps``
  (:func:`strength_at`): constant, or a linear or cosine ramp from ``start`` to 1 over the
  first ``warmup`` fraction of training.

Every regularizer here works in any training loop (``loss = loss + pen.penalty(model)``)
and as a `fit` callback, and is registered by name for ``regularize: [...]`` configs:
``l1``, ``l2``, ``elastic_net`` (``strength``, ``l1_ratio`` as in scikit-learn) and
``activity``.

>>> import torch
>>> from torch import nn
>>> m = nn.Linear(2, 1)
>>> with torch.no_grad():
...     _ = m.weight.copy_(torch.tensor([[1.0, -2.0]]))
>>> round(WeightPenalty(l1=0.1, l2=1.0).penalty(m).item(), 4)  # 0.1 * 3 + 0.5 * 5 (the bias is excluded)
2.8
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..nn.activations import is_activation
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["Schedule", "strength_at", "select_parameters", "is_norm_module", "weight_penalty", "activity_penalty",
           "WeightPenalty", "ActivityPenalty"]

Schedule = Literal["constant", "linear", "cosine"]
_SCHEDULES = ("constant", "linear", "cosine")


def strength_at(progress: float, schedule: Schedule = "constant", *, start: float = 0.0, warmup: float = 1.0) -> float:
    """The multiplier ``s(t)`` in [0, 1] of a penalty's strength at training progress ``t`` in [0, 1].

    ``constant``: 1. ``linear``: ``start + (1 - start) * r`` with ``r = min(t / warmup, 1)``.
    ``cosine``: the same with ``r = (1 - cos(π min(t / warmup, 1))) / 2`` (a smooth ramp).

    >>> strength_at(0.25, "linear", start=0.0, warmup=0.5)
    0.5
    """
    _check_schedule(schedule, start, warmup)
    if schedule == "constant":
        return 1.0
    r = min(max(progress, 0.0) / warmup, 1.0)
    if schedule == "linear":
        ramp = r
    elif schedule == "cosine":
        ramp = (1.0 - math.cos(math.pi * r)) / 2.0
    else:  # pragma: no cover - _check_schedule rejects it
        raise ConfigError(f"schedule must be one of {', '.join(_SCHEDULES)}; got schedule={schedule!r}")
    return start + (1.0 - start) * ramp


def _check_schedule(schedule: str, start: float, warmup: float) -> None:
    if schedule not in _SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(_SCHEDULES)}; got schedule={schedule!r}")
    if not 0.0 <= start <= 1.0:
        raise ConfigError(f"start (the schedule's initial multiplier) must be in [0, 1]; got start={start}")
    if not 0.0 < warmup <= 1.0:
        raise ConfigError(f"warmup (fraction of training to reach full strength) must be in (0, 1]; got warmup={warmup}")


def _check_strength(**values: float) -> None:
    for k, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ConfigError(f"{k} must be a finite number >= 0; got {k}={v!r}")


_NORM_TYPES: tuple[type, ...] = tuple(t for t in (
    nn.modules.batchnorm._NormBase,  # BatchNorm*, InstanceNorm*, SyncBatchNorm
    nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, getattr(nn, "RMSNorm", None)) if t is not None)


def is_norm_module(module: nn.Module) -> bool:
    """True for BatchNorm, InstanceNorm, LayerNorm, GroupNorm (and RMSNorm) modules."""
    return isinstance(module, _NORM_TYPES)


def select_parameters(model: nn.Module, *, include_bias: bool = False, include_norm: bool = False,
                      params: Sequence[str] | None = None) -> list[tuple[str, nn.Parameter]]:
    """The ``(name, parameter)`` pairs a weight penalty or decay acts on.

    Args:
        include_bias: also take parameters whose name ends in ``bias``.
        include_norm: also take the parameters of normalization layers (γ, β).
        params: if given, only parameter names matching one of these shell patterns
            (``"1.weight"``, ``"*.weight"``, ``"0.*"``), after the two filters above. A
            pattern that matches nothing is an error (a typo would silently do nothing).
    """
    norm_names = {f"{mn}.{pn}" if mn else pn for mn, m in model.named_modules() if is_norm_module(m)
                  for pn, _ in m.named_parameters(recurse=False)}
    out = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name in norm_names and not include_norm:
            continue
        if name.rsplit(".", 1)[-1] == "bias" and not include_bias and name not in norm_names:
            continue
        out.append((name, p))
    if params is not None:
        for pat in params:
            if not any(fnmatch.fnmatch(n, pat) for n, _ in out):
                known = ", ".join(n for n, _ in model.named_parameters())
                raise ConfigError(f"params: pattern {pat!r} matches no selected parameter "
                                  f"(include_bias={include_bias}, include_norm={include_norm}); parameters: {known}")
        out = [(n, p) for n, p in out if any(fnmatch.fnmatch(n, pat) for pat in params)]
    return out


def weight_penalty(params: Iterable[torch.Tensor], l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """``l1 * Σ|θ| + (l2 / 2) * Σ θ²`` over ``params`` (differentiable; 0-dim tensor)."""
    total: torch.Tensor | float = 0.0
    for p in params:
        if l1:
            total = total + l1 * p.abs().sum()
        if l2:
            total = total + 0.5 * l2 * p.pow(2).sum()
    return total if isinstance(total, torch.Tensor) else torch.tensor(float(total))


def activity_penalty(h: torch.Tensor, l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """``(1/B) Σ (l1 * Σ|h| + (l2 / 2) * Σ h²)`` for a batch ``h`` of ``B`` rows (any trailing shape)."""
    if h.ndim == 0:
        raise ConfigError(f"activity_penalty needs a batch (first axis = examples); got a 0-dim tensor {h!r}")
    b = max(h.shape[0], 1)
    total = h.new_zeros(())
    if l1:
        total = total + l1 * h.abs().sum()
    if l2:
        total = total + 0.5 * l2 * h.pow(2).sum()
    return total / b


class _Scheduled(Callback):
    def __init__(self, schedule: Schedule, start: float, warmup: float):
        _check_schedule(schedule, start, warmup)
        self.schedule, self.start, self.warmup = schedule, start, warmup

    def multiplier(self, state: TrainState | None) -> float:
        if state is None or self.schedule == "constant":
            return 1.0
        return strength_at(state.step / max(state.total_steps, 1), self.schedule, start=self.start, warmup=self.warmup)


class WeightPenalty(_Scheduled):
    """L1 / L2 / elastic-net penalty on selected weights, added to the loss.

    ``R(θ) = l1 Σ|θ| + (l2/2) Σθ²`` times the schedule's multiplier. Use it in any loop
    (``loss = loss + pen.penalty(model)``) or as a `fit` callback (it adds the penalty in
    ``on_loss``; the history's ``train_loss`` stays the data loss).

    Args:
        l1, l2: strengths (>= 0).
        include_bias, include_norm, params: which parameters (see :func:`select_parameters`).
        schedule, start, warmup: the strength schedule (see :func:`strength_at`).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, *, include_bias: bool = False, include_norm: bool = False,
                 params: Sequence[str] | None = None, schedule: Schedule = "constant", start: float = 0.0,
                 warmup: float = 1.0):
        _check_strength(l1=l1, l2=l2)
        super().__init__(schedule, start, warmup)
        self.l1, self.l2 = float(l1), float(l2)
        self.include_bias, self.include_norm = include_bias, include_norm
        self.params = list(params) if params is not None else None
        self._selected: list[torch.Tensor] | None = None
        self._names: list[str] | None = None  # stacked training: the selected names, looked up in state.copy

    stacks = True  # in stacked training it penalizes its copy's slices of the stacked weights (state.copy)

    def parameters_of(self, model: nn.Module) -> list[tuple[str, nn.Parameter]]:
        return select_parameters(model, include_bias=self.include_bias, include_norm=self.include_norm,
                                 params=self.params)

    def penalty(self, model: nn.Module, multiplier: float = 1.0) -> torch.Tensor:
        """The penalty term for ``model``'s current weights (differentiable)."""
        ps = [p for _, p in self.parameters_of(model)]
        return multiplier * weight_penalty(ps, self.l1, self.l2)

    def on_fit_start(self, state: TrainState) -> None:
        chosen = self.parameters_of(state.model)
        self._selected = [p for _, p in chosen]
        self._names = [n for n, _ in chosen] if state.copy is not None else None

    def on_loss(self, state, loss, output, x, y):
        if state.copy is not None and self._names is not None:
            ps = [state.copy.parameter(n) for n in self._names]
        else:
            ps = self._selected if self._selected is not None else [p for _, p in self.parameters_of(state.model)]
        s = self.multiplier(state)
        return loss + s * weight_penalty(ps, self.l1, self.l2) if s else loss

    def get_config(self) -> dict[str, Any]:
        return {"name": "elastic_net" if self.l1 and self.l2 else ("l1" if self.l1 else "l2"),
                **({"strength": self.l1 + self.l2, "l1_ratio": self.l1 / (self.l1 + self.l2)} if self.l1 and self.l2
                   else {"strength": self.l1 or self.l2}),
                "include_bias": self.include_bias, "include_norm": self.include_norm, "params": self.params,
                "schedule": self.schedule, "start": self.start, "warmup": self.warmup}


class ActivityPenalty(_Scheduled):
    """L1 / L2 penalty on the outputs of chosen modules, via forward hooks, per example.

    ``R = (1/B) Σ_batch (l1 Σ|h| + (l2/2) Σh²)`` summed over the chosen modules' outputs
    ``h`` in the forward passes made in training mode since the last :meth:`penalty` call.
    Forwards in eval mode (validation) are not counted.

    Args:
        l1, l2: strengths (>= 0).
        modules: names (``"2"``, ``"features.3"``, shell patterns) or class names
            (``"ReLU"``) of the modules whose outputs are penalized; ``None`` = every
            activation module (ReLU, Tanh, ... — the hidden activations of an MLP).
        schedule, start, warmup: the strength schedule (see :func:`strength_at`).

    Use in any loop::

        pen = ActivityPenalty(l1=1e-4).attach(model)
        loss = loss_fn(model(x), y) + pen.penalty()
        ...
        pen.detach()
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, *, modules: Sequence[str] | None = None,
                 schedule: Schedule = "constant", start: float = 0.0, warmup: float = 1.0):
        _check_strength(l1=l1, l2=l2)
        super().__init__(schedule, start, warmup)
        self.l1, self.l2 = float(l1), float(l2)
        self.modules = list(modules) if modules is not None else None
        self._handles: list[Any] = []
        self._terms: list[torch.Tensor] = []

    stacks = True  # in stacked training it watches its copy's slices of the layer outputs (state.copy.watch)

    def chosen(self, model: nn.Module) -> list[tuple[str, nn.Module]]:
        """The ``(name, module)`` pairs whose outputs are penalized."""
        named = [(n, m) for n, m in model.named_modules() if n]
        if self.modules is None:
            out = [(n, m) for n, m in named if is_activation(m)]
            if not out:
                raise ConfigError("activity penalty: the model has no activation modules; name the modules to "
                                  f"penalize with modules=[...]; module names: {', '.join(n for n, _ in named)}")
            return out
        out = []
        for pat in self.modules:
            hit = [(n, m) for n, m in named if fnmatch.fnmatch(n, pat) or type(m).__name__ == pat]
            if not hit:
                raise ConfigError(f"activity penalty: modules entry {pat!r} matches no module name or class; "
                                  f"module names: {', '.join(f'{n} ({type(m).__name__})' for n, m in named)}")
            out += [x for x in hit if x not in out]
        return out

    def _hook(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training and torch.is_grad_enabled():
            self._terms.append(activity_penalty(output, self.l1, self.l2))

    def _tap(self, output: torch.Tensor) -> None:  # stacked training calls it in training-mode forwards only
        self._terms.append(activity_penalty(output, self.l1, self.l2))

    def attach(self, model: nn.Module) -> ActivityPenalty:
        """Register the forward hooks on ``model`` (returns self)."""
        self.detach()
        self._handles = [m.register_forward_hook(self._hook) for _, m in self.chosen(model)]
        return self

    def detach(self) -> None:
        """Remove the hooks and forget pending terms."""
        for h in self._handles:
            h.remove()
        self._handles, self._terms = [], []

    def penalty(self, multiplier: float = 1.0) -> torch.Tensor:
        """The summed penalty of the training-mode forwards since the last call (then cleared)."""
        terms, self._terms = self._terms, []
        if not terms:
            return torch.zeros(())
        return multiplier * torch.stack(terms).sum()

    def __enter__(self) -> ActivityPenalty:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def on_fit_start(self, state: TrainState) -> None:
        if state.copy is None:
            self.attach(state.model)
        else:
            self.detach()
            self._handles = [state.copy.watch(n, self._tap) for n, _ in self.chosen(state.model)]

    def on_batch(self, state, x, y):
        self._terms = []  # drop terms from forwards not followed by a loss (e.g. another callback's probe)
        return x, y

    def on_loss(self, state, loss, output, x, y):
        return loss + self.penalty(self.multiplier(state))

    def on_fit_end(self, state: TrainState) -> None:
        self.detach()

    def on_fit_abort(self, state: TrainState, error: BaseException) -> None:
        self.detach()  # no activation hook left on the model after an interrupted fit

    def get_config(self) -> dict[str, Any]:
        return {"name": "activity", "l1": self.l1, "l2": self.l2, "modules": self.modules,
                "schedule": self.schedule, "start": self.start, "warmup": self.warmup}


# ------------------------------------------------------------------ registered by name ----


@regularizers.register("l1", description="L1 penalty strength·Σ|w| on weights (biases and norm parameters excluded by default)")
def l1(strength: float, include_bias: bool = False, include_norm: bool = False, params: list[str] | None = None,
       schedule: Schedule = "constant", start: float = 0.0, warmup: float = 1.0) -> WeightPenalty:
    """L1 (lasso) weight penalty ``strength * Σ|θ|``."""
    return WeightPenalty(l1=strength, include_bias=include_bias, include_norm=include_norm, params=params,
                         schedule=schedule, start=start, warmup=warmup)


@regularizers.register("l2", description="L2 penalty (strength/2)·Σw² on weights, added to the loss (gradient strength·w)")
def l2(strength: float, include_bias: bool = False, include_norm: bool = False, params: list[str] | None = None,
       schedule: Schedule = "constant", start: float = 0.0, warmup: float = 1.0) -> WeightPenalty:
    """L2 (ridge) weight penalty ``(strength / 2) * Σθ²``: the loss form of coupled weight decay."""
    return WeightPenalty(l2=strength, include_bias=include_bias, include_norm=include_norm, params=params,
                         schedule=schedule, start=start, warmup=warmup)


@regularizers.register("elastic_net", description="strength·(l1_ratio·Σ|w| + (1−l1_ratio)/2·Σw²), scikit-learn's parametrization")
def elastic_net(strength: float, l1_ratio: float = 0.5, include_bias: bool = False, include_norm: bool = False,
                params: list[str] | None = None, schedule: Schedule = "constant", start: float = 0.0,
                warmup: float = 1.0) -> WeightPenalty:
    """Elastic net ``strength * (l1_ratio * Σ|θ| + (1 - l1_ratio) / 2 * Σθ²)`` (Zou & Hastie 2005)."""
    if not 0.0 <= l1_ratio <= 1.0:
        raise ConfigError(f"elastic_net: l1_ratio must be in [0, 1]; got l1_ratio={l1_ratio}")
    _check_strength(strength=strength)
    return WeightPenalty(l1=strength * l1_ratio, l2=strength * (1 - l1_ratio), include_bias=include_bias,
                         include_norm=include_norm, params=params, schedule=schedule, start=start, warmup=warmup)


@regularizers.register("activity", description="L1/L2 penalty on module outputs (default: every activation), per example")
def activity(l1: float = 0.0, l2: float = 0.0, modules: list[str] | None = None, schedule: Schedule = "constant",
             start: float = 0.0, warmup: float = 1.0) -> ActivityPenalty:
    """Activity penalty ``(1/B) Σ (l1 Σ|h| + (l2/2) Σh²)`` on the outputs of ``modules``."""
    return ActivityPenalty(l1=l1, l2=l2, modules=modules, schedule=schedule, start=start, warmup=warmup)
