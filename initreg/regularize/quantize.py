"""Weight quantization: post-training round-trip, quantization-aware training, real int8.

Formats (registry `quant_formats`): ``fp16``, ``bf16``, ``fp8_e4m3``, ``fp8_e5m2``,
``fp4_e2m1``, ``int8``, ``int4``. 16-bit formats are a plain cast. The 8- and 4-bit formats
are *scaled*: symmetric absmax scaling, one scale per tensor (``per_tensor``) or per output
channel (``per_channel``, axis 0 in torch's ``(out, in, *kernel)`` convention)::

    s = max|W| / q_max          q(W) = s · round_fmt(W / s)

with ``q_max`` = 127 (int8), 7 (int4), 448 (e4m3), 57344 (e5m2), 6 (e2m1). ``round_fmt``
rounds to the nearest value of the format (ties to even). The fp8 casts are PyTorch's
``float8_e4m3fn`` / ``float8_e5m2`` dtypes (Micikevicius et al. 2022, "FP8 Formats for Deep
Learning"); fp4 e2m1 (the OCP Microscaling element type: values 0, ±0.5, ±1, ±1.5, ±2, ±3,
±4, ±6) is rounded here, since PyTorch has only a packed storage dtype for it.

Quantization-aware training (Jacob et al. 2018, "Quantization and Training of Neural Networks
for Efficient Integer-Arithmetic-Only Inference") trains through fake quantization with the
straight-through estimator (Bengio et al. 2013): the forward uses ``q(W)``, the backward
treats ``q`` as the identity, ``∂L/∂W := ∂L/∂q(W)``.

Real int8 inference on CPU uses torchao's ``Int8DynamicActivationInt8WeightConfig`` when
torchao is installed, else PyTorch's dynamic quantization (``torch.ao.quantization``).

>>> w = torch.tensor([[0.6, -1.0, 0.3]])
>>> (quantize_tensor(w, "int4") * 7).round().tolist()   # scale 1/7: 0.6 -> 4/7, 0.3 -> 2/7
[[4.0, -7.0, 2.0]]
>>> quantize_tensor(torch.tensor([500.0, 3.3]), "fp8_e4m3", granularity="none").tolist()
[448.0, 3.25]
"""

from __future__ import annotations

import copy
import io
import logging
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..errors import ConfigError
from ..registry import Registry
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = [
    "QuantFormat", "quant_formats", "get_format", "round_fp4_e2m1", "quantize_tensor", "fake_quantize",
    "quantize_weights_", "quantizable", "sqnr_db", "model_sqnr", "weight_bytes", "FakeQuantize",
    "prepare_qat_", "finish_qat_", "QAT", "int8_inference", "measure_int8", "state_dict_bytes",
]

Granularity = Literal["per_channel", "per_tensor", "none"]
GRANULARITIES = ("per_channel", "per_tensor", "none")


@dataclass(frozen=True)
class QuantFormat:
    """A number format: its bits, whether values are scaled into it, and its rounding."""

    name: str
    bits: int
    scaled: bool  # absmax scaling into [-qmax, qmax] before rounding
    qmax: float  # largest representable magnitude (after scaling)
    round: Callable[[torch.Tensor], torch.Tensor]  # fp32 -> nearest representable value, as fp32
    description: str = ""

    def __repr__(self) -> str:
        return f"QuantFormat({self.name!r}, bits={self.bits})"


quant_formats: Registry = Registry("quantization format")


def _cast(dtype: torch.dtype) -> Callable[[torch.Tensor], torch.Tensor]:
    def f(x: torch.Tensor) -> torch.Tensor:
        return x.to(dtype).to(x.dtype)

    return f


def _cast_sat(dtype: torch.dtype) -> Callable[[torch.Tensor], torch.Tensor]:
    m = torch.finfo(dtype).max

    def f(x: torch.Tensor) -> torch.Tensor:  # saturate: a cast of an out-of-range value is not defined
        return x.clamp(-m, m).to(dtype).to(x.dtype)

    return f


def _int_round(qmax: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x).clamp_(-qmax, qmax)  # torch.round: half to even

    return f


_FP4_GRID = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
_FP4_EVEN = torch.tensor([True, False, True, False, True, False, True, False])  # mantissa bit 0


def round_fp4_e2m1(x: torch.Tensor) -> torch.Tensor:
    """Round to the nearest fp4 e2m1 value (ties to even mantissa), saturating at ±6.

    >>> round_fp4_e2m1(torch.tensor([0.25, 0.7, 2.5, 5.0, 9.0, -1.3])).tolist()
    [0.0, 0.5, 2.0, 4.0, 6.0, -1.5]
    """
    grid, even = _FP4_GRID.to(x.device, x.dtype), _FP4_EVEN.to(x.device)
    a = x.abs().clamp(max=6.0)
    hi = torch.bucketize(a, grid).clamp(max=len(grid) - 1)  # first grid value >= a
    lo = (hi - 1).clamp(min=0)
    glo, ghi = grid[lo], grid[hi]
    dlo, dhi = a - glo, ghi - a
    pick_hi = (dhi < dlo) | ((dhi == dlo) & even[hi] & ~even[lo])
    return torch.where(pick_hi, ghi, glo) * torch.sign(x)


def _register(name: str, bits: int, scaled: bool, qmax: float, fn: Callable, description: str) -> None:
    quant_formats.register(name, QuantFormat(name, bits, scaled, qmax, fn, description), description=description)


_register("fp16", 16, False, 65504.0, _cast(torch.float16), "IEEE half precision (5 exponent, 10 mantissa bits)")
_register("bf16", 16, False, torch.finfo(torch.bfloat16).max, _cast(torch.bfloat16), "bfloat16 (8 exponent, 7 mantissa bits)")
_register("fp8_e4m3", 8, True, 448.0, _cast_sat(torch.float8_e4m3fn), "fp8 e4m3 (torch.float8_e4m3fn), absmax-scaled; max 448")
_register("fp8_e5m2", 8, True, 57344.0, _cast_sat(torch.float8_e5m2), "fp8 e5m2 (torch.float8_e5m2), absmax-scaled; max 57344")
_register("fp4_e2m1", 4, True, 6.0, round_fp4_e2m1, "fp4 e2m1 (OCP MX element), absmax-scaled; values 0, 0.5, ..., 4, 6")
_register("int8", 8, True, 127.0, _int_round(127), "symmetric int8 in [-127, 127], absmax-scaled")
_register("int4", 4, True, 7.0, _int_round(7), "symmetric int4 in [-7, 7], absmax-scaled")


def get_format(fmt: str | QuantFormat) -> QuantFormat:
    """A `QuantFormat` by name (an unknown name lists the known ones)."""
    return fmt if isinstance(fmt, QuantFormat) else quant_formats.get(fmt)


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ConfigError(f"granularity must be one of {', '.join(GRANULARITIES)}; got granularity={granularity!r}")


def _scale(x: torch.Tensor, fmt: QuantFormat, granularity: str) -> torch.Tensor:
    if granularity == "per_channel" and x.ndim >= 2:
        amax = x.detach().abs().amax(dim=tuple(range(1, x.ndim)), keepdim=True)
    elif granularity == "none":
        return torch.ones((), dtype=x.dtype, device=x.device)
    else:  # per_tensor (and per_channel on a 1-D tensor)
        amax = x.detach().abs().amax()
    s = amax / fmt.qmax
    return torch.where(s > 0, s, torch.ones_like(s))  # an all-zero channel stays zero


def quantize_tensor(x: torch.Tensor, fmt: str | QuantFormat, *, granularity: Granularity = "per_channel") -> torch.Tensor:
    """Round-trip ``x`` through ``fmt``: the fp32 tensor of the values the format stores.

    Scaled formats use symmetric absmax scales (``per_channel``: one per index of axis 0;
    ``per_tensor``: one; ``none``: no scaling, values saturate at the format's max). 16-bit
    formats ignore ``granularity``. Not differentiable usefully (rounding has zero gradient);
    use `fake_quantize` for training.
    """
    f = get_format(fmt)
    _check_granularity(granularity)
    if not f.scaled:
        return f.round(x)
    if x.numel() == 0:
        return x.clone()
    s = _scale(x, f, granularity)
    return f.round(x / s) * s


def fake_quantize(x: torch.Tensor, fmt: str | QuantFormat, *, granularity: Granularity = "per_channel") -> torch.Tensor:
    """``q(x)`` in the forward pass, identity gradient in the backward (straight-through).

    >>> w = torch.tensor([0.3, -0.9], requires_grad=True)
    >>> fake_quantize(w, "int4").sum().backward(); w.grad.tolist()
    [1.0, 1.0]
    """
    return x + (quantize_tensor(x, fmt, granularity=granularity) - x).detach()


def quantizable(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(name, module)`` of every Linear / Conv layer (the layers whose weights get quantized)."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            yield name, m


@torch.no_grad()
def quantize_weights_(model: nn.Module, fmt: str | QuantFormat, *, granularity: Granularity = "per_channel") -> nn.Module:
    """Post-training quantization in place: round-trip every Linear/Conv weight (biases stay fp32)."""
    f = get_format(fmt)
    _check_granularity(granularity)
    for _, m in quantizable(model):
        m.weight.copy_(quantize_tensor(m.weight, f, granularity=granularity))
    return model


def sqnr_db(x: torch.Tensor, xq: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio ``10·log10(‖x‖² / ‖x − xq‖²)`` in dB (inf if exact)."""
    noise = float(((x - xq).double() ** 2).sum())
    sig = float((x.double() ** 2).sum())
    return math.inf if noise == 0 else 10.0 * math.log10(sig / noise)


@torch.no_grad()
def model_sqnr(model: nn.Module, fmt: str | QuantFormat, *, granularity: Granularity = "per_channel") -> float:
    """SQNR (dB) of all Linear/Conv weights of ``model`` together, quantized to ``fmt``."""
    ws = [m.weight.detach().float() for _, m in quantizable(model)]
    qs = [quantize_tensor(w, fmt, granularity=granularity) for w in ws]
    return sqnr_db(torch.cat([w.flatten() for w in ws]), torch.cat([q.flatten() for q in qs]))


def weight_bytes(model: nn.Module, fmt: str | QuantFormat | None = None, *, granularity: Granularity = "per_channel") -> int:
    """Storage of the model's parameters with Linear/Conv weights packed in ``fmt``.

    Weights take ``bits/8`` bytes each (4-bit values packed two per byte), plus one fp32
    scale per channel (``per_channel``) or per tensor for scaled formats; every other
    parameter (biases, norms) stays fp32. ``fmt=None`` gives the fp32 size.
    """
    f = None if fmt is None else get_format(fmt)
    weights = {id(m.weight) for _, m in quantizable(model)}
    total = 0
    for p in model.parameters():
        if f is not None and id(p) in weights:
            total += math.ceil(p.numel() * f.bits / 8)
            if f.scaled and granularity != "none":
                total += 4 * (p.shape[0] if granularity == "per_channel" and p.ndim >= 2 else 1)
        else:
            total += 4 * p.numel()
    return total


class FakeQuantize(nn.Module):
    """A parametrization ``W ↦ fake_quantize(W)`` (see `prepare_qat_`)."""

    def __init__(self, fmt: str | QuantFormat, granularity: Granularity = "per_channel"):
        super().__init__()
        _check_granularity(granularity)
        self.fmt, self.granularity = get_format(fmt), granularity

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quantize(w, self.fmt, granularity=self.granularity)


def prepare_qat_(model: nn.Module, fmt: str | QuantFormat, *, granularity: Granularity = "per_channel") -> nn.Module:
    """Quantization-aware training: every Linear/Conv weight is fake-quantized in the forward.

    Uses ``torch.nn.utils.parametrize``: the trained parameter (the same tensor object, so an
    existing optimizer keeps working) lives on as ``parametrizations.weight.original``.
    """
    f = get_format(fmt)
    for _, m in quantizable(model):
        if not parametrize.is_parametrized(m, "weight"):
            parametrize.register_parametrization(m, "weight", FakeQuantize(f, granularity))
    return model


def finish_qat_(model: nn.Module) -> nn.Module:
    """Remove the fake-quant parametrizations, leaving the quantized values as the weights."""
    for _, m in quantizable(model):
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return model


class QAT(Callback):
    """Quantization-aware training as a `fit` callback.

    The fake quantization is attached before `fit` builds its optimizer (in ``__init__``
    when a model is given, else call `prepare_qat_` yourself); at the end of training the
    weights are left quantized (``finish=True``) so the saved model holds ``q(W)``.
    """

    def __init__(self, fmt: str = "int8", granularity: Granularity = "per_channel", finish: bool = True):
        _check_granularity(granularity)
        self.fmt, self.granularity, self.finish = get_format(fmt), granularity, finish

    def on_fit_start(self, state: TrainState) -> None:
        # `prepare_qat_` keeps the parameter objects, so the optimizer `fit` already built still updates them.
        prepare_qat_(state.model, self.fmt, granularity=self.granularity)

    def on_fit_end(self, state: TrainState) -> None:
        if self.finish:
            finish_qat_(state.model)


@regularizers.register("qat", description="quantization-aware training: fake-quantized weights, straight-through gradients")
def qat(format: str = "int8", granularity: Granularity = "per_channel") -> QAT:
    """``regularize: [{name: qat, format: int4}]``; formats: `quant_formats`."""
    get_format(format)
    return QAT(format, granularity)


# ---- real int8 inference -------------------------------------------------------------------

def _torchao():
    logging.getLogger("torchao").setLevel(logging.ERROR)  # it logs missing CUDA kernels on CPU
    pytree = logging.getLogger("torch.utils._pytree")  # torchao 0.18 on torch 2.13 logs a deprecation on import
    level = pytree.level
    pytree.setLevel(logging.ERROR)
    try:
        import torchao.quantization as tq
    finally:
        pytree.setLevel(level)

    return tq


def int8_inference(model: nn.Module, *, backend: Literal["auto", "torchao", "dynamic"] = "auto") -> tuple[nn.Module, str]:
    """A copy of ``model`` whose Linear layers run int8 on CPU; returns ``(model, backend)``.

    ``torchao``: ``quantize_(m, Int8DynamicActivationInt8WeightConfig())`` (int8 weights,
    per-token dynamic int8 activations). ``dynamic``: ``torch.ao.quantization.quantize_dynamic``
    (deprecated upstream). ``auto`` picks torchao when it imports. Conv layers stay fp32.
    """
    m = copy.deepcopy(model).eval()
    if backend not in ("auto", "torchao", "dynamic"):
        raise ConfigError(f"backend must be 'auto', 'torchao' or 'dynamic'; got backend={backend!r}")
    if backend in ("auto", "torchao"):
        try:
            tq = _torchao()
        except ImportError:
            if backend == "torchao":
                raise ConfigError("backend='torchao' needs the torchao package: pip install torchao") from None
        else:
            tq.quantize_(m, tq.Int8DynamicActivationInt8WeightConfig())
            return m, "torchao"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8), "dynamic"


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the size of the saved model."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


@torch.no_grad()
def measure_int8(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *, repeats: int = 20,
                 backend: str = "auto", latency_batch: int = 256) -> dict[str, Any]:
    """fp32 vs int8 in one run: saved size, median latency, agreement (and accuracy with ``y``).

    Latency is timed on the first ``latency_batch`` rows of ``x``, fp32 and int8 interleaved
    ``repeats`` times. Returns ``{"backend", "bytes_fp32", "bytes_int8", "size_ratio",
    "ms_fp32", "ms_int8", "speedup", "agreement"}`` (+ ``"acc_fp32", "acc_int8"``), where
    ``agreement`` is the fraction of equal argmax predictions on ``x``.
    """
    model = model.eval()
    qm, used = int8_inference(model, backend=backend)  # type: ignore[arg-type]
    xb = x[:latency_batch]
    for _ in range(1):  # warm-up
        model(xb), qm(xb)
    t32, t8 = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(xb)
        t1 = time.perf_counter()
        qm(xb)
        t2 = time.perf_counter()
        t32.append(t1 - t0)
        t8.append(t2 - t1)
    b32, b8 = state_dict_bytes(model), state_dict_bytes(qm)
    ms32, ms8 = 1e3 * statistics.median(t32), 1e3 * statistics.median(t8)
    p32, p8 = model(x).argmax(1), qm(x).argmax(1)
    res = {"backend": used, "bytes_fp32": b32, "bytes_int8": b8, "size_ratio": b32 / b8, "ms_fp32": ms32,
           "ms_int8": ms8, "speedup": ms32 / ms8, "agreement": float((p32 == p8).float().mean())}
    if y is not None:
        res["acc_fp32"], res["acc_int8"] = float((p32 == y).float().mean()), float((p8 == y).float().mean())
    return res
