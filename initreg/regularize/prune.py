"""Pruning: remove the least important weights, keep the masks while fine-tuning.

Criteria (registry `pruning_criteria`), each giving a 0/1 mask per Linear/Conv weight:

- ``magnitude``: layer-wise, each layer keeps its largest ``|w|`` (Han et al. 2015,
  "Learning both Weights and Connections for Efficient Neural Networks");
- ``global_magnitude``: one ``|w|`` threshold over all layers together;
- ``structured``: whole output neurons / channels with the smallest L2 norm ``‖W_i‖₂``
  (rows of a Linear weight, output channels of a Conv), per layer, never in the output
  layer; the neuron's bias is masked too, so the unit is really gone (Li et al. 2017,
  "Pruning Filters for Efficient ConvNets");
- ``random``: uniformly random weights, per layer (the control).

``sparsity`` is the fraction of weights set to zero: exactly ``round(s · n)`` of the ``n``
weights considered (for ``structured``, ``round(s · rows)`` rows of each hidden layer).
Pruning is cumulative: pruning a pruned model to a higher sparsity keeps the old zeros.

This module computes and applies masks and never trains (as ``torch.nn.utils.prune``); the
recipes that train between pruning steps — one-shot, iterative, lottery ticket — are in
`initreg.regularize.prune_recipes`, the in-training schedule is the `Prune` callback.

The masks use ``torch.nn.utils.prune`` (``weight = weight_orig * weight_mask`` recomputed
before every forward, so a masked weight stays zero through any optimizer step);
`make_permanent` folds them in with ``prune.remove``. `sparsity_report` lists each layer;
`saved_bytes` gives the file size with sparse (CSR, int32 index) storage.

>>> torch.manual_seed(0); m = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 2))
<torch._C.Generator object at ...>
>>> _ = prune_(m, 0.9, "global_magnitude")
>>> sparsity_report(m)[-1]["sparsity"]
0.9
"""

from __future__ import annotations

import copy
import io
import math
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune as tprune

from ..errors import ConfigError
from ..registry import Registry
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = [
    "pruning_criteria", "prunable", "check_sparsity", "compute_masks", "prune_", "make_permanent",
    "sparsity_report", "saved_bytes", "round_sparsities", "Prune",
]

# A criterion maps (layers, sparsity, generator) -> {layer: (weight_mask, bias_mask | None)}
pruning_criteria: Registry = Registry("pruning criterion")
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def prunable(model: nn.Module) -> list[nn.Module]:
    """The Linear/Conv layers of ``model``, in order (the last one is the output layer)."""
    return [m for m in model.modules() if isinstance(m, PRUNABLE)]


def check_sparsity(sparsity: float) -> float:
    """``sparsity`` as a float, or a `ConfigError` unless it lies in [0, 1)."""
    s = float(sparsity)
    if not 0.0 <= s < 1.0 or math.isnan(s):
        raise ConfigError(f"sparsity must be in [0, 1) (the fraction of weights removed); got sparsity={sparsity}")
    return s


def _effective(m: nn.Module, name: str = "weight") -> torch.Tensor:
    """The weight as the forward sees it (``orig * mask`` while pruned)."""
    if hasattr(m, name + "_mask"):
        return (getattr(m, name + "_orig") * getattr(m, name + "_mask")).detach()
    return getattr(m, name).detach()


def _old_mask(m: nn.Module, name: str = "weight") -> torch.Tensor:
    t = getattr(m, name + "_mask", None)
    return t.detach().bool() if t is not None else torch.ones_like(_effective(m, name), dtype=torch.bool)


def _keep_top(scores: torch.Tensor, n_prune: int) -> torch.Tensor:
    """A bool mask that drops exactly the ``n_prune`` lowest scores (ties broken by position)."""
    mask = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if n_prune > 0:
        idx = torch.argsort(scores.flatten(), stable=True)[:n_prune]
        mask[idx] = False
    return mask.view_as(scores)


def _unstructured_scores(m: nn.Module, kind: str, generator: torch.Generator | None) -> torch.Tensor:
    old = _old_mask(m)
    if kind == "magnitude":
        s = _effective(m).abs().float()
    else:  # random
        s = torch.rand(old.shape, generator=generator)
    return torch.where(old, s, torch.full_like(s, -1.0))  # already-pruned weights go first


@pruning_criteria.register("magnitude", description="layer-wise: each layer keeps its largest |w|")
def _magnitude(layers: list[nn.Module], sparsity: float, generator: torch.Generator | None = None):
    return {m: (_keep_top(_unstructured_scores(m, "magnitude", None), round(sparsity * m.weight.numel())), None)
            for m in layers}


@pruning_criteria.register("global_magnitude", description="one |w| threshold over all layers together")
def _global_magnitude(layers: list[nn.Module], sparsity: float, generator: torch.Generator | None = None):
    scores = [_unstructured_scores(m, "magnitude", None) for m in layers]
    flat = torch.cat([s.flatten() for s in scores])
    keep = _keep_top(flat, round(sparsity * flat.numel()))
    out, i = {}, 0
    for m, s in zip(layers, scores):
        out[m] = (keep[i:i + s.numel()].view_as(s), None)
        i += s.numel()
    return out


@pruning_criteria.register("random", description="uniformly random weights per layer (the control)")
def _random(layers: list[nn.Module], sparsity: float, generator: torch.Generator | None = None):
    return {m: (_keep_top(_unstructured_scores(m, "random", generator), round(sparsity * m.weight.numel())), None)
            for m in layers}


@pruning_criteria.register("structured", description="whole neurons/channels with the smallest L2 norm, per hidden layer")
def _structured(layers: list[nn.Module], sparsity: float, generator: torch.Generator | None = None):
    out = {}
    for m in layers[:-1]:  # never remove output classes
        w = _effective(m)
        rows_alive = _old_mask(m).flatten(1).any(dim=1)
        norms = torch.where(rows_alive, w.flatten(1).norm(dim=1), torch.full((w.shape[0],), -1.0))
        keep_rows = _keep_top(norms, round(sparsity * w.shape[0]))
        wmask = keep_rows.view(-1, *([1] * (w.ndim - 1))).expand_as(w).clone()
        out[m] = (wmask, keep_rows.clone() if m.bias is not None else None)
    return out


def compute_masks(model: nn.Module, sparsity: float, criterion: str = "global_magnitude", *,
                  generator: torch.Generator | None = None) -> dict[nn.Module, tuple[torch.Tensor, Any]]:
    """The masks ``criterion`` gives at total ``sparsity`` (nothing is applied)."""
    s = check_sparsity(sparsity)
    fn = pruning_criteria.get(criterion)
    layers = prunable(model)
    if not layers:
        raise ConfigError(f"model {type(model).__name__} has no Linear/Conv layer to prune")
    return fn(layers, s, generator)


@torch.no_grad()
def prune_(model: nn.Module, sparsity: float, criterion: str = "global_magnitude", *,
           generator: torch.Generator | None = None) -> nn.Module:
    """Prune ``model`` in place to ``sparsity`` with ``criterion``; masks stay attached.

    Parameters keep their identity (``weight`` becomes ``weight_orig``, the same tensor), so
    an optimizer built before pruning still trains the model — masked weights stay zero.
    """
    for m, (wmask, bmask) in compute_masks(model, sparsity, criterion, generator=generator).items():
        tprune.custom_from_mask(m, "weight", wmask.to(m.weight.dtype))
        if bmask is not None:
            tprune.custom_from_mask(m, "bias", bmask.to(m.bias.dtype))
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold the masks into the weights (``prune.remove``): plain parameters, zeros in place.

    After this, training can regrow pruned weights; keep the masks while fine-tuning.
    """
    for m in model.modules():
        for name in ("weight", "bias"):
            if tprune.is_pruned(m) and hasattr(m, name + "_mask"):
                tprune.remove(m, name)
    return model


def sparsity_report(model: nn.Module) -> list[dict[str, Any]]:
    """Per Linear/Conv weight: ``layer, shape, params, zeros, sparsity``; a last ``total`` row."""
    names = {m: n for n, m in model.named_modules()}
    rows, zt, nt = [], 0, 0
    for m in prunable(model):
        w = _effective(m)
        z, n = int((w == 0).sum()), w.numel()
        rows.append({"layer": names[m] or type(m).__name__, "shape": list(w.shape), "params": n, "zeros": z,
                     "sparsity": z / n})
        zt, nt = zt + z, nt + n
    rows.append({"layer": "total", "shape": [], "params": nt, "zeros": zt, "sparsity": zt / nt if nt else 0.0})
    return rows


def _sparse_state_dict(model: nn.Module) -> dict[str, Any]:
    sd = copy.deepcopy(model).cpu()
    make_permanent(sd)
    out: dict[str, Any] = {}
    for k, v in sd.state_dict().items():
        if v.ndim >= 2 and v.is_floating_point():
            w2 = v.reshape(v.shape[0], -1)
            with warnings.catch_warnings():  # "sparse CSR support is in beta"
                warnings.simplefilter("ignore")
                csr = w2.to_sparse_csr()
            crow, col = csr.crow_indices().to(torch.int32), csr.col_indices().to(torch.int32)
            sparse_bytes = csr.values().numel() * v.element_size() + 4 * (crow.numel() + col.numel())
            if sparse_bytes < v.numel() * v.element_size():
                out[k] = {"crow": crow, "col": col, "values": csr.values().clone(), "shape": list(v.shape)}
                continue
        out[k] = v
    return out


def saved_bytes(model: nn.Module, *, sparse: bool = True) -> int:
    """Bytes of the saved state dict; ``sparse`` stores each weight as CSR (int32 indices)
    when that is smaller than dense (with fp32 values that needs sparsity above 50%)."""
    buf = io.BytesIO()
    if sparse:
        torch.save(_sparse_state_dict(model), buf)
    else:
        m = make_permanent(copy.deepcopy(model))
        torch.save(m.state_dict(), buf)
    return buf.getbuffer().nbytes


# ---- schedules ------------------------------------------------------------------------------

def round_sparsities(sparsity: float, rounds: int) -> list[float]:
    """Targets ``1 − (1 − s)^{k/rounds}``, k = 1..rounds: the same fraction of survivors per round.

    >>> [round(s, 3) for s in round_sparsities(0.875, 3)]
    [0.5, 0.75, 0.875]
    """
    s = check_sparsity(sparsity)
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1; got rounds={rounds}")
    return [1 - (1 - s) ** (k / rounds) for k in range(1, rounds + 1)]


# ---- callback form --------------------------------------------------------------------------

class Prune(Callback):
    """Pruning inside `fit`: after epoch ``start_epoch`` prune toward ``sparsity`` in
    ``rounds`` steps ``every`` epochs apart; train on with the masks (fine-tuning); at the
    end fold the masks in (``permanent=True``) so the saved model is a plain state dict.
    """

    def __init__(self, sparsity: float, criterion: str = "global_magnitude", start_epoch: int = 1, rounds: int = 1,
                 every: int = 1, permanent: bool = True):
        self.targets = round_sparsities(sparsity, rounds)
        pruning_criteria.get(criterion)
        if start_epoch < 0 or every < 1:
            raise ConfigError(f"prune: need start_epoch >= 0 and every >= 1; got start_epoch={start_epoch}, every={every}")
        self.criterion, self.start, self.every, self.permanent = criterion, start_epoch, every, permanent
        self.done = 0

    stacks = True  # epoch-level only: in stacked training each copy's masks are stacked per copy

    def _maybe_prune(self, state: TrainState) -> None:
        due = state.epoch >= self.start and (state.epoch - self.start) % self.every == 0
        if due and self.done < len(self.targets):
            prune_(state.model, self.targets[self.done], self.criterion, generator=state.generator_for(self))
            self.done += 1

    def on_fit_start(self, state: TrainState) -> None:
        if self.start == 0:
            self._maybe_prune(state)

    def on_epoch_end(self, state: TrainState) -> None:
        self._maybe_prune(state)

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        record["sparsity"] = sparsity_report(state.model)[-1]["sparsity"]

    def on_fit_end(self, state: TrainState) -> None:
        if self.permanent:
            make_permanent(state.model)


@regularizers.register("prune", description="prune weights during training (magnitude, global, structured, random)")
def prune_callback(sparsity: float = 0.9, criterion: str = "global_magnitude", start_epoch: int = 1, rounds: int = 1,
                   every: int = 1) -> Prune:
    """``regularize: [{name: prune, sparsity: 0.9, start_epoch: 20}]``: criteria in `pruning_criteria`."""
    return Prune(sparsity, criterion, start_epoch, rounds, every)

