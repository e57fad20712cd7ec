"""Sweeps that scale: pruners (median, successive halving; decisions checked against Optuna's),
TPE search via Optuna, a Ray cluster started with `ray start --head`, and resuming a killed
sweep's unfinished run from its checkpoint."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import ray
import yaml

from initreg.cli import main
from initreg.errors import ConfigError
from initreg.sweep import load_spec, open_store, run_sweep
from initreg.sweep.prune import Reports, build_pruner

BASE = {"data": {"name": "digits", "train_size": 300}, "model": {"name": "mlp", "depth": 1, "width": 16, "init": "torch"},
        "train": {"epochs": 6, "batch_size": 50, "optimizer": "sgd"}}


def _rows(where: Path) -> list[dict]:
    store = open_store(where)
    try:
        return [{**r, "curve": store.curve(r["hash"])} for r in store.rows()]
    finally:
        store.close()


@pytest.mark.parametrize("pruner,match", [
    ({"name": "medain"}, r"unknown pruner 'medain' \(did you mean 'median'\?\); known: median, successive_halving"),
    ({"name": "median", "warmup": 2}, r"pruner 'median': .*warmup"),
    ({"name": "median", "metric": "test_acc"}, r"metric must be one of val_loss, val_acc"),
    ({"name": "successive_halving", "reduction_factor": 1}, r"reduction_factor"),
    ({"warmup_epochs": 1}, r"pruner must be a mapping with a name \(known: median, successive_halving\)"),
    ({"name": "median", "seeds_in_base": True}, r"a pruner judges single-seed runs"),
])
def test_bad_pruner_specs_fail_with_one_line(pruner, match):
    base = {**BASE, "train": {**BASE["train"], "seeds": 2}} if pruner.pop("seeds_in_base", False) else BASE
    with pytest.raises(ConfigError, match=match) as e:
        load_spec({"base": base, "params": {"train.lr": [0.1]}, "pruner": pruner})
    assert "\n" not in str(e.value)


def test_median_pruner_stops_a_bad_trial_early_while_good_ones_finish(tmp_path, capsys):
    # lr 1e-5 barely moves the weights: a deliberately bad trial, run after two good ones
    spec = {"name": "p", "base": BASE, "params": {"train.lr": [0.1, 0.2, 1e-5]},
            "pruner": {"name": "median", "warmup_epochs": 2, "metric": "val_loss"}}
    r = run_sweep(spec, tmp_path, workers=1, figure=False)
    assert r["status"] == {"done": 2, "pruned": 1}
    rows = {row["params"]["train.lr"]: row for row in _rows(tmp_path / "p")}
    for lr in (0.1, 0.2):
        assert rows[lr]["status"] == "done" and rows[lr]["metrics"]["epochs"] == 6 and len(rows[lr]["curve"]) == 6
    bad = rows[1e-5]
    assert bad["status"] == "pruned" and bad["metrics"]["pruned_epoch"] == 2 == bad["metrics"]["epochs"]
    assert [e for e, _, _ in bad["curve"]] == [1, 2]  # it stopped at the first epoch the pruner may act on
    # ... because it was worse than the median of the finished trials there
    at2 = sorted(v for row in rows.values() if row is not bad for e, _, v in row["curve"] if e == 2)
    assert bad["curve"][-1][2] > sum(at2) / 2 and bad["metrics"]["pruned_val_loss"] == bad["curve"][-1][2]
    assert main(["results", str(tmp_path / "p")]) == 0
    assert "pruned" in capsys.readouterr().out
    assert run_sweep(spec, tmp_path, workers=1, figure=False)["ran"] == 0  # a pruned run counts as finished


def test_successive_halving_pruner_keeps_the_best_third_at_each_rung(tmp_path):
    spec = {"name": "sha", "base": {**BASE, "train": {**BASE["train"], "epochs": 3}},
            "params": {"train.lr": [0.2, 1e-5, 0.1, 3e-5]},
            "pruner": {"name": "successive_halving", "min_epochs": 1, "reduction_factor": 3}}
    r = run_sweep(spec, tmp_path, workers=1, figure=False)
    rows = {row["params"]["train.lr"]: row for row in _rows(tmp_path / "sha")}
    # rungs at epochs 1 and 3: the first trial is alone there; each later one must be the best so far
    assert rows[0.2]["status"] == "done"
    assert rows[1e-5]["status"] == rows[3e-5]["status"] == "pruned"
    assert rows[1e-5]["metrics"]["pruned_epoch"] == 1 and len(rows[1e-5]["curve"]) == 1
    assert r["status"]["pruned"] >= 2


def _optuna_study(pruner, trials):
    study = optuna.create_study(direction="minimize", pruner=pruner)
    for curve in trials:
        attrs = {f"completed_rung_{k}": curve[e] for k, e in enumerate((1, 3, 9)) if e in curve}
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, value=curve[max(curve)],
                                                  intermediate_values=curve, system_attrs=attrs))
    return study


@pytest.mark.parametrize("config,make", [
    ({"name": "median", "warmup_epochs": 2, "startup_trials": 2},
     lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)),
    ({"name": "successive_halving", "min_epochs": 1, "reduction_factor": 3},
     lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)),
])
def test_pruners_decide_as_optunas_on_the_same_reports(config, make):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    gen = __import__("random").Random(0)
    pruner = build_pruner(config)
    agree = pruned = 0
    for case in range(40):
        others = [{e: gen.uniform(0, 1) for e in range(1, gen.randint(1, 5) + 1)} for _ in range(gen.randint(0, 6))]
        mine = [gen.uniform(0, 1) for _ in range(5)]
        study = _optuna_study(make(), others)
        trial = study.ask()
        for e, v in enumerate(mine, start=1):
            trial.report(v, e)
            theirs = trial.should_prune()
            at = [c[e] for c in others if e in c]
            ours = pruner.prune(Reports(epoch=e, own=mine[:e], finished=at, n_finished=len(others), reached=at))
            assert ours == theirs, (case, e, others, mine)
            agree += 1
            pruned += ours
            if theirs:
                break
    assert agree > 80 and pruned > 5  # both outcomes were exercised


def _tpe_spec(seed: int) -> dict:
    return {"name": "tpe", "base": {**BASE, "train": {"epochs": 2, "batch_size": 50}}, "method": "tpe", "trials": 6,
            "startup_trials": 3, "sample_seed": seed, "seeds": 1,
            "params": {"train.lr": {"low": 1e-3, "high": 0.3, "log": True}, "train.optimizer": ["sgd", "adam"]}}


def _tpe_result(where: Path) -> list[tuple]:
    return [(tuple(sorted(r["params"].items())), r["status"], r["metrics"].get("val_loss")) for r in _rows(where)]


def test_tpe_search_via_optuna_is_reproducible_under_a_seed_and_resumes(tmp_path):
    a = run_sweep(_tpe_spec(0), tmp_path / "a", workers=1, figure=False)
    assert (a["total"], a["status"]) == (6, {"done": 6})
    first = _tpe_result(tmp_path / "a" / "tpe")
    assert first == _tpe_result(tmp_path / "a" / "tpe") and len({p for p, _, _ in first}) == 6
    run_sweep(_tpe_spec(0), tmp_path / "b", workers=1, figure=False)
    assert _tpe_result(tmp_path / "b" / "tpe") == first  # same seed: the same settings, the same results
    run_sweep(_tpe_spec(1), tmp_path / "c", workers=1, figure=False)
    assert [p for p, _, _ in _tpe_result(tmp_path / "c" / "tpe")] != [p for p, _, _ in first]
    again = run_sweep(_tpe_spec(0), tmp_path / "a", workers=1, figure=False)  # replayed from the database
    assert (again["ran"], again["skipped"]) == (0, 6)
    # the model-based settings (after 3 random ones) come from TPE: Optuna's own sampler, same seed, same told values
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=3))
    dists = {"train.lr": optuna.distributions.FloatDistribution(1e-3, 0.3, log=True),
             "train.optimizer": optuna.distributions.CategoricalDistribution([0, 1])}
    for params, _, value in first:
        t = study.ask(dists)
        p = dict(params)
        assert t.params["train.lr"] == p["train.lr"] and ["sgd", "adam"][t.params["train.optimizer"]] == p["train.optimizer"]
        study.tell(t, value)


def test_tpe_runs_on_the_local_pool_and_pruners_work_there(tmp_path):
    spec = {**_tpe_spec(0), "trials": 4, "pruner": {"name": "median"}}
    r = run_sweep(spec, tmp_path, workers=2, figure=False)
    assert r["total"] == 4 and sum(r["status"].values()) == 4 and set(r["status"]) <= {"done", "pruned"}
    rows = _rows(tmp_path / "tpe")
    assert all(row["curve"] and Path(row["run_dir"], "metrics.json").exists() for row in rows)


def test_tpe_without_optuna_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)
    spec = tmp_path / "tpe.yaml"
    spec.write_text(yaml.safe_dump(_tpe_spec(0)))
    assert main(["sweep", str(spec), "--out", str(tmp_path), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "method: tpe needs 'optuna'" in err and "pip install 'initreg[optuna]'" in err and len(err.splitlines()) == 1


def test_ray_cluster_from_ray_start_head_runs_a_sweep_with_address_auto(tmp_path, capsys):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    gcs = port.getsockname()[1]
    port.close()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # `ray start --block` stops the cluster it started when terminated: this test stops only its own cluster
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={gcs}",
                             "--num-cpus=1", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        deadline, log = time.time() + 120, []
        while time.time() < deadline:
            line = head.stdout.readline()
            log.append(line)
            if "Ray runtime started" in line or not line:
                break
        assert "Ray runtime started" in "".join(log), "".join(log)
        spec = {"name": "ray", "base": {**BASE, "train": {**BASE["train"], "epochs": 2}},
                "params": {"train.lr": [0.1, 1e-5]}, "executor": "ray", "address": "auto",
                "pruner": {"name": "median", "warmup_epochs": 1},
                "ray": {"num_cpus": 1, "ship_code": True, "runtime_env": {"env_vars": {"OMP_NUM_THREADS": "1"}}}}
        r = run_sweep(spec, tmp_path, figure=False)
        assert not ray.is_initialized()  # the sweep disconnected; the cluster is still ours to stop
        assert r["total"] == 2 and set(r["status"]) <= {"done", "pruned"} and r["status"].get("done", 0) >= 1
        rows = _rows(tmp_path / "ray")
        for row in rows:  # every run folder came back to the driver's sweep folder
            d = Path(row["run_dir"])
            assert d.parent == (tmp_path / "ray" / "runs").resolve() and d.name == row["hash"]
            assert (d / "metrics.json").is_file() and (d / "model.pt").is_file() and row["curve"]
        assert main(["results", str(tmp_path / "ray"), "--csv", str(tmp_path / "r.csv")]) == 0
        with open(tmp_path / "r.csv") as f:
            assert {row["run_dir"] for row in csv.DictReader(f)} == {row["run_dir"] for row in rows}
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def test_ray_options_are_validated():
    with pytest.raises(ConfigError, match=r"ray: unknown key|ray.num_cpu") as e:
        load_spec({"base": BASE, "params": {"train.lr": [0.1]}, "ray": {"num_cpu": 1}})
    assert "\n" not in str(e.value)


def test_resumed_sweep_continues_a_killed_run_from_its_checkpoint(tmp_path):
    base = {"data": {"name": "digits", "train_size": 300}, "model": {"name": "mlp", "depth": 1, "width": 16},
            "train": {"epochs": 60, "batch_size": 10, "optimizer": "sgd"}}
    spec = {"name": "ck", "base": base, "params": {"train.lr": [0.05]}, "checkpoint_every": 1}
    path = tmp_path / "ck.yaml"
    path.write_text(yaml.safe_dump(spec))
    trial = load_spec(spec).expand()[0]
    run_dir = tmp_path / "out" / "ck" / "runs" / trial.hash
    code = f"from initreg.sweep import run_sweep; run_sweep({str(path)!r}, {str(tmp_path / 'out')!r}, workers=1)"
    p = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and p.poll() is None:
        if (run_dir / "checkpoint.pt").is_file() and (run_dir / "history.csv").is_file() \
                and len((run_dir / "history.csv").read_text().splitlines()) > 4:
            break
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)  # mid-run: the process group, as a killed job would be
    p.wait()
    assert not (run_dir / "model.pt").exists(), "the run finished before it was killed; nothing was tested"
    resumed = run_sweep(path, tmp_path / "out", workers=1, figure=False)
    fresh = run_sweep(spec, tmp_path / "fresh", workers=1, figure=False)
    assert resumed["status"] == fresh["status"] == {"done": 1}
    (a,), (b,) = _rows(tmp_path / "out" / "ck"), _rows(tmp_path / "fresh" / "ck")
    start = a["metrics"].pop("resumed_epoch")
    assert 1 <= start < 60 and "resumed_epoch" not in b["metrics"]
    assert a["metrics"] == b["metrics"]  # the same final metrics as an uninterrupted run (bit for bit on the CPU)

    def history(d):
        with open(Path(d) / "history.csv") as f:
            return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]

    assert history(a["run_dir"]) == history(b["run_dir"]) and len(history(a["run_dir"])) == 60


def test_sweep_stops_on_sigterm_with_status_130_keeping_the_run_resumable(tmp_path):
    base = {"data": {"name": "digits", "train_size": 300}, "model": {"name": "mlp", "depth": 1, "width": 16},
            "train": {"epochs": 200, "batch_size": 10, "optimizer": "sgd"}}
    spec = {"name": "term", "base": base, "params": {"train.lr": [0.05, 0.1]}}
    path = tmp_path / "term.yaml"
    path.write_text(yaml.safe_dump(spec))
    run_dir = tmp_path / "out" / "term" / "runs" / load_spec(spec).expand()[0].hash
    p = subprocess.Popen([str(Path(sys.executable).parent / "initreg"), "sweep", str(path), "--out", str(tmp_path / "out"),
                          "--workers", "1"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.time() + 180
    while time.time() < deadline and p.poll() is None and not (run_dir / "checkpoint.pt").is_file():
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    err = p.stderr.read()
    assert rc == 130 and "interrupted: SIGTERM: stopped with 0 of 2 runs finished; rerun the sweep to resume" in err, err
    assert not (run_dir / "model.pt").exists()  # it stopped mid-run ...
    (row, *_) = _rows(tmp_path / "out" / "term")
    assert row["status"] == "running" and (run_dir / "checkpoint.pt").is_file()  # ... and a rerun resumes it
