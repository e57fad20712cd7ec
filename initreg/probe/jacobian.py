"""Singular values of the input–output Jacobian: dynamical isometry or not.

A deep network is *dynamically isometric* (Saxe et al. 2014; Pennington, Schoenholz &
Ganguli 2017, "Resurrecting the sigmoid in deep learning through dynamical isometry") when
all singular values of ``J = ∂f(x)/∂x`` are near 1, so every direction of the input
signal — and of the gradient — passes through with the same gain. The spread of
``log10(s)`` measures how far a net is from it; ``mean(s²)`` is the average squared gain.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError

__all__ = ["jacobian_singular_values"]


def jacobian_singular_values(model: nn.Module, x: Tensor, *, max_samples: int = 8) -> dict[str, Any]:
    """The singular values of ``∂model(x_i)/∂x_i`` for the first ``max_samples`` examples.

    Computed with ``torch.func.jacrev`` on one example at a time, with the model in eval
    mode (no dropout, BatchNorm uses its running statistics; the mode is restored), so no
    state changes and no ``.grad`` is touched.

    Returns ``{"samples", "singular_values" (per example, descending), "max", "min",
    "mean_sq", "log10_spread"}``.

    >>> net = nn.Linear(3, 3, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(3) * 2)
    >>> jacobian_singular_values(net, torch.randn(2, 3))["max"]
    2.0
    """
    if x.ndim < 1 or len(x) == 0:
        raise ConfigError(f"jacobian_singular_values needs a non-empty batch; got shape {tuple(x.shape)}")
    xs = x[:max_samples].detach()
    was = model.training
    model.eval()
    svs: list[list[float]] = []
    try:
        for xi in xs:
            def f(v: Tensor) -> Tensor:
                return model(v.unsqueeze(0)).squeeze(0)

            j = torch.func.jacrev(f)(xi).detach()
            out_n = j.numel() // xi.numel()
            s = torch.linalg.svdvals(j.reshape(out_n, xi.numel()).double())
            svs.append([float(v) for v in s])
    finally:
        model.train(was)
    flat = [v for s in svs for v in s]
    pos = [v for v in flat if v > 0]
    return {"samples": len(svs), "singular_values": svs, "max": max(flat), "min": min(flat),
            "mean_sq": sum(v * v for v in flat) / len(flat),
            "log10_spread": (math.log10(max(pos)) - math.log10(min(pos))) if pos else math.inf}
