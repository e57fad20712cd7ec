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
