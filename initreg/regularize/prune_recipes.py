"""Pruning recipes: train, prune, train again (the mask mechanism is `initreg.regularize.prune`).

- `one_shot`: prune a trained model once, optionally fine-tune with the masks kept;
- `iterative`: ``rounds`` steps of sparsity ``1 − (1 − s)^{k/rounds}`` (`round_sparsities`),
  fine-tuning after each (Han et al. 2015, "Learning both Weights and Connections for
  Efficient Neural Networks");
- `lottery_ticket`: after each pruning step the surviving weights are reset to their initial
  values and the sparse network is retrained (Frankle & Carbin 2019, "The Lottery Ticket
  Hypothesis"; a state from early in training gives "late rewinding", Frankle et al. 2020).

>>> from initreg.data import load_data
>>> from initreg.models import build_model
>>> d = load_data({"name": "digits", "train_size": 100})
>>> m = build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, 10, seed=0)
>>> h = one_shot(m, d, 0.5, finetune={"epochs": 1, "progress": "none"})
>>> from initreg.regularize.prune import sparsity_report
>>> sparsity_report(m)[-1]["sparsity"], h.epochs
(0.5, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..train.fit import fit
from ..train.history import History
from .prune import prune_, round_sparsities

__all__ = ["one_shot", "iterative", "lottery_ticket"]


def one_shot(model: nn.Module, data: Splits | None, sparsity: float, *, criterion: str = "global_magnitude",
             finetune: Mapping[str, Any] | Any | None = None, generator: torch.Generator | None = None) -> History | None:
    """Prune a trained ``model`` once; fine-tune with the masks kept if ``finetune`` (a
    `TrainConfig` or dict) is given. Returns the fine-tuning history (``None`` without)."""
    prune_(model, sparsity, criterion, generator=generator)
    return fit(model, data, finetune) if finetune is not None else None


def iterative(model: nn.Module, data: Splits, sparsity: float, *, rounds: int = 3, criterion: str = "global_magnitude",
              finetune: Mapping[str, Any] | Any, generator: torch.Generator | None = None) -> list[History]:
    """``rounds`` × (prune to the next target of `round_sparsities`, fine-tune with ``finetune``)."""
    hists = []
    for s in round_sparsities(sparsity, rounds):
        prune_(model, s, criterion, generator=generator)
        hists.append(fit(model, data, finetune))
    return hists


@torch.no_grad()
def _rewind(model: nn.Module, init_state: Mapping[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters()) | dict(model.named_buffers())
    for k, v in init_state.items():
        if k.endswith("_mask"):
            continue
        key = k if k in params else k + "_orig"
        if key not in params:
            raise ConfigError(f"lottery_ticket: init_state has {k!r}, which the model lacks; pass model.state_dict() "
                              "taken before training")
        params[key].copy_(v)


def lottery_ticket(model: nn.Module, data: Splits, sparsity: float, *, init_state: Mapping[str, torch.Tensor],
                   train: Mapping[str, Any] | Any, rounds: int = 1, criterion: str = "global_magnitude",
                   generator: torch.Generator | None = None) -> list[History]:
    """Lottery-ticket rewinding (Frankle & Carbin 2019) on a trained ``model``.

    Each round: prune to the next target of `round_sparsities` by the current weights, reset
    every surviving parameter to ``init_state`` (the state dict before training; a state from
    early in training gives "late rewinding", Frankle et al. 2020), retrain with ``train``.
    """
    init_state = {k: v.detach().clone() for k, v in init_state.items()}
    hists = []
    for s in round_sparsities(sparsity, rounds):
        prune_(model, s, criterion, generator=generator)
        _rewind(model, init_state)
        hists.append(fit(model, data, train))
    return hists
