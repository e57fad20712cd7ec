"""`initreg lab --quick --only C1` end to end: the three files, the verdict, the cache."""

import json

import pytest

from initreg.cli import main


@pytest.fixture(scope="module")
def lab_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    # one seed keeps the suite fast; the lab itself checks C1 over the quick seeds (and 5 while tuning)
    rc = main(["lab", "--quick", "--only", "C1", "--seeds", "1", "--out", str(out)])
    return rc, out


def test_lab_quick_c1_writes_the_three_files_and_judges(lab_out):
    rc, out = lab_out
    assert rc == 0
    res = json.loads((out / "results.json").read_text())["claims"]
    assert [r["claim"] for r in res] == ["C1"]
    r = res[0]
    assert r["status"] == "ok", r.get("error")
    assert r["seeds"] == [0] and r["criteria_hash"]
    parts = {p["part"]: p for p in r["parts"]}
    # the identities are exact checks and hold on any seed; one seed is too few to judge a paired part
    assert parts["rank_at_most_k"]["verdict"] == "holds" and parts["collapse_to_one_map"]["verdict"] == "holds"
    assert parts["bottleneck_regularizes_lowrank"]["verdict"] == "inconclusive"
    assert r["verdict"] == "inconclusive" and r["holds"] is False
    assert "| C1 |" in (out / "summary.md").read_text()
    html = (out / "index.html").read_text()
    assert "data:image/png;base64," in html and "<section id=\"C1\">" in html
    assert (out / "claims" / "C1" / "bottleneck.png").exists()


def test_lab_rerun_reuses_the_finished_claim(lab_out, capsys):
    _, out = lab_out
    capsys.readouterr()
    assert main(["lab", "--quick", "--only", "c1", "--seeds", "1", "--out", str(out)]) == 0
    assert "(cached)" in capsys.readouterr().out


def test_lab_unknown_claim_exits_2(capsys, tmp_path):
    assert main(["lab", "--only", "C99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown experiment 'C99'" in err and "C1" in err


def test_lab_list(capsys):
    assert main(["lab", "--list", "--only", "C1,K3"]) == 0
    out = capsys.readouterr().out
    assert "C1" in out and "K3" in out


def test_report_rerenders_from_results_json_without_running(tmp_path):
    from typer.testing import CliRunner

    from initreg.cli import app
    from initreg.lab.report import write_report

    rec = {"claim": "Z9", "title": "t", "statement": "s", "lecture": ["L2"], "settings": {}, "quick": True,
           "status": "ok", "seconds": 1.0, "seeds": [0, 1, 2], "verdict": "holds", "holds": True, "parts": [],
           "numbers": {}, "figures": [], "notes": "n"}
    write_report([rec], tmp_path, quick=True, env={})
    (tmp_path / "index.html").unlink()
    r = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 0 and (tmp_path / "index.html").exists() and "1 claims" in " ".join(r.output.split())
    r = CliRunner().invoke(app, ["report", str(tmp_path), "--lang", "xx"])
    assert r.exit_code == 2 and "--lang must be one of en" in r.output
    r = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "results file not found" in r.output and "Traceback" not in r.output
