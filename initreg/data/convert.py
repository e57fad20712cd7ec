"""`as_splits`: tensors, a `Dataset` or a `DataLoader` read into memory as `Splits` — `fit`'s fast path.

`Splits` pass through untouched. ``(x, y)`` tensors become `Splits.from_tensors`. A
``Dataset`` or ``DataLoader`` is read once, in order, into memory (its examples stacked; a
loader's own collate function is used), then trained on like any `Splits`: `fit` shuffles and
batches it with ``train.batch_size``. A dataset's random transforms are therefore drawn once;
for fresh augmentation every epoch use initreg's augmentation callbacks
(`initreg.regularize.augment`). `fit` does this itself for tensors and a ``Dataset``; a
``DataLoader`` given to `fit` is streamed instead (`initreg.data.stream`), and
``fit(model, as_splits(loader), ...)`` trains it in memory.

>>> import torch
>>> from torch.utils.data import TensorDataset
>>> ds = TensorDataset(torch.randn(10, 3), torch.arange(10) % 2)
>>> as_splits(ds, val=(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))).sizes()
{'train': 10, 'val': 4, 'test': 0}
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import DataError
from .splits import Splits

__all__ = ["as_splits", "read_all", "batch_xy"]

Data = Any  # Splits | tuple[Tensor, Tensor] | Dataset | DataLoader


def batch_xy(batch: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch as ``(x, y)``: a tuple/list of two tensors, or a dict with x/input(s) and y/label(s)/target."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2 and all(isinstance(t, torch.Tensor) for t in batch[:2]):
        return batch[0], batch[1]
    if isinstance(batch, dict):
        x = next((batch[k] for k in ("x", "input", "inputs") if k in batch), None)
        y = next((batch[k] for k in ("y", "label", "labels", "target") if k in batch), None)
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            return x, y
    raise DataError(f"{where}: each batch must be (inputs, targets) tensors or a dict with x/input and "
                    f"y/label/labels/target; got {type(batch).__name__}")


def read_all(data: Dataset | DataLoader, where: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Every example of a ``Dataset`` or ``DataLoader``, in order, as ``(x, y)`` tensors."""
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=256, shuffle=False)
    xs, ys = [], []
    for batch in loader:
        x, y = batch_xy(batch, where)
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"{where} is empty: no batches to read")
    return torch.cat(xs), torch.cat(ys)


def _pair(d: Data, where: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    if d is None:
        return None
    if isinstance(d, (tuple, list)) and len(d) == 2 and all(isinstance(t, torch.Tensor) for t in d):
        return d[0], d[1]
    if isinstance(d, (Dataset, DataLoader)):
        return read_all(d, where)
    raise DataError(f"{where} must be Splits, a (x, y) pair of tensors, a Dataset or a DataLoader; "
                    f"got {type(d).__name__}")


def as_splits(data: Data, *, val: Data = None, test: Data = None, num_classes: int | None = None) -> Splits:
    """``data`` as `Splits`; ``val``/``test`` add those splits (not allowed with `Splits`)."""
    if isinstance(data, Splits):
        if val is not None or test is not None:
            raise DataError("val= and test= are for tensors, a Dataset or a DataLoader; Splits already hold "
                            "their validation and test splits")
        return data
    train = _pair(data, "data")
    return Splits.from_tensors(*train, val=_pair(val, "val"), test=_pair(test, "test"),
                               name=type(data).__name__ if not isinstance(data, (tuple, list)) else "tensors",
                               num_classes=num_classes)
