"""initreg's Lightning callbacks in a real ``lightning.pytorch.Trainer.fit`` (CPU, tiny models)."""

from __future__ import annotations

import copy
import logging

import lightning.pytorch as pl  # the dev extra installs it: these tests never skip
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from initreg.init import initialize
from initreg.integrations.lightning import (
    InitAtSetup,
    LightningActivityPenalty,
    LightningEarlyStopping,
    LightningProbe,
    LightningWeightPenalty,
)
from initreg.regularize.early_stopping import prechelt_stop
from initreg.regularize.penalties import ActivityPenalty, WeightPenalty

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


def _data(n=128, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


class Net(pl.LightningModule):
    def __init__(self, depth=2, width=32, act=nn.ReLU, lr=0.1, extra_loss=None, val_losses=None):
        super().__init__()
        layers, d = [], 8
        for _ in range(depth):
            layers += [nn.Linear(d, width), act()]
            d = width
        self.net = nn.Sequential(*layers, nn.Linear(d, 2))
        self.lr, self.extra_loss, self.val_losses = lr, extra_loss, val_losses
        self.snapshots = {}

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, i):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        if self.extra_loss is not None:
            loss = loss + self.extra_loss(self)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, i):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        if self.val_losses is not None:  # a scripted validation curve (early-stopping tests)
            loss = torch.tensor(self.val_losses[self.current_epoch])
            self.snapshots[self.current_epoch + 1] = copy.deepcopy(self.state_dict())
        self.log("val_loss", loss)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _trainer(callbacks=(), epochs=2, **kw):
    return pl.Trainer(max_epochs=epochs, callbacks=list(callbacks), accelerator="cpu", logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, deterministic=True, **kw)


def _fit(model, callbacks=(), epochs=2, val=False, **kw):
    tr = _trainer(callbacks, epochs, **kw)
    dl = DataLoader(_data(), batch_size=32, shuffle=False)
    tr.fit(model, dl, DataLoader(_data(64, seed=1), batch_size=64) if val else None)
    return tr


def _same_start(**kw):
    torch.manual_seed(0)
    a = Net(**kw)
    b = copy.deepcopy(a)
    return a, b


def test_lightning_weight_penalty_equals_penalty_in_the_loss():
    pen = WeightPenalty(l1=1e-3, l2=1e-2)
    a, b = _same_start()
    b.extra_loss = lambda m: pen.penalty(m)
    _fit(a, [LightningWeightPenalty(l1=1e-3, l2=1e-2)], accumulate_grad_batches=2)
    _fit(b, accumulate_grad_batches=2)
    c, _ = _same_start()
    _fit(c)  # without any penalty the weights differ: the callback changed training
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=n)
    assert any(not torch.allclose(p, r, atol=1e-4) for p, r in zip(a.parameters(), c.parameters()))


def test_lightning_activity_penalty_equals_penalty_in_the_loss():
    cb_pen = LightningActivityPenalty(l2=0.1)
    a, b = _same_start()
    ref = ActivityPenalty(l2=0.1).attach(b)
    b.extra_loss = lambda m: ref.penalty()
    _fit(a, [cb_pen], accumulate_grad_batches=2)
    _fit(b, accumulate_grad_batches=2)
    ref.detach()
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=n)
    assert not cb_pen.penalty._handles  # hooks removed at the end of fit


def test_lightning_prechelt_early_stopping_stops_where_the_criterion_says_and_restores_best():
    curve = [1.0, 0.8, 0.7, 0.72, 0.76, 0.9, 0.95, 1.0, 1.1, 1.2]
    expect = prechelt_stop("GL", curve, alpha=5)  # GL_5 first exceeds 5 % at evaluation 5 (0.76 / 0.7)
    assert expect == 5
    torch.manual_seed(0)
    m = Net(val_losses=curve)
    es = LightningEarlyStopping("val_loss", criterion="GL", alpha=5, restore_best=True)
    tr = _fit(m, [es], epochs=len(curve), val=True)
    assert tr.current_epoch == expect  # stopped after the 5th epoch's validation
    assert es.report["stopped"] and es.report["best_epoch"] == 3 and "GL_5" in es.report["reason"]
    for k, v in m.state_dict().items():  # the best evaluation's weights are back
        torch.testing.assert_close(v, m.snapshots[3][k], msg=k)


def test_lightning_probe_verdicts_and_stop_on():
    torch.manual_seed(0)
    healthy = Net(depth=3, act=nn.Tanh)
    initialize(healthy, "xavier_normal", generator=torch.Generator().manual_seed(0))
    probe = LightningProbe(every_n_epochs=1)
    _fit(healthy, [probe], epochs=2)
    assert [r.meta["epoch"] for r in probe.reports] == [0, 0, 1]  # before training, after epochs 1 and 2
    assert probe.reports[0].label == "healthy", probe.reports[0].summary()

    torch.manual_seed(0)
    tiny = Net(depth=8, act=nn.Tanh)
    initialize(tiny, {"name": "normal", "std": 0.01}, generator=torch.Generator().manual_seed(0))
    probe = LightningProbe(stop_on=["vanishing"])
    tr = _fit(tiny, [probe], epochs=3)
    assert probe.reports[0].label == "vanishing", probe.reports[0].summary()
    assert probe.stop_reason and "vanishing" in probe.stop_reason
    assert tr.current_epoch == 0 and tr.global_step == 0  # stopped before any step


def test_lightning_init_at_setup_matches_initialize():
    torch.manual_seed(0)
    m = Net(depth=3)
    ref = copy.deepcopy(m)
    initialize(ref, "kaiming_normal", generator=torch.Generator().manual_seed(7))
    cb = InitAtSetup("kaiming_normal", seed=7)
    tr = _trainer([cb], epochs=1, limit_train_batches=0)
    tr.fit(m, DataLoader(_data(), batch_size=32))
    assert cb.report is not None
    for (n, p), q in zip(m.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), n


def test_lightning_callbacks_reject_bad_arguments():
    with pytest.raises(ValueError, match="every_n_epochs must be >= 0; got every_n_epochs=-1"):
        LightningProbe(every_n_epochs=-1)
    with pytest.raises(ValueError, match="mode must be"):
        LightningEarlyStopping(mode="best")
