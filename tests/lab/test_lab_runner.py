"""The lab runner and report with throwaway experiments: the three output files, a
self-contained HTML, error rows, caching by config hash, resume after an interruption,
``--seeds``."""

import json

import pytest

from initreg.errors import ConfigError
from initreg.lab import Outcome, experiment, experiments, run_lab
from initreg.lab import runner as runner_mod

CALLS: list[str] = []
SETTINGS = {"quick": {"n": 2}, "full": {"n": 4}}


def _z1(ctx):
    CALLS.append("Z1")
    from initreg.plot import new_figure, save_figure

    fig, ax = new_figure()
    ax.plot([0, 1], [0, ctx.settings["n"]])
    save_figure(fig, ctx.figure("line.png"))
    print("noise from the experiment")  # captured, not printed over the lab's table
    return Outcome(holds=True, numbers={"value": ctx.summarize([1.0 + s for s in ctx.seeds]), "n": ctx.settings["n"],
                                        "seeds_seen": list(ctx.seeds)},
                   figures=["line.png"], notes="**ran** with `n`\n- a point")


def _z2(ctx):
    CALLS.append("Z2")
    raise RuntimeError("boom in Z2")


def _z3(ctx):
    CALLS.append("Z3")
    if ctx.settings.get("interrupt") and CALLS.count("Z3") == 1:
        raise KeyboardInterrupt  # Ctrl-C while this claim runs
    return Outcome(holds=False, numbers={"x": 0.5})


@pytest.fixture
def fake_lab(monkeypatch):
    """Register Z1–Z3 for this test only; skip importing the real claims."""
    CALLS.clear()
    monkeypatch.setattr(runner_mod, "discover", lambda: None)
    exps = {
        "Z1": experiment("Z1", title="works", statement="it works", criterion="value > 0", settings=SETTINGS,
                         lecture=("L0",), register=False)(_z1),
        "Z2": experiment("Z2", title="crashes", statement="it crashes", criterion="none", settings=SETTINGS,
                         register=False)(_z2),
        "Z3": experiment("Z3", title="fails", statement="it fails", criterion="x > 1",
                         settings={"quick": {"interrupt": True}, "full": {}}, register=False)(_z3),
    }
    for k, e in exps.items():
        monkeypatch.setitem(experiments._items, k, e)
        monkeypatch.setitem(experiments._meta, k, {})
    return exps


def _run(out, only=("Z1", "Z2"), **kw):
    return run_lab(list(only), quick=True, out=out, workers=1, progress=False, **kw)


def test_three_files_error_row_and_verdicts(fake_lab, tmp_path, capsys):
    recs = _run(tmp_path)
    assert capsys.readouterr().out == ""  # the experiment's print was captured
    assert [r["claim"] for r in recs] == ["Z1", "Z2"]
    res = json.loads((tmp_path / "results.json").read_text())["claims"]
    assert {"claim", "title", "holds", "criterion", "numbers", "seconds"} <= set(res[0])
    assert res[0]["holds"] is True and res[0]["numbers"]["n"] == 2 and res[0]["numbers"]["seeds_seen"] == [0, 1, 2]
    assert res[1]["status"] == "error" and res[1]["holds"] is None and res[1]["error"] == "RuntimeError: boom in Z2"
    md = (tmp_path / "summary.md").read_text()
    assert "| Z1 | works | **holds** |" in md and "| Z2 | crashes | **error** | RuntimeError: boom in Z2 |" in md
    assert "2 claims, quick settings: **1** hold, **0** do not hold, **0** inconclusive, **1** failed to run." in md


def test_html_report_is_self_contained(fake_lab, tmp_path):
    _run(tmp_path)
    html = (tmp_path / "index.html").read_text()
    assert html.count("data:image/png;base64,") == 1
    assert "http://" not in html and "https://" not in html and "<script" not in html and "<link" not in html
    assert "<strong>ran</strong> with <code>n</code>" in html and "<li>a point</li>" in html  # notes rendered
    assert "it works" in html and "value &gt; 0" in html  # statement and criterion, escaped
    assert "boom in Z2" in html and "Traceback" in html  # the error row shows its traceback
    assert "<section id=\"Z1\">" in html and "2 ± 2.48" in html  # mean ± 95% CI of [1, 2, 3]: t(0.975, 2) · 1 / √3


def test_rerun_reuses_finished_claims_and_retries_errors(fake_lab, tmp_path):
    _run(tmp_path)
    assert CALLS == ["Z1", "Z2"]
    recs = _run(tmp_path)
    assert CALLS == ["Z1", "Z2", "Z2"]  # Z1 came from the cache; the error is retried
    assert recs[0]["cached"] is True and recs[0]["numbers"]["n"] == 2
    assert (tmp_path / "claims" / "Z1" / "line.png").exists()
    _run(tmp_path, rerun=True)
    assert CALLS.count("Z1") == 2


def test_cache_is_keyed_by_settings_seeds_and_mode(fake_lab, tmp_path, monkeypatch):
    _run(tmp_path, only=("Z1",))
    _run(tmp_path, only=("Z1",), seeds=4)  # other seeds: a new key
    assert CALLS == ["Z1", "Z1"]
    monkeypatch.setitem(fake_lab["Z1"].settings, "quick", {"n": 3})  # other settings: a new key
    recs = _run(tmp_path, only=("Z1",), seeds=3)
    assert CALLS == ["Z1"] * 3 and recs[0]["numbers"]["n"] == 3
    run_lab(["Z1"], quick=False, out=tmp_path, workers=1, progress=False, seeds=3)  # full mode: a new key
    assert CALLS == ["Z1"] * 4
    k = fake_lab["Z1"].key
    assert len({k(True, [0, 1]), k(False, [0, 1]), k(True, [0, 1, 2])}) == 3 and k(True, [0, 1]) == k(True, [0, 1])


def test_resume_after_interruption_loses_nothing(fake_lab, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, only=("Z1", "Z3"))
    done = json.loads((tmp_path / "results.json").read_text())["claims"]  # the report shows what finished
    assert [r["claim"] for r in done] == ["Z1"]
    recs = _run(tmp_path, only=("Z1", "Z3"))
    assert CALLS == ["Z1", "Z3", "Z3"] and recs[0]["cached"] and recs[1]["holds"] is False


def test_seeds_option_and_errors(fake_lab, tmp_path):
    recs = _run(tmp_path, only=("Z1",), seeds=5)
    assert recs[0]["seeds"] == [0, 1, 2, 3, 4] and recs[0]["numbers"]["value"]["n"] == 5
    with pytest.raises(ConfigError, match="seeds must be >= 1; got seeds=0"):
        _run(tmp_path, seeds=0)
    with pytest.raises(ConfigError, match=r"unknown experiment 'Z9'.*; known: .*Z1, Z2"):
        _run(tmp_path, only=("Z9",))


def test_claim_ids_are_case_insensitive_and_ordered(fake_lab):
    from initreg.lab import select

    assert [e.claim for e in select(["z2", " Z1", ""])] == ["Z1", "Z2"]


def test_experiment_decorator_validates_settings():
    with pytest.raises(ValueError, match=r"settings must have exactly the keys 'quick' and 'full'; got \['quick'\]"):
        experiment("Q1", title="t", statement="s", criterion="c", settings={"quick": {}}, register=False)


def test_non_outcome_return_is_an_error_row(fake_lab, tmp_path, monkeypatch):
    monkeypatch.setattr(fake_lab["Z1"], "fn", lambda ctx: True)
    rec = _run(tmp_path, only=("Z1",))[0]
    assert rec["status"] == "error" and "must return an Outcome; got bool" in rec["error"]


def test_cache_key_changes_with_the_library_source(fake_lab, monkeypatch):
    # A result computed by other library code must not be served: the key hashes the whole package.
    import importlib

    ex = importlib.import_module("initreg.lab.experiment")  # (initreg.lab.experiment is also the decorator's name)

    k0 = fake_lab["Z1"].key(True, [0])
    assert ex.library_hash() == ex.library_hash()  # computed once, stable
    monkeypatch.setattr(ex, "_LIBRARY_HASH", "an-edited-library")
    assert fake_lab["Z1"].key(True, [0]) != k0
