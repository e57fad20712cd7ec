"""Bad output locations and unsafe names fail before any work (one line, exit 2); every
OSError is one line with its path; empty selections are errors; YAML errors carry line and
column; narrow or piped output folds numbers instead of cutting them; a diverged run says so."""

import pytest

from initreg.cli import main

FAST = ["--set", "data.name=digits", "--set", "data.train_size=50", "--set", "model.width=8",
        "--set", "train.steps=1", "--set", "train.progress=none"]


def _one_line_error(capsys, *expect):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for e in expect:
        assert e in err, err
    return err


@pytest.fixture
def no_work(monkeypatch):
    """Loading data is the first piece of work: it must not happen."""
    import initreg.data

    def fail(*a, **k):
        raise AssertionError("data was loaded before the output location was checked")

    monkeypatch.setattr(initreg.data, "load_data", fail)


def test_train_out_is_a_file_fails_before_training(tmp_path, capsys, no_work):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["train", *FAST, "--out", str(f)]) == 2
    _one_line_error(capsys, f"--out {str(f)!r}", "is a file, not a folder")


@pytest.mark.parametrize("cmd", [["sweep", "SPEC"], ["lab", "--only", "C1"]])
def test_sweep_and_lab_out_is_a_file(tmp_path, capsys, cmd, no_work):
    f = tmp_path / "taken"
    f.write_text("x")
    spec = tmp_path / "s.yaml"
    spec.write_text("base: {data: {name: digits}}\nparams: {train.lr: [0.1]}\n")
    cmd = [str(spec) if c == "SPEC" else c for c in cmd]
    assert main([*cmd, "--out", str(f / "sub")]) == 2
    _one_line_error(capsys, "is a file, not a folder")
    assert f.read_text() == "x"


def test_probe_json_and_results_csv_into_a_folder(tmp_path, capsys):
    assert main(["probe", "--data", "digits", "--json", str(tmp_path), "--no-figure"]) == 2
    _one_line_error(capsys, "--json", "is a folder; give a file name")
    assert main(["results", str(tmp_path), "--csv", str(tmp_path)]) == 2
    _one_line_error(capsys, "--csv", "is a folder")


def test_read_only_output_fails_before_work(tmp_path, capsys, monkeypatch, no_work):
    import os
    from collections import namedtuple

    import initreg.utils.paths as paths

    fake = namedtuple("statvfs", ["f_flag"])(os.ST_RDONLY)
    monkeypatch.setattr(paths.os, "statvfs", lambda p: fake)
    assert main(["train", *FAST, "--out", str(tmp_path / "runs")]) == 2
    _one_line_error(capsys, "read-only file system")
    assert not (tmp_path / "runs").exists()


def test_an_oserror_anywhere_is_one_line_with_the_path(tmp_path, capsys, monkeypatch):
    import torch

    def full(obj, f, *a, **k):  # the disk fills up while the weights are written
        raise OSError(28, "No space left on device", str(f))

    monkeypatch.setattr(torch, "save", full)
    assert main(["train", *FAST, "--out", str(tmp_path / "runs")]) == 2
    _one_line_error(capsys, "model.pt", "No space left on device", str(tmp_path / "runs"))


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", "/abs"])
def test_sweep_name_traversal_is_rejected_before_any_work(tmp_path, capsys, name, no_work):
    out = tmp_path / "out"
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: {name!r}\nbase: {{data: {{name: digits}}}}\nparams: {{train.lr: [0.1]}}\n")
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    _one_line_error(capsys, "name", "cannot be used as a folder name")
    assert not out.exists() and not (tmp_path / "escaped").exists()


def test_run_name_traversal_is_rejected(tmp_path, capsys, no_work):
    out = tmp_path / "runs"
    assert main(["train", *FAST, "--set", "name=../escaped", "--out", str(out)]) == 2
    _one_line_error(capsys, "'../escaped' cannot be used as a folder name")
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("only", ["", ",", " , ", "../C1"])
def test_lab_empty_or_unsafe_selection_is_an_error(tmp_path, capsys, only):
    assert main(["lab", "--quick", "--only", only, "--out", str(tmp_path / "lab")]) == 2
    _one_line_error(capsys, "--only")
    assert not (tmp_path / "lab").exists()


def test_yaml_error_has_line_and_column(tmp_path, capsys):
    bad = tmp_path / "run.yaml"
    bad.write_text("data:\n  name: digits\ntrain: {lr: 0.1\n")
    assert main(["train", "--config", str(bad)]) == 2
    _one_line_error(capsys, "is not valid YAML at line 4, column 1")
    spec = tmp_path / "s.yaml"
    spec.write_text("params:\n  train.lr: [0.1, 0.2\n  model.width: 3\n")
    assert main(["sweep", str(spec), "--dry-run"]) == 2
    _one_line_error(capsys, "sweep spec", "line 3, column")


def test_huge_model_is_an_error_not_an_out_of_memory_crash(tmp_path, capsys):
    assert main(["train", *FAST, "--set", "model.width=100000000", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "parameters", "the limit is")
    assert main(["probe", "--data", "digits", "--width", "100000000", "--no-figure"]) == 2
    _one_line_error(capsys, "parameters")


def test_teacher_that_is_not_a_run_folder_fails_before_training(tmp_path, capsys):
    assert main(["train", *FAST, "--teacher", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "--teacher", "does not exist", "initreg train")


def test_a_diverged_run_prints_a_result_not_an_empty_table(tmp_path, capsys):
    rc = main(["train", *FAST, "--set", "train.lr=1e30", "--set", "train.optimizer=sgd", "--set", "train.steps=5",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "diverged" in out and "at step" in out and "run folder:" in out
    assert "diverged at step" in out.split("result")[-1]  # a row of the result table


def test_narrow_or_piped_output_keeps_every_digit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["train", *FAST, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    import json

    (run,) = tmp_path.iterdir()
    loss = json.loads((run / "metrics.json").read_text())["final"]["val_loss"]
    assert f"{loss:.4g}" in out.replace("│", "").replace(" ", "").replace("\n", "") or f"{loss:.4g}" in out
