"""``initreg lab``: run the lecture's claims and write the report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .app import app, console


@app.command("lab")
def lab_cmd(
    quick: bool = typer.Option(False, "--quick", help="Small budgets (same criteria): the whole lab in a few minutes."),
    only: str | None = typer.Option(None, "--only", help="Comma-separated claim ids, e.g. C1,C5."),
    out: Path = typer.Option(Path("lab-out"), "--out", "-o", help="Output folder (results.json, summary.md, index.html)."),
    seeds: int | None = typer.Option(None, "--seeds", min=1, help="Seeds per claim (default: each claim's own); reports mean ± 95% CI."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes, one thread each (default: CPU count)."),
    rerun: bool = typer.Option(False, "--rerun", help="Ignore results cached in --out from an earlier (or interrupted) run."),
    list_: bool = typer.Option(False, "--list", help="List the registered claims and exit."),
) -> None:
    """Run every registered lecture claim as an experiment with a falsifiable verdict.

    Prints a table of claims, verdicts and key numbers, and writes OUT/results.json,
    OUT/summary.md and a self-contained OUT/index.html. Rerunning with the same --out
    reuses finished claims (an interrupted lab loses nothing).

    Example: initreg lab --quick --only C1 --out lab-out
    """
    from ..lab import run_lab, select
    from ..lab.report import key_numbers, verdict_text

    ids = [c for c in (only or "").split(",") if c.strip()] or None
    if list_:
        t = Table(title="lab claims")
        t.add_column("claim", style="bold")
        t.add_column("title")
        t.add_column("criterion")
        for e in select(ids):
            t.add_row(e.claim, e.title, e.criterion)
        console.print(t)
        return

    def show(rec: dict) -> None:
        style = "yellow" if rec.get("status") == "error" else ("green" if rec.get("holds") else "red")
        extra = " (cached)" if rec.get("cached") else ""
        console.print(f"[{style}]{rec['claim']:>4} {verdict_text(rec):<14}[/] {rec['title']}{extra}", highlight=False)

    recs = run_lab(ids, quick=quick, seeds=seeds, out=out, workers=workers, rerun=rerun, on_result=show)
    t = Table(title=f"initreg lab ({'quick' if quick else 'full'})")
    for col in ("claim", "title", "verdict", "key numbers", "s"):
        t.add_column(col)
    for r in recs:
        style = "yellow" if r.get("status") == "error" else ("green" if r.get("holds") else "red")
        nums = r.get("error", "") if r.get("status") == "error" else key_numbers(r, 3)
        t.add_row(r["claim"], r["title"], f"[{style}]{verdict_text(r)}[/]", nums, f"{r.get('seconds', 0):.0f}")
    console.print(t)
    console.print(f"report: {out / 'index.html'}  (also {out / 'results.json'}, {out / 'summary.md'})")
