"""Tables for the terminal that never lose a number: at 80 columns, or piped into a file,
a cell folds onto more lines instead of being cut with an ellipsis."""

from __future__ import annotations

from rich.table import Table

__all__ = ["new_table"]


def new_table(title: str | None, *columns: str, right: tuple[str, ...] = ()) -> Table:
    """A rich `Table` whose every column folds (``overflow="fold"``) rather than truncates;
    columns named in ``right`` are right-aligned.

    >>> from rich.console import Console
    >>> t = new_table(None, "name", "value", right=("value",))
    >>> t.add_row("relu_sigma0.01_std_ratio_at_layer_30", "1.59e-10 ± 5.00e-10")
    >>> Console(width=40).print(t)
    ┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓
    ┃ name              ┃            value ┃
    ┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩
    │ relu_sigma0.01_st │       1.59e-10 ± │
    │ d_ratio_at_layer_ │         5.00e-10 │
    │ 30                │                  │
    └───────────────────┴──────────────────┘
    """
    t = Table(title=title)
    for c in columns:
        t.add_column(c, overflow="fold", justify="right" if c in right else "left")
    return t
