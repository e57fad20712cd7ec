"""Fuzz the command line in-process (typer's CliRunner): random run configs, sweep specs and
argument lists — wrong types, huge / NaN / negative numbers, unicode, path-like strings.
Every case must end with exit 0 or 2 and never a traceback; a huge model is an exit-2
error, not an out-of-memory crash. Cases that would train are capped to one step on a
small train split. ``INITREG_FUZZ_EXAMPLES=N`` runs N cases per target (default 300)."""

import math
import os
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from initreg.cli import app

EXAMPLES = int(os.environ.get("INITREG_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not os.environ.get("INITREG_FUZZ_EXAMPLES"),
                suppress_health_check=list(HealthCheck))
CAP = ["--set", "train.steps=1", "--set", "data.train_size=40", "--set", "train.progress=none",
       "--set", "train.eval_batch_size=64"]  # appended last: a case that trains does one step on 40 examples

PATHLIKE = ["", " ", ".", "..", "../escaped", "/", "a/b", "/dev/null", "/proc/nope/x", "/sys/x", "~", "a\\b",
            "taken_file", "taken_file/sub", "existing_dir", "runs", "名前", "🙂.yaml", "x" * 300, "-", "--help"]
WEIRD = ["", " ", "nan", "NaN", "inf", "-inf", "1e999", "-1", "0", "true", "null", "~", "[1, 2", "{a: 1}", "%s", "{x}",
         "[bold]x[/]", "é", "🙂", "C1", "..", "../x", "a=b", "=", "a.b.c=1", "\t"]
ints = st.one_of(st.integers(-3, 6), st.sampled_from([10**7, 10**9, 2**63, -(10**18)]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 1e-320, 0.5, 0.01]))
words = st.one_of(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
                  st.sampled_from(WEIRD + PATHLIKE))
scalars = st.one_of(ints, floats, words, st.booleans(), st.none())
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(words, c, max_size=3), max_leaves=5)


def _one_of(*choices):
    return st.one_of(st.sampled_from(choices), scalars)


run_configs = st.fixed_dictionaries({}, optional={
    "name": st.one_of(words, st.sampled_from(["ok-run", "../escaped", "a/b"])),
    "seed": ints,
    "data": st.fixed_dictionaries({"name": _one_of("digits", "synthetic", "mnist", "imagenet")}, optional={
        "train_size": ints, "val_fraction": floats, "label_noise": floats, "flatten": scalars, "seed": ints,
        "standardize": scalars, "options": st.dictionaries(words, values, max_size=2)}) | values,
    "model": st.fixed_dictionaries({"name": _one_of("mlp", "linear", "cnn", "low_rank")}, optional={
        "depth": ints, "width": ints, "widths": values, "rank": ints, "activation": _one_of("relu", "tanh", "swoosh"),
        "init": st.one_of(_one_of("kaiming_normal", "xavier_uniform", "orthogonal", "torch", "auto"), values),
        "dropout": floats, "norm": _one_of("batch", "layer", "none"), "bias": scalars}) | values,
    "train": st.fixed_dictionaries({}, optional={
        "optimizer": _one_of("sgd", "adam", "adamw"), "lr": floats, "momentum": floats, "betas": values,
        "batch_size": ints, "epochs": ints, "loss": _one_of("mse", "cross_entropy"), "label_smoothing": floats,
        "grad_clip": floats, "device": _one_of("cpu", "auto", "cuda:3", "tpu"), "precision": _one_of("bf16", "fp64"),
        "schedule": _one_of("cosine", "step"), "weight_decay": floats, "seeds": st.integers(-1, 2) | words,
        "nesterov": scalars}) | values,
    "regularize": st.lists(st.one_of(_one_of("l2", "l1", "mixup", "label_smoothing", "nope"),
                                     st.fixed_dictionaries({"name": _one_of("l2", "activity", "max_norm")},
                                                           optional={"strength": floats, "p": floats})), max_size=2),
})


@pytest.fixture
def runner_in(tmp_path, monkeypatch):
    """A CliRunner in a scratch folder with a file and a folder that paths can collide with."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken_file").write_text("x")
    (tmp_path / "existing_dir").mkdir()
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # Cap the work of a case that trains: the curves figure is drawn but not rendered to PNG
    # (rendering is ~90% of a one-step run; tests/train check the figure itself).
    import initreg.plot

    monkeypatch.setattr(initreg.plot, "save_figure", lambda fig, path, dpi=110: path)  # pyplot-free: nothing to close
    return CliRunner()


def _check(runner: CliRunner, args: list[str]) -> None:
    r = runner.invoke(app, args, catch_exceptions=True)
    out = r.output
    if r.exit_code not in (0, 2) or "Traceback" in out:
        exc = r.exception
        raise AssertionError(f"initreg {args!r} -> exit {r.exit_code}: {type(exc).__name__}: {exc}\n{out[-2000:]}") from exc
    if r.exit_code == 2:
        assert out.strip(), f"exit 2 without a message: {args!r}"


def _dump(path: Path, obj) -> str:
    path.write_text(yaml.safe_dump(obj, allow_unicode=True, sort_keys=False))
    return str(path)


@FUZZ
@given(cfg=run_configs, sets=st.lists(st.tuples(st.sampled_from(["train.lr", "model.width", "data.name", "seed",
                                                                  "model.depth", "trian.lr", "train", "model.init.x"]),
                                                words | st.sampled_from(["1e9", "-1", ".nan", "10000000"])), max_size=2))
def test_fuzz_run_configs(runner_in, tmp_path, cfg, sets):
    args = ["train", "--config", _dump(tmp_path / "run.yaml", cfg), "--out", str(tmp_path / "runs")]
    for k, v in sets:
        args += ["--set", f"{k}={v}"]
    _check(runner_in, args + CAP)


sweep_specs = st.fixed_dictionaries({"params": st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(["train.lr", "model.width", "model.init", "seed", "train.epochs",
                                               "data.train_size", "model.depth", "nope.x", "model"]), words),
                    st.one_of(st.lists(scalars, max_size=3),
                              st.fixed_dictionaries({"low": scalars, "high": scalars},
                                                    optional={"log": scalars, "int": scalars, "x": scalars})),
                    max_size=3), values)}, optional={
    "name": st.one_of(words, st.sampled_from(["ok", "../escaped", "/abs", "a/b", ".."])),
    "base": st.one_of(run_configs, st.sampled_from(["run.yaml", "missing.yaml", "../x.yaml", "existing_dir"]), values),
    "method": _one_of("grid", "random"), "trials": ints, "sample_seed": ints, "seeds": st.one_of(ints, values),
    "metric": _one_of("val_loss", "val_acc", "f1"), "mode": _one_of("min", "max"), "executor": _one_of("local", "ray"),
    "workers": ints, "address": scalars,
})
sweep_specs = st.builds(lambda spec, extra: {**extra, **spec}, sweep_specs,
                        st.dictionaries(words, values, max_size=1))  # an unknown key now and then


@FUZZ
@given(spec=sweep_specs, base=run_configs)
def test_fuzz_sweep_specs(runner_in, tmp_path, spec, base):
    _dump(tmp_path / "run.yaml", base)
    _check(runner_in, ["sweep", _dump(tmp_path / "sweep.yaml", spec), "--dry-run", "--out", str(tmp_path / "sweeps")])


def _opt(name: str, value) -> st.SearchStrategy:
    return st.tuples(st.just(name), value)


arg_text = st.one_of(words, st.sampled_from(PATHLIKE), st.builds(str, ints), st.builds(repr, floats))
COMMANDS = {
    "train": [_opt("--config", st.sampled_from(PATHLIKE)), _opt("--set", arg_text), _opt("--out", st.sampled_from(PATHLIKE)),
              _opt("--data-dir", st.sampled_from(PATHLIKE)), _opt("--teacher", st.sampled_from(PATHLIKE)),
              _opt("--kd-temperature", arg_text), _opt("--kd-alpha", arg_text)],
    "sweep": [_opt("--executor", arg_text), _opt("--workers", arg_text), _opt("--out", st.sampled_from(PATHLIKE)),
              _opt("--address", arg_text)],
    "results": [_opt("--csv", st.sampled_from(PATHLIKE)), _opt("--metric", arg_text), _opt("--figure", st.sampled_from(PATHLIKE))],
    "lab": [_opt("--only", arg_text), _opt("--out", st.sampled_from(PATHLIKE)), _opt("--seeds", arg_text),
            _opt("--workers", arg_text)],
    "probe": [_opt("--model", _one_of("mlp", "cnn", "linear").map(str)), _opt("--depth", arg_text), _opt("--width", arg_text),
              _opt("--activation", arg_text), _opt("--init", arg_text), _opt("--set", arg_text),
              _opt("--data", st.sampled_from(["digits", "synthetic", "mnist", "x", ""])), _opt("--batch-size", arg_text),
              _opt("--seed", arg_text), _opt("--jacobian", st.sampled_from(["0", "1", "-1", "x", "99999999999"])),
              _opt("--json", st.sampled_from(PATHLIKE))],
    "critical": [_opt("--q-star", arg_text), _opt("--sigma-b", arg_text), _opt("--param", arg_text)],
    "activations": [_opt("--figure", st.sampled_from(["", ".", "existing_dir", "taken_file/a.png", "/proc/x/a.png"]))],
    "init": [_opt("--param", arg_text), _opt("--model", arg_text), _opt("--set", st.sampled_from(["depth=2", "width=-1", "x=1", "="])),
             _opt("--input-shape", st.sampled_from(["784", "1,28,28", "x", "", "0", "-1", "1,0,28"])),
             _opt("--outputs", st.sampled_from(["10", "1", "x", "0", "-1"]))],
    "datasets": [], "models": [], "inits": [],
}


@st.composite
def arg_lists(draw):
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    args = [cmd]
    if cmd in ("sweep", "results", "critical", "init"):
        args.append(draw(arg_text))  # the positional argument
    opts = COMMANDS[cmd]
    for name, value in draw(st.lists(st.one_of(*opts), max_size=4)) if opts else []:
        args += [name, value]
    if draw(st.booleans()):  # junk: an unknown option or a stray word
        args.insert(draw(st.integers(1, len(args))), draw(st.sampled_from(["--nope", "-z", "extra", "--", "—", "--set"])))
    if cmd == "lab":
        args.append("--list")  # the lab itself takes minutes: its selection and options are what is fuzzed
    if cmd == "sweep":
        args.append("--dry-run")
    if cmd == "train":
        args += CAP + ["--out", "runs"] if "--out" not in args else CAP
    if cmd == "probe":
        args.append("--no-figure")
    return args


@FUZZ
@given(args=arg_lists())
def test_fuzz_cli_arguments(runner_in, args):
    _check(runner_in, args)


def test_fuzz_the_strategies_reach_training_and_exit_0(runner_in, tmp_path):
    """Not only errors: a plain config from the same generator trains (one step) and exits 0."""
    r = runner_in.invoke(app, ["train", "--config", _dump(tmp_path / "run.yaml", {"data": {"name": "digits"}}), *CAP])
    assert r.exit_code == 0, r.output
    assert set(string.digits) & set(r.output)
