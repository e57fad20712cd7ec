"""TensorBoard and MLflow loggers: what `fit` logged is read back with each tool's own reader."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initreg.data import Splits
from initreg.errors import ConfigError
from initreg.loggers import build_loggers
from initreg.loggers.mlflow_logger import MLflowLogger
from initreg.loggers.tensorboard_logger import TensorBoardLogger
from initreg.train import Callback, fit


def _toy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    return net, Splits("toy", x[:64], y[:64], x[64:], y[64:], x[64:], y[64:], 2)


CFG = {"epochs": 4, "batch_size": 16, "lr": 0.05, "progress": "none"}


def test_tensorboard_event_files_hold_every_evaluation(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    net, data = _toy()
    (tb,) = build_loggers([{"name": "tensorboard"}], run_dir=tmp_path)
    assert isinstance(tb, TensorBoardLogger) and tb.log_dir == tmp_path / "tensorboard"
    h = fit(net, data, CFG, callbacks=[tb])
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert {"train_loss", "val_loss", "val_acc"} <= set(acc.Tags()["scalars"])
    for key in ("train_loss", "val_loss", "val_acc"):
        ev = acc.Scalars(key)
        assert [e.step for e in ev] == h.column("step")
        assert [e.value for e in ev] == pytest.approx(h.column(key), rel=1e-6)


class _Boom(Callback):
    def on_evaluate(self, state, record):
        if record["epoch"] == 2:
            raise RuntimeError("killed")


def test_mlflow_run_holds_params_and_metrics_and_its_status(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()  # file:///...
    net, data = _toy()
    (ml,) = build_loggers([{"name": "mlflow", "tracking_uri": uri, "experiment": "toy", "run_name": "r1"}],
                          params={"train": CFG, "seed": 0})
    h = fit(net, data, CFG, callbacks=[ml])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # reading a file: store back (MLflow 3)
        c = MlflowClient(tracking_uri=uri)
        run = c.get_run(ml.run_id)
        assert run.info.status == "FINISHED" and run.info.run_name == "r1"
        assert run.data.params["train.lr"] == "0.05" and run.data.params["seed"] == "0"
        hist = c.get_metric_history(ml.run_id, "val_loss")
        assert [m.step for m in hist] == h.column("step")
        assert [m.value for m in hist] == pytest.approx(h.column("val_loss"), rel=1e-6)

        net, data = _toy()
        failed = MLflowLogger(uri, experiment="toy")
        with pytest.raises(RuntimeError, match="killed"):
            fit(net, data, CFG, callbacks=[failed, _Boom()])
        run = c.get_run(failed.run_id)
        assert run.info.status == "FAILED"
        assert [m.step for m in c.get_metric_history(failed.run_id, "val_loss")] == [4, 8]  # logged before the crash
    import os

    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # the logger restored the environment


def test_logger_config_errors():
    with pytest.raises(ConfigError, match="unknown logger 'wandb'|'wandb'.*known"):
        build_loggers(["wandb"])
    with pytest.raises(ConfigError, match="tracking_uri must be a URI"):
        MLflowLogger("")
    with pytest.raises(ConfigError, match="needs log_dir when the run has no folder"):
        build_loggers(["tensorboard"])


def test_run_config_enables_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from initreg.runs import load_config, run

    cfg = {"name": "tb-run", "data": {"name": "synthetic", "train_size": 200, "options": {"n_samples": 400}},
           "model": {"name": "mlp", "depth": 1, "width": 16}, "train": {"epochs": 3, "progress": "none"},
           "log": ["tensorboard"]}
    r = run(cfg, out=tmp_path)
    acc = EventAccumulator(str(tmp_path / "logs" / "tb-run" / "tensorboard"))
    acc.Reload()
    assert [e.value for e in acc.Scalars("val_loss")] == pytest.approx(r.history.column("val_loss"), rel=1e-6)
    with pytest.raises(ConfigError, match="wandb"):
        load_config({**cfg, "log": [{"name": "wandb"}]})
