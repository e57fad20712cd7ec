"""`LowRankLinear`: two linear layers in a row with no nonlinearity — a bottleneck.

``y = B(Ax) + b`` with ``A ∈ R^{k×m}``, ``B ∈ R^{n×k}``: the product ``BA`` is one linear map
of rank ≤ k, with ``k(m+n)`` parameters instead of ``mn``. When the true map is low-rank and
data is scarce this constraint regularizes; with the wrong k it underfits (or, on data
without such structure, need not help). See e.g. Sainath et al. (2013), "Low-rank matrix
factorization for deep neural network training with high-dimensional output targets".
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["LowRankLinear"]


class LowRankLinear(nn.Module):
    """A rank-``rank`` linear map ``in_features → rank → out_features``.

    Args:
        in_features: m.
        out_features: n.
        rank: k, the bottleneck width; ``1 <= k``.
        bias: add a bias after the second map.

    >>> layer = LowRankLinear(100, 50, rank=4)
    >>> torch.linalg.matrix_rank(layer.effective_weight()).item()
    4
    >>> layer(torch.zeros(3, 100)).shape
    torch.Size([3, 50])
    """

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features), ("rank", rank)):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"LowRankLinear: {name} must be a positive integer; got {name}={v!r}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.down = nn.Linear(in_features, rank, bias=False)
        self.up = nn.Linear(rank, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(x))

    def effective_weight(self) -> torch.Tensor:
        """The single ``(out, in)`` matrix ``B A`` this layer computes."""
        return self.up.weight @ self.down.weight

    def num_full_parameters(self) -> int:
        """Parameters a full ``nn.Linear`` of the same shape would have (without bias)."""
        return self.in_features * self.out_features

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}"
