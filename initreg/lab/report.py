"""The lab's outputs: ``results.json``, ``summary.md`` and a self-contained ``index.html``.

``results.json`` is one object (format 2)::

    {"format": 2, "quick": bool, "created": ISO time, "env": {...},
     "criteria_hash": hash over every claim's criteria hash, "claims": [record, ...]}

`read_results` also reads format 1 (a bare list of records). ``summary.md`` is the headline
table in Markdown; ``index.html`` is built from a Jinja2 template
(``initreg/lab/templates/report.html.j2``): the headline table with a forest plot per claim,
then one section per claim with its criteria, figures (embedded as base64) and notes
(Markdown, rendered by markdown-it-py), its numbers below a fold. Every word a reader sees
comes from `initreg.lab.messages`, in the language given by ``lang``; each claim's own words
(title, statement, criteria, notes) come from `initreg.lab.i18n.localize`, and a figure saved
in that language too (``name.<lang>.png``, see `initreg.plot.save_figure`) replaces the English one.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..utils.io import write_json, write_text
from ..utils.optional import require
from .forest import forest_svg
from .i18n import localize
from .lecture import coverage_of
from .messages import message

__all__ = ["FORMAT", "VERDICTS", "write_report", "render_report", "read_results", "results_document",
           "criteria_hash", "headline", "format_value", "format_number", "key_numbers", "verdict_of", "verdict_text",
           "effect_text", "interval_text", "threshold_text", "render_markdown"]

FORMAT = 2
VERDICTS = ("holds", "does_not_hold", "inconclusive", "error")
_FIGURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


# ---------------------------------------------------------------- verdicts and numbers as text


def verdict_of(rec: dict[str, Any]) -> str:
    """One of `VERDICTS`: the record's ``verdict``, else its old ``holds`` boolean."""
    if rec.get("status") == "error":
        return "error"
    v = rec.get("verdict")
    if v in VERDICTS:
        return v
    if rec.get("holds") is True:
        return "holds"
    if rec.get("holds") is False:
        return "does_not_hold"
    return "inconclusive"


def verdict_text(rec: dict[str, Any], lang: str = "en") -> str:
    """The verdict as the reader's word: holds / does not hold / inconclusive / error."""
    return message(f"verdict.{verdict_of(rec)}", lang)


def format_number(x: Any, *, signed: bool = False) -> str:
    """A number in at most three significant digits (whole numbers from 100 up), never cut.

    >>> format_number(3.14159), format_number(0.000012345), format_number(1234.5), format_number(2.5, signed=True)
    ('3.14', '1.23e-05', '1234', '+2.5')
    """
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        s = str(x)
    elif math.isnan(x) or math.isinf(x):
        return str(x)
    elif x == 0:
        s = "0"
    elif 100 <= abs(x) < 1e5:
        s = f"{x:.0f}"
    elif 1e-3 <= abs(x) < 100:
        s = f"{x:.3g}"
    else:
        s = f"{x:.2e}"
    return f"+{s}" if signed and x > 0 else s


def format_value(v: Any, lang: str = "en") -> str:
    """Text for a number, a mean ± CI dict, a list or a dict: every element, nothing cut.

    >>> format_value({"mean": 1.0, "ci": 0.25}), format_value([1, None, 2.5]), format_value(True)
    ('1 ± 0.25', '1, —, 2.5', 'yes')
    """
    if v is None:
        return message("value.none", lang)
    if isinstance(v, bool):
        return message("value.yes" if v else "value.no", lang)
    if isinstance(v, (int, float)):
        return format_number(v)
    if isinstance(v, dict) and _is_mean_ci(v):
        return message("value.mean_ci", lang, mean=format_number(v["mean"]), ci=format_number(v["ci"]))
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x, lang) for x in v) if v else message("value.empty", lang)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {format_value(x, lang)}" for k, x in v.items()) if v else message("value.empty", lang)
    return str(v)


def key_numbers(rec: dict[str, Any], n: int = 4, lang: str = "en") -> str:
    """The first ``n`` scalar or mean ± CI numbers of a record, as ``name=value`` text."""
    parts = []
    for k, v in (rec.get("numbers") or {}).items():
        if (isinstance(v, (int, float)) and not isinstance(v, bool)) or (isinstance(v, dict) and _is_mean_ci(v)):
            parts.append(f"{k}={format_value(v, lang)}")
        if len(parts) >= n:
            break
    return ", ".join(parts)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def effect_text(item: dict[str, Any], lang: str = "en") -> str:
    """``item``'s effect with its sign and unit (a record or one of its parts), e.g. ``+2.9 pp``."""
    e = item.get("effect")
    if not _finite(e):
        return message("value.none", lang)
    return f"{format_number(e, signed=True)} {item.get('unit') or ''}".strip()


def interval_text(item: dict[str, Any], lang: str = "en") -> str:
    """``item``'s interval as ``[lo, hi]``."""
    iv = item.get("interval")
    if not (isinstance(iv, (list, tuple)) and len(iv) == 2 and all(_finite(v) for v in iv)):
        return message("value.none", lang)
    return f"[{format_number(iv[0])}, {format_number(iv[1])}]"


def threshold_text(item: dict[str, Any], lang: str = "en", *, direction: bool = True) -> str:
    """``item``'s threshold with its unit, after its direction unless ``direction=False``:
    e.g. ``> 1 pp``."""
    t = item.get("threshold")
    if not _finite(t):
        return message("value.none", lang)
    d = (item.get("direction") or "") if direction else ""
    return f"{d} {format_number(t)} {item.get('unit') or ''}".strip()


def _is_mean_ci(v: dict[str, Any]) -> bool:
    return {"mean", "ci"} <= set(v)


# ---------------------------------------------------------------- results.json


def criteria_hash(recs: list[dict[str, Any]]) -> str | None:
    """One hash over every claim's ``criteria_hash`` (None when no record has one)."""
    pairs = sorted((r["claim"], r["criteria_hash"]) for r in recs if r.get("criteria_hash"))
    if not pairs:
        return None
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def results_document(recs: list[dict[str, Any]], *, quick: bool, env: dict[str, Any],
                     created: str | None = None) -> dict[str, Any]:
    """The ``results.json`` object (format 2) for ``recs``."""
    return {"format": FORMAT, "quick": bool(quick),
            "created": created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "env": dict(env), "criteria_hash": criteria_hash(recs), "claims": list(recs)}


def read_results(path: str | Path) -> dict[str, Any]:
    """Read ``results.json`` (or the folder holding it) as a format-2 object.

    Format 1 (a bare list of records, written before format 2) comes back wrapped:
    ``{"format": 1, "quick": ..., "created": None, "env": {}, "criteria_hash": None, "claims": [...]}``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"results file not found: {p}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p} is not valid JSON: {e}") from None
    if isinstance(data, list):
        return {"format": 1, "quick": any(bool(r.get("quick")) for r in data if isinstance(r, dict)),
                "created": None, "env": {}, "criteria_hash": None, "claims": data}
    if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("claims"), list):
        return data
    got = f"format={data.get('format')!r}" if isinstance(data, dict) else type(data).__name__
    raise ValueError(f"{p}: expected a list of claim records (format 1) or an object with "
                     f"format={FORMAT} and a 'claims' list; got {got}")


def write_report(recs: list[dict[str, Any]], out: str | Path, *, quick: bool, env: dict[str, Any],
                 lang: str = "en") -> dict[str, Any]:
    """Write ``results.json``, ``summary.md`` and ``index.html`` (each atomically) in ``out``;
    return the results object."""
    out = Path(out)
    doc = results_document(recs, quick=quick, env=env)
    write_json(out / "results.json", doc)
    render_report(doc, out, lang=lang)
    return doc


def render_report(doc: dict[str, Any], out: str | Path, *, lang: str = "en") -> None:
    """Write ``summary.md`` and ``index.html`` in ``out`` from a results object (see
    `read_results`); figures are read from ``out/claims/<claim>/``."""
    out = Path(out)
    message("page.title", lang)  # an unknown language fails here, before anything is written
    write_text(out / "summary.md", summary_markdown(doc, lang=lang))
    write_text(out / "index.html", html_report(doc, out, lang=lang))


# ---------------------------------------------------------------- Markdown


@lru_cache(maxsize=1)
def _md():
    require("markdown_it", extra="report")
    from markdown_it import MarkdownIt

    # CommonMark (raw HTML escaped, not passed through) plus GitHub's pipe tables.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(text: str, *, inline: bool = False) -> str:
    """Markdown → HTML (markdown-it-py, CommonMark + tables); raw HTML in ``text`` is escaped.

    >>> render_markdown("a *b* `c`", inline=True)
    'a <em>b</em> <code>c</code>'
    """
    text = text or ""
    return _md().renderInline(text) if inline else _md().render(text)


# ---------------------------------------------------------------- the view of one claim


def headline(rec: dict[str, Any]) -> dict[str, Any]:
    """The record's headline: ``effect``, ``interval``, ``threshold``, ``unit``, ``direction``,
    ``metric``, plus its headline part's per-seed ``values``, ``kind`` and name (``part``)."""
    part = next((p for p in rec.get("parts") or [] if p.get("part") == rec.get("headline")), None) or {}
    h = {k: rec.get(k, part.get(k)) for k in ("effect", "interval", "threshold", "unit", "direction", "metric")}
    h.update(values=part.get("values") or [], kind=part.get("kind", "paired"), part=rec.get("headline") or "")
    return h


def _seeds_text(seeds: Any) -> str:
    return ", ".join(str(s) for s in seeds) if isinstance(seeds, (list, tuple)) else str(seeds or "")


def _forest(item: dict[str, Any], verdict: str, lang: str) -> str:
    label = message("forest.label", lang, verdict=message(f"verdict.{verdict}", lang), effect=effect_text(item, lang),
                    interval_label=message(f"interval.{_kind(item)}", lang), interval=interval_text(item, lang),
                    threshold=threshold_text(item, lang), values=format_value(item.get("values") or [], lang))
    return forest_svg(item.get("values") or [], item.get("interval"), item.get("effect"), threshold=item.get("threshold"),
                      direction=item.get("direction"), verdict=verdict, label=label)


def _kind(item: dict[str, Any]) -> str:
    return "exact" if item.get("kind") == "exact" else "paired"


def _value_node(v: Any, lang: str) -> dict[str, Any]:
    """A number tree as nodes the template draws as small nested tables (never a dump)."""
    if isinstance(v, dict) and _is_mean_ci(v):
        node = {"kind": "text", "text": format_value(v, lang)}
        if {"n", "min", "max"} <= set(v):
            node["detail"] = message("value.mean_ci_detail", lang, n=v["n"], min=format_number(v["min"]),
                                     max=format_number(v["max"]))
        return node
    if isinstance(v, dict):
        if not v:
            return {"kind": "text", "text": message("value.empty", lang)}
        return {"kind": "table", "rows": [(str(k), _value_node(x, lang)) for k, x in v.items()]}
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) and x and not _is_mean_ci(x) for x in v):
            cols: list[str] = []
            for x in v:
                cols += [str(k) for k in x if str(k) not in cols]
            rows = [{str(k): y for k, y in x.items()} for x in v]
            return {"kind": "grid", "columns": cols, "rows": [[_value_node(r.get(c), lang) for c in cols] for r in rows]}
        if any(isinstance(x, (dict, list, tuple)) for x in v):
            return {"kind": "list", "items": [_value_node(x, lang) for x in v]}
        if v and all(x is None for x in v):
            return {"kind": "text", "text": message("value.none", lang)}
    return {"kind": "text", "text": format_value(v, lang)}


def _figures(rec: dict[str, Any], out: Path, lang: str) -> list[dict[str, str]]:
    from markupsafe import Markup

    figs = []
    for name in rec.get("figures") or []:
        p = out / "claims" / _anchor(rec["claim"]) / str(name)
        mime = _FIGURE_TYPES.get(p.suffix.lower())
        if mime and Path(str(name)).name == str(name) and p.is_file():  # a bare file name: never a path out of the folder
            translated = p.with_name(f"{p.stem}.{lang}{p.suffix}")
            if lang != "en" and translated.is_file():
                p = translated
            src = f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}"
            figs.append({"src": src, "alt": message("figure.alt", lang, claim=rec["claim"], name=name)})
        else:
            figs.append({"missing": Markup(render_markdown(message("figure.missing", lang, name=name), inline=True))})
    return figs


def _explanation(rec: dict[str, Any], verdict: str, lang: str) -> list[str]:
    """Paragraphs (Markdown) saying what was measured and what the verdict means."""
    if verdict == "error":
        return [message("explain.error", lang)]
    h = headline(rec)
    out = []
    if h.get("metric"):
        out.append(message("explain.measured", lang, metric=h["metric"], part=h["part"]))
    if _finite(h.get("effect")):
        out.append(message("explain.result", lang, effect=effect_text(h, lang),
                           interval_label=message(f"interval.{_kind(h)}", lang), interval=interval_text(h, lang),
                           seeds=_seeds_text(rec.get("seeds")), threshold=threshold_text(h, lang, direction=False),
                           direction=message(f"direction.{h.get('direction')}", lang)
                           if h.get("direction") in (">", "<") else ""))
    if _finite(h.get("effect")) or rec.get("parts"):
        out.append(message(f"explain.{verdict}", lang))
    else:  # a claim judged by its own boolean check: no interval to speak of
        out.append(message("explain.unmeasured", lang, verdict=message(f"verdict.{verdict}", lang)))
    parts = rec.get("parts") or []
    reason = next((p.get("reason") for p in parts if p.get("part") == h["part"] and p.get("reason")), None)
    if reason:
        out.append(message("explain.reason", lang, reason=reason))
    failed = [f"`{p['part']}`" for p in parts if p.get("verdict") == "does_not_hold"]
    open_ = [f"`{p['part']}`" for p in parts if p.get("verdict") == "inconclusive"]
    if len(parts) > 1 and failed:
        out.append(message("explain.failed_parts", lang, parts=", ".join(failed)))
    if len(parts) > 1 and open_:
        out.append(message("explain.open_parts", lang, parts=", ".join(open_)))
    return out


def _anchor(claim: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(claim)) or "claim"


def _claim_view(rec: dict[str, Any], out: Path, lang: str) -> dict[str, Any]:
    from markupsafe import Markup

    v = verdict_of(rec)
    h = headline(rec)
    parts = []
    for p in rec.get("parts") or []:
        pv = p.get("verdict") if p.get("verdict") in VERDICTS else "inconclusive"
        parts.append({"name": p.get("part", ""), "text": Markup(render_markdown(p.get("text", ""), inline=True)),
                      "metric": p.get("metric", ""), "changed": p.get("changed") or message("value.none", lang),
                      "effect": effect_text(p, lang), "interval": interval_text(p, lang),
                      "interval_label": message(f"interval.{_kind(p)}", lang),
                      "threshold": threshold_text(p, lang), "verdict": pv, "verdict_word": message(f"verdict.{pv}", lang),
                      "reason": p.get("reason") or "",
                      "plot": Markup(_forest(p, pv, lang))})
    seeds = rec.get("seeds")
    return {
        "claim": rec.get("claim", ""), "anchor": _anchor(rec.get("claim", "")),
        "title": Markup(render_markdown(rec.get("title", ""), inline=True)),
        "verdict": v, "verdict_word": message(f"verdict.{v}", lang), "verdict_why": message(f"verdict.why.{v}", lang),
        "effect": effect_text(h, lang), "interval": interval_text(h, lang), "threshold": threshold_text(h, lang),
        "metric": h.get("metric") or "", "has_effect": _finite(h.get("effect")),
        "seeds_n": len(seeds) if isinstance(seeds, (list, tuple)) else message("value.none", lang),
        "seeds": _seeds_text(seeds), "plot": Markup(_forest(h, v, lang)) if v != "error" else "",
        "statement": Markup(render_markdown(rec.get("statement", ""))),
        "lecture": ", ".join(rec.get("lecture") or []),
        "criterion": Markup(render_markdown(rec.get("criterion", ""))) if rec.get("criterion") and not parts else "",
        "parts": parts, "explanation": [Markup(render_markdown(t)) for t in _explanation(rec, v, lang)],
        "figures": _figures(rec, out, lang), "notes": Markup(render_markdown(rec.get("notes", ""))),
        "numbers": _value_node(rec.get("numbers") or {}, lang), "numbers_count": len(rec.get("numbers") or {}),
        "settings": _value_node(rec.get("settings") or {}, lang) if rec.get("settings") else None,
        "error": rec.get("error", ""), "traceback": rec.get("traceback", ""),
        "seconds": format_number(float(rec.get("seconds") or 0.0)), "cached": bool(rec.get("cached")),
        "criteria_hash": rec.get("criteria_hash") or "",
    }


def _counts(recs: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for r in recs:
        counts[verdict_of(r)] += 1
    return counts


def _env_values(doc: dict[str, Any], lang: str) -> dict[str, str]:
    env = doc.get("env") or {}
    none = message("value.none", lang)
    created = doc.get("created")
    try:
        created = _dt.datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M %Z").strip() if created else none
    except (TypeError, ValueError):
        created = str(created)
    return {"created": created,
            **{k: str(env.get(k) or none) for k in ("initreg", "torch", "python", "git")}}


# ---------------------------------------------------------------- the two documents


def html_report(doc: dict[str, Any], out: str | Path, *, lang: str = "en") -> str:
    """The self-contained ``index.html`` text for a results object."""
    jinja2 = require("jinja2", extra="report")
    from markupsafe import Markup

    recs = doc.get("claims") or []
    mode = message("mode.quick" if doc.get("quick") else "mode.full", lang)

    def t(key: str, **kw: Any) -> str:
        return message(key, lang, **kw)

    def tmd(key: str, **kw: Any) -> Markup:
        return Markup(render_markdown(message(key, lang, **kw), inline=True))

    env = jinja2.Environment(loader=jinja2.PackageLoader("initreg.lab", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        lang=lang, t=t, tmd=tmd, mode=mode, counts=_counts(recs), total=len(recs),
        quick=bool(doc.get("quick")), old_format=doc.get("format", FORMAT) < FORMAT,
        criteria_hash=doc.get("criteria_hash") or "", env=_env_values(doc, lang) if doc.get("env") else {},
        claims=[_claim_view(localize(r, lang), Path(out), lang) for r in recs], coverage=_coverage_view(recs, lang))


def _coverage_view(recs: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Each lecture part with the claims of this report that test it (or why none can)."""
    rows = coverage_of(((r["claim"], r.get("lecture") or ()) for r in recs), lang)
    return [{**row, "claims": [{"claim": c, "anchor": _anchor(c)} for c in row["claims"]]} for row in rows]


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def summary_markdown(doc: dict[str, Any], *, lang: str = "en") -> str:
    """``summary.md``: the headline table and, for each claim that does not hold, is
    inconclusive or failed, what it means; every cell whole."""
    recs = [localize(r, lang) for r in doc.get("claims") or []]
    t = message
    mode = t("mode.quick" if doc.get("quick") else "mode.full", lang)
    c = _counts(recs)
    lines = [f"# {t('summary.heading', lang, mode=mode)}", "",
             t("header.counts", lang, total=len(recs), mode=mode, **c), "",
             t("header.criteria", lang) + (f" {t('header.criteria_hash', lang, criteria_hash=doc['criteria_hash'])}"
                                           if doc.get("criteria_hash") else ""), ""]
    if doc.get("quick"):
        lines += [t("header.quick", lang), ""]
    cols = ("col.claim", "col.title", "col.verdict", "col.effect", "col.threshold", "col.seeds")
    lines += ["| " + " | ".join(t(k, lang) for k in cols) + " |", "|" + "---|" * len(cols)]
    for r in recs:
        v = verdict_of(r)
        h = headline(r)
        if v == "error":
            effect = r.get("error") or t("value.none", lang)
        elif _finite(h.get("effect")):
            effect = f"{effect_text(h, lang)} {interval_text(h, lang)}"
            if h.get("metric"):
                effect += f" ({h['metric']})"
        else:
            effect = key_numbers(r, 3, lang) or t("value.none", lang)
        seeds = r.get("seeds")
        cells = [r.get("claim", ""), r.get("title", ""), f"**{t(f'verdict.{v}', lang)}**", effect,
                 threshold_text(h, lang), len(seeds) if isinstance(seeds, (list, tuple)) else t("value.none", lang)]
        lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    lines.append("")
    others = [r for r in recs if verdict_of(r) != "holds"]
    if others:
        lines += [f"## {t('summary.explanations', lang)}", ""]
        for r in others:
            v = verdict_of(r)
            text = " ".join(_explanation(r, v, lang))
            if v == "error" and r.get("error"):
                text += f" `{_md_cell(r['error']).replace('`', chr(39))}`"
            lines += [f"- **{r.get('claim', '')}** ({t(f'verdict.{v}', lang)}): {text}", ""]
    lines += [t("summary.report", lang), ""]
    return "\n".join(lines)
