"""Input corruptions for robustness tests, and training with them as augmentation.

Paper: D. Hendrycks, T. Dietterich, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", ICLR 2019 (corruptions at increasing severity; Gaussian noise
is its first). Occlusion: T. DeVries, G. Taylor, "Improved Regularization of Convolutional
Neural Networks with Cutout", 2017.

- **Gaussian noise**: ``x̃ = x + σ·ε``, ``ε ~ N(0, I)`` — σ in the units of ``x`` (for the
  lab's standardized inputs: in train-set standard deviations).
- **occlusion** (cutout): a ``size × size`` square, its top-left corner uniform over the
  positions where it fits, set to ``value`` (0 = the train mean for standardized inputs), one
  square per example; flattened images go through ``image_shape`` ``[C, H, W]``.
- `Corrupt`: a `fit` callback that corrupts each training batch with a per-example strength
  drawn uniformly from ``[0, σ_max]`` (noise) — training with the corruption as augmentation.

Randomness comes only from ``generator``.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.zeros(2, 1, 4, 4)
>>> float(gaussian_noise(x, 0.0, generator=g).abs().max())
0.0
>>> int((occlude(torch.ones(2, 1, 4, 4), 2, generator=g) == 0).sum())  # two 2×2 squares
8
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState

__all__ = ["gaussian_noise", "occlude", "Corrupt"]


def _check_sigma(sigma: float | torch.Tensor) -> None:
    s = torch.as_tensor(sigma)
    if not bool(torch.isfinite(s).all()) or bool((s < 0).any()):
        raise ConfigError(f"sigma must be finite and >= 0; got sigma={sigma}")


def gaussian_noise(x: torch.Tensor, sigma: float | torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x + σ·ε`` with ``ε ~ N(0, I)``; ``sigma`` a number or one value per example ``(N,)``.

    >>> x = torch.zeros(20000, 3)
    >>> round(float(gaussian_noise(x, 0.5, generator=torch.Generator().manual_seed(0)).std()), 2)
    0.5
    """
    _check_sigma(sigma)
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.ndim == 1:
        if len(s) != len(x):
            raise ConfigError(f"sigma per example needs {len(x)} values (one per example); got {len(s)}")
        s = s.reshape(-1, *([1] * (x.ndim - 1)))
    elif s.ndim > 1:
        raise ConfigError(f"sigma must be a number or one value per example (N,); got shape {tuple(s.shape)}")
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return x + s * eps


def occlude(x: torch.Tensor, size: int, *, value: float = 0.0, image_shape: Sequence[int] | None = None,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Set one ``size × size`` square per image (all channels) to ``value``.

    ``x`` is ``(N, C, H, W)``, or flattened ``(N, C·H·W)`` with ``image_shape = [C, H, W]``.

    >>> y = occlude(torch.ones(1, 1, 3, 3), 3, generator=torch.Generator().manual_seed(0))
    >>> float(y.sum())  # the square covers the whole 3×3 image
    0.0
    """
    shape = list(image_shape) if image_shape is not None else list(x.shape[1:])
    if len(shape) != 3 or math.prod(shape) != math.prod(x.shape[1:]):
        raise ConfigError(f"occlude needs images (N, C, H, W) or image_shape=[C, H, W] matching the inputs; "
                          f"got inputs {tuple(x.shape)} and image_shape={image_shape}")
    c, h, w = shape
    if not isinstance(size, int) or not 0 <= size <= min(h, w):
        raise ConfigError(f"size must be an int in [0, {min(h, w)}] (the image is {h}×{w}); got size={size!r}")
    out = x.reshape(len(x), c, h, w).clone()
    if size == 0 or len(x) == 0:
        return out.reshape(x.shape)
    top = torch.randint(0, h - size + 1, (len(x),), generator=generator)
    left = torch.randint(0, w - size + 1, (len(x),), generator=generator)
    rows = torch.arange(h)[None, :, None]
    cols = torch.arange(w)[None, None, :]
    mask = ((rows >= top[:, None, None]) & (rows < (top + size)[:, None, None])
            & (cols >= left[:, None, None]) & (cols < (left + size)[:, None, None]))
    out = out.masked_fill(mask[:, None].to(out.device), value)
    return out.reshape(x.shape)


class Corrupt(Callback):
    """Trainer callback: Gaussian noise on each training batch, per-example σ ~ U[0, ``sigma_max``].

    Args:
        sigma_max: the largest noise std (in input units), >= 0.
        p: probability that an example is corrupted at all.
    """

    def __init__(self, sigma_max: float, p: float = 1.0):
        _check_sigma(sigma_max)
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"p must be a probability in [0, 1]; got p={p}")
        self.sigma_max, self.p = float(sigma_max), float(p)

    stacks = True  # batch-only: in stacked training each copy corrupts its own batch with its own stream

    def get_config(self) -> dict[str, Any]:
        return {"name": "corrupt", "sigma_max": self.sigma_max, "p": self.p}

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        n = len(x)
        on = (torch.rand(n, generator=generator) < self.p).to(x.dtype)
        sigma = self.sigma_max * torch.rand(n, generator=generator, dtype=x.dtype) * on
        return gaussian_noise(x, sigma.to(x.device), generator=generator)

    def on_batch(self, state: TrainState, x: torch.Tensor, y: torch.Tensor):
        return self(x, generator=state.generator_for(self)), y
