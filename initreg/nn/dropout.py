"""Dropout in its two forms: inverted (scale at training) and classic (scale at evaluation).

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: a simple way to
prevent neural networks from overfitting", JMLR 15 (2014).

With a keep mask ``m ~ Bernoulli(1 - p)`` (one draw per element):

=============  ==========================  ====================
mode           training                    evaluation
=============  ==========================  ====================
``inverted``   ``h = m * h / (1 - p)``     ``h = h``
``classic``    ``h = m * h``               ``h = (1 - p) * h``
=============  ==========================  ====================

Both keep the expectation over masks equal to the evaluation output (weight scaling).
``inverted`` is what ``torch.nn.Dropout`` does; ``classic`` is the 2014 paper's form. The two
are the same model up to multiplying the next layer's weights by ``1 - p`` (and, for
identical SGD trajectories, its learning rate by ``(1 - p)**2``): see the lab's claim C11.

Randomness comes from ``generator`` (keyword-only); ``None`` uses torch's global RNG, as
``nn.Dropout`` does (the trainer seeds it inside ``torch.random.fork_rng``).

>>> import torch
>>> x = torch.ones(2, 4)
>>> g = torch.Generator().manual_seed(0)
>>> y = dropout(x, 0.5, training=True, generator=g)
>>> sorted(set(y.flatten().tolist())) in ([0.0, 2.0], [2.0], [0.0])
True
>>> dropout(x, 0.5, training=False, mode="classic")
tensor([[0.5000, 0.5000, 0.5000, 0.5000],
        [0.5000, 0.5000, 0.5000, 0.5000]])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry

__all__ = ["dropout", "Dropout", "DropoutMode", "dropout_layers", "is_dropout"]

DropoutMode = Literal["inverted", "classic"]
_MODES = ("inverted", "classic")

dropout_layers: Registry = Registry("dropout layer")


def _check(p: float, mode: str) -> None:
    if not isinstance(p, (int, float)) or not 0.0 <= float(p) < 1.0:
        raise ConfigError(f"dropout p must be in [0, 1); got p={p!r}")
    if mode not in _MODES:
        raise ConfigError(f"dropout mode must be one of {', '.join(_MODES)}; got mode={mode!r}")


def dropout(x: torch.Tensor, p: float, training: bool = True, mode: DropoutMode = "inverted", *,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Dropout of ``x`` with drop probability ``p`` (see the module docstring for the formulas).

    Returns a new tensor (``x`` itself when nothing changes: ``p == 0``, or inverted
    dropout at evaluation). Differentiable: the gradient is the same mask and scale.

    Args:
        x: any shape, floating point.
        p: drop probability in [0, 1).
        training: draw a mask (True) or apply the evaluation rule (False).
        mode: ``"inverted"`` or ``"classic"``.
        generator: the source of the masks; ``None`` uses torch's global RNG.
    """
    _check(p, mode)
    if p == 0:
        return x
    keep = 1.0 - p
    if not training:
        return x if mode == "inverted" else x * keep
    mask = torch.empty_like(x).bernoulli_(keep, generator=generator)
    return x * mask / keep if mode == "inverted" else x * mask


class Dropout(nn.Module):
    """Dropout with ``mode="inverted" | "classic"`` and an optional ``generator``.

    A thin module around :func:`dropout`; ``Dropout(p)`` in ``inverted`` mode draws the
    same masks as ``torch.nn.Dropout(p)`` from the same global RNG state (both use
    ``bernoulli_(1 - p)``), so it is a drop-in replacement.

    Args:
        p: drop probability in [0, 1).
        mode: ``inverted`` (scale kept units by 1/(1-p) in training) or ``classic``
            (scale by 1-p at evaluation).
        generator: keyword-only mask source; ``None`` uses torch's global RNG.

    >>> import torch
    >>> d = Dropout(0.25, mode="classic").eval()
    >>> d(torch.full((1, 2), 4.0))
    tensor([[3., 3.]])
    """

    def __init__(self, p: float = 0.5, mode: DropoutMode = "inverted", *, generator: torch.Generator | None = None):
        super().__init__()
        _check(p, mode)
        self.p, self.mode, self.generator = float(p), mode, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.mode, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"

    def get_config(self) -> dict[str, object]:
        """``{"name": "dropout", "p": p, "mode": mode}`` (the generator is not part of a config)."""
        return {"name": "dropout", "p": self.p, "mode": self.mode}

    @classmethod
    def from_config(cls, config: dict[str, object], *, generator: torch.Generator | None = None) -> Dropout:
        """Rebuild from :meth:`get_config` output; unknown keys fail listing the valid ones."""
        return dropout_layers.build(config, generator=generator)


dropout_layers.register("dropout", Dropout)


def is_dropout(module: nn.Module) -> bool:
    """True for this package's :class:`Dropout` and torch's dropout modules (``nn.Dropout*``)."""
    return isinstance(module, (Dropout, nn.modules.dropout._DropoutNd))
