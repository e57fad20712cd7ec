"""`build_model`: a model config + the data's shapes → an ``nn.Module``, seeded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .zoo import models

__all__ = ["build_model", "models_table", "DEFAULT_INIT"]

# The init scheme used when a model config names none: "auto" = N(0, g²/fan_in) with g the
# forward gain of the activation after each layer, biases zero (`initreg.init.initialize`).
# "torch" keeps PyTorch's own default (legacy uniform weights and biases).
DEFAULT_INIT = "auto"


def build_model(config: str | Mapping[str, Any], input_shape: tuple[int, ...], num_outputs: int,
                *, seed: int | None = None) -> nn.Module:
    """Build the registered model ``config["name"]`` for inputs of ``input_shape``.

    ``config["init"]`` names an init scheme (`initreg.init`), or ``"torch"`` for PyTorch's
    own default. Names shared with ``torch.nn.init`` mean torch's function with torch's
    defaults (``init: xavier_normal`` is gain 1, ``init: kaiming_normal`` is ``a=0``,
    ``leaky_relu``); ``init: {name: xavier_normal, gain: auto}`` gives each layer the gain
    computed for the activation after it (`initreg.init.initialize`). ``seed`` makes the initial weights reproducible without touching the global RNG
    (the build runs under ``torch.random.fork_rng``).

    >>> m = build_model({"name": "mlp", "depth": 1, "width": 8}, (4,), 3, seed=0)
    >>> m(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    >>> m = build_model({"name": "mlp", "depth": 1, "width": 400, "activation": "relu",
    ...                  "init": {"name": "xavier_normal", "gain": "auto"}}, (400,), 3, seed=0)
    >>> round(float(m[1].weight.detach().std()) * (800 / 2) ** 0.5, 1)  # gain sqrt(2) before the ReLU
    1.4
    """
    if isinstance(config, str):
        config = {"name": config}
    config = dict(config)
    scheme = config.pop("init", DEFAULT_INIT)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = models.build(config, input_shape=tuple(input_shape), num_outputs=num_outputs)
        if scheme != "torch":  # "torch": keep PyTorch's own default init (legacy uniform for Linear/Conv)
            from ..init import initialize

            gen = torch.Generator().manual_seed(seed) if seed is not None else None
            initialize(model, scheme, generator=gen)
    return model


def models_table() -> list[dict[str, str]]:
    """Each model's name, description and parameters with defaults (for `initreg models`)."""
    import inspect

    rows = []
    for name in models.names():
        sig = inspect.signature(models.get(name))
        params = ", ".join(
            f"{p.name}={p.default!r}" for p in sig.parameters.values() if p.name not in ("input_shape", "num_outputs")
        )
        rows.append({"name": name, "description": models.meta(name).get("description", ""), "parameters": params})
    return rows
