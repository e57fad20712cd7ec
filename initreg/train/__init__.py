"""Training: `fit` (a fast in-memory loop with callbacks), its config and history.

`Callback` and `TrainState` (`initreg.train.callbacks`) load with torch alone. Config-driven
runs (`run`, `run_seeds`, `RunConfig`, `load_config`) live one level up in `initreg.runs`;
they stay reachable here by name, loaded on first use.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .callbacks import Callback, TrainState

if TYPE_CHECKING:
    from ..runs import RunConfig, RunResult, load_config, run, run_seeds
    from .config import TrainConfig
    from .fit import evaluate, fit, loss_function, make_optimizer, make_scheduler
    from .history import History

__all__ = ["Callback", "History", "TrainConfig", "TrainState", "evaluate", "fit", "loss_function", "make_optimizer",
           "make_scheduler", "RunConfig", "RunResult", "load_config", "run", "run_seeds"]

# name -> the module that defines it; loaded on first access (PEP 562), so that
# `from initreg.train import Callback` loads neither pydantic nor the training loop
_LAZY = {"TrainConfig": ".config", "History": ".history", "evaluate": ".fit", "fit": ".fit",
         "loss_function": ".fit", "make_optimizer": ".fit", "make_scheduler": ".fit",
         "RunConfig": "..runs", "RunResult": "..runs", "load_config": "..runs", "run": "..runs", "run_seeds": "..runs"}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``initreg.train.fit`` is the function: importing the submodule of the same name (which
    the import system binds on its package) leaves the name alone. The module itself stays
    ``sys.modules["initreg.train.fit"]`` (``from initreg.train.fit import evaluate`` works;
    ``importlib.import_module("initreg.train.fit")`` returns it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "fit" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
