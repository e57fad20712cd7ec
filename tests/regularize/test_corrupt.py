"""Corruptions: Gaussian noise has the asked std per example, occlusion zeroes exactly one
size×size square inside each image, the callback corrupts only training batches, and bad
arguments name themselves."""

import pytest
import torch
from scipy import stats

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize.corrupt import Corrupt, gaussian_noise, occlude
from initreg.train import fit


def test_gaussian_noise_is_normal_with_the_asked_std_per_example():
    x = torch.full((3, 40000), 2.0, dtype=torch.float64)
    y = gaussian_noise(x, torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    assert torch.equal(y[0], x[0])
    for row, s in ((1, 0.5), (2, 2.0)):
        d = (y[row] - 2.0) / s
        assert stats.kstest(d.numpy(), "norm").pvalue > 1e-3


def test_gaussian_noise_is_reproducible_from_the_generator():
    x = torch.randn(5, 7)
    a = gaussian_noise(x, 1.0, generator=torch.Generator().manual_seed(3))
    b = gaussian_noise(x, 1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)


@pytest.mark.parametrize("sigma", [-0.1, float("nan")])
def test_gaussian_noise_rejects_bad_sigma(sigma):
    with pytest.raises(ConfigError, match="sigma must be finite and >= 0"):
        gaussian_noise(torch.zeros(2, 2), sigma)


def test_gaussian_noise_per_example_sigma_needs_one_value_per_example():
    with pytest.raises(ConfigError, match="needs 4 values"):
        gaussian_noise(torch.zeros(4, 2), torch.ones(3))


def test_occlude_zeroes_one_square_per_image_at_uniform_positions():
    n, size = 4000, 3
    y = occlude(torch.ones(n, 2, 8, 8), size, generator=torch.Generator().manual_seed(0))
    zero = y == 0
    assert torch.equal(zero[:, 0], zero[:, 1])  # every channel
    per = zero[:, 0].sum((1, 2))
    assert bool((per == size * size).all())
    rows = zero[:, 0].any(2).float().argmax(1)  # top row of each square
    assert rows.min() == 0 and rows.max() == 8 - size
    counts = torch.bincount(rows, minlength=8 - size + 1).numpy()
    assert stats.chisquare(counts).pvalue > 1e-3  # uniform top-left corners
    for i in range(20):  # a contiguous square
        r, c = torch.nonzero(zero[i, 0], as_tuple=True)
        assert r.max() - r.min() == size - 1 and c.max() - c.min() == size - 1


def test_occlude_flattened_images_and_errors():
    x = torch.ones(3, 64)
    y = occlude(x, 2, image_shape=[1, 8, 8], value=-1.0, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and int((y == -1).sum()) == 12
    with pytest.raises(ConfigError, match="image_shape"):
        occlude(x, 2)
    with pytest.raises(ConfigError, match=r"size must be an int in \[0, 8\]"):
        occlude(x, 9, image_shape=[1, 8, 8])


def test_corrupt_callback_trains_on_noisy_batches_only():
    d = load_data({"name": "digits", "train_size": 64})
    seen = []

    class Spy(Corrupt):
        def on_batch(self, state, x, y):
            xn, yn = super().on_batch(state, x, y)
            seen.append((x.clone(), xn))
            return xn, yn

    m = build_model({"name": "mlp", "depth": 1, "width": 8}, d.input_shape, d.num_outputs, seed=0)
    fit(m, d, {"epochs": 1, "batch_size": 32, "progress": "none"}, callbacks=[Spy(1.0)])
    assert len(seen) == 2
    assert all(not torch.equal(a, b) and a.shape == b.shape for a, b in seen)
    assert torch.equal(Corrupt(0.0)(d.x_train), d.x_train)
    with pytest.raises(ConfigError, match="p must be a probability"):
        Corrupt(1.0, p=2.0)
