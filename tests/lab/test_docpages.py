"""The docs site's claim pages: generated from the claims' declarations and the committed
full-mode results, and kept current."""

from __future__ import annotations

from pathlib import Path

from initreg.lab.docpages import main, write_pages
from initreg.lab.report import read_results, verdict_of
from initreg.lab.runner import select

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "lab" / "results.json"


def test_the_committed_pages_are_what_the_generator_writes(tmp_path):
    committed = ROOT / "docs" / "lab"
    written = {p.name: p.read_text(encoding="utf-8") for p in write_pages(RESULTS, tmp_path)}
    have = {p.name: p.read_text(encoding="utf-8") for p in committed.glob("*.md")}
    wrong = sorted(n for n in written.keys() | have.keys() if written.get(n) != have.get(n))
    assert not wrong, ("docs/lab is out of date: run `python -m initreg.lab.docpages docs/lab/results.json docs/lab` "
                       f"(differs: {', '.join(wrong)})")


def test_every_claim_has_a_page_with_its_criteria_and_verdict(tmp_path):
    write_pages(RESULTS, tmp_path)
    doc = read_results(RESULTS)
    assert not doc.get("quick")  # the site quotes full-mode results
    recs = {r["claim"]: r for r in doc["claims"]}
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    for e in select():
        page = (tmp_path / f"{e.claim}.md").read_text(encoding="utf-8")
        assert page.startswith(f"# {e.claim}: {e.title}") and e.statement in page
        assert f"]({e.claim}.md)" in index
        for c in e.criteria:
            assert f"| `{c.part}` |" in page
        r = recs.get(e.claim)
        if r is None:
            assert "**Not run**" in page
            continue
        verdict = verdict_of(r).replace("_", " ")
        assert f"**Full-mode verdict: {verdict}" in page
        for p in r["parts"]:  # each part's own verdict is in its row
            row = next(line for line in page.splitlines() if line.startswith(f"| `{p['part']}` |"))
            assert p["verdict"].replace("_", " ") in row


def test_a_missing_results_file_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope.json"), str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"docpages: no results file at {tmp_path / 'nope.json'}"
