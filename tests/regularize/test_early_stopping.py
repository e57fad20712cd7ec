"""Early stopping: Prechelt's criteria at hand-computed epochs, the patience rule, restoring the
best weights, the recorded stop reason, errors and config round-trip."""

import math

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers, regularizers
from initreg.regularize.early_stopping import (
    EarlyStopping,
    generalization_loss,
    prechelt_fires,
    prechelt_stop,
    training_progress,
)
from initreg.train import Callback, fit, run


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 120})


class Scripted(Callback):
    """Overwrites val_loss (and train_loss) with a scripted curve and snapshots the weights."""

    def __init__(self, val, train=None):
        self.val, self.train, self.snaps = list(val), train, []

    def on_evaluate(self, state, record):
        i = len(self.snaps)
        record["val_loss"] = self.val[i]
        if self.train is not None:
            record["train_loss"] = self.train[i]
        self.snaps.append({k: v.clone() for k, v in state.model.state_dict().items()})


def _fit(data, scripted, es, epochs):
    m = build_model({"name": "mlp", "depth": 1, "width": 8, "init": "torch"}, data.input_shape, data.num_outputs, seed=0)
    h = fit(m, data, {"epochs": epochs, "batch_size": 60, "progress": "none"}, callbacks=[scripted, es])
    return m, h


# ---- Prechelt's functions, by hand ---------------------------------------------------------


def test_generalization_loss_formula():
    # GL = 100 (0.74 / 0.7 - 1)
    assert generalization_loss([1.0, 0.7, 0.74]) == pytest.approx(100 * (0.74 / 0.7 - 1))
    assert generalization_loss([1.0, 0.7, 0.6]) == 0.0


def test_training_progress_formula():
    # P_2 = 1000 ((0.3 + 0.29) / (2 * 0.29) - 1) = 17.24...
    assert training_progress([0.5, 0.4, 0.3, 0.29], k=2) == pytest.approx(1000 * (0.59 / 0.58 - 1))
    with pytest.raises(ValueError, match="at least k values"):
        training_progress([1.0], k=2)


def test_gl_fires_at_hand_computed_epoch():
    val = [1.0, 0.8, 0.7, 0.72, 0.74, 0.75]  # GL: ., ., 0, 2.86, 5.71, 7.14
    assert prechelt_stop("GL", val, alpha=5) == 5
    assert prechelt_stop("GL", val, alpha=6) == 6
    assert prechelt_stop("GL", val, alpha=8) is None


def test_pq_fires_only_at_strip_ends():
    val, train = [1.0, 0.9, 0.95, 1.0], [0.5, 0.4, 0.3, 0.29]
    # at t=4: GL = 11.11, P_2 = 17.24, GL/P = 0.644
    assert prechelt_stop("PQ", val, train, alpha=0.5, k=2) == 4
    assert prechelt_stop("PQ", val, train, alpha=0.7, k=2) is None
    # t=3 has GL = 5.6 and would fire GL_5, but 3 is not a strip end for PQ
    assert not prechelt_fires("PQ", val[:3], train[:3], alpha=0.0, k=2)[0]


def test_up_counts_successive_rising_strips():
    assert prechelt_stop("UP", [5, 4, 3, 4, 5, 6], k=1, s=2) == 5
    assert prechelt_stop("UP", [5, 4, 3, 4, 5, 6], k=1, s=3) == 6
    # k=2: strip ends 2, 4, 6 hold 2, 1.5, 1.8 -> first rise at 6
    assert prechelt_stop("UP", [3, 2, 2.5, 1.5, 1.6, 1.8], k=2, s=1) == 6


def test_unknown_criterion_names_the_choices():
    with pytest.raises(ConfigError, match="criterion must be 'GL', 'PQ' or 'UP'; got criterion='XX'"):
        prechelt_fires("XX", [1.0])


# ---- the callback --------------------------------------------------------------------------


def test_patience_stops_and_restores_best_weights(digits):
    val = [1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.5, 0.4]
    sc = Scripted(val)
    es = EarlyStopping(patience=3)
    m, h = _fit(digits, sc, es, epochs=8)
    assert h.epochs == 6  # best at 3, no improvement at 4, 5, 6 -> stop after 6
    assert h.stop_reason.startswith("early stopping: val_loss did not improve")
    assert "best val_loss=0.8 at epoch 3" in h.stop_reason and "stopped at epoch 6" in h.stop_reason
    assert es.report["best_epoch"] == 3 and es.report["stopped"] and es.report["restored"]
    for k, v in m.state_dict().items():
        assert torch.equal(v, sc.snaps[2][k])  # the weights after epoch 3


def test_min_delta_and_patience_zero(digits):
    sc = Scripted([1.0, 0.995, 0.99, 0.5])
    _, h = _fit(digits, sc, EarlyStopping(patience=0, min_delta=0.01), epochs=4)
    assert h.epochs == 2  # 0.995 is no improvement beyond 0.01: patience 0 stops at once


def test_no_restore_keeps_last_weights(digits):
    sc = Scripted([1.0, 0.5, 0.6, 0.7])
    es = EarlyStopping(patience=5, restore_best=False)
    m, h = _fit(digits, sc, es, epochs=4)
    assert h.stop_reason is None and not es.report["restored"]
    for k, v in m.state_dict().items():
        assert torch.equal(v, sc.snaps[-1][k])


def test_restore_when_budget_ends_before_patience(digits):
    sc = Scripted([1.0, 0.5, 0.6, 0.7])
    es = EarlyStopping(patience=10)
    m, h = _fit(digits, sc, es, epochs=4)
    assert h.epochs == 4 and es.report["restored"] and es.report["best_epoch"] == 2
    for k, v in m.state_dict().items():
        assert torch.equal(v, sc.snaps[1][k])


def test_gl_callback_stops_where_the_function_says(digits):
    val = [1.0, 0.8, 0.7, 0.72, 0.74, 0.75, 0.7, 0.7]
    es = EarlyStopping(criterion="GL", alpha=5)
    _, h = _fit(digits, Scripted(val), es, epochs=8)
    assert h.epochs == prechelt_stop("GL", val, alpha=5) == 5
    assert "GL_5" in h.stop_reason


def test_pq_callback_uses_train_loss(digits):
    val, train = [1.0, 0.9, 0.95, 1.0, 1.0, 1.0], [0.5, 0.4, 0.3, 0.29, 0.2, 0.1]
    es = EarlyStopping(criterion="PQ", alpha=0.5, strip=2)
    _, h = _fit(digits, Scripted(val, train), es, epochs=6)
    assert h.epochs == 4 and "PQ_0.5" in h.stop_reason


def test_accuracy_monitor_is_maximized(digits):
    es = EarlyStopping(monitor="val_acc", patience=2)
    assert es.mode == "max"
    m = build_model({"name": "mlp", "depth": 1, "width": 16}, digits.input_shape, digits.num_outputs, seed=0)
    h = fit(m, digits, {"epochs": 40, "lr": 0.05, "progress": "none"}, callbacks=[es])
    accs = h.column("val_acc")
    assert es.report["best_value"] == max(accs)
    assert es.report["best_epoch"] == 1 + accs.index(max(accs))


def test_errors_name_the_value(digits):
    with pytest.raises(ConfigError, match="patience must be >= 0; got patience=-1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ConfigError, match="needs an error to minimize; got monitor='val_acc'"):
        EarlyStopping(monitor="val_acc", criterion="GL")
    with pytest.raises(ConfigError, match="mode must be 'auto', 'min' or 'max'; got mode='up'"):
        EarlyStopping(mode="up")
    es = EarlyStopping(monitor="val_los")
    m = build_model({"name": "linear"}, digits.input_shape, digits.num_outputs, seed=0)
    with pytest.raises(ConfigError, match="monitor='val_los' is not in the evaluation record; available: .*val_loss"):
        fit(m, digits, {"epochs": 1, "progress": "none"}, callbacks=[es])


def test_registry_and_config_round_trip():
    es = build_regularizers([{"name": "early_stopping", "patience": 4, "criterion": "UP", "s": 2}])[0]
    assert isinstance(es, EarlyStopping) and es.patience == 4 and es.s == 2
    again = regularizers.build(es.get_config())
    assert again.get_config() == es.get_config()
    with pytest.raises(ConfigError, match="unknown key"):
        build_regularizers([{"name": "early_stopping", "patiense": 3}])


def test_run_config_records_stop(tmp_path):
    res = run({"data": {"name": "digits", "train_size": 150}, "model": {"name": "mlp", "depth": 1, "width": 16},
               "train": {"epochs": 200, "lr": 0.05, "progress": "none"},
               "regularize": [{"name": "early_stopping", "patience": 2}]}, out=tmp_path)
    assert res.history.epochs < 200 and res.history.stop_reason.startswith("early stopping")
    assert "early stopping" in (tmp_path / next(p.name for p in tmp_path.iterdir()) / "metrics.json").read_text()


def test_nan_is_never_best(digits):
    sc = Scripted([math.nan, 1.0, 0.9])
    es = EarlyStopping(patience=5)
    _fit(digits, sc, es, epochs=3)
    assert es.report["best_epoch"] == 3
