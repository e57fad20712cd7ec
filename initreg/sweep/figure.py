"""The sweep figure: the metric against each swept parameter, mean ± 95% CI over seeds."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["plot_sweep", "aggregate"]


def aggregate(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """One entry per parameter setting: ``params``, ``n`` finished seeds, ``diverged`` and
    ``pruned`` counts and ``mean_ci`` of ``metric`` over the seeds that finished (``done``)."""
    from ..utils.stats import mean_ci

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[json.dumps(r["params"], sort_keys=True)].append(r)
    out = []
    for key, rs in groups.items():
        vals = [r["metrics"][metric] for r in rs if r["status"] == "done" and metric in r["metrics"]
                and not math.isnan(r["metrics"][metric])]
        out.append({"params": json.loads(key), "n": len(vals), "runs": len(rs),
                    "diverged": sum(r["status"] == "diverged" for r in rs),
                    "pruned": sum(r["status"] == "pruned" for r in rs),
                    "failed": sum(r["status"] == "failed" for r in rs),
                    "stat": mean_ci(vals) if vals else None})
    return out


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plot_sweep(rows: list[dict[str, Any]], metric: str, path: str | Path | None = None,
               params: list[str] | None = None):
    """One panel per swept parameter: ``metric`` (mean ± 95% CI over seeds) against its value;
    settings that share the other parameters are joined by a line. Diverged runs are left
    out of the means and counted in the title. Returns the ``Figure``; with ``path`` it is
    also saved there as a PNG."""
    from ..plot import new_figure, save_figure

    agg = aggregate(rows, metric)
    params = params or sorted({k for a in agg for k in a["params"]})
    fig, axes = new_figure(len(params), size=(4.2, 3.4))
    axes = list(axes) if len(params) > 1 else [axes]
    n_div = sum(a["diverged"] for a in agg)
    for ax, p in zip(axes, params):
        values = sorted({json.dumps(a["params"].get(p)) for a in agg}, key=lambda s: (not _num(json.loads(s)), json.loads(s) if _num(json.loads(s)) else s))
        numeric = all(_num(json.loads(v)) for v in values)
        pos = {v: (json.loads(v) if numeric else i) for i, v in enumerate(values)}
        lines: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for a in agg:
            if a["stat"] is None:
                continue
            others = json.dumps({k: v for k, v in a["params"].items() if k != p}, sort_keys=True)
            ci = a["stat"]["ci"] if not math.isnan(a["stat"]["ci"]) else 0.0
            lines[others].append((pos[json.dumps(a["params"].get(p))], a["stat"]["mean"], ci))
        for others, pts in sorted(lines.items()):
            pts.sort()
            xs, ys, es = zip(*pts)
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in json.loads(others).items()) or None
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=label if len(lines) <= 8 else None,
                        linestyle="-" if len(pts) > 1 else "none")
        if numeric and len(values) > 1:
            xs_all = [pos[v] for v in values]
            if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 20:
                ax.set_xscale("log")
        else:
            ax.set_xticks(list(range(len(values))), [str(json.loads(v)) for v in values], rotation=20)
        ax.set_xlabel(p)
        ax.set_ylabel(f"{metric} (mean ± 95% CI over seeds)")
        if 1 < len(lines) <= 8:
            ax.legend(fontsize=7)
    fig.suptitle(f"sweep: {metric}" + (f" ({n_div} diverged run(s) left out)" if n_div else ""))
    if path is not None:
        save_figure(fig, path)
    return fig
