"""Data augmentation on tensors: random rotations, flips and small affine shifts for images
(with kornia), and the 1-D analogue (shifts and stretches) for signals such as MNIST-1D.

Augmentation trains the model on transformed copies ``T(x)`` with the label of ``x``: it
teaches invariance to ``T`` — which helps only when ``T`` preserves the label (a rotated
"7" is still a 7; a mirrored "2" is no longer a 2, so flips suit natural photos, not digits).
Papers: P. Simard, D. Steinkraus, J. Platt, "Best Practices for Convolutional Neural Networks
Applied to Visual Document Analysis", ICDAR 2003; E. Riba et al., "Kornia: an Open Source
Differentiable Computer Vision Library for PyTorch", WACV 2020; S. Greydanus, "Scaling down
Deep Learning" (MNIST-1D), 2020.

Images: each example gets, independently, with probability ``p``, an affine map about the
image centre ``c = ((W−1)/2, (H−1)/2)``: rotation by ``θ ~ U[−rotation, rotation]`` degrees,
scale ``s ~ U[scale]``, translation ``t ~ U[−translate, translate] · (W, H)`` pixels,
``x'(u) = x(A⁻¹(u))`` with ``A = T(c + t) · R(θ) · S(s) · T(−c)`` (`kornia.geometry.transform.
get_affine_matrix2d` and ``warp_affine``, bilinear), then horizontal / vertical flips with
probabilities ``hflip`` / ``vflip`` (exact ``torch.flip``). Signals ``(N, C, L)``:
``x'(i) = x((i − c)/s + c − δ)``, ``δ ~ U[−shift, shift]`` samples, ``s ~ U[scale]``, linear
interpolation (``grid_sample``).

Randomness comes only from ``generator`` (a CPU generator; the tensors may live on any
device). kornia's own ``kornia.augmentation`` modules (``RandomRotation``...) draw their
parameters from torch's global RNG, so the parameters are drawn here and handed to kornia's
deterministic geometry functions. Out-of-image pixels repeat the border (``padding_mode="border"``): on standardized
digits the border is background, whereas zeros would paint the corners grey.

>>> import torch
>>> x = torch.zeros(2, 1, 8, 8); x[:, :, 2:6, 3] = 1
>>> y = augment_images(x, rotation=30, generator=torch.Generator().manual_seed(0))
>>> y.shape
torch.Size([2, 1, 8, 8])
>>> bool(torch.allclose(rotate_images(x, torch.zeros(2)), x, atol=1e-6))  # 0° is the identity
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["augment_images", "rotate_images", "affine_images", "augment_signals", "shift_scale_signals",
           "ImageAugment", "SignalAugment"]

Padding = Literal["zeros", "border", "reflection"]


def _check_padding(padding_mode: str) -> None:
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ConfigError(f"padding_mode must be 'zeros', 'border' or 'reflection'; got padding_mode={padding_mode!r}")


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)


def _check_range(name: str, r: Sequence[float], lo_ok: float = 0.0) -> tuple[float, float]:
    if len(r) != 2 or not (lo_ok < r[0] <= r[1]):
        raise ConfigError(f"{name} must be a pair (lo, hi) with {lo_ok} < lo <= hi; got {name}={tuple(r)}")
    return float(r[0]), float(r[1])


def affine_images(x: torch.Tensor, angle: torch.Tensor, translate: torch.Tensor | None = None,
                  scale: torch.Tensor | None = None, *, padding_mode: Padding = "border") -> torch.Tensor:
    """Rotate (degrees, counter-clockwise as displayed, as ``kornia.geometry.transform.rotate``),
    scale and translate (pixels) each image about its centre.

    ``x`` is ``(N, C, H, W)``; ``angle`` ``(N,)``; ``translate`` ``(N, 2)`` as (dx, dy);
    ``scale`` ``(N,)``. Deterministic (no randomness): the building block of `augment_images`.
    """
    from ..utils.optional import require

    require("kornia", extra="aug", feature="image augmentation")
    from kornia.geometry.transform import get_affine_matrix2d, warp_affine

    if x.ndim != 4:
        raise ConfigError(f"images must be shaped (N, C, H, W); got shape {tuple(x.shape)}")
    _check_padding(padding_mode)
    n, _, h, w = x.shape
    if n == 0:
        return x.clone()
    dt = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    kw = {"device": x.device, "dtype": dt}
    angle = angle.to(**kw).reshape(n)
    t = torch.zeros(n, 2, **kw) if translate is None else translate.to(**kw).reshape(n, 2)
    s = torch.ones(n, **kw) if scale is None else scale.to(**kw).reshape(n)
    center = torch.tensor([(w - 1) / 2, (h - 1) / 2], **kw).expand(n, 2)
    # kornia's matrix turns clockwise on screen for positive angles; negate to match kornia.rotate / torchvision
    m = get_affine_matrix2d(t, center, s[:, None].expand(n, 2), -angle)
    return warp_affine(x.to(dt), m[:, :2, :], (h, w), mode="bilinear", padding_mode=padding_mode,
                       align_corners=True).to(x.dtype)


def rotate_images(x: torch.Tensor, angle: torch.Tensor, *, padding_mode: Padding = "border") -> torch.Tensor:
    """Rotate each image of ``(N, C, H, W)`` by ``angle[i]`` degrees about its centre."""
    return affine_images(x, angle, padding_mode=padding_mode)


def augment_images(x: torch.Tensor, *, rotation: float = 0.0, translate: float = 0.0,
                   scale: Sequence[float] = (1.0, 1.0), hflip: float = 0.0, vflip: float = 0.0, p: float = 1.0,
                   padding_mode: Padding = "border", generator: torch.Generator | None = None) -> torch.Tensor:
    """Random rotations (±``rotation`` degrees), shifts (±``translate`` of the size), scales and flips.

    Each image is transformed with probability ``p`` (the affine part), and flipped
    horizontally / vertically with probabilities ``hflip`` / ``vflip``. ``x`` is ``(N, C, H, W)``.
    """
    if x.ndim != 4:
        raise ConfigError(f"augment_images needs (N, C, H, W); got shape {tuple(x.shape)}")
    if rotation < 0 or not 0 <= translate < 1:
        raise ConfigError(f"rotation must be >= 0 degrees and translate in [0, 1); got rotation={rotation}, translate={translate}")
    for name, v in (("p", p), ("hflip", hflip), ("vflip", vflip)):
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"{name} must be a probability in [0, 1]; got {name}={v}")
    lo, hi = _check_range("scale", scale)
    n, _, h, w = x.shape
    out = x
    if p > 0 and (rotation > 0 or translate > 0 or (lo, hi) != (1.0, 1.0)):
        on = (torch.rand(n, generator=generator) < p).to(torch.float64)
        angle = _uniform(n, -rotation, rotation, generator) * on
        t = _uniform(2 * n, -translate, translate, generator).reshape(n, 2) * torch.tensor([w, h]) * on[:, None]
        s = 1 + (_uniform(n, lo, hi, generator) - 1) * on
        out = affine_images(x, angle, t, s, padding_mode=padding_mode)
    for prob, dim in ((hflip, 3), (vflip, 2)):
        if prob > 0:
            m = (torch.rand(n, generator=generator) < prob).to(x.device)
            out = torch.where(m.view(n, 1, 1, 1), out.flip(dim), out)
    return out


def shift_scale_signals(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor | None = None, *,
                        padding_mode: Padding = "border") -> torch.Tensor:
    """``x'(i) = x((i − c)/s + c − δ)`` for signals ``(N, C, L)``: shift by δ samples, stretch by s."""
    if x.ndim != 3:
        raise ConfigError(f"signals must be shaped (N, C, L); got shape {tuple(x.shape)}")
    _check_padding(padding_mode)
    n, c, length = x.shape
    if n == 0:
        return x.clone()
    dt = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    kw = {"device": x.device, "dtype": dt}
    s = torch.ones(n, **kw) if scale is None else scale.to(**kw).reshape(n)
    d = shift.to(**kw).reshape(n)
    ctr = (length - 1) / 2
    i = torch.arange(length, **kw)
    src = (i[None] - ctr) / s[:, None] + ctr - d[:, None]  # (N, L)
    u = 2 * src / max(length - 1, 1) - 1
    grid = torch.stack([u, torch.zeros_like(u)], dim=-1)[:, None]  # (N, 1, L, 2)
    out = F.grid_sample(x.to(dt)[:, :, None, :], grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return out[:, :, 0, :].to(x.dtype)


def augment_signals(x: torch.Tensor, *, shift: float = 0.0, scale: Sequence[float] = (1.0, 1.0), p: float = 1.0,
                    padding_mode: Padding = "border", generator: torch.Generator | None = None) -> torch.Tensor:
    """Random shifts (±``shift`` samples) and stretches (``U[scale]``) of signals ``(N, C, L)``."""
    if shift < 0:
        raise ConfigError(f"shift must be >= 0 samples; got shift={shift}")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p must be a probability in [0, 1]; got p={p}")
    lo, hi = _check_range("scale", scale)
    n = len(x)
    on = (torch.rand(n, generator=generator) < p).to(torch.float64)
    d = _uniform(n, -shift, shift, generator) * on
    s = 1 + (_uniform(n, lo, hi, generator) - 1) * on
    return shift_scale_signals(x, d, s, padding_mode=padding_mode)


def _view(x: torch.Tensor, shape: Sequence[int], dims: int, who: str) -> torch.Tensor:
    shape = list(shape)
    if len(shape) != dims or math.prod(shape) != math.prod(x.shape[1:]):
        raise ConfigError(f"{who}: cannot view inputs of shape {tuple(x.shape[1:])} as {shape}; "
                          f"pass image_shape with {dims} entries")
    return x.reshape(len(x), *shape)


class ImageAugment(Callback):
    """Trainer callback: augment each training image batch (flattened or ``(N, C, H, W)``).

    Args: as `augment_images`; ``image_shape`` ``[C, H, W]`` for flattened inputs (default:
    the data set's ``meta["image_shape"]``).
    """

    stacks = True  # batch-only: in stacked training each copy augments its own batch with its own stream

    def __init__(self, rotation: float = 0.0, translate: float = 0.0, scale: tuple[float, float] = (1.0, 1.0),
                 hflip: float = 0.0, vflip: float = 0.0, p: float = 1.0, padding_mode: Padding = "border",
                 image_shape: list[int] | None = None):
        augment_images(torch.zeros(0, 1, 2, 2), rotation=rotation, translate=translate, scale=scale, hflip=hflip,
                       vflip=vflip, p=p, padding_mode=padding_mode)  # validate now, not at the first batch
        self.kw = {"rotation": rotation, "translate": translate, "scale": tuple(scale), "hflip": hflip, "vflip": vflip,
                   "p": p, "padding_mode": padding_mode}
        self.image_shape = image_shape

    def get_config(self) -> dict[str, Any]:
        return {"name": "augment", **self.kw, "scale": list(self.kw["scale"]), "image_shape": self.image_shape}

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator | None = None,
                 image_shape: Sequence[int] | None = None) -> torch.Tensor:
        shape = image_shape or self.image_shape or x.shape[1:]
        return augment_images(_view(x, shape, 3, "augment"), **self.kw, generator=generator).reshape(x.shape)

    def on_batch(self, state: TrainState, x: torch.Tensor, y: torch.Tensor):
        return self(x, generator=state.generator_for(self), image_shape=self.image_shape or state.data.meta.get("image_shape")), y


class SignalAugment(Callback):
    """Trainer callback: random shifts and stretches of each training signal batch (MNIST-1D).

    Args: as `augment_signals`; ``signal_shape`` ``[C, L]`` for flattened inputs (default:
    the data set's ``meta["image_shape"]``).
    """

    stacks = True  # batch-only: in stacked training each copy augments its own batch with its own stream

    def __init__(self, shift: float = 0.0, scale: tuple[float, float] = (1.0, 1.0), p: float = 1.0,
                 padding_mode: Padding = "border", signal_shape: list[int] | None = None):
        augment_signals(torch.zeros(0, 1, 2), shift=shift, scale=scale, p=p, padding_mode=padding_mode)
        self.kw = {"shift": shift, "scale": tuple(scale), "p": p, "padding_mode": padding_mode}
        self.signal_shape = signal_shape

    def get_config(self) -> dict[str, Any]:
        return {"name": "augment_1d", **self.kw, "scale": list(self.kw["scale"]), "signal_shape": self.signal_shape}

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator | None = None,
                 signal_shape: Sequence[int] | None = None) -> torch.Tensor:
        shape = signal_shape or self.signal_shape or x.shape[1:]
        return augment_signals(_view(x, shape, 2, "augment_1d"), **self.kw, generator=generator).reshape(x.shape)

    def on_batch(self, state: TrainState, x: torch.Tensor, y: torch.Tensor):
        return self(x, generator=state.generator_for(self), signal_shape=self.signal_shape or state.data.meta.get("image_shape")), y


regularizers.register("augment", ImageAugment)
regularizers.register("augment_1d", SignalAugment)
