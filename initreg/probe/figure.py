"""The probe's figure: forward and backward variance per layer, measured vs. theory (log scale)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .report import ProbeReport

__all__ = ["plot_profile"]


def plot_profile(reports: ProbeReport | Sequence[ProbeReport], path: str | Path | None = None, *,
                 labels: Sequence[str] | None = None, title: str = ""):
    """Two panels: E[h²] of each layer's output (forward) and E[(∂L/∂h)²] (backward).

    Measured values are solid lines with dots, the mean-field prediction dashed, the
    across-batch signal (what the verdict's *signal* ratio uses) dotted; all
    relative to the input (forward) and to the last layer (backward). Several reports
    (e.g. one per init scheme) share the panels. Returns the ``Figure`` (shown inline in a
    notebook); with ``path`` it is also saved there as a PNG.
    """
    from ..plot import new_figure, save_figure

    reps = [reports] if isinstance(reports, ProbeReport) else list(reports)
    names = list(labels) if labels is not None else [r.meta.get("label", f"net {i + 1}") for i, r in enumerate(reps)]
    fig, (af, ab) = new_figure(2, size=(5.4, 3.8))
    for i, (r, name) in enumerate(zip(reps, names)):
        color = f"C{i % 10}"
        idx = [row.index for row in r.layers]
        fwd = [row.fwd_ratio ** 2 for row in r.layers]
        af.semilogy(idx, fwd, "o-", color=color, ms=3, label=name)
        sig = [row.signal_ratio ** 2 for row in r.layers]
        if any(v == v and v > 0 for v in sig):
            af.semilogy(idx, sig, ":", color=color, alpha=0.6)
        th = [row.theory_fwd_ratio ** 2 if row.theory_fwd_ratio is not None else float("nan") for row in r.layers]
        if any(v == v for v in th):
            af.semilogy(idx, th, "--", color=color, alpha=0.8)
        bwd = [row.bwd_ratio ** 2 for row in r.layers]
        if any(v == v for v in bwd):
            ab.semilogy(idx, bwd, "o-", color=color, ms=3)
            tb = [row.theory_bwd_ratio ** 2 if row.theory_bwd_ratio is not None else float("nan") for row in r.layers]
            if any(v == v for v in tb):
                ab.semilogy(idx, tb, "--", color=color, alpha=0.8)
        fb = r.first_bad
        if fb is not None:
            ax = af if fb["direction"] == "forward" else ab
            ax.axvline(fb["index"], color=color, lw=0.8, ls=":")
    t = r.thresholds
    for ax in (af, ab):
        lo, hi = _limits(ax)
        ax.axhspan(t.explode ** 2, hi, color="red", alpha=0.06)
        ax.axhspan(lo, t.vanish ** 2, color="blue", alpha=0.06)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("layer (execution order)")
    af.set_ylabel("E[h²] / E[x²]  (forward)")
    ab.set_ylabel("E[δ²] / E[δ_last²]  (backward)")
    af.set_title(f"{title} forward".strip())
    ab.set_title(f"{title} backward".strip())
    from matplotlib.lines import Line2D

    styles = [Line2D([], [], color="k", marker="o", ms=3, label="measured"),
              Line2D([], [], color="k", ls="--", label="mean-field theory"),
              Line2D([], [], color="k", ls=":", alpha=0.6, label="across-batch signal (forward)")]
    af.legend(fontsize=7, loc="best")
    ab.legend(handles=styles, fontsize=7, loc="best")
    if path is not None:
        save_figure(fig, path)
    return fig


def _limits(ax) -> tuple[float, float]:
    import math

    ys = [y for line in ax.lines for y in line.get_ydata() if y == y and 0 < y < math.inf]
    lo, hi = (min(ys), max(ys)) if ys else (1.0, 1.0)
    return max(min(lo / 10, 1e-5), 1e-300), min(max(hi * 10, 1e5), 1e300)
