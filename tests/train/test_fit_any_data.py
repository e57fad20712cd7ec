"""`fit` on the user's own data: tensors, a Dataset, a DataLoader — the same training as `Splits`."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from initreg.data import Splits
from initreg.data.convert import as_splits
from initreg.errors import ConfigError, DataError
from initreg.regularize.early_stopping import EarlyStopping
from initreg.train import fit

CFG = {"epochs": 3, "batch_size": 16, "lr": 0.05, "progress": "none", "seed": 0}


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 5, generator=g)
    y = (x[:, 0] - x[:, 1] > 0).long()
    return x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:]


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))


class DictSet(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input": self.x[i], "label": self.y[i]}


def _weights(m):
    return [p.detach().clone() for p in m.parameters()]


def test_tensors_dataset_and_loader_train_exactly_like_splits():
    xtr, ytr, xv, yv, xt, yt = _data()
    ref = _net()
    h_ref = fit(ref, Splits("s", xtr, ytr, xv, yv, xt, yt, 2), CFG)
    for data, val, test in [((xtr, ytr), (xv, yv), (xt, yt)),
                            (TensorDataset(xtr, ytr), TensorDataset(xv, yv), (xt, yt)),
                            (DataLoader(DictSet(xtr, ytr), batch_size=7), DataLoader(DictSet(xv, yv)), DictSet(xt, yt))]:
        m = _net()
        h = fit(m, data, CFG, val=val, test=test)
        assert h.column("val_loss") == h_ref.column("val_loss") and h.test == h_ref.test
        assert all(torch.equal(a, b) for a, b in zip(_weights(m), _weights(ref)))


def test_without_validation_data_there_are_no_val_metrics_and_a_monitor_says_so():
    xtr, ytr, *_ = _data()
    h = fit(_net(), (xtr, ytr), CFG)
    assert h.records and not any(k.startswith("val_") for k in h.records[-1])
    assert not h.test  # no test data: no test metrics
    with pytest.raises(ConfigError, match=r"monitor='val_loss' is not in the evaluation record; available: train_loss"):
        fit(_net(), (xtr, ytr), CFG, callbacks=[EarlyStopping()])


def test_regression_from_float_targets():
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    s = Splits.from_tensors(x, y, val=(x[:16], y[:16]))
    assert s.task == "regression" and s.num_outputs == 1
    h = fit(nn.Linear(3, 1), s, {"epochs": 30, "lr": 0.1, "progress": "none"})
    assert h.records[-1]["val_loss"] < 0.05 * h.records[0]["val_loss"]


def test_bad_data_is_named():
    xtr, ytr, *_ = _data()
    with pytest.raises(DataError, match="val: x has 80 rows but y has 79"):
        Splits.from_tensors(xtr, ytr, val=(xtr, ytr[:79]))
    with pytest.raises(DataError, match="data must be Splits, a \\(x, y\\) pair of tensors, a Dataset or a DataLoader; got list"):
        as_splits([1, 2, 3])
    with pytest.raises(DataError, match="num_classes=1 but a label is 1"):
        Splits.from_tensors(xtr, ytr, num_classes=1)
    with pytest.raises(DataError, match="Splits already hold"):
        as_splits(Splits.from_tensors(xtr, ytr), val=(xtr, ytr))
