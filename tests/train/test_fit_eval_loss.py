"""Evaluation reports the plain loss, whatever the training targets were."""

import torch
import torch.nn.functional as F

from initreg.data import load_data
from initreg.models import build_model
from initreg.train import fit


def test_label_smoothing_trains_on_smoothed_targets_but_reports_plain_cross_entropy():
    data = load_data({"name": "digits", "train_size": 200})
    model = build_model({"name": "mlp", "depth": 1, "width": 16}, data.input_shape, data.num_outputs, seed=0)
    h = fit(model, data, {"epochs": 2, "label_smoothing": 0.3, "progress": "none"})
    model.eval()
    with torch.no_grad():
        plain = F.cross_entropy(model(data.x_test), data.y_test).item()
        smoothed = F.cross_entropy(model(data.x_test), data.y_test, label_smoothing=0.3).item()
    assert abs(h.test["loss"] - plain) < 1e-5
    assert abs(plain - smoothed) > 1e-2  # the two differ, so the check above can fail


def test_a_data_set_without_validation_split_loads_and_trains():
    data = load_data({"name": "digits", "val_fraction": 0.0, "train_size": 100})
    assert data.x_val.shape == (0, 64)
    model = build_model({"name": "linear"}, data.input_shape, data.num_outputs, seed=0)
    h = fit(model, data, {"epochs": 1, "progress": "none"})
    assert "val_loss" not in h.last and h.test["acc"] > 0
