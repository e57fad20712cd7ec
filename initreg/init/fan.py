"""Fans: how many inputs and outputs one weight connects.

**Convention (torch's, used everywhere in initreg):** a weight has shape
``(out_features, in_features)`` for ``nn.Linear`` and ``(out_channels, in_channels/groups,
*kernel)`` for ``nn.ConvNd``. With ``r = prod(kernel)`` (1 for Linear):

- ``fan_in  = in  · r`` — the number of terms summed into one output (the forward factor:
  ``Var(y) = fan_in · Var(w) · E[x²]``);
- ``fan_out = out · r`` — the number of outputs one input feeds (the backward factor:
  ``Var(∂L/∂x) = fan_out · Var(w) · Var(∂L/∂y)``);
- ``fan_avg = (fan_in + fan_out) / 2`` (Glorot & Bengio 2010).

A tensor with fewer than 2 dimensions (a bias, a norm scale) has no fan: fan-based schemes
refuse it with a `ConfigError` (initialize biases with ``zeros_``/``constant_``/``normal_``).

>>> fan_in_and_fan_out(torch.empty(64, 3, 5, 5))
(75, 1600)
>>> fan(torch.empty(10, 20), "fan_avg")
15.0
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from ..errors import ConfigError

__all__ = ["FanMode", "FAN_MODES", "fan_in_and_fan_out", "fan"]

FanMode = Literal["fan_in", "fan_out", "fan_avg"]
FAN_MODES = ("fan_in", "fan_out", "fan_avg")


def fan_in_and_fan_out(tensor: torch.Tensor | tuple[int, ...], *, what: str = "tensor") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight (or a shape) under torch's ``(out, in, *kernel)`` convention."""
    shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else tuple(tensor)
    if len(shape) < 2:
        raise ConfigError(
            f"fan-based init needs a weight with at least 2 dimensions (out, in, *kernel); got {what} of shape "
            f"{shape}. Biases and 1-D parameters have no fan: use zeros_, constant_ or normal_ for them")
    r = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * r, shape[0] * r


def fan(tensor: torch.Tensor | tuple[int, ...], mode: str = "fan_in") -> float:
    """``fan_in``, ``fan_out`` or ``fan_avg`` of a weight; a bad mode lists the valid ones."""
    fi, fo = fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return float(fi)
    if mode == "fan_out":
        return float(fo)
    if mode == "fan_avg":
        return (fi + fo) / 2.0
    raise ConfigError(f"mode must be one of {', '.join(FAN_MODES)}; got mode={mode!r}")
