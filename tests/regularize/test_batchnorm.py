"""BatchNorm utilities and the builder's norm layers: stats recomputed, drift, batch-1 error, axes."""

import pytest
import torch
from torch import nn

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize.batchnorm import (
    BatchSizeOneError,
    bn_drift,
    bn_statistics,
    guard_batchnorm_,
    recompute_bn_stats_,
)
from initreg.train import fit


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))


def test_recompute_one_batch_gives_exact_mean_and_unbiased_var():
    m, x = _net(), torch.randn(100, 4, dtype=torch.float32) * 3 + 1
    m.eval()
    w = m[0].weight.clone()
    recompute_bn_stats_(m, x)
    h = m[0](x).detach()
    assert torch.allclose(m[1].running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(m[1].running_var, h.var(0, unbiased=True), rtol=1e-5)
    assert not m.training and m[1].momentum == 0.1  # mode and momentum restored
    assert torch.equal(m[0].weight, w)


def test_recompute_equal_batches_averages_batch_means():
    m, x = _net(), torch.randn(120, 4)
    recompute_bn_stats_(m, x, batch_size=30)
    h = m[0](x).detach()
    assert torch.allclose(m[1].running_mean, h.mean(0), atol=1e-5)  # mean of equal-size batch means
    assert m.training
    # an iterable of (input, label) batches works too
    m2 = _net()
    recompute_bn_stats_(m2, [(x[:60], None), (x[60:], None)])
    assert torch.allclose(m2[1].running_mean, h.mean(0), atol=1e-5)


def test_drift_is_large_with_stale_stats_and_vanishes_after_recompute():
    m = _net()
    x = torch.randn(256, 4) * 2 + 3  # running stats are still (0, 1): eval differs from train
    before = {k: v.clone() for k, v in m.state_dict().items()}
    d = bn_drift(m, x)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k  # drift measurement does not touch the model
    assert d["relative"] > 0.3 and d["layers"][0]["layer"] == "1"
    recompute_bn_stats_(m, x)
    d2 = bn_drift(m, x)
    # left: only the unbiased-vs-biased variance factor n/(n-1) in the running variance
    assert d2["relative"] < 0.01 and d2["layers"][0]["mean_gap"] < 1e-5
    assert d2["layers"][0]["var_ratio"] == pytest.approx(256 / 255, rel=1e-4)


def test_bn_statistics_reports_train_and_eval_stats():
    m, x = _net(), torch.randn(50, 4)
    (row,) = bn_statistics(m, x)
    h = m[0](x).detach()
    assert torch.allclose(row["batch_mean"], h.mean(0), atol=1e-6)
    assert torch.allclose(row["batch_var"], h.var(0, unbiased=False), atol=1e-5)
    assert torch.equal(row["running_mean"], torch.zeros(5)) and m.training


def test_batch_of_one_error_is_clear():
    m = guard_batchnorm_(_net())
    with pytest.raises(BatchSizeOneError, match=r"BatchNorm layer '1' \(BatchNorm1d\(5\)\) got a training batch "
                                                r"with one value per channel \(input shape \(1, 5\)\).*batch size >= 2"):
        m(torch.randn(1, 4))
    m.eval()
    assert m(torch.randn(1, 4)).shape == (1, 2)  # eval mode uses running stats: fine
    conv = guard_batchnorm_(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2)))
    assert conv(torch.randn(1, 1, 4, 4)).shape == (1, 2, 4, 4)  # 16 values per channel: fine
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        _net()(torch.randn(1, 4))  # torch's own message, which the guard replaces


def test_fit_with_a_last_batch_of_one_raises_config_error():
    d = load_data({"name": "digits", "train_size": 65})
    m = build_model({"name": "mlp", "depth": 1, "width": 8, "norm": "batch", "init": "torch"}, d.input_shape, 10, seed=0)
    with pytest.raises(ConfigError, match="drop_last"):
        fit(m, d, {"epochs": 1, "batch_size": 64, "progress": "none"})
    fit(m, d, {"epochs": 1, "batch_size": 64, "drop_last": True, "progress": "none"})


@pytest.mark.parametrize("norm,kind,axes", [
    ("batch", nn.BatchNorm2d, (0, 2, 3)),
    ("layer", nn.GroupNorm, (1, 2, 3)),
    ("instance", nn.InstanceNorm2d, (2, 3)),
])
def test_cnn_norm_layers_normalize_over_their_axes(norm, kind, axes):
    m = build_model({"name": "cnn", "channels": [3], "hidden": 8, "norm": norm, "init": "torch"}, (1, 6, 6), 4, seed=0)
    assert isinstance(m[1], kind)
    m.train()
    x = torch.randn(5, 1, 6, 6) * 4 + 2
    y = m[1](m[0](x)).detach()  # affine params are 1, 0 at init
    assert torch.allclose(y.mean(axes), torch.zeros(()), atol=1e-5)
    assert torch.allclose(y.var(axes, unbiased=False), torch.ones(()), atol=1e-3)


def test_mlp_norms():
    for norm, kind in (("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)):
        m = build_model({"name": "mlp", "depth": 2, "width": 8, "norm": norm, "init": "torch"}, (4,), 3, seed=0)
        assert sum(isinstance(x, kind) for x in m) == 2
    assert not any(isinstance(x, (nn.BatchNorm1d, nn.LayerNorm)) for x in build_model({"name": "mlp", "norm": "none"}, (4,), 3))
    with pytest.raises(ConfigError, match="norm='instance' needs spatial axes"):
        build_model({"name": "mlp", "norm": "instance"}, (4,), 3)


def test_recompute_bn_callback_sets_exact_train_stats():
    from initreg.regularize import build_regularizers

    d = load_data({"name": "digits", "train_size": 128})
    m = build_model({"name": "mlp", "depth": 1, "width": 8, "norm": "batch", "dropout": 0.5, "init": "torch"},
                    d.input_shape, 10, seed=0)
    cb = build_regularizers([{"name": "recompute_bn"}])[0]
    fit(m, d, {"epochs": 1, "batch_size": 32, "progress": "none"}, callbacks=[cb])
    with torch.no_grad():
        h = m[1](m[0](d.x_train))
    assert torch.allclose(m[2].running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(m[2].running_var, h.var(0), rtol=1e-4)
    assert m[4].training == m[2].training == m.training  # dropout's mode restored with the rest
    assert cb.get_config() == {"name": "recompute_bn", "batch_size": None}
    with pytest.raises(ConfigError, match=r"batch_size must be >= 2"):
        build_regularizers([{"name": "recompute_bn", "batch_size": 1}])
