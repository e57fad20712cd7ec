"""Regularizers by name, usable from configs as ``regularize: [{name: ..., **params}, ...]``.

Each registered entry is a factory returning a `initreg.train.Callback` (a penalty adds to
the loss in ``on_loss``, a constraint acts in ``on_step_end``, mixup replaces the batch in
``on_batch``, early stopping ends the run in ``on_epoch_end``...). The functional pieces
live in this package's modules and work with any training loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..registry import Registry

__all__ = ["regularizers", "build_regularizers", "load_all"]

regularizers: Registry = Registry("regularizer")


def build_regularizers(configs: Sequence[str | Mapping[str, Any]]) -> list[Any]:
    """Callbacks for a ``regularize:`` list of names or ``{"name": ..., **params}``."""
    load_all()
    return [regularizers.build(c) for c in configs]


def load_all() -> None:
    """Import the modules that register regularizers (each registers on import)."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
