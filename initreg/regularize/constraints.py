"""Max-norm constraint on each unit's incoming weights, applied after every step.

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: a simple way to
prevent neural networks from overfitting", JMLR 15 (2014), section 5.1: after each
update, project each unit's incoming weight vector ``w_i`` onto the ball ``‖w_i‖₂ ≤ c``::

    w_i ← w_i · min(1, c / ‖w_i‖₂)

For ``nn.Linear`` (weight ``(out, in)``) ``w_i`` is row ``i``; for ``nn.Conv*`` (``(out, in,
*kernel)``) it is everything feeding output channel ``i`` (torch's fan convention: axis 0
is the output). Biases are not constrained. The paper used ``c`` between 3 and 4.

>>> import torch
>>> w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
>>> max_norm_(w, 1.0)
tensor([[0.6000, 0.8000],
        [0.3000, 0.4000]])
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["max_norm_", "MaxNorm"]


@torch.no_grad()
def max_norm_(weight: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Rescale each ``weight[i]`` (a unit's incoming weights) to L2 norm ``<= max_norm``, in place.

    Rows already inside the ball are untouched (bitwise). Agrees with
    ``torch.renorm(weight, 2, 0, max_norm)`` up to torch's ``1e-7`` in the denominator.
    """
    if not (isinstance(max_norm, (int, float)) and math.isfinite(max_norm) and max_norm > 0):
        raise ConfigError(f"max_norm must be a finite number > 0; got max_norm={max_norm!r}")
    if weight.ndim < 2:
        raise ConfigError(f"max_norm_ needs a weight with an output axis and inputs (ndim >= 2); got shape {tuple(weight.shape)}")
    norms = weight.flatten(1).norm(dim=1)
    over = norms > max_norm
    if bool(over.any()):
        scale = torch.where(over, max_norm / norms.clamp_min(1e-30), torch.ones_like(norms))
        weight.mul_(scale.view(-1, *([1] * (weight.ndim - 1))))
    return weight


class MaxNorm(Callback):
    """Max-norm constraint as a `fit` callback: projects the chosen weights after every step.

    Args:
        max_norm: ``c`` (> 0).
        modules: names or shell patterns of the Linear/Conv modules to constrain; ``None``
            = every ``nn.Linear`` and ``nn.Conv*`` (the output layer included, as in the paper).
    """

    def __init__(self, max_norm: float = 3.0, *, modules: Sequence[str] | None = None):
        if not (isinstance(max_norm, (int, float)) and math.isfinite(max_norm) and max_norm > 0):
            raise ConfigError(f"max_norm must be a finite number > 0; got max_norm={max_norm!r}")
        self.max_norm = float(max_norm)
        self.modules = list(modules) if modules is not None else None
        self._weights: list[torch.Tensor] = []

    def weights_of(self, model: nn.Module) -> list[torch.Tensor]:
        layers = [(n, m) for n, m in model.named_modules()
                  if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) and m.weight is not None]
        if self.modules is None:
            return [m.weight for _, m in layers]
        out: list[torch.Tensor] = []
        for pat in self.modules:
            hit = [m.weight for n, m in layers if fnmatch.fnmatch(n, pat)]
            if not hit:
                raise ConfigError(f"max_norm: modules entry {pat!r} matches no Linear/Conv layer; "
                                  f"layers: {', '.join(n for n, _ in layers) or '(none)'}")
            out += [w for w in hit if all(w is not o for o in out)]
        return out

    def apply_(self, model: nn.Module) -> nn.Module:
        """Project ``model``'s chosen weights now (for use in any loop, after ``optimizer.step()``)."""
        for w in self.weights_of(model):
            max_norm_(w, self.max_norm)
        return model

    def on_fit_start(self, state: TrainState) -> None:
        self._weights = self.weights_of(state.model)

    def on_step_end(self, state: TrainState) -> None:
        for w in self._weights:
            max_norm_(w, self.max_norm)

    def get_config(self) -> dict[str, Any]:
        return {"name": "max_norm", "max_norm": self.max_norm, "modules": self.modules}


@regularizers.register("max_norm", description="max-norm constraint ‖w_i‖ ≤ c on each unit's incoming weights, after every step")
def max_norm(max_norm: float = 3.0, modules: list[str] | None = None) -> MaxNorm:
    """Max-norm constraint (Srivastava et al. 2014) with radius ``max_norm``."""
    return MaxNorm(max_norm, modules=modules)
