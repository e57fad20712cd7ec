"""Kill -9 during `initreg train`, then `--resume`: the run ends as an uninterrupted one would."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import torch

from initreg.runs import load_config, resume, run
from initreg.train.checkpoint import load_checkpoint

CFG = {"data": {"name": "synthetic", "train_size": 600, "options": {"n_samples": 1000}},
       "model": {"name": "mlp", "depth": 2, "width": 64, "dropout": 0.2},
       "train": {"epochs": 20, "batch_size": 8, "lr": 0.01, "optimizer": "adam", "progress": "none",
                 "checkpoint_every": 2, "schedule": "cosine"}}


def _sets(cfg, prefix=""):
    out = []
    for k, v in cfg.items():
        if isinstance(v, dict) and k != "options":
            out += _sets(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}={json.dumps(v)}")
    return out


def _cli(*args):
    return [sys.executable, "-c", "import sys; from initreg.cli import main; sys.exit(main())", *args]


def _rows(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def test_kill_9_then_resume_is_bit_identical(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = _cli("train", *sum((["--set", s] for s in _sets({**CFG, "name": "killed"})), []), "--out", str(tmp_path))
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    ck = tmp_path / "killed" / "checkpoint.pt"
    t0 = time.time()
    hist = tmp_path / "killed" / "history.csv"

    def past_checkpoint() -> bool:  # a history row after the checkpoint: resume must drop and redo it
        return ck.exists() and hist.exists() and len(hist.read_text().splitlines()) - 1 > load_checkpoint(ck)["epoch"]

    while p.poll() is None and time.time() - t0 < 300:
        try:
            if past_checkpoint():
                break
        except (OSError, RuntimeError, ValueError):  # a file being replaced right now
            pass
        time.sleep(0.02)
    assert p.poll() is None, f"the run ended before it could be killed: {p.stderr.read().decode()[-2000:]}"
    p.send_signal(signal.SIGKILL)
    p.wait()
    d = tmp_path / "killed"
    assert json.loads((d / "metrics.json").read_text())["status"] == "running"  # the live record survived
    assert not (d / "model.pt").exists()
    assert load_checkpoint(ck)["epoch"] < 20  # loads with weights_only=True

    r = subprocess.run(_cli("train", "--resume", str(d)), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]

    ref = run(load_config({**CFG, "name": "ref"}), tmp_path)
    got, want = json.loads((d / "metrics.json").read_text()), json.loads((ref.dir / "metrics.json").read_text())
    assert got["test"] == want["test"] and got["steps"] == want["steps"] and got["epochs"] == want["epochs"]
    assert _rows(d / "history.csv") == _rows(ref.dir / "history.csv")
    a = torch.load(d / "model.pt", weights_only=True)
    b = torch.load(ref.dir / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    r = subprocess.run(_cli("train", "--resume", str(d)), capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "had finished" in r.stdout  # a finished run is left as it is
    assert resume(d) is None
