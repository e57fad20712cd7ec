"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas 2015).

"All you need is a good init" (ICLR 2016): (1) fill every Linear/Conv weight with an
orthonormal matrix (Saxe et al. 2014); (2) for each layer in forward order, run a data
batch, measure the variance ``v`` of the layer's output (its pre-activation) and divide its
weight by ``√v``, repeating until ``|v − 1| < tol`` or ``max_iter`` rounds. Works on any
model: outputs are captured with forward hooks, and each forward pass stops right after
the layer being scaled (a private exception from the hook), so the cost is one partial
forward per iteration.

>>> net = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh())
>>> x = torch.randn(256, 20, generator=torch.Generator().manual_seed(0))
>>> rep = lsuv_(net, x, generator=torch.Generator().manual_seed(1))
>>> all(abs(r.extra["variance"] - 1) < 0.1 for r in rep)
True
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from .facts import SchemeFacts, register_scheme
from .initialize import InitReport, LayerReport, is_weighted, layer_weight, resolve_layers
from .schemes import orthogonal_

__all__ = ["lsuv_"]


class _Stop(Exception):
    pass


@register_scheme("lsuv", "Mishkin & Matas (2015): orthonormal, then rescale each layer to unit output variance on a "
                 "data batch", SchemeFacts(applies_to="model", needs_data=True))
def lsuv_(model: nn.Module, data: torch.Tensor, *, tol: float = 0.1, max_iter: int = 10,
          generator: torch.Generator | None = None, zero_bias: bool = True,
          method: Literal["auto", "fx", "order"] = "auto") -> InitReport:
    """Orthonormal init, then rescale each layer until its output variance on ``data`` is 1.

    Args:
        data: an input batch (a few hundred examples; the paper uses one mini-batch).
        tol: stop when ``|Var(output) − 1| < tol``.
        max_iter: rescaling rounds per layer.

    Returns: the per-layer report; ``extra`` holds the final ``variance`` and ``iterations``.
    """
    if not tol > 0:
        raise ConfigError(f"lsuv: tol must be > 0; got tol={tol}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ConfigError(f"lsuv: max_iter must be an integer >= 1; got max_iter={max_iter!r}")
    if not isinstance(data, torch.Tensor) or data.ndim < 1 or len(data) < 2:
        raise ConfigError("lsuv: data must be a tensor batch with at least 2 examples")
    infos = {id(i.module): i for i in resolve_layers(model, method, example=data)}
    layers = [m for m in model.modules() if is_weighted(m)]
    for m in layers:
        orthogonal_(layer_weight(m), generator=generator)
        if zero_bias and m.bias is not None:
            with torch.no_grad():
                m.bias.zero_()
    order: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod) if mod not in order else None) for m in layers]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(data)
    finally:
        for h in hooks:
            h.remove()
    names = {id(m): n for n, m in model.named_modules()}
    rows = []
    try:
        for m in order:
            captured: dict[str, torch.Tensor] = {}

            def hook(mod, inp, out, captured=captured):
                captured["out"] = out
                raise _Stop

            h = m.register_forward_hook(hook)
            it, v = 0, math.nan
            try:
                for it in range(1, max_iter + 2):
                    with torch.no_grad():
                        try:
                            model(data)
                        except _Stop:
                            pass
                    v = float(captured["out"].double().var())
                    if not math.isfinite(v) or v <= 0 or abs(v - 1) < tol or it > max_iter:
                        break
                    with torch.no_grad():
                        m.weight.div_(math.sqrt(v))
            finally:
                h.remove()
            info = infos.get(id(m))
            rows.append(LayerReport(name=names.get(id(m), "?"), kind=type(m).__name__, shape=tuple(layer_weight(m).shape),
                                    fan_in=info.fan_in if info else 0, fan_out=info.fan_out if info else 0,
                                    activation=info.activation_name if info else "?",
                                    resolved_by=info.resolved_by if info else "hooks", scheme="lsuv", gain=None,
                                    std=float(m.weight.detach().std()),
                                    bias="zeros" if zero_bias else "kept",
                                    extra={"variance": v, "iterations": min(it, max_iter)}))
    finally:
        model.train(was_training)
    unreached = [names[id(m)] for m in layers if m not in order]
    return InitReport(rows, scheme="lsuv", unresolved=[], skipped=unreached)

