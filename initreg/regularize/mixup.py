"""Mixup, CutMix, label smoothing and the soft-target cross-entropy.

Papers: H. Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018;
S. Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
Features", ICCV 2019; C. Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016
(label smoothing).

- **mixup**: ``λ ~ Beta(α, α)``, a random pairing π of the batch,
  ``x̃ = λ·x + (1 − λ)·x[π]``, ``ỹ = λ·y + (1 − λ)·y[π]`` (labels as probability vectors).
- **CutMix**: ``λ ~ Beta(α, α)``; a box covering a fraction ``1 − λ`` of the spatial extent
  (side ``L·√(1 − λ)`` per 2-D axis, ``L·(1 − λ)`` for 1-D), centred uniformly and clipped,
  is pasted from ``x[π]``; the labels mix with the *actual* area kept, ``λ' = 1 − box/area``.
- **label smoothing**: ``ỹ = (1 − ε)·onehot(y) + ε/K`` (PyTorch's convention: ε/K also goes
  to the true class), so ``cross_entropy(z, y, label_smoothing=ε)`` equals the soft-target
  cross-entropy with these targets.
- **soft-target cross-entropy**: ``ℓ(z, q) = −Σ_k q_k log softmax(z)_k``, averaged over the batch.

Edge cases (decisions): one λ per batch by default (the papers'), or one per example with
``per_example=True``; any batch size works — a batch of one is paired with itself, so it is
returned unchanged; inputs of any shape ``(N, ...)`` for mixup; CutMix needs spatial axes
(``(N, C, L)`` or ``(N, C, H, W)``; flattened images go through the callback's
``image_shape``). Randomness comes only from ``generator`` (λ is drawn with NumPy's Beta
sampler seeded from it).

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
>>> xm, ym, lam = mixup(x, y, alpha=0.4, num_classes=3, generator=g)
>>> xm.shape, ym.shape, bool(torch.allclose(ym.sum(1), torch.ones(4)))
(torch.Size([4, 3]), torch.Size([4, 3]), True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["sample_beta", "one_hot", "smooth_labels", "soft_cross_entropy", "mixup", "cutmix",
           "Mixup", "CutMix", "LabelSmoothing"]


def sample_beta(alpha: float, size: int = 1, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``size`` draws of Beta(α, α) (float64), reproducible from ``generator``.

    >>> sample_beta(1.0, 3, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([3])
    """
    if not alpha > 0:
        raise ConfigError(f"alpha must be > 0; got alpha={alpha}")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, size=size))


def one_hot(y: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Probability rows: ``y`` of class indices ``(N,)`` → ``(N, K)``; ``(N, K)`` passes through."""
    if y.ndim == 2:
        if y.shape[1] != num_classes:
            raise ConfigError(f"soft labels have {y.shape[1]} columns but num_classes={num_classes}")
        return y.to(dtype)
    if y.ndim != 1:
        raise ConfigError(f"labels must be (N,) class indices or (N, K) probabilities; got shape {tuple(y.shape)}")
    return F.one_hot(y.long(), num_classes).to(dtype)


def smooth_labels(y: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    """``(1 − ε)·y + ε/K`` for class indices or probability rows (PyTorch's convention).

    >>> smooth_labels(torch.tensor([1]), 4, 0.2)
    tensor([[0.0500, 0.8500, 0.0500, 0.0500]])
    """
    if not 0.0 <= eps < 1.0:
        raise ConfigError(f"eps must be in [0, 1); got eps={eps}")
    return one_hot(y, num_classes) * (1.0 - eps) + eps / num_classes


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``−Σ_k q_k log softmax(z)_k`` per row; ``reduction`` is ``mean``, ``sum`` or ``none``.

    Equals ``F.cross_entropy(logits, target)`` with probability targets.

    >>> z = torch.tensor([[2.0, 0.0]]); q = torch.tensor([[0.5, 0.5]])
    >>> round(float(soft_cross_entropy(z, q)), 4)
    1.1269
    """
    if logits.shape != target.shape:
        raise ConfigError(f"logits {tuple(logits.shape)} and soft targets {tuple(target.shape)} must have the same shape")
    per = -(target * F.log_softmax(logits, dim=1)).sum(1)
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    if reduction == "none":
        return per
    raise ConfigError(f"reduction must be 'mean', 'sum' or 'none'; got reduction={reduction!r}")


def _pairing(n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randperm(n, generator=generator)


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.2, *, num_classes: int,
          per_example: bool = False, generator: torch.Generator | None = None
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix a batch with a shuffled copy of itself: ``(x̃, ỹ, λ)``.

    ``x`` has any shape ``(N, ...)``; ``y`` holds class indices ``(N,)`` or probabilities
    ``(N, K)``; ``ỹ`` is ``(N, K)`` probabilities; ``λ`` has shape ``(1,)`` or ``(N,)``.
    """
    n = len(x)
    if len(y) != n:
        raise ConfigError(f"x and y must have the same batch size; got {n} and {len(y)}")
    lam = sample_beta(alpha, n if per_example else 1, generator=generator).to(device=x.device)
    perm = _pairing(n, generator).to(x.device)
    yp = one_hot(y, num_classes)
    lx = lam.to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
    ly = lam.to(yp.dtype).view(-1, 1)
    return lx * x + (1 - lx) * x[perm], ly * yp + (1 - ly) * yp[perm], lam


def _box(size: Sequence[int], lam: float, generator: torch.Generator | None) -> list[tuple[int, int]]:
    """Per spatial axis, ``[lo, hi)`` of a box whose volume fraction is about ``1 − λ``."""
    d = len(size)
    frac = (1.0 - lam) ** (1.0 / d)
    out = []
    for s in size:
        cut = int(round(s * frac))
        c = int(torch.randint(0, s, (1,), generator=generator).item())
        out.append((max(c - cut // 2, 0), min(c + cut - cut // 2, s)))
    return out


def cutmix(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0, *, num_classes: int,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paste a random box of a shuffled copy of the batch: ``(x̃, ỹ, λ')``.

    ``x`` is ``(N, C, L)`` or ``(N, C, H, W)``; one box for the whole batch (as in the
    paper); ``λ'`` (shape ``(1,)``) is the fraction of each example that is its own.
    """
    if x.ndim not in (3, 4):
        raise ConfigError(f"cutmix needs inputs shaped (N, C, L) or (N, C, H, W); got shape {tuple(x.shape)}. "
                          "For flattened images pass image_shape to the callback")
    n = len(x)
    if len(y) != n:
        raise ConfigError(f"x and y must have the same batch size; got {n} and {len(y)}")
    lam = float(sample_beta(alpha, 1, generator=generator)[0])
    perm = _pairing(n, generator).to(x.device)
    spatial = x.shape[2:]
    box = _box(spatial, lam, generator)
    out = x.clone()
    idx = (slice(None), slice(None)) + tuple(slice(a, b) for a, b in box)
    out[idx] = x[perm][idx]
    kept = 1.0 - math.prod(b - a for a, b in box) / math.prod(spatial)
    yp = one_hot(y, num_classes)
    return out, kept * yp + (1 - kept) * yp[perm], torch.tensor([kept], dtype=torch.float64)


class _BatchCallback(Callback):
    """Shared: apply with probability ``p`` per batch, reshape flattened images."""

    stacks = True  # batch-only: in stacked training each copy mixes its own batch with its own stream

    def __init__(self, p: float, image_shape: list[int] | None):
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"p must be in [0, 1]; got p={p}")
        self.p, self.image_shape = p, image_shape

    def _apply(self, state: TrainState) -> bool:
        return self.p >= 1.0 or float(torch.rand((), generator=state.generator_for(self))) < self.p

    @staticmethod
    def _num_classes(state: TrainState) -> int:
        if state.data.task != "classification":
            raise ConfigError(f"{state.data.name!r} is a regression set; mixup, cutmix and label smoothing need classes")
        return state.data.num_classes


@regularizers.register("mixup")
class Mixup(_BatchCallback):
    """Trainer callback: mixup each training batch (soft labels; `fit` uses the soft-target loss).

    Args:
        alpha: the Beta(α, α) parameter (0.2–0.4 in the paper for ImageNet; 1 = uniform λ).
        p: probability of mixing a batch.
        per_example: one λ per example instead of one per batch.
    """

    def __init__(self, alpha: float = 0.2, p: float = 1.0, per_example: bool = False):
        if not alpha > 0:
            raise ConfigError(f"alpha must be > 0; got alpha={alpha}")
        super().__init__(p, None)
        self.alpha, self.per_example = alpha, per_example

    def get_config(self) -> dict[str, Any]:
        return {"name": "mixup", "alpha": self.alpha, "p": self.p, "per_example": self.per_example}

    def on_batch(self, state, x, y):
        k = self._num_classes(state)
        if not self._apply(state):
            return x, y
        xm, ym, _ = mixup(x, y, self.alpha, num_classes=k, per_example=self.per_example, generator=state.generator_for(self))
        return xm, ym


@regularizers.register("cutmix")
class CutMix(_BatchCallback):
    """Trainer callback: CutMix each training batch.

    Args:
        alpha: the Beta(α, α) parameter (1 in the paper: λ uniform).
        p: probability of applying it to a batch.
        image_shape: ``[C, H, W]`` (or ``[C, L]``) of flattened inputs; default: the data
            set's own shape (``data.meta["image_shape"]``).
    """

    def __init__(self, alpha: float = 1.0, p: float = 1.0, image_shape: list[int] | None = None):
        if not alpha > 0:
            raise ConfigError(f"alpha must be > 0; got alpha={alpha}")
        super().__init__(p, image_shape)
        self.alpha = alpha

    def get_config(self) -> dict[str, Any]:
        return {"name": "cutmix", "alpha": self.alpha, "p": self.p, "image_shape": self.image_shape}

    def on_batch(self, state, x, y):
        k = self._num_classes(state)
        if not self._apply(state):
            return x, y
        shape = list(x.shape[1:]) if x.ndim in (3, 4) else list(self.image_shape or state.data.meta.get("image_shape", ()))
        if math.prod(shape) != math.prod(x.shape[1:]) or len(shape) not in (2, 3):
            raise ConfigError(f"cutmix: cannot view inputs {tuple(x.shape[1:])} as an image; got image_shape={shape}")
        xm, ym, _ = cutmix(x.reshape(len(x), *shape), y, self.alpha, num_classes=k, generator=state.generator_for(self))
        return xm.reshape(x.shape), ym


@regularizers.register("label_smoothing")
class LabelSmoothing(_BatchCallback):
    """Trainer callback: replace each batch's labels by ``(1 − ε)·onehot + ε/K``.

    Same loss as ``train.label_smoothing`` for hard labels; as a callback it also smooths
    labels that another callback made soft (place it after mixup/cutmix in the list).
    """

    def __init__(self, eps: float = 0.1):
        if not 0.0 <= eps < 1.0:
            raise ConfigError(f"eps must be in [0, 1); got eps={eps}")
        super().__init__(1.0, None)
        self.eps = eps

    def get_config(self) -> dict[str, Any]:
        return {"name": "label_smoothing", "eps": self.eps}

    def on_batch(self, state, x, y):
        return x, smooth_labels(y, self._num_classes(state), self.eps)
