"""``initreg lab``: run the lecture's claims and write the report."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app, console
from .tables import new_table


@app.command("lab")
def lab_cmd(
    quick: bool = typer.Option(False, "--quick", help="Small budgets (same criteria): the whole lab in a few minutes."),
    only: str | None = typer.Option(None, "--only", help="Comma-separated claim ids, e.g. C1,C5."),
    out: Path = typer.Option(Path("lab-out"), "--out", "-o", help="Output folder (results.json, summary.md, index.html)."),
    seeds: int | None = typer.Option(None, "--seeds", min=1, help="Seeds per claim (default: each claim's own); reports mean ± 95% CI."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes, one thread each (default: CPU count)."),
    rerun: bool = typer.Option(False, "--rerun", help="Ignore results cached in --out from an earlier (or interrupted) run."),
    list_: bool = typer.Option(False, "--list", help="List the registered claims (with their lecture ids) and exit."),
    json_: bool = typer.Option(False, "--json", help="With --list: print one JSON array (claims, then lecture parts "
                                                       "no claim can test) on stdout instead of a table."),
    lang: str = typer.Option("en", "--lang", help="Language of the report and the table: en or ru (the lecture's)."),
) -> None:
    """Run every registered lecture claim as an experiment with a falsifiable verdict.

    Prints a table of claims, verdicts and key numbers, and writes OUT/results.json,
    OUT/summary.md and a self-contained OUT/index.html. Rerunning with the same --out
    reuses finished claims (an interrupted lab loses nothing).

    Example: initreg lab --quick --only C1 --out lab-out --lang ru
    """
    from ..errors import ConfigError
    from ..lab import run_lab, select
    from ..lab.messages import message
    from ..lab.report import verdict_of, verdict_text
    from ..lab.results import claim_row
    from ..utils.paths import safe_name, validate_out_dir

    _check_lang(lang)
    styles = {"holds": "green", "does_not_hold": "red", "inconclusive": "yellow", "error": "magenta"}
    ids = None
    if only is not None:
        ids = [safe_name(c.strip(), "--only: claim id") for c in only.split(",") if c.strip()]
        if not ids:
            raise ConfigError(f"--only {only!r} selects no claim; give claim ids such as --only C1,C5 "
                              "(`initreg lab --list` lists them), or leave --only out for every claim")
    if json_ and not list_:
        raise ConfigError("--json only goes with --list (initreg lab --list --json); got --json without --list")
    if list_:
        _print_list(select(ids), as_json=json_, lang=lang)
        return

    width = max(len(message(f"verdict.{v}", lang)) for v in styles) + 1

    def show(rec: dict) -> None:
        style = styles[verdict_of(rec)]
        extra = f" {message('cli.cached', lang)}" if rec.get("cached") else ""
        console.print(f"[{style}]{rec['claim']:>4} {verdict_text(rec, lang):<{width}}[/] {claim_row(rec, lang)[1]}{extra}",
                      highlight=False,
                      no_wrap=True, overflow="ellipsis")  # one line per claim, also at 80 columns

    validate_out_dir(out, "--out")
    for e in select(ids):  # claim ids become folder names under OUT/claims
        safe_name(e.claim, "claim id")
    recs = run_lab(ids, quick=quick, seeds=seeds, out=out, workers=workers, rerun=rerun, on_result=show,
                   lang=lang)
    t = new_table(message("cli.table_title", lang, mode=message("mode.quick" if quick else "mode.full", lang)),
                  *(message(key, lang) for key in ("col.claim", "col.title", "col.verdict", "col.effect", "col.threshold",
                                                    "col.seeds", "col.seconds")))
    for r in recs:
        row = claim_row(r, lang)
        row[2] = f"[{styles[verdict_of(r)]}]{row[2]}[/]"
        t.add_row(*row)
    console.print(t)
    console.print(message("cli.report_files", lang, html=out / "index.html", json=out / "results.json",
                          md=out / "summary.md"), highlight=False)


def _check_lang(lang: str) -> None:
    from ..errors import ConfigError
    from ..lab.messages import languages

    if lang not in languages():
        raise ConfigError(f"--lang must be one of {', '.join(languages())}; got {lang!r}")


def _print_list(exps: list, as_json: bool, lang: str = "en") -> None:
    """``--list``: the claims with their lecture ids (titles and criteria in ``lang``);
    ``--json``: exactly one JSON array on stdout (English: it is for programs)."""
    from ..lab.coverage import listing
    from ..lab.messages import message
    from ..lab.texts import claim_text
    from ..lab.verdict import criterion_sentence

    if as_json:
        import json
        import sys

        sys.stdout.write(json.dumps(listing(exps), ensure_ascii=False, indent=1) + "\n")
        return
    t = new_table(message("cli.list_title", lang),
                  *(message(k, lang) for k in ("col.claim", "col.lecture", "col.title", "col.criterion")))
    for e in exps:
        ct = claim_text(e.claim, lang) if lang != "en" else None
        if ct is None:
            t.add_row(e.claim, ", ".join(e.lecture), e.title, e.criterion)
            continue
        words = [(c, ct.criteria.get(c.part) or {"metric": c.metric, "text": c.text}) for c in e.criteria]
        criterion = "; ".join(f"({c.part}) " + criterion_sentence(c.kind, w["metric"], c.unit, c.direction, c.threshold,
                                                                 w.get("text", ""), lang) for c, w in words)
        t.add_row(e.claim, ", ".join(e.lecture), ct.title or e.title, criterion or e.criterion)
    console.print(t)


@app.command("report")
def report_cmd(
    results: Path = typer.Argument(..., help="A lab output folder (or its results.json)."),
    lang: str = typer.Option("en", "--lang", help="Language of the report: en or ru (the lecture's)."),
) -> None:
    """Re-render summary.md and index.html from an existing results.json, without rerunning anything.

    Example: initreg report lab-out
    """
    from ..errors import ConfigError
    from ..lab.messages import message
    from ..lab.report import read_results, render_report
    from ..utils.paths import validate_out_dir

    _check_lang(lang)
    folder = results if results.is_dir() else results.parent
    try:
        doc = read_results(results)
    except (FileNotFoundError, ValueError) as e:
        raise ConfigError(str(e)) from None
    validate_out_dir(folder, "RESULTS")
    render_report(doc, folder, lang=lang)
    console.print(message("cli.rerendered", lang, html=folder / "index.html", md=folder / "summary.md",
                          count=len(doc["claims"])), highlight=False)
