"""`MLflowLogger`: a run's config and every evaluation record in an MLflow run, written live."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from ..utils.optional import require

__all__ = ["MLflowLogger"]


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 keeps the ``file:`` store in maintenance mode behind MLFLOW_ALLOW_FILE_STORE:
    opt in while the client opens a ``file:`` store, and restore the environment after."""
    if not uri.startswith("file:"):
        yield
        return
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(v)[:500]  # MLflow's parameter value limit
    return out


class MLflowLogger(Callback):
    """Log ``params`` once and each evaluation's numeric metrics (per optimizer step) to a new
    MLflow run; the run ends FINISHED, or FAILED when training stops on an exception.

    Uses an ``MlflowClient`` bound to ``tracking_uri`` (no global active run, no environment
    default): pass it explicitly, e.g. ``file:./mlruns`` for a local folder. Needs the
    ``mlflow`` extra (``mlflow-skinny``). ``self.run_id`` is the run's id.

    Args:
        tracking_uri: where runs are stored (``file:/abs/path``, ``sqlite:///mlflow.db``, ``http://…``).
        experiment: the experiment's name (created when missing).
        run_name: the run's name.
        params: the run's configuration (nested mappings are flattened to ``a.b``).
    """

    def __init__(self, tracking_uri: str, *, experiment: str = "initreg", run_name: str | None = None,
                 params: Mapping[str, Any] | None = None):
        if not isinstance(tracking_uri, str) or not tracking_uri:
            raise ConfigError(f"mlflow: tracking_uri must be a URI such as 'file:./mlruns'; got {tracking_uri!r}")
        require("mlflow", extra="mlflow", feature="the MLflow logger")
        from mlflow.tracking import MlflowClient

        self.tracking_uri, self.experiment, self.run_name = tracking_uri, experiment, run_name
        self.params = dict(params or {})
        with _file_store_allowed(tracking_uri):
            self.client = MlflowClient(tracking_uri=tracking_uri)
        self.run_id: str | None = None

    def on_fit_start(self, state: TrainState) -> None:
        with _file_store_allowed(self.tracking_uri):
            exp = self.client.get_experiment_by_name(self.experiment)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(self.experiment)
            self.run_id = self.client.create_run(exp_id, run_name=self.run_name).info.run_id
            for k, v in _flat(self.params).items():
                self.client.log_param(self.run_id, k, v)

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        if self.run_id is None:
            self.on_fit_start(state)
        step = int(record.get("step", state.step))
        with _file_store_allowed(self.tracking_uri):
            for k, v in record.items():
                if k == "step" or isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                    continue
                self.client.log_metric(self.run_id, k, float(v), step=step)

    def _end(self, status: str) -> None:
        if self.run_id is not None:
            with _file_store_allowed(self.tracking_uri):
                self.client.set_terminated(self.run_id, status)

    def on_fit_end(self, state: TrainState) -> None:
        self._end("FINISHED")

    def on_fit_abort(self, state: TrainState, error: BaseException) -> None:
        self._end("FAILED")
