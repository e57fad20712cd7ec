"""`StreamData`: a ``DataLoader`` that `fit` trains on batch by batch, as it yields them.

`fit` given a ``DataLoader`` does not read it into memory: every epoch iterates the loader
itself, so its batch size, sampler, workers and random transforms (fresh each epoch) are the
user's, and a data set larger than memory trains. ``train.batch_size`` is not used; an epoch is
``len(loader)`` batches. Validation and test data may be loaders, datasets or ``(x, y)``
tensors; each evaluation runs over all of it in eval mode.

The batch order is the loader's: with ``shuffle=True`` and no ``generator=``, the loader draws
its order from torch's global RNG, which `fit` seeds from the run's seed (`initreg.train.streams`,
``"model-noise"``), so a run is reproducible; with its own ``generator=``, that generator decides
(and a checkpoint saves it). Callbacks that need the training data in memory (``x_train``, the
batch's row indices) say so in one line; ``as_splits(loader)`` reads a loader into memory for
`fit`'s fast in-memory path.

>>> import torch
>>> from torch.utils.data import DataLoader, TensorDataset
>>> dl = DataLoader(TensorDataset(torch.randn(10, 3), torch.arange(10) % 2), batch_size=4)
>>> d = StreamData.of(dl, val=(torch.randn(4, 3), torch.tensor([0, 1, 0, 1])))
>>> d.task, d.input_shape, d.steps_per_epoch, d.num_classes
('classification', (3,), 3, 2)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..errors import DataError
from .convert import batch_xy

__all__ = ["StreamData"]

Source = DataLoader | tuple[torch.Tensor, torch.Tensor] | None
_IN_MEMORY = {f"{a}_{split}" for a in ("x", "y") for split in ("train", "val", "test")}  # `Splits`' tensors


def _eval_source(d: Any, where: str) -> Source:
    if d is None or isinstance(d, DataLoader):
        return d
    if isinstance(d, (tuple, list)) and len(d) == 2 and all(isinstance(t, torch.Tensor) for t in d):
        if len(d[0]) != len(d[1]):
            raise DataError(f"{where}: x has {len(d[0])} rows but y has {len(d[1])}")
        return d[0], d[1]
    if isinstance(d, Dataset):
        return DataLoader(d, batch_size=256, shuffle=False)
    raise DataError(f"{where} must be a DataLoader, a Dataset or a (x, y) pair of tensors; got {type(d).__name__}")


def _first_batch(loader: DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch, without drawing from the loader's sampler (its RNG): the first example of a
    map-style dataset through the loader's collate function, else the first batch."""
    ds = loader.dataset
    if not isinstance(ds, IterableDataset) and len(ds) > 0:  # type: ignore[arg-type]
        return batch_xy(loader.collate_fn([ds[0]]), "data")
    for batch in loader:
        return batch_xy(batch, "data")
    raise DataError("data: the DataLoader yields no batches")


@dataclass
class StreamData:
    """A training ``DataLoader`` plus validation / test sources (loaders or tensor pairs)."""

    train: DataLoader
    val: Source = None
    test: Source = None
    task: str = "classification"
    num_classes: int | None = None
    input_shape: tuple[int, ...] = ()
    name: str = "DataLoader"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, loader: DataLoader, *, val: Any = None, test: Any = None, num_classes: int | None = None) -> StreamData:
        """Check the loader and the evaluation data; infer the task and input shape from one example."""
        try:
            n = len(loader)
        except TypeError:
            raise DataError("data: a DataLoader over an IterableDataset without len() cannot be streamed by epochs; "
                            "give the dataset a __len__ (or pass train.steps and a sized loader)") from None
        if n == 0:
            raise DataError("data: the DataLoader yields no batches")
        x, y = _first_batch(loader)
        task = "classification" if not y.is_floating_point() and y.ndim == 1 else "regression"
        vs, ts = _eval_source(val, "val"), _eval_source(test, "test")
        if task == "classification" and num_classes is None:
            labels = [s[1] for s in (vs, ts) if isinstance(s, tuple) and len(s[1])]
            num_classes = int(max(int(t.max()) for t in labels)) + 1 if labels else None
        return cls(loader, vs, ts, task, num_classes, tuple(x.shape[1:]), type(loader.dataset).__name__)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train)

    @property
    def num_outputs(self) -> int | None:
        """Width of the model's output layer, where the data says it (classes or target width)."""
        return self.num_classes if self.task == "classification" else None

    def batches(self, source: Source, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(x, y)`` batches of a source on ``device`` (tensor pairs in chunks of 2048)."""
        if isinstance(source, tuple):
            x, y = source
            for i in range(0, len(x), 2048):
                yield x[i:i + 2048].to(device), y[i:i + 2048].to(device)
            return
        if source is None:
            return
        for batch in source:
            x, y = batch_xy(batch, "data")
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def __getattr__(self, name: str) -> Any:
        """``x_train`` & co. of `Splits`: a one-line error, since the data is not in memory."""
        if name in _IN_MEMORY:
            raise DataError(f"this callback needs the training data in memory (data.{name}), and fit streams a "
                            "DataLoader: pass initreg.data.as_splits(loader, val=..., test=...) to fit instead")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
