"""The verdict logic: declared criteria judged from per-seed values into three verdicts, the
claim-level combination, and the lab record a declared experiment produces."""

import json

import pytest
from scipy import stats

from initreg.lab import Outcome, experiment, experiments, run_lab
from initreg.lab import runner as runner_mod
from initreg.lab.verdict import Criterion, combine, criteria_hash, judge, t_interval

GAIN = Criterion("gain", metric="accuracy with − without", unit="pp", direction=">", threshold=1.0)
SHRINK = Criterion("shrink", metric="error ratio", unit="×", direction="<", threshold=0.5)


def test_t_interval_matches_scipy():
    vals = [0.3, 1.7, 0.9, 1.1, 1.4]
    m, lo, hi = t_interval(vals)
    ref = stats.t.interval(0.95, len(vals) - 1, loc=m, scale=stats.sem(vals))
    assert lo == pytest.approx(ref[0], rel=1e-12) and hi == pytest.approx(ref[1], rel=1e-12)


@pytest.mark.parametrize("values, expected", [
    ([2.0, 2.2, 1.9, 2.1, 2.05], "holds"),            # interval entirely above the threshold 1
    ([0.1, -0.2, 0.0, 0.15, 0.05], "does_not_hold"),  # entirely below
    ([3.0, -1.0, 2.5, 0.0, 1.0], "inconclusive"),     # straddles it
])
def test_three_verdicts_above(values, expected):
    p = judge(GAIN, values, seeds=list(range(5)))
    assert p["verdict"] == expected
    lo, hi = p["interval"]
    assert lo <= p["effect"] <= hi and p["seeds"] == [0, 1, 2, 3, 4] and p["values"] == values


@pytest.mark.parametrize("values, expected", [
    ([0.1, 0.2, 0.15], "holds"), ([0.9, 1.0, 0.95], "does_not_hold"), ([0.1, 0.9, 0.5], "inconclusive"),
])
def test_three_verdicts_below(values, expected):
    assert judge(SHRINK, values, seeds=[0, 1, 2])["verdict"] == expected


def test_too_few_seeds_or_nan_is_inconclusive():
    p = judge(GAIN, [5.0, 5.1], seeds=[0, 1], min_seeds=3)
    assert p["verdict"] == "inconclusive" and "minimum" in p["reason"]
    assert judge(GAIN, [5.0], seeds=[0])["verdict"] == "inconclusive"
    assert judge(GAIN, [5.0, float("nan"), 5.2], seeds=[0, 1, 2])["verdict"] == "inconclusive"


def test_exact_parts_need_every_seed():
    c = Criterion("identity_error", metric="max |difference|", unit="", direction="<", threshold=1e-9, kind="exact")
    assert judge(c, [1e-12, 0.0, 3e-13], seeds=[0, 1, 2])["verdict"] == "holds"
    p = judge(c, [1e-12, 2e-9, 0.0], seeds=[0, 1, 2])
    assert p["verdict"] == "does_not_hold" and p["interval"] == [0.0, 2e-9]


def test_combine():
    assert combine(["holds", "holds"]) == "holds"
    assert combine(["holds", "inconclusive"]) == "inconclusive"
    assert combine(["inconclusive", "does_not_hold"]) == "does_not_hold"
    with pytest.raises(ValueError, match="unknown verdict 'yes'"):
        combine(["yes"])


def test_values_must_match_seeds():
    with pytest.raises(ValueError, match="one value per seed"):
        judge(GAIN, [1.0, 2.0], seeds=[0, 1, 2])


@pytest.mark.parametrize("kwargs, msg", [
    ({"part": "Bad Part"}, "snake_case"), ({"direction": ">="}, "direction must be"),
    ({"kind": "bayes"}, "kind must be"), ({"threshold": float("nan")}, "finite"),
    ({"changed": "yesterday"}, "ISO date"), ({"metric": " "}, "metric must say"),
])
def test_criterion_validation(kwargs, msg):
    base = {"part": "p", "metric": "m", "unit": "", "direction": ">", "threshold": 0.0}
    with pytest.raises(ValueError, match=msg):
        Criterion(**{**base, **kwargs})


def test_criteria_hash_changes_with_threshold():
    a = criteria_hash([GAIN])
    b = criteria_hash([Criterion("gain", metric="accuracy with − without", unit="pp", direction=">", threshold=2.0)])
    assert a != b and a == criteria_hash([GAIN])


def test_declaration_rules():
    s = {"quick": {}, "full": {}}
    with pytest.raises(ValueError, match="must be >= 3"):
        experiment("Y0", title="t", statement="s", criteria=[GAIN], settings=s, seeds={"quick": 2, "full": 5},
                   register=False)
    with pytest.raises(ValueError, match="headline='nope' is not a declared part"):
        experiment("Y0", title="t", statement="s", criteria=[GAIN], settings=s, headline="nope", register=False)
    with pytest.raises(ValueError, match="declare its criteria"):
        experiment("Y0", title="t", statement="s", settings=s, register=False)


# --- end to end through the runner -------------------------------------------------------------------

def _declared(effects, *, measure=None):
    def fn(ctx):
        vals = [effects[s] for s in ctx.seeds]
        return Outcome(measurements=measure(ctx) if measure else {"gain": vals, "shrink": [0.1] * len(ctx.seeds)},
                       numbers={"gain": ctx.summarize(vals)})
    return fn


@pytest.fixture
def lab(monkeypatch):
    monkeypatch.setattr(runner_mod, "discover", lambda: None)

    def add(claim, fn, **kw):
        e = experiment(claim, title=claim, statement="s", criteria=[GAIN, SHRINK],
                       notes=kw.pop("notes", "gain {gain[mean]:.1f} pp on {n_seeds} seeds"),
                       settings={"quick": {}, "full": {}}, register=False, **kw)(fn)
        monkeypatch.setitem(experiments._items, claim, e)
        monkeypatch.setitem(experiments._meta, claim, {})
        return e
    return add


def test_record_carries_the_verdict_fields(lab, tmp_path):
    lab("Y1", _declared({0: 2.0, 1: 2.1, 2: 1.9}))
    lab("Y2", _declared({0: 3.0, 1: -1.0, 2: 2.0}))
    lab("Y3", _declared({0: 0.0, 1: 0.1, 2: -0.1}))
    recs = run_lab(["Y1", "Y2", "Y3"], quick=True, out=tmp_path, workers=1, progress=False)
    assert [r["verdict"] for r in recs] == ["holds", "inconclusive", "does_not_hold"]
    saved = json.loads((tmp_path / "results.json").read_text())
    claims = saved["claims"] if isinstance(saved, dict) else saved
    for r in claims:
        assert r["seeds"] == [0, 1, 2] and len(r["criteria_hash"]) == 16
        assert r["threshold"] == 1.0 and r["unit"] == "pp" and len(r["interval"]) == 2
        assert [p["part"] for p in r["parts"]] == ["gain", "shrink"] and all(p["seeds"] == [0, 1, 2] for p in r["parts"])
    assert recs[0]["notes"] == "gain 2.0 pp on 3 seeds" and recs[0]["holds"] is True


def test_wrong_measurements_are_an_error_row(lab, tmp_path):
    lab("Y4", _declared({0: 1, 1: 1, 2: 1}, measure=lambda ctx: {"gain": [1.0] * len(ctx.seeds)}))
    lab("Y5", _declared({0: 1, 1: 1, 2: 1}), notes="uses {missing_number}")
    recs = run_lab(["Y4", "Y5"], quick=True, out=tmp_path, workers=1, progress=False)
    assert recs[0]["status"] == "error" and "exactly its declared parts" in recs[0]["error"]
    assert recs[1]["status"] == "error" and "notes template" in recs[1]["error"]


def test_fewer_seeds_than_declared_is_inconclusive(lab, tmp_path):
    lab("Y6", _declared({0: 5.0, 1: 5.1}))
    rec = run_lab(["Y6"], quick=True, seeds=2, out=tmp_path, workers=1, progress=False)[0]
    assert rec["verdict"] == "inconclusive" and "minimum" in rec["parts"][0]["reason"]
