"""Matplotlib helpers: a headless backend, a consistent style, atomic PNG saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen here; figures go to files
import matplotlib.pyplot as plt  # noqa: E402

from .utils.io import atomic_write  # noqa: E402

__all__ = ["plt", "new_figure", "save_figure", "plot_history"]


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 3.6), **kw: Any):
    """``(fig, axes)`` with one panel of ``size`` per cell."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kw)
    return fig, axes.ravel() if nrows * ncols > 1 else axes[0, 0]


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save as PNG atomically and close the figure.

    The saved area is the tight bounding box of everything drawn (``bbox_inches="tight"``):
    axis labels, titles and legends that stick out of the canvas are kept, never clipped. A
    figure without a layout engine (e.g. constrained layout) gets ``tight_layout`` first."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    p = atomic_write(path, lambda t: fig.savefig(t, dpi=dpi, format="png", bbox_inches="tight", pad_inches=0.05))
    plt.close(fig)
    return p


def plot_history(history, path: str | Path, title: str = "") -> Path:
    """Loss and accuracy curves (train and validation) per evaluation."""
    recs = history.records
    x = [r["epoch"] if "step" not in r else r["step"] for r in recs]
    fig, (a1, a2) = new_figure(2)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if any(key in r for r in recs):
            a1.plot(x, history.column(key), label=label)
    a1.set_xlabel("step")
    a1.set_ylabel("loss")
    a1.set_title(f"{title} loss".strip())
    a1.legend()
    for key, label in (("train_acc", "train"), ("val_acc", "validation")):
        if any(key in r for r in recs):
            a2.plot(x, history.column(key), label=label)
    a2.set_xlabel("step")
    a2.set_ylabel("accuracy")
    a2.set_title(f"{title} accuracy".strip())
    if a2.lines:
        a2.legend()
    return save_figure(fig, path)
