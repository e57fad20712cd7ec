"""Atomic writes, JSON with NaN and numpy values, environment info, mean ± 95% CI."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from initreg.utils import atomic_write, environment_info, mean_ci, write_json, write_text


def test_atomic_write_replaces_whole_file_and_cleans_up(tmp_path):
    p = tmp_path / "sub" / "f.txt"
    write_text(p, "old")
    assert p.read_text() == "old"
    write_text(p, "new")
    assert p.read_text() == "new" and sorted(os.listdir(p.parent)) == ["f.txt"]
    assert (p.stat().st_mode & 0o777) == 0o666 & ~_umask()  # usual permissions, not mkstemp's 0600


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    p = tmp_path / "f.txt"
    write_text(p, "intact")

    def half_then_crash(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of a write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(p, half_then_crash)
    assert p.read_text() == "intact" and os.listdir(tmp_path) == ["f.txt"]


def test_write_json_handles_numpy_nan_and_paths(tmp_path):
    p = write_json(tmp_path / "x.json", {"a": np.float32(1.5), "b": np.arange(3), "c": math.nan, "d": tmp_path,
                                         "e": (1, 2)})
    d = json.loads(p.read_text())
    assert d["a"] == 1.5 and d["b"] == [0, 1, 2] and math.isnan(d["c"]) and d["d"] == str(tmp_path) and d["e"] == [1, 2]


def test_environment_info_has_versions():
    env = environment_info()
    assert {"initreg", "python", "torch", "numpy", "platform", "git", "torch_threads"} <= set(env)


def test_mean_ci_matches_student_t_interval():
    vals = [1.0, 2.5, 2.0, 4.0, 3.1]
    r = mean_ci(vals)
    lo, hi = stats.t.interval(0.95, len(vals) - 1, loc=np.mean(vals), scale=stats.sem(vals))
    assert r["mean"] == pytest.approx(np.mean(vals)) and r["lo"] == pytest.approx(lo) and r["hi"] == pytest.approx(hi)
    assert (r["n"], r["min"], r["max"]) == (5, 1.0, 4.0)


def test_mean_ci_edge_cases():
    assert mean_ci([3.0])["ci"] == 0.0
    assert math.isnan(mean_ci([1.0, math.nan])["ci"])
    assert mean_ci([2.0, 2.0, 2.0])["ci"] == 0.0
    with pytest.raises(ValueError, match="mean_ci needs at least one value; got an empty sequence"):
        mean_ci([])
