"""The weight penalty's gradient added to ``.grad`` right before an optimizer step: how the
Lightning and Hugging Face callbacks apply `WeightPenalty` to a loop they do not own (the loss
is computed by the framework, so the penalty's gradient is added instead of its value)."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from ..regularize.penalties import WeightPenalty

__all__ = ["add_penalty_gradient"]


def add_penalty_gradient(penalty: WeightPenalty, model: nn.Module, step: int, total_steps: int) -> torch.Tensor | None:
    """Add ``∂R/∂p`` of ``penalty`` (scaled by its schedule at ``step`` of ``total_steps``) to each
    trainable penalized parameter's ``.grad``; return the penalty ``R`` (detached), or None when
    the schedule's multiplier is 0 or nothing is penalized.

    >>> m = nn.Linear(2, 1, bias=False); _ = m.weight.data.fill_(1.0)
    >>> float(add_penalty_gradient(WeightPenalty(l2=0.5), m, 0, 1)), m.weight.grad.tolist()  # R = (l2/2)·‖w‖²
    (0.5, [[0.5, 0.5]])
    """
    s = penalty.multiplier(SimpleNamespace(step=step, total_steps=total_steps)) if penalty.schedule != "constant" else 1.0
    ps = [p for _, p in penalty.parameters_of(model) if p.requires_grad]
    if not s or not ps:
        return None
    with torch.enable_grad():
        r = penalty.penalty(model, s)
        grads = torch.autograd.grad(r, ps, allow_unused=True)
    for p, g in zip(ps, grads):
        if g is not None:
            p.grad = g.detach().clone() if p.grad is None else p.grad.add_(g)
    return r.detach()
