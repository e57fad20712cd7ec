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


def test_tensors_and_dataset_train_exactly_like_splits():
    xtr, ytr, xv, yv, xt, yt = _data()
    ref = _net()
    h_ref = fit(ref, Splits("s", xtr, ytr, xv, yv, xt, yt, 2), CFG)
    for data, val, test in [((xtr, ytr), (xv, yv), (xt, yt)),
                            (TensorDataset(xtr, ytr), TensorDataset(xv, yv), (xt, yt)),
                            (DictSet(xtr, ytr), DataLoader(DictSet(xv, yv)), DictSet(xt, yt)),
                            (as_splits(DataLoader(DictSet(xtr, ytr), batch_size=7), val=DataLoader(DictSet(xv, yv)),
                                       test=DictSet(xt, yt)), None, None)]:
        m = _net()
        h = fit(m, data, CFG, val=val, test=test)
        assert h.column("val_loss") == h_ref.column("val_loss") and h.test == h_ref.test
        assert all(torch.equal(a, b) for a, b in zip(_weights(m), _weights(ref)))


def test_a_dataloader_is_streamed_like_a_plain_loop_over_it():
    """fit iterates the loader each epoch with its own batches and order: the same weights as a
    hand-written loop over the same loader (SGD: fit's foreach SGD is bit-identical to a loop)."""
    xtr, ytr, xv, yv, xt, yt = _data()
    cfg = {**CFG, "optimizer": "sgd", "batch_size": 64}  # batch_size is the loader's, not this one

    def loader():
        return DataLoader(DictSet(xtr, ytr), batch_size=7, shuffle=True, generator=torch.Generator().manual_seed(3))

    m = _net()
    h = fit(m, loader(), cfg, val=DataLoader(DictSet(xv, yv), batch_size=5), test=(xt, yt))
    ref = _net()
    opt = torch.optim.SGD(ref.parameters(), lr=CFG["lr"])
    dl = loader()
    for _ in range(CFG["epochs"]):
        for b in dl:
            loss = nn.functional.cross_entropy(ref(b["input"]), b["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert all(torch.equal(a, b) for a, b in zip(_weights(m), _weights(ref)))
    assert h.steps == CFG["epochs"] * 12 and h.epochs == CFG["epochs"]  # ceil(80 / 7) batches per epoch
    with torch.no_grad():
        want = nn.functional.cross_entropy(ref(xt), yt).item()
    assert h.test["loss"] == pytest.approx(want, rel=1e-6) and set(h.test) == {"loss", "acc", "ece"}
    assert h.records[-1]["val_loss"] == pytest.approx(nn.functional.cross_entropy(ref(xv), yv).item(), rel=1e-6)


class NoisyCount(Dataset):
    """Random transforms drawn from torch's global RNG at every access, counted."""

    def __init__(self, x, y):
        self.x, self.y, self.calls = x, y, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.calls += 1
        return self.x[i] + 0.1 * torch.randn(self.x.shape[1:]), self.y[i]


def test_streamed_runs_are_reproducible_and_draw_fresh_transforms_each_epoch():
    xtr, ytr, xv, yv, *_ = _data()
    runs = []
    for seed in (0, 0, 1):
        ds = NoisyCount(xtr, ytr)
        m = _net()
        h = fit(m, DataLoader(ds, batch_size=16, shuffle=True), {**CFG, "seed": seed}, val=(xv, yv))
        runs.append((_weights(m), h.column("val_loss")))
        assert ds.calls == CFG["epochs"] * len(xtr) + 1  # every epoch reads every example again (+1: the task probe)
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[1][0])) and runs[0][1] == runs[1][1]
    assert not all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[2][0]))  # fit's seed drives the loader's order


def test_streamed_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    from initreg.train.checkpoint import load_checkpoint

    xtr, ytr, xv, yv, *_ = _data()
    cfg = {**CFG, "epochs": 4, "checkpoint_every": 2}

    def loader():
        return DataLoader(TensorDataset(xtr, ytr), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(5))

    full = _net()
    h_full = fit(full, loader(), cfg, val=(xv, yv), checkpoint=tmp_path / "ck.pt")
    ck = load_checkpoint(tmp_path / "ck.pt")
    assert ck["epoch"] == 2 and ck["loader"] is not None
    resumed = _net()
    h = fit(resumed, loader(), cfg, val=(xv, yv), resume=ck)
    assert all(torch.equal(a, b) for a, b in zip(_weights(full), _weights(resumed)))
    assert h.column("val_loss") == h_full.column("val_loss")


def test_a_callback_that_needs_the_data_in_memory_says_so():
    from initreg.train import Callback

    class NeedsTrain(Callback):
        def on_fit_start(self, state):
            self.n = len(state.data.x_train)

    xtr, ytr, *_ = _data()
    with pytest.raises(DataError, match=r"needs the training data in memory \(data.x_train\).*as_splits"):
        fit(_net(), DataLoader(TensorDataset(xtr, ytr), batch_size=8), CFG, callbacks=[NeedsTrain()])
    with pytest.raises(DataError, match="the DataLoader yields no batches"):
        fit(_net(), DataLoader(TensorDataset(xtr[:0], ytr[:0]), batch_size=8), CFG)


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
