"""Matplotlib helpers: a consistent style, atomic PNG saves, figures a notebook can show.

Importing this module never switches matplotlib's backend (a notebook keeps its inline
plots): figures are ``matplotlib.figure.Figure`` objects made without pyplot, so they need
no backend to draw or save, are not shown twice in a notebook, and are never left open. The
CLI and the lab's workers set ``MPLBACKEND=Agg`` for anything else that uses pyplot.
Needs the ``plot`` extra (``pip install 'initreg[plot]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .utils.io import atomic_write
from .utils.optional import require

_figure = require("matplotlib.figure", extra="plot")

__all__ = ["new_figure", "save_figure", "plot_history"]


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 3.6), **kw: Any):
    """``(fig, axes)`` with one panel of ``size`` per cell (a pyplot-free ``Figure``)."""
    fig = _figure.Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes.ravel() if nrows * ncols > 1 else axes[0, 0]


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save as PNG atomically; returns the path.

    The saved area is the tight bounding box of everything drawn (``bbox_inches="tight"``):
    axis labels, titles and legends that stick out of the canvas are kept, never clipped. A
    figure without a layout engine (e.g. constrained layout) gets ``tight_layout`` first."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    return atomic_write(path, lambda t: fig.savefig(t, dpi=dpi, format="png", bbox_inches="tight", pad_inches=0.05))


def plot_history(history, path: str | Path | None = None, title: str = ""):
    """Loss and accuracy curves (train and validation) per evaluation; returns the ``Figure``.

    With ``path`` the figure is also saved there as a PNG. In a notebook the returned figure
    shows inline."""
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
    if path is not None:
        save_figure(fig, path)
    return fig
