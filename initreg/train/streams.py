"""Random streams of a training run: one generator per source of randomness, all derived from
the run's seed.

`fit` draws its batch order from the ``"data-order"`` stream, runs the model's own randomness
(dropout through torch's global RNG) on the ``"model-noise"`` stream, and gives each
callback its own stream (`TrainState.generator_for`), named after the callback's class and
its occurrence among callbacks of that class (``"callback:Mixup#0"``). So adding, removing
or reordering a stochastic callback (mixup, augmentation, random pruning) changes no other
stream: the same seed gives the same batch order with or without it, which is what makes
"with vs. without, same seed" a paired comparison.

A stream's seed is a hash of ``(seed, name)`` (BLAKE2b, 63 bits), so streams of one seed are
unrelated to each other and to the plain seed (a model built with ``seed`` does not share
its random numbers with the batch order of a run seeded ``seed``).

>>> stream_seed(0, "data-order") == stream_seed(0, "data-order")
True
>>> stream_seed(0, "data-order") != stream_seed(1, "data-order") != stream_seed(0, "model-noise")
True
>>> g = stream(0, "data-order")
>>> torch.equal(torch.randperm(5, generator=g), torch.randperm(5, generator=stream(0, "data-order")))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import torch

__all__ = ["DATA_ORDER", "MODEL_NOISE", "CALLBACKS", "stream_seed", "stream", "callback_stream_names"]

DATA_ORDER = "data-order"  # the permutation of the train split, each epoch
MODEL_NOISE = "model-noise"  # torch's global RNG while training: dropout inside the model
CALLBACKS = "callbacks"  # ``TrainState.generator``: shared by callbacks that do not ask for their own


def stream_seed(seed: int, name: str) -> int:
    """The seed of stream ``name`` of a run seeded ``seed``: 63 bits of BLAKE2b of both."""
    h = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & ((1 << 63) - 1)


def stream(seed: int, name: str, device: torch.device | str | None = None) -> torch.Generator:
    """A fresh generator for stream ``name`` of a run seeded ``seed`` (on ``device``; CPU by default)."""
    g = torch.Generator(device=device) if device is not None else torch.Generator()
    return g.manual_seed(stream_seed(seed, name))


def callback_stream_names(callbacks: Iterable[object]) -> list[str]:
    """``"callback:<Class>#<k>"`` per callback: ``k`` counts earlier callbacks of the same class,
    so a callback's stream does not depend on callbacks of other classes around it.

    >>> class A: ...
    >>> class B: ...
    >>> callback_stream_names([A(), B(), A()])
    ['callback:A#0', 'callback:B#0', 'callback:A#1']
    """
    seen: dict[str, int] = {}
    names = []
    for cb in callbacks:
        cls = type(cb).__qualname__
        k = seen.get(cls, 0)
        seen[cls] = k + 1
        names.append(f"callback:{cls}#{k}")
    return names
