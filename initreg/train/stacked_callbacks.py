"""Callbacks in stacked training: what a callback sees of its own copy when `fit_seeds` trains
K seeds as one stacked model.

A callback that can run per copy says so with the class attribute ``Callback.stacks = True``.
`fit_seeds` then gives every copy its own callback instances (a factory ``k -> callbacks``, or
a deep copy of a shared list) and calls them with that copy's `TrainState`: its seed and
random streams, its history, its batch (``on_batch`` gets copy ``k``'s rows and returns its
replacement), its loss (``on_loss`` gets and returns copy ``k``'s loss, a 0-dim tensor), its
``stop`` flag (a stopped copy stops updating, as a separate run would). The rules:

* epoch-level hooks (``on_fit_start``, ``on_epoch_start``, ``on_evaluate``, ``on_epoch_end``,
  ``on_fit_end``) may read and change ``state.model``: it is copy ``k``'s own model, brought
  up to date before the hook and read back into the stack after it (weights and
  ``torch.nn.utils.prune`` masks);
* per-step hooks (``on_batch``, ``on_loss``, ``on_after_backward``, ``on_step_end``) must not
  touch ``state.model`` (it is not synchronized every step); they reach the copy's weights,
  gradients and layer outputs through ``state.copy``, a `CopyView` (``None`` in `fit`).

>>> import torch
>>> from torch import nn
>>> from initreg.train.stacked import StackedSequential
>>> net = StackedSequential([nn.Sequential(nn.Linear(3, 2), nn.ReLU()) for _ in range(4)])
>>> v = CopyView(net, 1)
>>> v.parameter("0.weight").shape, v.names()
(torch.Size([2, 3]), ['0.weight', '0.bias'])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .stacked import StackedSequential

__all__ = ["CopyView"]


class _Handle:
    def __init__(self, taps: list, fn: Any):
        self.taps, self.fn = taps, fn

    def remove(self) -> None:
        if self.fn in self.taps:
            self.taps.remove(self.fn)


class CopyView:
    """Copy ``index`` of a `StackedSequential` ``net``, seen as one model: its parameters
    (differentiable views into the stacked ``(K, ...)`` tensors), their gradients, and hooks
    on its layer outputs. Parameter names are those of the copy's own ``nn.Sequential``
    (``"0.weight"``, ``"2.down.weight"``; a pruned ``"0.weight_orig"`` names ``"0.weight"``)."""

    def __init__(self, net: StackedSequential, index: int):
        self.net, self.index = net, index

    def names(self) -> list[str]:
        """The copy's parameter names, in the stacked model's order."""
        return list(self.net.names)

    def _slot(self, name: str) -> int:
        key = name.removesuffix("_orig")
        try:
            return self.net.names.index(key)
        except ValueError:
            raise KeyError(f"no parameter {name!r} in the stacked model; parameters: {', '.join(self.net.names)}") from None

    def parameter(self, name: str) -> torch.Tensor:
        """Copy ``index``'s slice of the stacked parameter ``name``: a view, so a penalty on it
        sends its gradient into the stack, and an in-place change (under ``torch.no_grad()``)
        changes the copy."""
        return self.net.weights[self._slot(name)][self.index]

    def grad(self, name: str) -> torch.Tensor | None:
        """Copy ``index``'s slice of the stacked gradient of ``name`` (None before a backward)."""
        g = self.net.weights[self._slot(name)].grad
        return None if g is None else g[self.index]

    def watch(self, layer: str, fn: Callable[[torch.Tensor], None]):
        """Call ``fn(h)`` with copy ``index``'s output ``h (B, ...)`` of top-level layer ``layer``
        (``"1"``) on every training-mode forward with gradients on (what a forward hook on a
        separate model's layer sees in training). Returns a handle with ``remove()``."""
        op = self.net.layer_op.get(str(layer))
        if op is None:
            raise KeyError(f"layer {layer!r} is not a top-level layer of the stacked model; layers: "
                           f"{', '.join(self.net.layer_op)}")
        k = self.index
        tap = lambda h: fn(h[k])  # noqa: E731
        taps = self.net.taps.setdefault(op, [])
        taps.append(tap)
        return _Handle(taps, tap)

    @property
    def training(self) -> bool:
        return self.net.training
