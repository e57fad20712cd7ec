"""Live views of a run: logger callbacks for `fit` (TensorBoard, MLflow), each an optional extra.

A run config enables them by name (``log: [{name: tensorboard}, {name: mlflow, tracking_uri:
"file:./mlruns"}]``); `build_loggers` turns that list into callbacks. Each logger writes
every evaluation record as it is made (``on_evaluate``), so a killed run leaves its curves.

- ``tensorboard`` (`TensorBoardLogger`, ``pip install 'initreg[tensorboard]'``): event files
  written by ``torch.utils.tensorboard.SummaryWriter``.
- ``mlflow`` (`MLflowLogger`, ``pip install 'initreg[mlflow]'``): an MLflow run with the
  config as parameters and every metric per step, at an explicit tracking URI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry import Registry

__all__ = ["loggers", "build_loggers"]

loggers: Registry = Registry("logger")


@loggers.register("tensorboard", description="TensorBoard event files (torch.utils.tensorboard); extra: tensorboard")
def _tensorboard(run_dir: Path | None = None, log_dir: str | None = None, **kw: Any):
    from .tensorboard_logger import TensorBoardLogger

    if log_dir is None and run_dir is None:
        raise ConfigError("logger 'tensorboard' needs log_dir when the run has no folder (out=None)")
    return TensorBoardLogger(log_dir if log_dir is not None else Path(run_dir) / "tensorboard", **kw)


@loggers.register("mlflow", description="an MLflow run at an explicit tracking URI (e.g. file:./mlruns); extra: mlflow")
def _mlflow(run_dir: Path | None = None, **kw: Any):
    from .mlflow_logger import MLflowLogger

    return MLflowLogger(**kw)


def build_loggers(specs: Sequence[Mapping[str, Any] | str], run_dir: str | Path | None = None,
                  params: Mapping[str, Any] | None = None) -> list:
    """Callbacks for ``[{"name": ..., **options}, ...]`` (or bare names); ``params`` (the
    run's config) goes to loggers that record parameters."""
    out = []
    for spec in specs:
        spec = {"name": spec} if isinstance(spec, str) else dict(spec)
        name = spec.pop("name", None)
        make = loggers.get(name)
        if name == "mlflow" and params is not None:
            spec.setdefault("params", params)
        out.append(make(run_dir=None if run_dir is None else Path(run_dir), **spec))
    return out
