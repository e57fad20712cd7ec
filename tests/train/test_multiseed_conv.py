"""Stacked convolutions, normalization layers and pooling: K seeds at once equal K separate
`fit` runs (to float rounding), BatchNorm keeps running statistics per copy, and layers that
cannot be stacked still fall back with a reason."""

from __future__ import annotations

import copy

import pytest
import torch
from seed_runs import assert_same_histories, models_for
from torch import nn

from initreg.data import load_data
from initreg.models import build_model
from initreg.train import fit
from initreg.train.multiseed import StackedSequential, fit_seeds, vectorize_reason

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def images():
    return load_data({"name": "digits", "train_size": 200, "flatten": False})  # (N, 1, 8, 8)


@pytest.fixture(scope="module")
def flat():
    return load_data({"name": "digits", "train_size": 200})


def _check(d, mc, tc, k=3, seeds=(21, 22, 23), rel=1e-5):
    tc = {**tc, "progress": "none"}
    ref = models_for(d, mc, k)
    seq = [fit(m, d, {**tc, "seed": s}) for m, s in zip(ref, seeds)]
    models = models_for(d, mc, k)
    vec = fit_seeds(models, d, tc, seeds=list(seeds))
    assert vec.vectorized and vec.reason is None
    assert_same_histories(seq, vec, rel)
    for m, r in zip(models, ref):  # weights and running statistics are written back per copy
        for (name, a), b in zip(m.state_dict().items(), r.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    return models


@pytest.mark.parametrize("mc,tc", [
    # a 2-D conv net with max pooling and (inverted) dropout in the head; Adam, clipping per copy, a partial batch
    ({"name": "cnn", "channels": [4, 6], "hidden": 16, "dropout": 0.2, "init": "torch"},
     {"epochs": 2, "batch_size": 48, "grad_clip": 1.0}),
    # BatchNorm2d after each conv; SGD with momentum, evaluation every 3 steps with train metrics in eval mode
    ({"name": "cnn", "channels": [4, 6], "hidden": 16, "norm": "batch", "init": "torch"},
     {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "steps": 10, "eval_every": 3, "eval_train": True}),
    # GroupNorm(1, C) ("layer" in a cnn) and InstanceNorm2d with affine weights, no pooling
    ({"name": "cnn", "channels": [4], "hidden": 8, "norm": "layer", "pool": False, "init": "torch"}, {"epochs": 1}),
    # (SGD: the conv bias before InstanceNorm gets a rounding-noise gradient, which Adam would scale up to lr)
    ({"name": "cnn", "channels": [4], "hidden": 8, "norm": "instance", "init": "torch"},
     {"optimizer": "sgd", "lr": 0.05, "epochs": 1}),
], ids=["conv", "bn-conv", "groupnorm-conv", "instancenorm-conv"])
def test_conv_nets_stacked_equal_separate_runs(images, mc, tc):
    _check(images, mc, tc)


@pytest.mark.parametrize("mc,tc", [
    # BatchNorm1d MLP (running statistics per copy, used at every evaluation and for the test metrics). SGD:
    # a Linear bias right before BN has a true gradient of 0, so its gradient is rounding noise, which Adam
    # would scale up to steps of size lr (then the runs differ by more than rounding, stacked or not)
    ({"name": "mlp", "depth": 2, "width": 16, "norm": "batch", "dropout": 0.1, "init": "torch"},
     {"epochs": 2, "batch_size": 32, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9}),
    ({"name": "mlp", "depth": 2, "width": 16, "norm": "layer", "init": "torch"}, {"epochs": 2, "batch_size": 32}),
], ids=["bn-mlp", "layernorm-mlp"])
def test_normalized_mlps_stacked_equal_separate_runs(flat, mc, tc):
    _check(flat, mc, tc)


def test_conv1d_with_batchnorm_and_cumulative_running_averages():
    # Conv1d + BatchNorm1d with momentum=None (cumulative average: uses num_batches_tracked) + average pooling
    d = load_data({"name": "digits", "train_size": 120})

    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv1d(1, 3, 5, padding=2, bias=False), nn.BatchNorm1d(3, momentum=None), nn.Tanh(),
                             nn.AvgPool1d(4), nn.Flatten(), nn.Linear(48, 10))

    x = d.x_train.reshape(len(d.x_train), 1, 64)
    ms = [net(s) for s in range(3)]
    assert vectorize_reason(ms[0]) is None
    seps = copy.deepcopy(ms)
    st = StackedSequential(ms).train()
    for step in range(3):  # train-mode forwards update each copy's running statistics like a separate layer
        xb = x[step * 20:(step + 1) * 20]
        out = st(torch.stack([xb + k for k in range(3)]))
        for k, m in enumerate(seps):
            torch.testing.assert_close(out[k], m(xb + k), rtol=1e-5, atol=1e-6)
    st.eval()
    for m in seps:
        m.eval()
    out = st(x[:30].expand(3, *x[:30].shape))
    for k, m in enumerate(seps):
        torch.testing.assert_close(out[k], m(x[:30]), rtol=1e-5, atol=1e-6)
    st.write_back(ms)
    for a, b in zip(ms, seps):
        assert int(a[1].num_batches_tracked) == 3
        torch.testing.assert_close(a[1].running_var, b[1].running_var)


def test_each_copy_keeps_its_own_batch_statistics():
    # the same input for every copy but different weights: each BN normalizes its own copy's channels
    ms = [nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)) for _ in range(2)]
    with torch.no_grad():
        ms[1][0].weight.mul_(10)
        ms[1][0].bias.add_(5)
    st = StackedSequential(ms).train()
    x = torch.randn(8, 4)
    out = st(x.expand(2, 8, 4))
    for k in range(2):
        torch.testing.assert_close(out[k].mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    assert not torch.allclose(st.running_1_running_mean[0], st.running_1_running_mean[1])
    expect = torch.stack([0.1 * m[0](x).mean(0) for m in ms]).detach()
    torch.testing.assert_close(st.running_1_running_mean, expect)


def test_layers_that_cannot_be_stacked_still_fall_back_with_a_reason(images):
    assert vectorize_reason(nn.Sequential(nn.Conv2d(1, 2, 3, padding_mode="circular", padding=1))) == \
        "layer 0 (Conv2d) has padding_mode='circular' (only 'zeros' is stacked)"
    assert vectorize_reason(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, return_indices=True))) == \
        "layer 1 (MaxPool2d) returns indices"
    assert vectorize_reason(nn.Sequential(nn.ConvTranspose2d(1, 2, 3))).startswith("layer 0 (ConvTranspose2d) is not")
    assert vectorize_reason(nn.Sequential(nn.Flatten(0, -1))) == "layer 0 (Flatten) only Flatten(1, -1) is supported"
    bn = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    torch.nn.utils.parametrizations.weight_norm(bn[0])
    assert "(ParametrizedLinear) is parametrized" in vectorize_reason(bn)
    ms = models_for(images, {"name": "cnn", "channels": [2], "hidden": 4}, 2)
    for m in ms:
        m[0].padding_mode = "reflect"
    with pytest.warns(UserWarning, match="sequentially: layer 0 \\(Conv2d\\) has padding_mode='reflect'"):
        res = fit_seeds(ms, images, {"steps": 1, "progress": "none"}, seeds=[0, 1])
    assert not res.vectorized and "padding_mode" in res.reason


def test_the_batch_of_one_guard_still_applies_to_stacked_batchnorm(flat):
    from initreg.errors import ConfigError

    ms = models_for(flat, {"name": "mlp", "depth": 1, "width": 8, "norm": "batch"}, 2)
    assert vectorize_reason(ms[0]) is None  # the zoo's batch-of-one guard hook does not block stacking
    with pytest.raises(ConfigError, match="one value per channel"):
        StackedSequential(ms).train()(torch.randn(2, 1, 64))


def test_augmentation_stacks_per_copy_with_per_copy_data():
    """C16's set-up in small: a conv net per seed on that seed's data split, three arms (none,
    rotations, flips) as one stacked model; each copy augments with its own stream, as a separate run."""
    from initreg.regularize.augment import ImageAugment

    pytest.importorskip("kornia")
    mc = {"name": "cnn", "channels": [3], "hidden": 8, "init": "torch"}
    seeds = [0, 1]
    datas = {s: load_data({"name": "digits", "train_size": 120, "flatten": False, "seed": s}) for s in seeds}
    arms = [lambda: [], lambda: [ImageAugment(rotation=30, p=0.5)], lambda: [ImageAugment(hflip=0.5)]]
    copies = [(s, a) for a in range(len(arms)) for s in seeds]
    tc = {"epochs": 2, "batch_size": 32, "progress": "none"}
    ref = [build_model(mc, datas[s].input_shape, 10, seed=s) for s, _ in copies]
    seq = [fit(m, datas[s], {**tc, "seed": s}, callbacks=arms[a]()) for m, (s, a) in zip(ref, copies)]
    models = [build_model(mc, datas[s].input_shape, 10, seed=s) for s, _ in copies]
    vec = fit_seeds(models, [datas[s] for s, _ in copies], tc, seeds=[s for s, _ in copies],
                    callbacks=lambda k: arms[copies[k][1]]())
    assert vec.vectorized, vec.reason
    assert_same_histories(seq, vec)
    for m, r in zip(models, ref):
        for a, b in zip(m.parameters(), r.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_large_convolutions_run_one_copy_at_a_time_with_the_same_result(images, monkeypatch):
    # above StackedSequential.CHUNK_ELEMENTS output values per copy a conv segment runs copy by copy
    monkeypatch.setattr(StackedSequential, "CHUNK_ELEMENTS", 0)
    mc = {"name": "cnn", "channels": [4, 6], "hidden": 16, "norm": "batch", "dropout": 0.2, "init": "torch"}
    _check(images, mc, {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "steps": 8, "eval_every": 4})
    st = StackedSequential(models_for(images, mc, 2))
    assert st._chunk(images.x_train[:5].expand(2, 5, 1, 8, 8), 0) == 1
    monkeypatch.setattr(StackedSequential, "CHUNK_ELEMENTS", 10**9)
    assert st._chunk(images.x_train[:5].expand(2, 5, 1, 8, 8), 0) == 2
