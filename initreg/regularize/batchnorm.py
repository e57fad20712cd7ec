"""BatchNorm utilities: recompute running statistics, measure train-vs-eval drift, guard batch 1.

Ioffe & Szegedy, "Batch Normalization: accelerating deep network training by reducing
internal covariate shift", ICML 2015. In training a BatchNorm layer normalizes with the
statistics of the current batch, per channel over the batch (and spatial) axes::

    mu_B = mean(x),  var_B = mean((x - mu_B)**2),  y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta

and updates running estimates ``r <- (1 - momentum) * r + momentum * batch_stat`` (torch
stores the *unbiased* batch variance in ``running_var``). At evaluation it uses the
running estimates instead, so the same input gives a different output in the two modes:
:func:`bn_drift` measures that. :func:`recompute_bn_stats_` replaces the running estimates
with averages over data (via ``torch.optim.swa_utils.update_bn``), e.g. after weight
averaging or pruning. :func:`guard_batchnorm_` turns torch's terse error for a training
batch with one value per channel into one that says what to do.

>>> import torch
>>> from torch import nn
>>> m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
>>> x = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
>>> _ = recompute_bn_stats_(m, x)
>>> bool(torch.allclose(m[1].running_mean, m[0](x).mean(0).detach(), atol=1e-6))
True
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["batchnorm_layers", "recompute_bn_stats_", "bn_drift", "guard_batchnorm_", "bn_statistics",
           "BatchSizeOneError", "RecomputeBN"]


class BatchSizeOneError(ConfigError):
    """A BatchNorm layer in training mode got one value per channel: its batch variance is undefined."""


def batchnorm_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """``(name, module)`` for every BatchNorm layer (1d, 2d, 3d, SyncBatchNorm) of ``model``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _BatchNorm)]


def _batches(data: torch.Tensor | Iterable[Any], batch_size: int | None) -> Iterable[Any]:
    if isinstance(data, torch.Tensor):
        bs = len(data) if batch_size is None else batch_size
        if bs < 1:
            raise ConfigError(f"batch_size must be >= 1; got batch_size={batch_size}")
        return [data[i:i + bs] for i in range(0, len(data), bs)]
    return data


@torch.no_grad()
def recompute_bn_stats_(model: nn.Module, data: torch.Tensor | Iterable[Any], *, batch_size: int | None = None) -> nn.Module:
    """Reset every BatchNorm layer's running statistics and recompute them from ``data``.

    Uses ``torch.optim.swa_utils.update_bn``: running estimates become the *cumulative*
    (equal-weight) average of the per-batch statistics (``momentum=None`` during the pass),
    so with one batch holding all of ``data`` ``running_mean`` is the exact mean of each
    layer's input and ``running_var`` its unbiased variance. The model's train/eval mode
    and each layer's momentum are restored. Non-BN parameters are not changed.

    Args:
        model: any module (without BatchNorm layers nothing happens).
        data: a tensor of inputs (split into ``batch_size`` chunks; ``None`` = one batch),
            or an iterable of batches (tensors, or tuples whose first item is the input).
        batch_size: chunk size when ``data`` is a tensor.

    Returns ``model``.
    """
    if not batchnorm_layers(model):
        return model
    was_training = model.training
    torch.optim.swa_utils.update_bn(_batches(data, batch_size), model)
    model.train(was_training)
    return model


@torch.no_grad()
def bn_statistics(model: nn.Module, x: torch.Tensor) -> list[dict[str, Any]]:
    """Per BatchNorm layer: the batch mean/variance of its input on ``x`` next to its running ones.

    Runs ``model`` in eval mode on ``x`` (nothing is updated) and records, per channel,
    the statistics train mode would use (``batch_mean``, biased ``batch_var``) and the ones
    eval mode uses (``running_mean``, ``running_var``).
    """
    rows: list[dict[str, Any]] = []
    hooks = []

    def record(name: str):
        def hook(mod: _BatchNorm, args: tuple[torch.Tensor, ...]) -> None:
            inp = args[0]
            dims = [0] + list(range(2, inp.ndim))
            rows.append({
                "layer": name,
                "batch_mean": inp.mean(dims), "batch_var": inp.var(dims, unbiased=False),
                "running_mean": None if mod.running_mean is None else mod.running_mean.clone(),
                "running_var": None if mod.running_var is None else mod.running_var.clone(),
            })
        return hook

    for name, bn in batchnorm_layers(model):
        hooks.append(bn.register_forward_pre_hook(record(name)))
    was = model.training
    try:
        model.eval()
        model(x)
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return rows


@torch.no_grad()
def bn_drift(model: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """How much ``model``'s output on ``x`` differs between train mode and eval mode.

    Train mode normalizes with the statistics of ``x`` itself; eval mode with the running
    estimates. The train-mode pass runs on a deep copy, so the model's running statistics
    and mode are untouched (dropout, if any, is switched off in both passes so that only
    normalization differs).

    Returns ``{"max_abs", "mean_abs", "relative", "layers"}``: the largest and mean absolute
    output difference, ``‖out_train − out_eval‖ / ‖out_eval‖``, and per BN layer the largest
    gap between batch and running mean (``mean_gap``) and the largest ratio of batch to
    running variance, as max(r, 1/r) (``var_ratio``).
    """
    from ..nn.dropout import is_dropout

    twin = copy.deepcopy(model)
    twin.train()
    for m in twin.modules():
        if is_dropout(m):
            m.eval()
    out_train = twin(x)
    was = model.training
    try:
        model.eval()
        out_eval = model(x)
    finally:
        model.train(was)
    diff = (out_train - out_eval).abs()
    layers = []
    for r in bn_statistics(model, x):
        if r["running_mean"] is None:
            continue
        ratio = (r["batch_var"] + 1e-12) / (r["running_var"] + 1e-12)
        layers.append({"layer": r["layer"], "mean_gap": float((r["batch_mean"] - r["running_mean"]).abs().max()),
                       "var_ratio": float(torch.maximum(ratio, 1 / ratio).max())})
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean()),
            "relative": float((out_train - out_eval).norm() / out_eval.norm().clamp_min(1e-30)), "layers": layers}


def _batch_one_hook(module: _BatchNorm, args: tuple[torch.Tensor, ...]) -> None:
    uses_batch_stats = module.training or (module.running_mean is None and module.running_var is None)
    if not uses_batch_stats:
        return
    inp = args[0]
    per_channel = inp.numel() // max(inp.shape[1], 1) if inp.ndim >= 2 else inp.numel()
    if per_channel <= 1:
        raise BatchSizeOneError(
            f"BatchNorm layer {getattr(module, '_initreg_name', '?')!r} ({type(module).__name__}({module.num_features})) got a training batch with one value per channel "
            f"(input shape {tuple(inp.shape)}): the batch variance of a single value is undefined. "
            "Use a batch size >= 2 (train.drop_last=true avoids a last batch of 1), call model.eval() "
            "to use the running statistics, or use norm='layer'")


def guard_batchnorm_(model: nn.Module) -> nn.Module:
    """Give every BatchNorm layer of ``model`` a clear error for a training batch of size 1.

    Torch raises ``ValueError: Expected more than 1 value per channel when training``;
    after this call a :class:`BatchSizeOneError` (a ``ConfigError``) says which layer,
    the input shape, and the fixes. Installing twice is harmless. Returns ``model``.
    """
    for name, bn in batchnorm_layers(model):
        bn._initreg_name = name
        if not getattr(bn, "_initreg_guarded", False):
            bn.register_forward_pre_hook(_batch_one_hook)
            bn._initreg_guarded = True
    return model



class RecomputeBN(Callback):
    """At the end of `fit` (before the test evaluation), recompute BatchNorm running statistics
    from the whole train split with the final weights (:func:`recompute_bn_stats_`).

    The running averages collected during training mix statistics of earlier weights; this
    replaces them with equal-weight averages over ``batch_size`` chunks of the train data
    (``None``: one batch, the exact mean and unbiased variance). Dropout is off during the
    pass (``update_bn`` runs the model in train mode; this callback keeps dropout layers in
    eval mode so they do not perturb the statistics).
    """

    def __init__(self, batch_size: int | None = None):
        if batch_size is not None and batch_size < 2:
            raise ConfigError(f"recompute_bn: batch_size must be >= 2 (BatchNorm needs 2 values per channel); got batch_size={batch_size}")
        self.batch_size = batch_size

    def on_fit_end(self, state: TrainState) -> None:
        from ..nn.dropout import is_dropout

        model = state.model
        drops = [m for m in model.modules() if is_dropout(m)]
        modes = {m: m.training for m in drops}

        class _NoDropout(nn.Module):  # keep dropout layers in eval mode while update_bn sets train()
            def __init__(self, inner: nn.Module):
                super().__init__()
                self.inner = inner

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                for m in drops:
                    m.eval()
                return self.inner(x)

        try:
            recompute_bn_stats_(_NoDropout(model), state.data.x_train, batch_size=self.batch_size)
        finally:
            for m, t in modes.items():
                m.training = t

    def get_config(self) -> dict[str, Any]:
        return {"name": "recompute_bn", "batch_size": self.batch_size}


@regularizers.register("recompute_bn", description="at the end of training, recompute BatchNorm running stats from the train split")
def recompute_bn(batch_size: int | None = None) -> RecomputeBN:
    """Recompute BatchNorm running statistics from the train data after training."""
    return RecomputeBN(batch_size)
