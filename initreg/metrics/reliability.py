"""Reliability diagrams (Niculescu-Mizil & Caruana 2005; Guo et al. 2017, "On Calibration of
Modern Neural Networks").

Predictions are grouped into equal-width confidence bins (`reliability_bins`); each bar is
the accuracy of a bin, drawn against the diagonal ``accuracy = confidence`` of a perfectly
calibrated model. Bars below the diagonal: overconfident; above: underconfident. The gap
per bin is shaded and the title carries the expected calibration error
``ECE = Σ_b (|B_b|/n) · |acc(B_b) − conf(B_b)|``.

>>> import torch
>>> from initreg.plot import new_figure, save_figure
>>> p = torch.softmax(torch.randn(200, 10) * 3, 1); y = torch.randint(0, 10, (200,))
>>> fig, ax = new_figure()
>>> ece = plot_reliability(ax, p, y, title="random")
>>> 0 <= ece <= 1
True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from .calibration import expected_calibration_error, reliability_bins

__all__ = ["plot_reliability", "reliability_figure"]


def plot_reliability(ax, probs: torch.Tensor, y: torch.Tensor, *, bins: int = 15, title: str = "",
                     show_counts: bool = True) -> float:
    """Draw one reliability diagram on ``ax``; return the ECE.

    Args:
        probs: softmax outputs ``(N, C)``.
        y: labels ``(N,)`` (or soft ``(N, C)``: their argmax).
        bins: equal-width confidence bins (15, as in `expected_calibration_error`).
        show_counts: a light histogram of the share of predictions per bin (right axis).
    """
    if y.ndim == 2:
        y = y.argmax(1)
    probs = probs.detach().float().cpu()
    y = y.detach().cpu()
    b = reliability_bins(probs, y, bins)
    ece = expected_calibration_error(probs, y, bins)
    edges = b["edges"].numpy()
    width = edges[1] - edges[0]
    centers = edges[:-1] + width / 2
    has = (b["count"] > 0).numpy()
    acc, conf = b["accuracy"].numpy(), b["confidence"].numpy()
    ax.bar(centers[has], acc[has], width=width * 0.95, color="#4C72B0", edgecolor="white", label="accuracy")
    lo, hi = (acc[has] < conf[has]), (acc[has] >= conf[has])
    ax.bar(centers[has][lo], (conf - acc)[has][lo], bottom=acc[has][lo], width=width * 0.95, color="#DD8452",
           alpha=0.55, hatch="//", edgecolor="#DD8452", label="gap (overconfident)")
    ax.bar(centers[has][hi], (acc - conf)[has][hi], bottom=conf[has][hi], width=width * 0.95, color="#55A868",
           alpha=0.55, hatch="\\\\", edgecolor="#55A868", label="gap (underconfident)")
    ax.plot([0, 1], [0, 1], color="0.3", ls="--", lw=1, label="perfect calibration")
    if show_counts:
        share = (b["count"] / max(len(y), 1)).numpy()
        ax2 = ax.twinx()
        ax2.plot(centers[has], share[has], color="0.5", marker=".", lw=0.8, label="share of predictions")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("share of predictions", color="0.5", fontsize=8)
        ax2.tick_params(axis="y", labelsize=7, colors="0.5")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (max softmax)")
    ax.set_ylabel("accuracy")
    acc_all = float((probs.argmax(1) == y).float().mean()) if len(y) else float("nan")
    ax.set_title(f"{title}\nECE {ece:.3f}, accuracy {100 * acc_all:.1f}%".strip(), fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    return ece


def reliability_figure(panels: Mapping[str, tuple[torch.Tensor, torch.Tensor]], path: str | Path, *,
                       bins: int = 15, ncols: int | None = None) -> dict[str, float]:
    """One reliability diagram per ``{title: (probs, labels)}``, saved as a PNG; returns each ECE."""
    from ..plot import new_figure, save_figure

    n = len(panels)
    if n == 0:
        raise ValueError("reliability_figure needs at least one panel; got none")
    ncols = ncols or min(n, 4)
    nrows = -(-n // ncols)
    fig, axes = new_figure(ncols, nrows, size=(3.8, 3.6))
    axes = [axes] if n == 1 and not hasattr(axes, "__len__") else list(axes)
    out = {}
    for ax, (title, (p, y)) in zip(axes, panels.items()):
        out[title] = plot_reliability(ax, p, y, bins=bins, title=title)
    for ax in axes[n:]:
        ax.set_visible(False)
    save_figure(fig, path)
    return out
