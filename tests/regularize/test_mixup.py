"""Mixup, CutMix, label smoothing, soft-target cross-entropy: formulas, identities, agreement
with torch, seeding, edge cases and errors."""

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers, regularizers
from initreg.regularize.mixup import (
    CutMix,
    LabelSmoothing,
    Mixup,
    cutmix,
    mixup,
    sample_beta,
    smooth_labels,
    soft_cross_entropy,
)
from initreg.train import TrainConfig, fit
from initreg.train.fit import loss_function


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_beta_samples_follow_the_distribution():
    # KS test against Beta(0.4, 0.4) with 4000 draws: a wrong sampler is rejected at p << 1e-3.
    x = sample_beta(0.4, 4000, generator=g()).numpy()
    assert stats.kstest(x, stats.beta(0.4, 0.4).cdf).pvalue > 1e-3
    assert stats.kstest(x, stats.beta(1.0, 1.0).cdf).pvalue < 1e-6


def test_mixup_mixes_inputs_and_labels_with_the_same_lambda_and_pairing():
    # Inputs that *are* their one-hot labels: any mismatch in λ or pairing breaks x̃ == ỹ.
    n = 7  # odd batch
    y = torch.arange(n)
    for shape in [(n,), (1, n), (n, 1, 1)]:
        x = F.one_hot(y, n).float().reshape(n, *shape)
        xm, ym, lam = mixup(x, y, alpha=0.5, num_classes=n, generator=g(3))
        assert torch.allclose(xm.reshape(n, n), ym, atol=1e-6)
        assert lam.shape == (1,) and 0 <= float(lam) <= 1
        assert torch.allclose(ym.sum(1), torch.ones(n))


def test_mixup_per_example_and_soft_labels():
    n, k = 6, 3
    y = torch.softmax(torch.randn(n, k, generator=g(1)), 1)
    x = y.clone()
    xm, ym, lam = mixup(x, y, alpha=1.0, num_classes=k, per_example=True, generator=g(2))
    assert lam.shape == (n,) and torch.allclose(xm, ym, atol=1e-6)


def test_mixup_batch_of_one_is_unchanged_and_seeded_runs_repeat():
    x, y = torch.randn(1, 5), torch.tensor([2])
    xm, ym, _ = mixup(x, y, alpha=0.2, num_classes=3, generator=g())
    assert torch.allclose(xm, x) and torch.equal(ym, F.one_hot(y, 3).float())
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    a = mixup(x, y, alpha=0.2, num_classes=3, generator=g(5))
    b = mixup(x, y, alpha=0.2, num_classes=3, generator=g(5))
    c = mixup(x, y, alpha=0.2, num_classes=3, generator=g(6))
    assert all(torch.equal(u, v) for u, v in zip(a, b)) and not torch.equal(a[0], c[0])


def test_cutmix_label_weight_is_the_pixel_share():
    n, h, w = 5, 9, 11
    y = torch.arange(n)
    x = y.float().view(n, 1, 1, 1).expand(n, 2, h, w).clone()  # image i is constant i
    for seed in range(10):
        xm, ym, lam = cutmix(x, y, alpha=1.0, num_classes=n, generator=g(seed))
        for i in range(n):
            own = float((xm[i] == i).float().mean())
            if ym[i, i] < 1:  # paired with another image: label share = pixel share = λ'
                assert float(ym[i, i]) == pytest.approx(own, abs=1e-6) == pytest.approx(float(lam), abs=1e-6)
        assert torch.allclose(ym.sum(1), torch.ones(n))


def test_cutmix_one_dimensional_segments():
    x = torch.arange(3).float().view(3, 1, 1).expand(3, 1, 40).clone()
    xm, ym, lam = cutmix(x, torch.arange(3), alpha=1.0, num_classes=3, generator=g(4))
    assert xm.shape == x.shape and torch.allclose(ym.sum(1), torch.ones(3))


def test_soft_cross_entropy_agrees_with_torch():
    z = torch.randn(6, 4, generator=g())
    q = torch.softmax(torch.randn(6, 4, generator=g(1)), 1)
    assert torch.allclose(soft_cross_entropy(z, q), F.cross_entropy(z, q), atol=1e-6)
    assert torch.allclose(soft_cross_entropy(z, q, "none").sum(), soft_cross_entropy(z, q, "sum"))


def test_label_smoothing_matches_torch():
    z, y = torch.randn(6, 5, generator=g()), torch.tensor([0, 1, 2, 3, 4, 0])
    q = smooth_labels(y, 5, 0.1)
    assert torch.allclose(q.sum(1), torch.ones(6)) and q.max() == pytest.approx(0.92)
    assert torch.allclose(soft_cross_entropy(z, q), F.cross_entropy(z, y, label_smoothing=0.1), atol=1e-6)
    assert torch.equal(smooth_labels(y, 5, 0.0), F.one_hot(y, 5).float())


def test_trainer_loss_smooths_soft_targets_too():
    z = torch.randn(6, 4, generator=g())
    q = torch.softmax(torch.randn(6, 4, generator=g(1)), 1)
    ce = loss_function(TrainConfig(label_smoothing=0.2), "classification")
    assert torch.allclose(ce(z, q), soft_cross_entropy(z, smooth_labels(q, 4, 0.2)), atol=1e-6)


def test_callbacks_train_and_are_registered():
    d = load_data({"name": "digits", "train_size": 200, "flatten": True})
    for cfg in ({"name": "mixup", "alpha": 0.4}, {"name": "cutmix", "p": 0.5}, {"name": "label_smoothing", "eps": 0.1}):
        cb = build_regularizers([cfg])[0]
        assert regularizers.build(cb.get_config()).get_config() == cb.get_config()
        m = build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, d.num_outputs, seed=0)
        h = fit(m, d, {"epochs": 5, "lr": 0.01, "progress": "none"}, callbacks=[cb])
        assert h.test["acc"] > 0.5, cfg  # it learns (chance is 0.1)


def test_callback_batch_shapes():
    d = load_data({"name": "digits", "train_size": 100})  # flattened 8x8 images
    from initreg.train.callbacks import TrainState

    st = TrainState(model=None, optimizer=None, scheduler=None, config=None, data=d, history=None, generator=g())
    x, y = d.x_train[:10], d.y_train[:10]
    for cb in (Mixup(), CutMix(), LabelSmoothing()):
        xm, ym = cb.on_batch(st, x, y)
        assert xm.shape == x.shape and ym.shape == (10, 10)


def test_errors_name_the_value():
    with pytest.raises(ConfigError, match="alpha must be > 0; got alpha=0"):
        Mixup(alpha=0)
    with pytest.raises(ConfigError, match=r"eps must be in \[0, 1\); got eps=1.0"):
        smooth_labels(torch.tensor([0]), 2, 1.0)
    with pytest.raises(ConfigError, match=r"cutmix needs inputs shaped .*got shape \(4, 6\)"):
        cutmix(torch.zeros(4, 6), torch.zeros(4, dtype=torch.long), num_classes=2)
    with pytest.raises(ConfigError, match="soft labels have 3 columns but num_classes=2"):
        mixup(torch.zeros(2, 1), torch.ones(2, 3) / 3, num_classes=2)
    with pytest.raises(ConfigError, match=r"p must be in \[0, 1\]; got p=2"):
        CutMix(p=2)
