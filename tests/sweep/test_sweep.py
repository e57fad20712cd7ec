"""Sweeps: spec validation, expansion, SQLite results, resume after SIGKILL, diverged runs, CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from initreg.cli import main
from initreg.errors import ConfigError
from initreg.sweep import load_spec, open_store, run_sweep

BASE = {"data": {"name": "digits", "train_size": 150}, "model": {"name": "mlp", "depth": 1, "width": 8, "init": "torch"},
        "train": {"epochs": 1, "batch_size": 50}}


def _spec(**kw):
    return {"name": "t", "base": BASE, "params": {"train.lr": [0.01, 0.1]}, "seeds": 2, **kw}


@pytest.mark.parametrize("spec,match", [
    (_spec(params={"train.lrr": [0.1]}), r"train: unknown key\(s\) 'lrr'; valid keys: optimizer, lr"),
    (_spec(params={"model.widht": [8]}), r"model 'mlp'.*widht"),
    (_spec(params={"train.lr": []}), r"params: 'train.lr' has no values \(an empty list\)"),
    (_spec(params={}), r"params is empty"),
    (_spec(params={"train.lr": ["fast"]}), r"run train.lr='fast': .*train.lr: .*valid number"),
    (_spec(params={"train.lr": 0.1}), r"params.train.lr"),
    (_spec(params={"train.lr": {"low": 1e-3, "high": 1e-1}}), r"needs method: random"),
    (_spec(method="random", params={"train.lr": {"low": 0.1, "high": 0.01}}), r"low < high"),
    (_spec(seeds=0), r"seeds must be >= 1"),
    (_spec(metric="accuracy"), r"metric must be one of val_loss"),
    (_spec(params={"train.seed": [1, 2]}), r"use seeds: instead"),
    ({**_spec(), "grid": {"train.lr": [1]}}, r"unknown key\(s\) 'grid'; valid keys: name, base, method, params"),
    (_spec(executor="slurm"), r"executor"),
])
def test_bad_specs_fail_with_one_line(spec, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_spec(spec)
    assert "\n" not in str(e.value)


def test_grid_and_random_expansion():
    spec = load_spec(_spec(params={"train.lr": [0.01, 0.1], "model.width": [4, 8]}, seeds=[3, 5]))
    trials = spec.expand()
    assert len(trials) == 8 and len({t.hash for t in trials}) == 8
    assert {(t.config["seed"], t.config["train"]["seed"]) for t in trials} == {(3, 3), (5, 5)}
    assert [t.hash for t in trials] == [t.hash for t in spec.expand()]  # stable
    r = load_spec(_spec(method="random", trials=5, params={"train.lr": {"low": 1e-4, "high": 1e-1, "log": True},
                                                         "model.width": {"low": 4, "high": 16, "int": True},
                                                         "train.optimizer": ["sgd", "adam"]}))
    combos = r.combos()
    assert len(combos) == 5 and combos == r.combos()  # seeded sampler
    assert all(1e-4 <= c["train.lr"] <= 1e-1 and isinstance(c["model.width"], int) for c in combos)


def test_run_records_results_diverged_runs_and_skips_finished(tmp_path):
    spec = _spec(params={"train.lr": [0.01, 1e30], "train.optimizer": ["sgd"]})
    r = run_sweep(spec, tmp_path, workers=1)
    assert (r["total"], r["ran"], r["status"]) == (4, 4, {"done": 2, "diverged": 2})
    store = open_store(tmp_path / "t")
    rows = store.rows()
    store.close()
    for row in rows:
        assert len(row["hash"]) == 16 and row["config"]["train"]["lr"] == row["params"]["train.lr"]
        assert row["seconds"] > 0 and Path(row["run_dir"], "metrics.json").exists()
        if row["params"]["train.lr"] > 1:
            assert row["status"] == "diverged" and "diverged_step" in row["metrics"]
        else:
            assert row["status"] == "done" and 0 <= row["metrics"]["test_acc"] <= 1
    assert (tmp_path / "t" / "sweep.png").exists()
    again = run_sweep(spec, tmp_path, workers=1)
    assert (again["ran"], again["skipped"]) == (0, 4)


def test_sweep_killed_with_sigkill_loses_no_finished_result(tmp_path):
    spec_path = tmp_path / "kill.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(name="kill", params={"train.lr": [0.001, 0.003, 0.01, 0.03]})))
    db = tmp_path / "out" / "kill" / "sweep.db"
    code = f"from initreg.sweep import run_sweep; run_sweep({str(spec_path)!r}, {str(tmp_path / 'out')!r}, workers=1)"
    p = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finished() -> dict[str, float]:
        if not db.exists():
            return {}
        try:
            with sqlite3.connect(db, timeout=5) as c:
                return dict(c.execute("SELECT hash, finished FROM runs WHERE status IN ('done', 'diverged')").fetchall())
        except sqlite3.OperationalError:
            return {}

    deadline = time.time() + 120
    while len(finished()) < 2 and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    before = finished()
    assert len(before) >= 2, "the sweep did not finish two runs in time"
    assert len(before) < 8, "the sweep finished before it was killed; nothing was tested"
    r = run_sweep(spec_path, tmp_path / "out", workers=1)
    assert r["ran"] == 8 - len(before) and r["status"] == {"done": 8}
    after = finished()
    assert all(after[h] == t for h, t in before.items())  # finished runs were not run again


def test_ray_executor_on_a_local_instance(tmp_path):
    pytest.importorskip("ray")
    shared = tmp_path / "shared"  # storage_path: the runs write their folders there (no copy to the driver)
    r = run_sweep(_spec(name="ray", params={"train.lr": [0.01]}, ray={"storage_path": str(shared)}), tmp_path,
                  executor="ray", workers=1)
    assert r["status"] == {"done": 2}
    store = open_store(tmp_path / "ray" / "sweep.db")
    rows = store.rows()
    store.close()
    assert all(row["host"] for row in rows)
    for row in rows:
        assert Path(row["run_dir"]) == shared / "ray" / "runs" / row["hash"] and Path(row["run_dir"], "model.pt").is_file()
    assert not (tmp_path / "ray" / "runs").exists()


def test_cli_sweep_and_results(tmp_path, capsys):
    spec = tmp_path / "cli.yaml"
    spec.write_text(yaml.safe_dump({k: v for k, v in _spec(params={"train.lr": [0.01]}, seeds=1).items() if k != "name"}))
    assert main(["sweep", str(spec), "--out", str(tmp_path), "--workers", "1", "--dry-run"]) == 0
    assert "1 runs" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--out", str(tmp_path), "--workers", "1"]) == 0
    assert main(["results", str(tmp_path / "cli"), "--csv", str(tmp_path / "r.csv")]) == 0
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].startswith("hash,train.lr,seed,status,") and len(lines) == 2
    assert main(["results", str(tmp_path / "cli")]) == 0
    assert "mean ± 95% CI over seeds" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_spec(params={"train.lr": []})))
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no values" in err and len(err.splitlines()) <= 2
    assert main(["results", str(tmp_path / "nowhere")]) == 2
