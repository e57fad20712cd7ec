"""Image and 1-D augmentation: exact identities (0°, 90°, flips, integer shifts), agreement with
kornia's own rotate, seeding, shapes, the trainer callbacks and errors."""

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers, regularizers
from initreg.regularize.augment import (
    ImageAugment,
    SignalAugment,
    affine_images,
    augment_images,
    augment_signals,
    rotate_images,
    shift_scale_signals,
)
from initreg.train import fit


def g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def imgs():
    return torch.randn(4, 2, 9, 9, generator=g(1))


def test_zero_angle_and_p_zero_are_identities(imgs):
    assert torch.allclose(rotate_images(imgs, torch.zeros(4)), imgs, atol=1e-5)
    assert torch.equal(augment_images(imgs, rotation=45, p=0.0, generator=g()), imgs)


def test_quarter_turns_are_exact(imgs):
    # +90° turns counter-clockwise as displayed (the top row becomes the left column): torch.rot90, k=1.
    r = rotate_images(imgs, torch.full((4,), 90.0))
    assert torch.allclose(r, torch.rot90(imgs, k=1, dims=(2, 3)), atol=1e-5)
    r4 = imgs
    for _ in range(4):
        r4 = rotate_images(r4, torch.full((4,), 90.0))
    assert torch.allclose(r4, imgs, atol=1e-4)


def test_agrees_with_kornia_rotate(imgs):
    from kornia.geometry.transform import rotate

    a = torch.tensor([10.0, -30.0, 45.0, 7.5])
    ours = rotate_images(imgs, a, padding_mode="zeros")
    assert torch.allclose(ours, rotate(imgs, a, padding_mode="zeros"), atol=1e-5)


def test_integer_translation_shifts_pixels(imgs):
    t = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]])
    out = affine_images(imgs, torch.zeros(4), t, padding_mode="zeros")
    assert torch.allclose(out[0, :, :, 2:], imgs[0, :, :, :-2], atol=1e-5)  # right by 2
    assert torch.allclose(out[1, :, 1:, :], imgs[1, :, :-1, :], atol=1e-5)  # down by 1
    assert torch.allclose(out[2, :, :, :-1], imgs[2, :, :, 1:], atol=1e-5)  # left by 1
    assert torch.allclose(out[0, :, :, :2], torch.zeros_like(out[0, :, :, :2]))


def test_flips_with_probability_one(imgs):
    assert torch.equal(augment_images(imgs, hflip=1.0, generator=g()), imgs.flip(3))
    assert torch.equal(augment_images(imgs, vflip=1.0, generator=g()), imgs.flip(2))
    some = augment_images(torch.randn(400, 1, 3, 3, generator=g(2)), hflip=0.5, generator=g(3))
    assert some.shape == (400, 1, 3, 3)


def test_flip_rate_matches_p():
    x = torch.arange(3.0).view(1, 1, 1, 3).expand(2000, 1, 1, 3)
    flipped = (augment_images(x, hflip=0.3, generator=g(4))[:, 0, 0, 0] == 2).float().mean()
    assert abs(float(flipped) - 0.3) < 4 * (0.3 * 0.7 / 2000) ** 0.5  # 4 binomial standard errors


def test_rotation_angles_are_bounded_and_seeded(imgs):
    a = augment_images(imgs, rotation=20, translate=0.1, scale=(0.9, 1.1), generator=g(5))
    b = augment_images(imgs, rotation=20, translate=0.1, scale=(0.9, 1.1), generator=g(5))
    c = augment_images(imgs, rotation=20, translate=0.1, scale=(0.9, 1.1), generator=g(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # A single bright centre pixel stays inside a small disc under rotations only.
    x = torch.zeros(50, 1, 21, 21)
    x[:, :, 10, 15] = 1.0  # radius 5 from the centre
    r = augment_images(x, rotation=30, generator=g(7))
    ys, xs = torch.meshgrid(torch.arange(21.0), torch.arange(21.0), indexing="ij")
    ang = torch.rad2deg(torch.atan2((r[:, 0] * (ys - 10)).sum((1, 2)), (r[:, 0] * (xs - 10)).sum((1, 2))))
    assert ang.abs().max() <= 30.5 and ang.abs().max() > 10  # within ±30°, and not all near 0


def test_signal_shift_and_stretch():
    s = torch.zeros(3, 1, 11)
    s[:, 0, 5] = 1.0
    out = shift_scale_signals(s, torch.tensor([2.0, -3.0, 0.0]), padding_mode="zeros")
    assert out[0, 0].argmax() == 7 and out[1, 0].argmax() == 2 and torch.allclose(out[2], s[2])
    wide = shift_scale_signals(s[:1], torch.zeros(1), torch.tensor([2.0]), padding_mode="zeros")
    assert torch.allclose(wide[0, 0, 4:7], torch.tensor([0.5, 1.0, 0.5]))  # stretched ×2 about the centre
    a = augment_signals(torch.randn(5, 1, 40, generator=g()), shift=3, scale=(0.9, 1.1), generator=g(8))
    b = augment_signals(torch.randn(5, 1, 40, generator=g()), shift=3, scale=(0.9, 1.1), generator=g(8))
    assert torch.equal(a, b)


def test_callbacks_on_flattened_data_and_registry():
    d = load_data({"name": "digits", "train_size": 200})  # flattened 8x8
    cb = build_regularizers([{"name": "augment", "rotation": 15, "hflip": 0.5}])[0]
    assert isinstance(cb, ImageAugment)
    assert regularizers.build(cb.get_config()).get_config() == cb.get_config()
    m = build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, d.num_outputs, seed=0)
    h = fit(m, d, {"epochs": 5, "lr": 0.01, "progress": "none"}, callbacks=[cb])
    assert h.test["acc"] > 0.5  # it learns (chance is 0.1)
    out = cb(d.x_train[:5], generator=g(), image_shape=[1, 8, 8])
    assert out.shape == (5, 64)
    s = build_regularizers([{"name": "augment_1d", "shift": 2, "scale": [0.9, 1.1]}])[0]
    assert isinstance(s, SignalAugment) and s(torch.randn(3, 40), generator=g(), signal_shape=[1, 40]).shape == (3, 40)


def test_errors_name_the_value(imgs):
    with pytest.raises(ConfigError, match="padding_mode must be 'zeros', 'border' or 'reflection'; got padding_mode='wrap'"):
        rotate_images(imgs, torch.zeros(4), padding_mode="wrap")
    with pytest.raises(ConfigError, match=r"augment_images needs \(N, C, H, W\); got shape \(4, 162\)"):
        augment_images(imgs.reshape(4, -1), rotation=10)
    with pytest.raises(ConfigError, match="hflip must be a probability in"):
        ImageAugment(hflip=1.5)
    with pytest.raises(ConfigError, match=r"scale must be a pair .*got scale=\(1.2, 0.8\)"):
        augment_images(imgs, scale=(1.2, 0.8))
    with pytest.raises(ConfigError, match=r"augment: cannot view inputs of shape \(10,\) as \[1, 3, 3\]"):
        ImageAugment(rotation=5)(torch.zeros(2, 10), image_shape=[1, 3, 3])
