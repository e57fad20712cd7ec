"""Checks the CLI makes before any work: a model that fits in memory, a teacher run folder.

A model config is checked by building it on PyTorch's ``meta`` device (shapes only, no
memory), so a huge ``model.width`` is a one-line error instead of an out-of-memory crash.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["MAX_LAYERS", "MAX_PARAMS", "check_model_size", "check_teacher"]

MAX_PARAMS = int(os.environ.get("INITREG_MAX_PARAMS", 200_000_000))  # 0.8 GB of fp32 weights
MAX_LAYERS = 1000  # depth, len(widths), len(channels): checked before the model is built at all


def check_model_size(model: Mapping[str, Any], input_shape: tuple[int, ...], num_outputs: int,
                     limit: int | None = None) -> int:
    """The number of parameters of the model ``model`` builds (counted on the meta device);
    a `ConfigError` if it cannot be built or has more than ``limit`` (default `MAX_PARAMS`).

    >>> check_model_size({"name": "mlp", "depth": 1, "width": 8}, (4,), 3)
    67
    >>> check_model_size({"name": "mlp", "width": 10**6}, (784,), 10)
    Traceback (most recent call last):
    ...
    initreg.errors.ConfigError: model 'mlp' has 1000796000010 parameters (width=1000000); the limit is 200000000 ...
    """
    import torch

    from ..models import build_model

    limit = MAX_PARAMS if limit is None else limit
    for key in ("depth", "widths", "channels"):
        v = model.get(key)
        n_layers = v if isinstance(v, int) and not isinstance(v, bool) else len(v) if isinstance(v, list) else 0
        if n_layers > MAX_LAYERS:
            raise ConfigError(f"model {model.get('name')!r}: {key} gives {n_layers} layers; at most {MAX_LAYERS}")
    cfg = {**model, "init": "torch"}
    try:
        with torch.device("meta"):
            net = build_model(cfg, tuple(input_shape), num_outputs)
    except ConfigError:
        raise
    except (ValueError, TypeError, RuntimeError, OverflowError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"model {model.get('name')!r} cannot be built for inputs {tuple(input_shape)}: {msg}") from None
    n = sum(p.numel() for p in net.parameters())
    if n > limit:
        sizes = ", ".join(f"{k}={v}" for k, v in model.items() if k in ("width", "depth", "rank", "channels"))
        raise ConfigError(f"model {model.get('name')!r} has {n} parameters ({sizes}); the limit is {limit} "
                          "(set INITREG_MAX_PARAMS to raise it)")
    return n


def check_teacher(path: Path) -> Path:
    """``path`` is a run folder written by ``initreg train`` (config.yaml and model.pt)."""
    missing = [f for f in ("config.yaml", "model.pt") if not (path / f).is_file()]
    if not path.is_dir() or missing:
        what = "does not exist" if not path.exists() else ("is not a folder" if not path.is_dir()
                                                            else f"has no {' and no '.join(missing)}")
        raise ConfigError(f"--teacher {str(path)!r} {what}: give a run folder written by `initreg train` "
                          "(config.yaml + model.pt)")
    return path
