"""The registered models: ``linear``, ``mlp``, ``cnn``, ``low_rank``.

Each builder takes the data's ``input_shape`` and ``num_outputs`` (supplied by
`build_model`) plus its own parameters, and returns a flat ``nn.Sequential`` so every
Linear/Conv is followed, in order, by its norm, activation and dropout — which is what
init schemes and the signal probe read.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field
from torch import nn

from ..errors import ConfigError
from ..nn.activations import make_activation
from ..nn.dropout import Dropout, DropoutMode
from ..registry import Registry
from .low_rank import LowRankLinear

__all__ = ["models", "mlp", "linear", "cnn", "low_rank", "make_norm", "make_dropout"]

models: Registry = Registry("model")

Norm = Literal["none", "batch", "layer", "instance"]
Prob = Annotated[float, Field(ge=0.0, lt=1.0)]  # a drop probability, in [0, 1)
PosInt = Annotated[int, Field(ge=1)]


def make_norm(norm: str, features: int, dims: int = 0) -> nn.Module | None:
    """The norm layer for ``features`` channels; ``dims`` = spatial dims (0 for an MLP)."""
    if norm == "none":
        return None
    if norm == "batch":
        return (nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d)[dims](features)
    if norm == "layer":
        return nn.LayerNorm(features) if dims == 0 else nn.GroupNorm(1, features)
    if norm == "instance":
        if dims == 0:
            raise ConfigError("norm='instance' needs spatial axes (a cnn); an MLP has none. Use 'batch' or 'layer'")
        return (None, nn.InstanceNorm1d, nn.InstanceNorm2d)[dims](features, affine=True)
    raise ConfigError(f"norm must be one of none, batch, layer, instance; got norm={norm!r}")


def make_dropout(p: float, mode: DropoutMode = "inverted") -> nn.Module | None:
    """A dropout layer (`initreg.nn.Dropout`: ``inverted`` as ``nn.Dropout``, or ``classic``) or None for ``p == 0``."""
    if not 0.0 <= p < 1.0:
        raise ConfigError(f"dropout p must be in [0, 1); got p={p}")
    return Dropout(p, mode=mode) if p > 0 else None


def _guard(model: nn.Sequential, norm: str) -> nn.Sequential:
    """BatchNorm models get a clear error for a training batch of one value per channel."""
    if norm == "batch":
        from ..regularize.batchnorm import guard_batchnorm_

        guard_batchnorm_(model)
    return model


def _flat_dim(input_shape: tuple[int, ...]) -> int:
    return int(math.prod(input_shape))


@models.register("linear", description="logistic / linear regression: one Linear layer on the flattened input")
def linear(input_shape: tuple[int, ...], num_outputs: int, bias: bool = True) -> nn.Sequential:
    """Logistic regression (with cross-entropy) or linear regression (with MSE)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(_flat_dim(input_shape), num_outputs, bias=bias))


@models.register("low_rank", description="a rank-k linear map: two Linear layers, no nonlinearity (the bottleneck)")
def low_rank(input_shape: tuple[int, ...], num_outputs: int, rank: int = 4, bias: bool = True) -> nn.Sequential:
    """``Flatten → LowRankLinear(in, out, rank)``: see :class:`LowRankLinear`."""
    return nn.Sequential(nn.Flatten(), LowRankLinear(_flat_dim(input_shape), num_outputs, rank, bias=bias))


@models.register("mlp", description="multi-layer perceptron: depth hidden layers of width units")
def mlp(
    input_shape: tuple[int, ...],
    num_outputs: int,
    depth: int = 2,
    width: PosInt = 256,
    widths: list[int] | None = None,
    activation: str = "relu",
    bias: bool = True,
    norm: Norm = "none",
    dropout: Prob = 0.0,
    input_dropout: Prob = 0.0,
    bottleneck: int | None = None,
    dropout_mode: DropoutMode = "inverted",
) -> nn.Sequential:
    """``[Linear → norm → activation → dropout] × depth → Linear``.

    Args:
        depth: number of hidden layers (0 gives a linear model).
        width: units per hidden layer (ignored when ``widths`` lists them).
        activation: a registered activation name.
        norm: ``none | batch | layer`` between each hidden Linear and its activation.
        dropout: drop probability after each hidden activation — never on the output layer.
        input_dropout: drop probability on the inputs.
        dropout_mode: ``inverted`` (scale by 1/(1-p) in training, as ``nn.Dropout``) or
            ``classic`` (scale by 1-p at evaluation); see `initreg.nn.Dropout`.
        bottleneck: if set, the first hidden Linear is a :class:`LowRankLinear` of this rank.
    """
    hidden = list(widths) if widths is not None else [width] * depth
    if any(w < 1 for w in hidden) or depth < 0:
        raise ConfigError(f"mlp: depth must be >= 0 and widths >= 1; got depth={depth}, widths={hidden}")
    make_activation(activation)  # validate the name early
    layers: list[nn.Module] = [nn.Flatten()]
    if (d := make_dropout(input_dropout, dropout_mode)) is not None:
        layers.append(d)
    fan_in = _flat_dim(input_shape)
    for i, w in enumerate(hidden):
        if i == 0 and bottleneck is not None:
            layers.append(LowRankLinear(fan_in, w, bottleneck, bias=bias))
        else:
            layers.append(nn.Linear(fan_in, w, bias=bias))
        if (n := make_norm(norm, w)) is not None:
            layers.append(n)
        layers.append(make_activation(activation))
        if (d := make_dropout(dropout, dropout_mode)) is not None:
            layers.append(d)
        fan_in = w
    layers.append(nn.Linear(fan_in, num_outputs, bias=bias))
    return _guard(nn.Sequential(*layers), norm)


@models.register("cnn", description="small conv net: 2-D for images (C,H,W), 1-D for sequences like MNIST-1D (C,L)")
def cnn(
    input_shape: tuple[int, ...],
    num_outputs: int,
    channels: list[int] = [16, 32],  # noqa: B006 - pydantic copies defaults
    kernel_size: int = 3,
    hidden: int = 64,
    activation: str = "relu",
    norm: Norm = "none",
    dropout: Prob = 0.0,
    pool: bool = True,
    dropout_mode: DropoutMode = "inverted",
) -> nn.Sequential:
    """``[Conv → norm → activation → maxpool] × len(channels) → Linear(hidden) → act → dropout → Linear``.

    Needs image-shaped inputs (``data.flatten: false``). ``norm``: ``batch`` (per channel over
    N and the spatial axes), ``layer`` (``GroupNorm(1, C)``: per sample over C and the spatial
    axes), ``instance`` (per sample and channel over the spatial axes) or ``none``.
    """
    if len(input_shape) not in (2, 3):
        raise ConfigError(
            f"cnn needs inputs shaped (C, L) or (C, H, W); got input shape {tuple(input_shape)}. "
            "Set data.flatten: false")
    dims = len(input_shape) - 1
    conv = (nn.Conv1d, nn.Conv2d)[dims - 1]
    mpool = (nn.MaxPool1d, nn.MaxPool2d)[dims - 1]
    make_activation(activation)
    layers: list[nn.Module] = []
    c_in, spatial = input_shape[0], list(input_shape[1:])
    for c in channels:
        layers.append(conv(c_in, c, kernel_size, padding=kernel_size // 2))
        if (n := make_norm(norm, c, dims)) is not None:
            layers.append(n)
        layers.append(make_activation(activation))
        if pool and min(spatial) >= 2:
            layers.append(mpool(2))
            spatial = [s // 2 for s in spatial]
        c_in = c
    layers += [nn.Flatten(), nn.Linear(c_in * math.prod(spatial), hidden), make_activation(activation)]
    if (d := make_dropout(dropout, dropout_mode)) is not None:
        layers.append(d)
    layers.append(nn.Linear(hidden, num_outputs))
    return _guard(nn.Sequential(*layers), norm)
