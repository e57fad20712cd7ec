"""Lecture coverage: every part of docs/LECTURE.md is tested by a claim or declared untestable
with a reason, and ``initreg lab --list --json`` prints exactly one JSON array on stdout."""

import json
import re
import subprocess
import sys
from pathlib import Path

from initreg.cli import main
from initreg.lab import Experiment, Outcome
from initreg.lab.coverage import LECTURE_IDS, UNTESTABLE, coverage, listing, uncovered
from initreg.lab.runner import select
from initreg.lab.verdict import Criterion

ROOT = Path(__file__).resolve().parents[2]


def test_lecture_ids_are_the_parts_of_the_lecture_page():
    ids = re.findall(r"^- \*\*([LKIR]\d+)\b", (ROOT / "docs" / "LECTURE.md").read_text(), re.M)
    assert list(LECTURE_IDS) == ids


def test_every_lecture_part_is_covered_or_declared_untestable():
    assert uncovered() == [], "add a claim for these parts or declare them in initreg.lab.coverage.UNTESTABLE"
    tested = {lid for e in select() for lid in e.lecture}
    # a part that a claim tests is not also declared untestable
    assert not set(UNTESTABLE) & tested, sorted(set(UNTESTABLE) & tested)
    assert set(UNTESTABLE) <= set(LECTURE_IDS)
    assert all(len(why) > 20 for why in UNTESTABLE.values())


def test_coverage_reports_a_part_that_nothing_tests():
    def fn(ctx):
        return Outcome(measurements={"g": [1.0]})

    only = Experiment(claim="X9", title="t", statement="s", criterion="c", settings={"quick": {}, "full": {}}, fn=fn,
                      lecture=("K2",), criteria=(Criterion("g", metric="m", unit="", direction=">", threshold=0),))
    rows = {r["lecture_id"]: r for r in coverage([only])}
    assert rows["K2"]["claims"] == ["X9"] and rows["K1"]["claims"] == []
    missing = uncovered([only])
    assert "K1" in missing and "K2" not in missing and "L1" not in missing  # L1 is declared untestable
    entries = listing([only])
    assert entries[0]["claim"] == "X9" and entries[0]["lecture"] == ["K2"]
    assert entries[0]["criteria"][0]["part"] == "g"
    assert {e["lecture_id"] for e in entries[1:]} == set(UNTESTABLE)


def test_lab_list_json_prints_exactly_one_json_array_on_stdout():
    cmd = [sys.executable, "-c", "from initreg.cli import main; raise SystemExit(main())", "lab", "--list", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)  # the whole of stdout is one JSON document
    assert isinstance(data, list)
    claims = [d for d in data if "claim" in d]
    parts = [d for d in data if "lecture_id" in d]
    assert len(claims) + len(parts) == len(data)
    assert {d["claim"] for d in claims} == {e.claim for e in select()}
    assert all({"claim", "title", "lecture"} <= set(d) and d["lecture"] for d in claims)
    assert all(set(d) == {"lecture_id", "untestable_because"} for d in parts)
    covered = {lid for d in claims for lid in d["lecture"]} | {d["lecture_id"] for d in parts}
    assert covered >= set(LECTURE_IDS)


def test_lab_list_table_shows_lecture_ids(capsys):
    assert main(["lab", "--list", "--only", "C1"]) == 0
    out = capsys.readouterr().out
    assert "lecture" in out and "L2" in out and "[" not in out.split("\n")[0]


def test_lab_json_without_list_is_a_one_line_error(capsys):
    assert main(["lab", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--json" in err and "--list" in err
