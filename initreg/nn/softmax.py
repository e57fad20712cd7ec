"""Numerically stable softmax and log-softmax.

``softmax(z)_i = exp(z_i) / Σ_j exp(z_j)``. Computed as written it overflows for logits
above ~88 (float32) and gives 0/0. Both functions subtract the maximum first —
``softmax(z) = softmax(z - max z)`` exactly — and ``log_softmax`` uses the log-sum-exp
identity ``log Σ_j e^{z_j} = m + log Σ_j e^{z_j - m}``, so logits of ±1e4 are fine.

>>> softmax(torch.tensor([1.3, 5.1, 2.2, 0.7, 1.1])).round(decimals=2)
tensor([0.0200, 0.9000, 0.0500, 0.0100, 0.0200])
>>> log_softmax(torch.tensor([1e4, -1e4]))
tensor([     0., -20000.])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["softmax", "log_softmax", "logsumexp", "Softmax"]


def logsumexp(z: torch.Tensor, dim: int = -1, keepdim: bool = False) -> torch.Tensor:
    """``log Σ_j exp(z_j)`` along ``dim``, shifted by the max (no overflow)."""
    m = z.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all -inf rows stay -inf, not NaN
    out = m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)


def log_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``(z_i - m) - log Σ_j exp(z_j - m)`` with ``m = max_j z_j``: exact in the tails where
    ``log(softmax(z))`` gives ``-inf``. The shift is subtracted before the small log-sum is
    added (``z - (m + log Σ)`` rounds the log-sum away when ``|m|`` is large, e.g. logits near 1e4).

    >>> z = torch.tensor([1e4, 1e4 - 1.0, 1e4 - 2.0])
    >>> bool(torch.allclose(log_softmax(z), torch.log_softmax(z, 0), rtol=0, atol=1e-6))
    True
    """
    m = z.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all -inf rows stay -inf, not NaN
    s = z - m
    return s - torch.log(torch.exp(s).sum(dim=dim, keepdim=True))


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``exp(z_i - m) / Σ_j exp(z_j - m)`` with ``m = max_j z_j``."""
    m = z.amax(dim=dim, keepdim=True)
    e = torch.exp(z - m)
    return e / e.sum(dim=dim, keepdim=True)


class Softmax(nn.Module):
    """Module form of :func:`softmax` (``log=True`` for :func:`log_softmax`).

    >>> Softmax()(torch.tensor([[1e4, 0.0]]))
    tensor([[1., 0.]])
    """

    def __init__(self, dim: int = -1, log: bool = False):
        super().__init__()
        self.dim, self.log = dim, log

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return log_softmax(z, self.dim) if self.log else softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, log={self.log}"
