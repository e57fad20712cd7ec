"""Mean with a 95% confidence interval (Student t) over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean_ci"]


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """``{"mean", "ci", "lo", "hi", "n", "min", "max"}``; ``ci`` is the half-width (0 for n = 1).

    >>> r = mean_ci([1.0, 2.0, 3.0]); round(r["mean"], 3), round(r["ci"], 3)
    (2.0, 2.484)
    """
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        raise ValueError("mean_ci needs at least one value; got an empty sequence")
    m = sum(vals) / n
    if n == 1 or any(math.isnan(v) for v in vals):
        half = 0.0 if n == 1 else float("nan")
    else:
        from scipy import stats

        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": m, "ci": half, "lo": m - half, "hi": m + half, "n": n, "min": min(vals), "max": max(vals)}
