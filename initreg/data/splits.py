"""The in-memory train / validation / test bundle every loader returns.

Lecture K2: the model is fit on *train*, choices (epochs, strengths) are made on
*validation*, and *test* is touched once, by the final evaluation. Standardization
statistics come from the train split only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from ..errors import DataError

__all__ = ["Splits", "stratified_split", "check_arrays"]


@dataclass
class Splits:
    """Float inputs and int64 labels (or float targets for regression) for three splits."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int  # 0 for regression
    task: Literal["classification", "regression"] = "classification"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example (no batch axis)."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_outputs(self) -> int:
        """Width of the model's output layer."""
        if self.task == "classification":
            return self.num_classes
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @classmethod
    def from_tensors(cls, x: torch.Tensor, y: torch.Tensor, *, val: tuple[torch.Tensor, torch.Tensor] | None = None,
                     test: tuple[torch.Tensor, torch.Tensor] | None = None, name: str = "tensors",
                     num_classes: int | None = None) -> Splits:
        """Your own tensors as `Splits`: ``(x, y)`` to train on, optional ``val`` and ``test`` pairs.

        Integer 1-D ``y`` means classification (``num_classes`` defaults to the largest label
        + 1 over all splits); float ``y`` means regression. A missing split is empty: without
        ``val`` the history has no validation metrics; without ``test`` there is no test
        evaluation. Nothing is standardized or shuffled here.

        >>> s = Splits.from_tensors(torch.randn(8, 3), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
        >>> s.task, s.num_classes, s.sizes()
        ('classification', 3, {'train': 8, 'val': 0, 'test': 0})
        """
        def pair(p: Any, which: str) -> tuple[torch.Tensor, torch.Tensor]:
            if p is None:
                return x[:0], y[:0]
            if not (isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(t, torch.Tensor) for t in p)):
                raise DataError(f"{which} must be a pair of tensors (x, y); got {type(p).__name__}")
            return p[0], p[1]

        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise DataError(f"x and y must be tensors; got {type(x).__name__} and {type(y).__name__}")
        (xv, yv), (xt, yt) = pair(val, "val"), pair(test, "test")
        for which, a, b in (("train", x, y), ("val", xv, yv), ("test", xt, yt)):
            if len(a) != len(b):
                raise DataError(f"{which}: x has {len(a)} rows but y has {len(b)}")
            if a.shape[1:] != x.shape[1:]:
                raise DataError(f"{which}: inputs have shape {tuple(a.shape[1:])} but train {tuple(x.shape[1:])}")
        classify = not y.is_floating_point()
        if classify and y.ndim != 1:
            raise DataError(f"integer labels must be 1-D class indices; got shape {tuple(y.shape)}")
        if classify:
            labels = torch.cat([y, yv, yt])
            if len(labels) and int(labels.min()) < 0:
                raise DataError(f"class labels must be >= 0; got {int(labels.min())}")
            k = num_classes if num_classes is not None else (int(labels.max()) + 1 if len(labels) else 0)
            if len(labels) and int(labels.max()) >= k:
                raise DataError(f"num_classes={k} but a label is {int(labels.max())}")
        else:
            k = 0
        xf = x if x.is_floating_point() else x.float()
        return cls(name=name, x_train=xf, y_train=y, x_val=xv.to(xf.dtype), y_val=yv, x_test=xt.to(xf.dtype),
                   y_test=yt, num_classes=k, task="classification" if classify else "regression")

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if which not in ("train", "val", "test"):
            raise DataError(f"split must be 'train', 'val' or 'test'; got {which!r}")
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")

    def sizes(self) -> dict[str, int]:
        return {s: len(getattr(self, f"y_{s}")) for s in ("train", "val", "test")}

    def to(self, device: torch.device | str) -> Splits:
        """A copy with every tensor on ``device``."""
        kw = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return Splits(**kw)

    def describe(self) -> str:
        s = self.sizes()
        return (f"{self.name}: {self.task}, input {self.input_shape}, "
                f"{self.num_classes or self.num_outputs} {'classes' if self.task == 'classification' else 'outputs'}, "
                f"train/val/test = {s['train']}/{s['val']}/{s['test']}")


def check_arrays(name: str, x: np.ndarray, y: np.ndarray, num_classes: int | None) -> None:
    """Reject malformed data with a message naming the set and the problem.

    Checks: inputs shaped ``(N, features...)``, numeric, finite; as many labels as inputs;
    class labels 1-D integers in ``[0, num_classes)`` (``num_classes=None``: regression
    targets shaped ``(N,)`` or ``(N, k)``, finite).
    """
    if x.ndim < 2:
        raise DataError(f"data set {name!r}: inputs must be shaped (N, features...); got shape {tuple(x.shape)}")
    if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(y.dtype, np.number):
        raise DataError(f"data set {name!r}: inputs and labels must be numeric; got dtypes {x.dtype} and {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"data set {name!r}: {x.shape[0]} inputs but {y.shape[0]} labels; they must match")
    if x.shape[0] == 0:
        raise DataError(f"data set {name!r}: no examples")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise DataError(f"data set {name!r}: inputs contain {bad} NaN/Inf value(s); clean the data first")
    if num_classes is not None:
        if y.ndim != 1:
            raise DataError(f"data set {name!r}: labels must be 1-D class indices; got shape {tuple(y.shape)}")
        if not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise DataError(f"data set {name!r}: labels must be integers; got dtype {y.dtype}")
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            raise DataError(f"data set {name!r}: labels must lie in [0, {num_classes}); got range [{lo}, {hi}]")
    else:
        if y.ndim not in (1, 2):
            raise DataError(f"data set {name!r}: targets must be shaped (N,) or (N, outputs); got shape {tuple(y.shape)}")
        if not np.isfinite(y).all():
            raise DataError(f"data set {name!r}: targets contain NaN/Inf")


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator,
                     stratify: bool = True) -> list[np.ndarray]:
    """Split indices into parts of the given fractions, per class when ``stratify``.

    Each class is shuffled with ``rng`` and cut at the same fractions, so every part keeps
    the class balance (never split by position: some sets are stored sorted by label).
    """
    if not stratify:
        groups = [rng.permutation(len(y))]
    else:
        groups = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    cum = np.cumsum((0.0,) + tuple(fractions))
    for idx in groups:
        n = len(idx)
        cuts = np.round(cum * n).astype(int)
        for i in range(len(fractions)):
            parts[i].append(idx[cuts[i]:cuts[i + 1]])
    return [rng.permutation(np.concatenate(p)) for p in parts]
