"""The probe's statistics kernels: batch moments in a few tensor ops, no host reads where
avoidable. Shared by `Probe`'s hooks and by `ProbeCallback`.

>>> m, v, sv = moments(torch.tensor([[1.0, 3.0], [3.0, 5.0]]))
>>> m, v, sv
(3.0, 2.0, 1.0)
>>> float(sum_of_squares(torch.tensor([3.0, 4.0])))
25.0
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["Scratch", "as_float32", "sum_of_squares", "batch_sums", "batch_sums_fast", "moments", "finish_moments", "nonfinite",
           "CANCEL"]


class Scratch:
    """Reusable buffers of one statistic site (allocated on first use, reused every pass)."""

    __slots__ = ("buf", "ones")

    def __init__(self) -> None:
        self.buf: Tensor | None = None  # scratch for o − mean (no allocation per pass)
        self.ones: Tensor | None = None  # (1/B, …, 1/B): the batch mean as a BLAS gemv


def as_float32(t: Tensor) -> Tensor:
    """Half-precision tensors as float32 (statistics of fp16/bf16 values in fp32), others as they are."""
    dt = t.dtype
    return t.float() if dt is torch.float16 or dt is torch.bfloat16 else t


def sum_of_squares(t: Tensor) -> Tensor:
    """Σ t² as one BLAS dot product (cheaper than ``pow(2).sum()``, far cheaper than ``var``)."""
    v = t.view(-1) if t.is_contiguous() else t.reshape(-1)
    return torch.dot(v, v)


def nonfinite(v: Tensor) -> bool:
    return not math.isfinite(v.item())


def batch_sums(o: Tensor, check: bool = True, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(col, ss)``: the mean over the batch (dim 0) of every other entry, and
    ``Σ (o − col)²`` — the raw material of `moments`, in three tensor ops (``out``: a scratch
    tensor shaped like ``o`` for the difference, to avoid an allocation).

    With ``check`` (CPU), a sum that overflowed float32 (|o| ≳ 1e19) is redone in float64.
    """
    if o.ndim >= 2 and o.shape[0] > 1:
        col = o.mean(0)
        ss = sum_of_squares(torch.sub(o, col, out=out) if out is not None else o - col)
    else:
        col = o.reshape(-1)
        ss = o.new_tensor(math.nan)
    if check and o.device.type == "cpu" and o.dtype != torch.float64 and ss.numel() and o.ndim >= 2 \
            and o.shape[0] > 1 and nonfinite(ss) and math.isfinite(o.abs().max().item()):
        return batch_sums(o.double(), check=False)
    return col, ss


CANCEL = 0.1  # one-pass sums are kept when Σ(o − col)² ≥ this fraction of Σo² (rel. error ≲ 10·float32 eps·√n)


def batch_sums_fast(o: Tensor, site: Scratch) -> tuple[Tensor, Tensor | float]:
    """`batch_sums` without the overflow check, for the trainer callback.

    On the CPU, one pass without writing: ``col = (1/B)·oᵀ1`` (a BLAS gemv) and
    ``Σ(o − col)² = Σo² − B·‖col‖²`` (two dots), read back to catch cancellation (a host read
    is free on the CPU) — when the batch mean dominates (a collapsed signal: ``Σ(o − col)² <
    0.1·Σo²``), the sum is redone two-pass. Elsewhere (no host reads while training) and in
    that case: ``buf = o − col`` into the site's reused buffer, then ``ss = buf·buf``.
    """
    if o.ndim < 2 or o.shape[0] < 2:
        return o.reshape(-1), o.new_tensor(math.nan)
    b = o.shape[0]
    o2 = o if o.ndim == 2 else o.reshape(b, -1)
    if o.is_cpu:
        w = site.ones
        if w is None or w.shape[0] != b or w.dtype is not o.dtype:
            w = site.ones = torch.full((b,), 1.0 / b, dtype=o.dtype)
        col = torch.mv(o2.t(), w)  # (1/B)·oᵀ1: one BLAS gemv (torch.matmul adds ~4 µs of dispatch here)
        v = o2.view(-1) if o2.is_contiguous() else o2.reshape(-1)
        tot = torch.dot(v, v).item()  # host reads: free on the CPU
        one_pass = tot - b * torch.dot(col, col).item()
        if one_pass >= CANCEL * tot:
            return (col if o.ndim == 2 else col.view(o.shape[1:])), one_pass
    buf = site.buf
    if buf is None or buf.shape != o2.shape or buf.dtype != o.dtype or buf.device != o.device:
        buf = site.buf = torch.empty_like(o2, memory_format=torch.contiguous_format)
    col, ss = batch_sums(o2, check=False, out=buf)
    return (col if o.ndim == 2 else col.view(o.shape[1:])), ss


def moments(o: Tensor) -> tuple[float, float, float]:
    """``(mean, var, signal_var)`` of a batch ``o`` (batch on dim 0).

    ``signal_var`` is the variance across the batch, averaged over the other entries (how
    much ``o`` depends on the example); ``var = signal_var + Var(batch means)`` is the variance
    over all entries (law of total variance). Two-pass accurate, unlike ``E[o²] − E[o]²``.

    >>> m, v, sv = moments(torch.tensor([[1.0, 3.0], [3.0, 5.0]]))
    >>> m, v, sv
    (3.0, 2.0, 1.0)
    """
    return finish_moments(*batch_sums(o), o.numel())


def finish_moments(col: Tensor, ss: Tensor, n: int) -> tuple[float, float, float]:
    c = col.double()
    mean = float(c.mean()) if c.numel() else math.nan
    between = float(c.var(unbiased=False)) if c.numel() > 1 else 0.0
    sig = float(ss) / n if n else math.nan
    var = (sig if sig == sig else 0.0) + between
    return mean, var, sig
