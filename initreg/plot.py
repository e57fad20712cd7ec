"""Matplotlib helpers: a consistent style, atomic PNG saves, figures a notebook can show.

Importing this module never switches matplotlib's backend (a notebook keeps its inline
plots): figures are ``matplotlib.figure.Figure`` objects made without pyplot, so they need
no backend to draw or save, are not shown twice in a notebook, and are never left open. The
CLI and the lab's workers set ``MPLBACKEND=Agg`` for anything else that uses pyplot.
Needs the ``plot`` extra (``pip install 'initreg[plot]'``).

Figures in other languages: inside ``with figure_translations({"ru": table}):`` every
`save_figure` also writes ``name.ru.png``, the same figure with each text the table
translates (titles, axis labels, legend entries, annotations, text tick labels) replaced. The
lab runs each claim this way with the claim's glossary, so its report can show the figures in
the reader's language.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .utils.io import atomic_write
from .utils.optional import require

_figure = require("matplotlib.figure", extra="plot")

__all__ = ["Figure", "new_figure", "save_figure", "plot_history", "figure_translations", "translated_texts"]

Translate = Callable[[str], "str | None"]  # English text -> its translation, or None to keep it
_TRANSLATIONS: contextvars.ContextVar[dict[str, Translate] | None] = contextvars.ContextVar(
    "initreg_figure_translations", default=None)


@contextlib.contextmanager
def figure_translations(tables: Mapping[str, Translate]) -> Iterator[None]:
    """While active, `save_figure` also saves ``<stem>.<lang><suffix>`` for each ``lang`` in
    ``tables`` (``lang`` → a function from a figure's English text to its translation or None).

    >>> import tempfile, pathlib
    >>> fig, ax = new_figure(); _ = ax.set_title("loss")
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with figure_translations({"ru": {"loss": "потери"}.get}):
    ...     _ = save_figure(fig, d / "f.png")
    >>> sorted(p.name for p in d.iterdir()), ax.get_title()
    (['f.png', 'f.ru.png'], 'loss')
    """
    token = _TRANSLATIONS.set({**(_TRANSLATIONS.get() or {}), **tables})
    try:
        yield
    finally:
        _TRANSLATIONS.reset(token)


@contextlib.contextmanager
def translated_texts(fig, translate: Translate) -> Iterator[int]:
    """Inside the block every text of ``fig`` that ``translate`` knows shows its translation
    (titles, axis labels, legend entries, annotations, and tick labels set as text or drawn from
    categories; numeric tick labels stay); yields how many texts changed; restores them after."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    undo: list[Callable[[], None]] = []
    changed = 0
    for t in fig.findobj(Text):
        old = t.get_text()
        new = translate(old) if old.strip() else None
        if new is not None and new != old:
            t.set_text(new)
            undo.append(lambda t=t, old=old: t.set_text(old))
            changed += 1
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            for get, set_ in ((axis.get_major_formatter, axis.set_major_formatter),
                              (axis.get_minor_formatter, axis.set_minor_formatter)):
                f = get()
                if isinstance(f, FixedFormatter):
                    seq = list(f.seq)
                    new_seq = [(translate(x) if isinstance(x, str) and x.strip() else None) or x for x in seq]
                    if new_seq != seq:
                        f.seq = new_seq
                        undo.append(lambda f=f, seq=seq: setattr(f, "seq", seq))
                        changed += 1
                elif isinstance(f, StrCategoryFormatter):  # its drawn labels were counted as texts above
                    set_(FuncFormatter(lambda x, pos, f=f: (lambda s: translate(s) or s)(f(x, pos))))
                    undo.append(lambda set_=set_, f=f: set_(f))
    try:
        yield changed
    finally:
        for u in reversed(undo):
            u()



class Figure(_figure.Figure):
    """A pyplot-free ``matplotlib.figure.Figure`` that Jupyter shows inline when it is a cell's value.

    IPython's inline backend registers its PNG printer only once pyplot has been imported;
    without pyplot it falls back to ``_repr_png_``, which renders the figure as `save_figure`
    would (tight bounding box). Where a printer for figures is registered, IPython uses that one.
    """

    def _repr_png_(self) -> bytes:
        if self.get_layout_engine() is None:
            self.tight_layout()
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05)
        return buf.getvalue()


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 3.6), **kw: Any):
    """``(fig, axes)`` with one panel of ``size`` per cell (a pyplot-free ``Figure``)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes.ravel() if nrows * ncols > 1 else axes[0, 0]


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save as PNG atomically; returns the path. Inside `figure_translations` it also saves
    the figure once per language, as ``<stem>.<lang>.png`` (none where no text is translated).

    The saved area is the tight bounding box of everything drawn (``bbox_inches="tight"``):
    axis labels, titles and legends that stick out of the canvas are kept, never clipped. A
    figure without a layout engine (e.g. constrained layout) gets ``tight_layout`` first."""
    path = Path(path)
    relayout = fig.get_layout_engine() is None

    def write(p: Path) -> Path:
        if relayout:
            fig.tight_layout()
        return atomic_write(p, lambda t: fig.savefig(t, dpi=dpi, format="png", bbox_inches="tight", pad_inches=0.05))

    out = write(path)
    for lang, translate in (_TRANSLATIONS.get() or {}).items():  # inside figure_translations: the same figure per language
        other = path.with_name(f"{path.stem}.{lang}{path.suffix}")
        with translated_texts(fig, translate) as changed:
            if changed:
                write(other)
            else:
                other.unlink(missing_ok=True)  # nothing to translate: the report shows the English figure
        if changed and relayout:
            fig.tight_layout()
    return out


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
