"""The lab's outputs: ``results.json``, ``summary.md`` and a self-contained ``index.html``
(figures embedded as base64, no external assets)."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from pathlib import Path
from typing import Any

from ..utils.io import write_json, write_text

__all__ = ["write_report", "format_value", "key_numbers", "verdict_text"]


def format_value(v: Any) -> str:
    """Short text for a number, a mean ± CI dict, a list or anything else."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.3g}" if (abs(v) >= 1e-3 or v == 0) and abs(v) < 1e5 else f"{v:.2e}"
    if isinstance(v, dict) and {"mean", "ci"} <= set(v):
        return f"{format_value(v['mean'])} ± {format_value(v['ci'])}"
    if isinstance(v, (list, tuple)):
        items = [format_value(x) for x in v[:8]]
        return "[" + ", ".join(items) + (", …" if len(v) > 8 else "") + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {format_value(x)}" for k, x in list(v.items())[:6]) + (", …" if len(v) > 6 else "") + "}"
    return str(v)


def key_numbers(rec: dict[str, Any], n: int = 4) -> str:
    """The first ``n`` scalar-ish numbers of a record, as ``name=value`` text."""
    parts = []
    for k, v in rec.get("numbers", {}).items():
        if isinstance(v, (int, float)) or (isinstance(v, dict) and "mean" in v):
            parts.append(f"{k}={format_value(v)}")
        if len(parts) >= n:
            break
    return ", ".join(parts)


def verdict_text(rec: dict[str, Any]) -> str:
    if rec.get("status") == "error":
        return "ERROR"
    return "holds" if rec.get("holds") else "does NOT hold"


def _md_table(recs: list[dict[str, Any]]) -> str:
    lines = ["| claim | title | verdict | key numbers | seconds |", "|---|---|---|---|---|"]
    for r in recs:
        nums = r.get("error", "") if r.get("status") == "error" else key_numbers(r)
        lines.append(f"| {r['claim']} | {r['title']} | {verdict_text(r)} | {nums.replace('|', '/')} | {r.get('seconds', 0):.1f} |")
    return "\n".join(lines)


def _summary_md(recs: list[dict[str, Any]], quick: bool, env: dict[str, Any]) -> str:
    held = sum(1 for r in recs if r.get("holds"))
    err = sum(1 for r in recs if r.get("status") == "error")
    out = [f"# initreg lab — {'quick' if quick else 'full'} settings", "",
           f"{held}/{len(recs)} claims hold, {err} error(s). initreg {env.get('initreg')}, torch {env.get('torch')}, git {env.get('git')}.",
           "", _md_table(recs), ""]
    for r in recs:
        out += [f"## {r['claim']} — {r['title']}", "", f"*Lecture:* {r.get('statement', '')}", "",
                f"*Criterion:* {r.get('criterion', '')}", "", f"*Verdict:* **{verdict_text(r)}**", ""]
        if r.get("status") == "error":
            out += ["```", r.get("error", ""), "```", ""]
        for k, v in r.get("numbers", {}).items():
            out.append(f"- {k}: {format_value(v)}")
        if r.get("notes"):
            out += ["", r["notes"]]
        out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}
th{background:#f3f3f3}.ok{color:#0a7d2c;font-weight:600}.bad{color:#b00020;font-weight:600}.err{color:#8a5a00;font-weight:600}
section{border-top:2px solid #ddd;margin-top:2em;padding-top:.5em}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:12px}.muted{color:#666;font-size:13px}code{background:#f3f3f3;padding:0 3px}
"""


def _cls(r: dict[str, Any]) -> str:
    return "err" if r.get("status") == "error" else ("ok" if r.get("holds") else "bad")


def _md_inline(text: str) -> str:
    """Tiny Markdown → HTML for notes: paragraphs, **bold**, `code`, '- ' lists."""
    import re

    out, in_list = [], False
    for block in text.strip().split("\n"):
        line = html.escape(block.strip())
        line = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", line)
        line = re.sub(r"`(.+?)`", r"<code>\1</code>", line)
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{line[2:]}</li>")
        else:
            if in_list:
                out.append("</ul>")
                in_list = False
            if line:
                out.append(f"<p>{line}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def _html(recs: list[dict[str, Any]], out: Path, quick: bool, env: dict[str, Any]) -> str:
    held = sum(1 for r in recs if r.get("holds"))
    rows = []
    for r in recs:
        nums = html.escape(r.get("error", "") if r.get("status") == "error" else key_numbers(r))
        rows.append(f"<tr><td><a href='#{r['claim']}'>{r['claim']}</a></td><td>{html.escape(r['title'])}</td>"
                    f"<td class='{_cls(r)}'>{verdict_text(r)}</td><td>{nums}</td><td>{r.get('seconds', 0):.1f}</td></tr>")
    secs = []
    for r in recs:
        figs = []
        for f in r.get("figures", []):
            p = out / "claims" / r["claim"] / f
            if p.exists() and p.suffix.lower() == ".png":
                b64 = base64.b64encode(p.read_bytes()).decode()
                figs.append(f"<img alt='{html.escape(f)}' src='data:image/png;base64,{b64}'>")
        nums = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(format_value(v))}</td></tr>"
                       for k, v in r.get("numbers", {}).items())
        err = f"<pre>{html.escape(r.get('traceback') or r.get('error', ''))}</pre>" if r.get("status") == "error" else ""
        settings = html.escape(", ".join(f"{k}={format_value(v)}" for k, v in (r.get("settings") or {}).items()))
        secs.append(f"""<section id="{r['claim']}"><h2>{r['claim']} — {html.escape(r['title'])}</h2>
<p><b>Lecture</b> ({html.escape(', '.join(r.get('lecture', [])))}): {html.escape(r.get('statement', ''))}</p>
<p><b>Criterion</b> (fixed before the run): {html.escape(r.get('criterion', ''))}</p>
<p><b>Verdict:</b> <span class="{_cls(r)}">{verdict_text(r)}</span>
<span class="muted">— seeds {html.escape(str(r.get('seeds', '')))}, {r.get('seconds', 0):.1f} s{' (cached)' if r.get('cached') else ''}</span></p>
<p class="muted">What was run: {settings}</p>
{_md_inline(r.get('notes', ''))}
{''.join(figs)}
<table><tr><th>number</th><th>value</th></tr>{nums}</table>{err}</section>""")
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>initreg lab report</title><style>{_CSS}</style></head>
<body><h1>initreg lab — weight initialization and regularization, claim by claim</h1>
<p>{held}/{len(recs)} claims hold ({'quick' if quick else 'full'} settings). Generated {stamp};
initreg {html.escape(str(env.get('initreg')))}, torch {html.escape(str(env.get('torch')))}, Python {html.escape(str(env.get('python')))}, git {html.escape(str(env.get('git')))}.
Each verdict comes from a criterion fixed in the code before the run, never from a stored result.</p>
<table><tr><th>claim</th><th>title</th><th>verdict</th><th>key numbers</th><th>s</th></tr>{''.join(rows)}</table>
{''.join(secs)}</body></html>"""


def write_report(recs: list[dict[str, Any]], out: str | Path, *, quick: bool, env: dict[str, Any]) -> None:
    """Write ``results.json``, ``summary.md`` and ``index.html`` (atomically) in ``out``."""
    out = Path(out)
    slim = [{k: r.get(k) for k in ("claim", "title", "holds", "criterion", "numbers", "seconds", "status", "error",
                                   "statement", "lecture", "settings", "seeds", "figures", "notes", "verdict", "parts",
                                   "headline", "effect", "interval", "threshold", "unit", "direction", "metric",
                                   "criteria_hash") if k in r} for r in recs]
    write_json(out / "results.json", slim)
    write_text(out / "summary.md", _summary_md(recs, quick, env))
    write_text(out / "index.html", _html(recs, out, quick, env))
