"""The lab's pages of the docs site: one Markdown page per claim, generated from the claim's own
declarations (statement, lecture ids, criteria, budgets, seeds, source file) and the records of a
full-mode ``results.json`` (verdict, effect and interval of every part, per-seed values, notes),
plus an index with the headline table. ``make docs`` runs it on the committed
``docs/lab/results.json`` before building the site:

    python -m initreg.lab.docpages docs/lab/results.json docs/lab

A claim with no record in the file (added after the run) gets its page with "not run" where the
numbers would be.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .experiment import Experiment
from .report import effect_text, interval_text, read_results, threshold_text, verdict_of
from .runner import select

__all__ = ["claim_page", "index_page", "write_pages", "main"]

_VERDICT = {"holds": "holds", "does_not_hold": "**does not hold**", "inconclusive": "**inconclusive**",
            "error": "**error**"}


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _source(exp: Experiment) -> str:
    try:
        return Path(inspect.getsourcefile(exp.fn) or "").name
    except TypeError:  # a builtin or a lambda without a file
        return "?"


def _settings_table(exp: Experiment) -> list[str]:
    quick, full = exp.settings.get("quick", {}), exp.settings.get("full", {})
    keys = list(dict.fromkeys([*full, *quick]))
    lines = ["| setting | quick | full |", "|---|---|---|"]
    lines += [f"| `{k}` | {_cell(quick.get(k, '–'))} | {_cell(full.get(k, '–'))} |" for k in keys]
    lines.append(f"| seeds | {exp.seeds.get('quick')} | {exp.seeds.get('full')} |")
    return lines


def _values(part: dict[str, Any]) -> str:
    vals = part.get("values") or []
    return ", ".join(f"{v:.4g}" if isinstance(v, (int, float)) else str(v) for v in vals) or "–"


def claim_page(exp: Experiment, rec: dict[str, Any] | None, *, run: str = "") -> str:
    """The page of one claim; ``rec`` is its full-mode record (None: not in the results)."""
    lines = [f"# {exp.claim}: {exp.title}", "", f"> {exp.statement}", "",
             f"Lecture: {', '.join(exp.lecture) or '–'} ([the lecture, with ids](../LECTURE.md)). "
             f"Code: `initreg/lab/claims/{_source(exp)}`.", ""]
    if rec is None:
        lines += ["**Not run** in the committed full-mode results: `initreg lab --only "
                  f"{exp.claim}` measures it.", ""]
    else:
        v = verdict_of(rec)
        head = rec.get("headline") or ""
        lines += [f"**Full-mode verdict: {_VERDICT.get(v, v).strip('*')}**"
                  + (f" (a claim holds when every part holds). Headline part `{head}`: {effect_text(rec)} "
                     f"{interval_text(rec)} against {threshold_text(rec)}." if v != "error"
                     else f" — {rec.get('error', '')}"), ""]
        if run:
            lines += [run, ""]
    lines += ["## Criteria", "",
              "Declared in code before the run; the lab judges each part from the mean's 95% t-interval "
              "over seeds (paired parts) or requires every seed to pass (exact parts). Changes are in the "
              "[criteria changelog](../criteria-changelog.md).", ""]
    parts = {p.get("part"): p for p in (rec or {}).get("parts") or []}
    lines += ["| part | metric | claim | kind | changed | verdict | effect [95% interval] | per seed |",
              "|---|---|---|---|---|---|---|---|"]
    for c in exp.criteria:
        p = parts.get(c.part, {})
        res = _VERDICT.get(p.get("verdict"), "not run") if p else "not run"
        eff = f"{effect_text(p)} {interval_text(p)}" if p else "–"
        claim_side = f"{c.direction} {c.threshold:g} {c.unit}".strip()
        lines.append(f"| `{c.part}` | {_cell(c.metric)} | {claim_side} | {c.kind} | "
                     f"{c.changed} | {res} | {_cell(eff)} | {_cell(_values(p)) if p else '–'} |")
    texts = [(c.part, c.text) for c in exp.criteria if c.text]
    if texts:
        lines += [""] + [f"- `{part}`: {text}" for part, text in texts]
    lines += ["", "## Set-up", "", *_settings_table(exp), ""]
    if rec is not None and rec.get("notes"):
        lines += ["## What was measured", "", rec["notes"].strip(), ""]
    lines += ["## Run it", "", "```bash", f"initreg lab --only {exp.claim}            # full settings, "
              f"{exp.seeds.get('full')} seeds", f"initreg lab --quick --only {exp.claim}    # quick settings, "
              f"{exp.seeds.get('quick')} seeds", "```", ""]
    return "\n".join(lines)


def index_page(exps: Sequence[Experiment], recs: dict[str, dict[str, Any]], run: str) -> str:
    """The lab's index: every claim with its full-mode verdict and headline effect, linked."""
    lines = ["# The lab's claims", "",
             "One page per claim: the lecture's statement, the criteria declared in code, the budgets, "
             "and the numbers of the committed full-mode run (`docs/lab/results.json`). The report of a "
             "run of your own (`initreg lab`) has the same sections with figures; see "
             "[the report](../report.md).", ""]
    if run:
        lines += [run, ""]
    lines += ["| claim | title | lecture | verdict | headline effect [95% interval] | threshold |",
              "|---|---|---|---|---|---|"]
    for e in exps:
        r = recs.get(e.claim)
        if r is None:
            verdict, eff, thr = "not run", "–", "–"
        else:
            v = verdict_of(r)
            verdict = _VERDICT.get(v, v)
            eff, thr = f"{effect_text(r)} {interval_text(r)}", threshold_text(r)
        lines.append(f"| [{e.claim}]({e.claim}.md) | {_cell(e.title)} | {', '.join(e.lecture)} | {verdict} | "
                     f"{_cell(eff)} | {_cell(thr)} |")
    return "\n".join(lines) + "\n"


def _run_line(doc: dict[str, Any]) -> str:
    env = doc.get("env") or {}
    return (f"Run: {'quick' if doc.get('quick') else 'full'} settings, {doc.get('created', '?')}; initreg "
            f"{env.get('initreg', '?')} (git {str(env.get('git', '?'))[:7]}), torch {env.get('torch', '?')}, "
            f"{env.get('torch_threads', '?')} thread per worker.")


def write_pages(results: str | Path, out: str | Path) -> list[Path]:
    """Write ``index.md`` and ``<CLAIM>.md`` for every registered claim into ``out``."""
    doc = read_results(results)
    recs = {r.get("claim"): r for r in doc.get("claims") or []}
    exps = select()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = _run_line(doc)
    written = [out / "index.md"]
    written[0].write_text(index_page(exps, recs, run), encoding="utf-8")
    for e in exps:
        p = out / f"{e.claim}.md"
        p.write_text(claim_page(e, recs.get(e.claim), run=run), encoding="utf-8")
        written.append(p)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m initreg.lab.docpages", description=__doc__.splitlines()[0])
    ap.add_argument("results", help="a results.json (full mode)")
    ap.add_argument("out", help="the folder for the pages")
    a = ap.parse_args(argv)
    if not Path(a.results).is_file():
        print(f"docpages: no results file at {a.results}", file=sys.stderr)
        return 2
    n = len(write_pages(a.results, a.out))
    print(f"docpages: wrote {n} pages to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
