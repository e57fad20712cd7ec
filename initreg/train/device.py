"""Where and in which precision `fit` trains: ``device`` and ``precision`` of `TrainConfig`.

``device``: ``auto`` (CUDA if present, else Apple MPS, else CPU) | ``cpu`` | ``cuda`` |
``mps``. Asking for a device that is not present is a `ConfigError` that says what is.

``precision``: ``fp32`` (no autocast) | ``bf16`` | ``fp16`` — mixed precision with
``torch.autocast`` (Micikevicius et al. 2018, "Mixed Precision Training"): weights,
optimizer state and gradients stay fp32; matmuls run in the low precision. ``fp16`` adds
loss scaling (``torch.amp.GradScaler``) against gradient underflow; ``bf16`` needs none
(same exponent range as fp32).

>>> resolve_device("cpu")
device(type='cpu')
>>> with autocast("bf16", torch.device("cpu")):
...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
torch.bfloat16
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from ..errors import ConfigError

__all__ = ["Device", "Precision", "resolve_device", "autocast", "make_scaler", "available_devices", "cpu_has_bf16",
           "warn_if_slow"]

Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["fp32", "bf16", "fp16"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The device kinds present on this machine (``cpu`` always)."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps_available() else [])


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` → the best present device; a named device must be present."""
    if isinstance(name, torch.device):
        name = str(name)
    kind = name.split(":")[0]
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name!r} is not available here (torch {torch.__version__}, "
                              f"torch.cuda.is_available() is False); available: {', '.join(available_devices())}. "
                              "Use device='cpu' or 'auto'")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device={name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return dev
    if kind == "mps":
        if not _mps_available():
            raise ConfigError(f"device={name!r} is not available here (no Apple MPS backend); available: "
                              f"{', '.join(available_devices())}. Use device='cpu' or 'auto'")
        return torch.device("mps")
    raise ConfigError(f"device must be one of auto, cpu, cuda, cuda:N, mps; got device={name!r}")


def autocast(precision: str, device: torch.device):
    """The autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision in _DTYPES:
        return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])
    raise ConfigError(f"precision must be one of fp32, bf16, fp16; got precision={precision!r}")


def make_scaler(precision: str, device: torch.device):
    """A ``GradScaler`` for fp16 (loss scaling), else None."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 matmul instructions (AVX512-BF16 or AMX); on others
    bf16 autocast is emulated and usually *slower* than fp32."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


_warned: set[tuple[str, str]] = set()


def warn_if_slow(precision: str, device: torch.device) -> None:
    """Warn (once per process) when low precision on this CPU will be slower than fp32.

    Without AVX512-BF16 / AMX, oneDNN emulates bf16 (and fp16) matmuls on the CPU: measured
    5–6× *slower* than fp32 on an AVX2-only EPYC (see docs/speed.md).
    """
    import warnings

    if precision == "fp32" or device.type != "cpu" or (precision == "bf16" and cpu_has_bf16()):
        return
    if (precision, device.type) not in _warned:
        _warned.add((precision, device.type))
        warnings.warn(f"precision={precision!r} on this CPU (no native {precision} matmul instructions) is emulated "
                      "and usually slower than fp32; results are still correct", stacklevel=3)
