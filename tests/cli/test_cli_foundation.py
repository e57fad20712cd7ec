"""The CLI end to end: help with examples, datasets/models listings, train, bad configs
(exit 2, one line, no traceback) and the missing-local-data message."""

import subprocess
import sys

import pytest

from initreg.cli import app, main


def _commands():
    import typer.main

    return sorted(typer.main.get_command(app).commands)


def test_every_command_explains_itself_with_an_example(capsys):
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "Example:" in top
    names = _commands()
    assert {"datasets", "models", "train", "lab"} <= set(names)
    for name in names:
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Example" in out, f"`initreg {name} --help` has no example"


def test_datasets_and_models_listings(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist5k", "mnist1d", "synthetic", "mnist", "fashion-mnist", "cifar10"):
        assert name in out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("linear", "mlp", "cnn", "low_rank"):
        assert name in out
    assert "depth=2" in out


def test_train_writes_a_run_folder(tmp_path, capsys):
    rc = main(["train", "--set", "data.name=digits", "--set", "data.train_size=100", "--set", "model.depth=1",
               "--set", "model.width=16", "--set", "train.epochs=1", "--set", "train.progress=none",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test_acc" in out and "run folder:" in out
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "model.pt").exists() and (run_dir / "metrics.json").exists()


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--set", "train.lr=-1"], "train.lr: Input should be greater than 0 (got -1)"),
        (["--set", "train.batch_size=0"], "train.batch_size: Input should be greater than or equal to 1 (got 0)"),
        (["--set", "model.dropout=1"], "model 'mlp': dropout: Input should be less than 1 (got 1)"),
        (["--set", "data.name=imagenet"], "data.name: unknown data set 'imagenet'"),
        (["--set", "model.activation=swoosh"], "activation: unknown activation 'swoosh'"),
        (["--set", "trian.lr=1"], "unknown key(s) 'trian'; valid keys: name, seed, data, model, train, regularize"),
        (["--config", "/nonexistent/run.yaml"], "config file '/nonexistent/run.yaml' does not exist"),
    ],
)
def test_bad_config_exits_2_with_one_line(args, expect, capsys):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expect in err and "Traceback" not in err


def test_missing_local_data_set_exits_2_saying_what_to_do(tmp_path, capsys):
    assert main(["train", "--set", "data.name=mnist", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train-images-idx3-ubyte" in err and str(tmp_path) in err
    assert "nothing is downloaded" in err and "Traceback" not in err


def test_console_script_bad_config_no_traceback(tmp_path):
    """The real `initreg` entry point, in a fresh process."""
    bad = tmp_path / "run.yaml"
    bad.write_text("train:\n  lr: 0\n  optimiser: sgd\n")
    p = subprocess.run([sys.executable, "-c", "from initreg.cli import _console_script; _console_script()",
                        "train", "--config", str(bad)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: train: unknown key(s) 'optimiser'; valid keys: " + p.stderr.split("valid keys: ")[1].strip()]
    assert "Traceback" not in p.stderr and p.stdout == ""
