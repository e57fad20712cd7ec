"""`ProbeCallback` inside `fit`: recording schedule, identical training, update ratios, divergence."""

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.probe import ProbeCallback
from initreg.train import fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 256})


def net(d, depth=3, seed=0):
    return build_model({"name": "mlp", "depth": depth, "width": 32, "dropout": 0.1}, d.input_shape, d.num_outputs, seed=seed)


def hooks(model):
    n = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return n + sum(len(p._backward_hooks or {}) for p in model.parameters())


@pytest.mark.parametrize("every", [1, 3])
def test_training_is_bitwise_identical_and_hooks_are_removed(digits, every):
    cfg = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "steps": 9, "batch_size": 64, "progress": "none"}
    a, b = net(digits), net(digits)
    ha = fit(a, digits, cfg)
    cb = ProbeCallback(every=every)
    hb = fit(b, digits, cfg, callbacks=[cb])
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert ha.column("train_loss") == hb.column("train_loss")
    assert hooks(b) == 0
    assert [r.step for r in cb.reports] == list(range(1, 10, every))


def test_update_ratio_of_plain_sgd_is_lr_times_grad_to_weight(digits):
    lr = 0.05
    cb = ProbeCallback(every=1)
    fit(net(digits), digits, {"optimizer": "sgd", "lr": lr, "steps": 3, "batch_size": 64, "progress": "none"},
        callbacks=[cb])
    for rep in cb.reports:
        for row in rep.layers:  # ΔW = −lr·∇W exactly
            assert row.update_ratio == pytest.approx(lr * row.grad_to_weight, rel=1e-4)


def test_divergence_is_recorded_and_flagged_first(digits):
    cb = ProbeCallback(every=1)
    h = fit(net(digits, depth=4), digits, {"optimizer": "sgd", "lr": 50.0, "steps": 50, "batch_size": 64,
                                           "progress": "none"}, callbacks=[cb])
    assert h.diverged
    rows = cb.rows()
    assert rows[-1]["diverged"] and rows[-1]["step"] == h.diverged_step  # the forward-only last report
    flagged = [r["step"] for r in rows if r["label"] != "healthy"]
    assert flagged and flagged[0] <= h.diverged_step
    assert hooks(cb.probe.model) == 0


def test_stop_on_stops_training(digits):
    seen = []
    cb = ProbeCallback(every=1, stop_on=["exploding"], on_report=seen.append)
    h = fit(net(digits, depth=4), digits, {"optimizer": "sgd", "lr": 50.0, "steps": 50, "batch_size": 64,
                                           "progress": "none"}, callbacks=[cb])
    assert h.stop_reason.startswith("probe: exploding") and not h.diverged
    assert seen and seen[-1].label == "exploding"


def test_errors():
    with pytest.raises(ConfigError, match="every must be an integer >= 1"):
        ProbeCallback(every=0)
    with pytest.raises(ConfigError, match="stop_on must be verdict labels"):
        ProbeCallback(stop_on=["broken"])
