"""`bench/run.py`: finds every benchmark, renders the table, survives a broken benchmark."""

from __future__ import annotations

import math

import pytest

from bench import run as bench_run
from bench._common import interleave, median_ratio
from bench.bench_precision import step_flops


def test_collect_finds_every_benchmark_and_rejects_unknown_names():
    names = bench_run.collect()
    assert {"fit", "lightning", "seeds", "precision", "lab"} <= set(names)
    assert bench_run.collect(only=["fit", "seeds"]) == ["fit", "seeds"]
    assert "lab" not in bench_run.collect(skip=["lab"])
    with pytest.raises(SystemExit, match="unknown benchmark\\(s\\) nope; known: "):
        bench_run.collect(only=["nope"])


def test_render_marks_targets_and_report_rows():
    rows = [{"name": "a", "ratio": 1.02, "target": "≤ 1.05", "ok": True, "detail": "x|y"},
            {"name": "b", "ratio": 0.3, "target": "≥ 1.5", "ok": False, "detail": "d"},
            {"name": "c", "ratio": math.nan, "target": "report", "ok": None, "detail": "skipped"}]
    md = bench_run.render(rows, {"machine": "m", "torch": "t", "threads": "1", "mode": "quick", "date": "now", "seconds": 1.0})
    assert "| a | 1.02 | ≤ 1.05 | yes | x/y |" in md
    assert "| b | 0.3 | ≥ 1.5 | **no** | d |" in md
    assert "| c | – | report | – | skipped |" in md


def test_interleave_alternates_and_median_ratio():
    calls = []
    t = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=0)
    assert calls == ["a", "b", "b", "a", "a", "b"] and all(len(v) == 3 for v in t.values())
    assert median_ratio([2.0, 4.0, 30.0], [1.0, 1.0, 1.0]) == 4.0


def test_step_flops_is_the_issues_144_mflop():
    # 3 forward + 3 weight-gradient + 2 input-gradient matmuls of 784-300-100-10 at batch 128
    assert step_flops(128) == 2 * 128 * (2 * (784 * 300 + 300 * 100 + 100 * 10) + 300 * 100 + 100 * 10)
    assert round(step_flops(128) / 1e6) == 144
