"""A small inline forest plot as SVG text: one claim's per-seed values, its interval with the
mean, and the threshold, on one line of a table. No plotting library: the report stays a single
file that opens offline and the plot scales with the page.

>>> svg = forest_svg([1.0, 2.0, 3.0], (0.5, 3.5), 2.0, threshold=0.0, direction=">",
...                  verdict="holds", label="holds")
>>> svg.startswith("<svg") and svg.count("<circle") == 4
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

__all__ = ["forest_svg", "VERDICT_COLOURS"]

VERDICT_COLOURS = {"holds": "#0a7d2c", "does_not_hold": "#b00020", "inconclusive": "#8a6d00", "error": "#6b4aa0"}


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _num(x: float) -> str:
    return f"{x:.4g}"


def forest_svg(values: Sequence[float | None], interval: Sequence[float | None] | None, effect: float | None, *,
               threshold: float | None, direction: str | None, verdict: str, label: str,
               width: int = 180, height: int = 34) -> str:
    """SVG markup: per-seed ``values`` as open dots, ``interval`` as a bar with ``effect`` as a
    filled dot, ``threshold`` as a dashed line with the claim's side (``direction`` ``">"``:
    above, ``"<"``: below) shaded. ``label`` is the accessible text (``<title>``, ``aria-label``).
    Returns ``""`` where there is no finite interval and effect to draw."""
    if interval is None or len(interval) != 2 or not all(_finite(v) for v in (*interval, effect)):
        return ""
    lo, hi = float(interval[0]), float(interval[1])
    pts = [float(v) for v in values if _finite(v)]
    span = [lo, hi, float(effect), *pts] + ([float(threshold)] if _finite(threshold) else [])
    a, b = min(span), max(span)
    if b - a < 1e-12:
        a, b = a - 1.0, b + 1.0
    pad = 0.08 * (b - a)
    a, b = a - pad, b + pad
    left, right = 4.0, width - 4.0

    def x(v: float) -> float:
        return left + (v - a) / (b - a) * (right - left)

    mid = height / 2
    colour = VERDICT_COLOURS.get(verdict, "#444")
    text = html.escape(label, quote=True)
    parts = [f'<svg class="forest" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{text}"><title>{text}</title>']
    if _finite(threshold) and direction in (">", "<"):
        t = x(float(threshold))
        x0, x1 = (t, right) if direction == ">" else (left, t)
        parts.append(f'<rect x="{x0:.1f}" y="2" width="{max(x1 - x0, 0):.1f}" height="{height - 4}" fill="#e7f3ea"/>')
    parts.append(f'<line x1="{left}" y1="{mid}" x2="{right}" y2="{mid}" stroke="#ddd" stroke-width="1"/>')
    if _finite(threshold):
        t = x(float(threshold))
        parts.append(f'<line x1="{t:.1f}" y1="2" x2="{t:.1f}" y2="{height - 2}" stroke="#555" stroke-width="1" '
                     f'stroke-dasharray="3,2"/>')
    for i, v in enumerate(pts):  # alternate above/below the bar so equal values stay visible
        y = mid - 7 if i % 2 == 0 else mid + 7
        parts.append(f'<circle cx="{x(v):.1f}" cy="{y}" r="2.5" fill="none" stroke="#333" stroke-width="1">'
                     f'<title>{_num(v)}</title></circle>')
    parts.append(f'<line x1="{x(lo):.1f}" y1="{mid}" x2="{x(hi):.1f}" y2="{mid}" stroke="{colour}" '
                 f'stroke-width="4" stroke-linecap="round"/>')
    parts.append(f'<circle cx="{x(float(effect)):.1f}" cy="{mid}" r="4" fill="{colour}" stroke="#fff" '
                 f'stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)
