"""Monte-Carlo dropout prediction, and the weight-scaling prediction it approximates.

Dropout trains an ensemble of thinned networks that share weights. The ideal prediction
averages all of them; Srivastava et al. (JMLR 2014) approximate it with *weight scaling*
(one pass in eval mode: every unit kept, outputs scaled to their expectation). Gal &
Ghahramani, "Dropout as a Bayesian approximation", ICML 2016, instead average ``N``
sampled masks at test time ("MC dropout")::

    mean = (1/N) Σ_k softmax(f(x; m_k)),   var = (1/N) Σ_k (softmax(f(x; m_k)) − mean)²

:func:`mc_predict` does that with only the dropout layers in training mode: BatchNorm and
every other layer stay in eval mode (running statistics are used and not updated), no
gradient is recorded, and every module's mode is restored afterwards.

>>> import torch
>>> from torch import nn
>>> from initreg.nn import Dropout
>>> m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), Dropout(0.5), nn.Linear(8, 3))
>>> mean, var = mc_predict(m, torch.randn(5, 4), samples=20, generator=torch.Generator().manual_seed(0))
>>> mean.shape, var.shape, m.training
(torch.Size([5, 3]), torch.Size([5, 3]), True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..nn.dropout import is_dropout

__all__ = ["mc_predict", "weight_scaling_predict", "dropout_sampling"]

Output = Literal["probs", "logits"]


@contextlib.contextmanager
def dropout_sampling(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block only ``model``'s dropout layers are in training mode; modes are restored after.

    Raises a ``ConfigError`` if the model has no dropout layer (all samples would be equal).
    """
    modes = {m: m.training for m in model.modules()}
    drops = [m for m in model.modules() if is_dropout(m)]
    if not drops:
        raise ConfigError(f"mc_predict: {type(model).__name__} has no dropout layer (initreg.nn.Dropout or nn.Dropout*), "
                          "so every sample would be the same; build it with dropout > 0")
    try:
        model.eval()
        for m in drops:
            m.train()
        yield model
    finally:
        for m, t in modes.items():
            m.training = t


def _finish(out: torch.Tensor, output: str) -> torch.Tensor:
    if output == "probs":
        return torch.softmax(out, dim=-1)
    if output == "logits":
        return out
    raise ConfigError(f"output must be 'probs' or 'logits'; got output={output!r}")


@torch.no_grad()
def weight_scaling_predict(model: nn.Module, x: torch.Tensor, *, output: Output = "probs") -> torch.Tensor:
    """The standard (weight-scaling) prediction: one pass in eval mode; the model's mode is restored."""
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        return _finish(model(x), output)
    finally:
        for m, t in modes.items():
            m.training = t


@torch.no_grad()
def mc_predict(model: nn.Module, x: torch.Tensor, samples: int = 30, *, generator: torch.Generator | None = None,
               output: Output = "probs") -> tuple[torch.Tensor, torch.Tensor]:
    """Predictive mean and variance over ``samples`` dropout masks.

    Args:
        model: a module with at least one dropout layer.
        x: a batch of inputs (every sample is a full pass over it).
        samples: number of masks N (>= 1).
        generator: seeds the masks (the global RNG is forked, so the caller's global RNG
            state is left as it was); ``None`` draws from the global RNG. A layer with its
            own ``generator`` keeps using it.
        output: average softmax probabilities (``probs``, the usual) or raw ``logits``.

    Returns ``(mean, var)``, each shaped like the model's output; ``var`` is the population
    variance over the samples (0 for ``samples=1``).
    """
    if not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"samples must be an integer >= 1; got samples={samples!r}")
    _finish(torch.zeros(1, 1), output)  # validate early
    with contextlib.ExitStack() as stack:
        if generator is not None:
            stack.enter_context(torch.random.fork_rng(devices=[]))
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
        stack.enter_context(dropout_sampling(model))
        mean = m2 = None
        for k in range(samples):  # Welford: one pass, no N-times memory
            out = _finish(model(x), output)
            y = out.double()
            if mean is None:
                dtype = out.dtype
                mean, m2 = y.clone(), torch.zeros_like(y)
            else:
                d = y - mean
                mean += d / (k + 1)
                m2 += d * (y - mean)
    return mean.to(dtype), (m2 / samples).to(dtype)
