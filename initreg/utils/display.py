"""Tables for people: a plain-text ``__str__`` and a notebook ``_repr_html_`` from one description.

A class mixes in `TableDisplay` and says what its table holds in ``display_table()``
(title, column names, rows of cell strings, notes under the table). ``print(obj)`` then
shows an aligned text table and Jupyter renders an HTML table (cells escaped).

>>> class Scores(TableDisplay):
...     def display_table(self):
...         return Table("scores", ["name", "value"], [["a", "1.0"], ["bb", "22"]], ["two rows"])
>>> print(Scores())
scores
name  value
----  -----
a     1.0
bb    22
two rows
>>> "<th>name</th>" in Scores()._repr_html_()
True
"""

from __future__ import annotations

import html
from typing import NamedTuple

__all__ = ["Table", "TableDisplay", "text_table", "html_table"]


class Table(NamedTuple):
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = []


def text_table(t: Table) -> str:
    """Columns padded to their widest cell; numbers-looking cells are not re-formatted."""
    widths = [len(c) for c in t.columns]
    for row in t.rows:
        widths = [max(w, len(str(cell))) for w, cell in zip(widths, row)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = ([t.title] if t.title else []) + [line(t.columns), line(["-" * w for w in widths])]
    out += [line(r) for r in t.rows] + list(t.notes)
    return "\n".join(out)


def html_table(t: Table) -> str:
    """A self-contained HTML table (every cell escaped)."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in t.rows)
    cap = f"<caption style='text-align:left'><b>{e(t.title)}</b></caption>" if t.title else ""
    notes = "".join(f"<div>{e(n)}</div>" for n in t.notes)
    return f"<div><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>"


class TableDisplay:
    """Mixin: ``__str__`` and ``_repr_html_`` from ``display_table()``."""

    def display_table(self) -> Table:  # pragma: no cover - each class defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return text_table(self.display_table())

    def _repr_html_(self) -> str:
        return html_table(self.display_table())
