"""`run` and its folder, `load_config` (YAML + overrides, friendly errors), `History`."""

import json
import math

import pytest
import torch
import yaml

from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.runs import apply_overrides
from initreg.train import History, RunConfig, load_config, run

TINY = {"data": {"name": "digits", "train_size": 100}, "model": {"name": "mlp", "depth": 1, "width": 16, "init": "torch"},
        "train": {"epochs": 2, "batch_size": 50, "progress": "none"}, "seed": 1}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run(TINY, out), out


def test_run_folder_has_every_file(tiny_run):
    res, out = tiny_run
    d = res.dir
    assert d.parent == out and d.name.startswith("mlp-digits-")
    assert sorted(p.name for p in d.iterdir()) == ["config.yaml", "curves.png", "history.csv", "metrics.json", "model.pt"]
    assert not list(d.glob(".*.tmp"))  # no temp files left behind
    assert (d / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_yaml_is_resolved_and_reloads(tiny_run):
    res, _ = tiny_run
    cfg = yaml.safe_load((res.dir / "config.yaml").read_text())
    assert cfg["seed"] == 1 and cfg["train"]["seed"] == 1 and cfg["train"]["lr"] == 1e-3  # defaults written out
    env = cfg["_meta"]["environment"]
    assert env["torch"] == torch.__version__ and "git" in env and "python" in env and "initreg" in env
    again = load_config(res.dir / "config.yaml")  # a run folder's config reruns the run
    assert again.model_dump() == RunConfig(**{k: v for k, v in cfg.items() if k != "_meta"}).model_dump()


def test_weights_load_with_weights_only(tiny_run):
    res, _ = tiny_run
    state = torch.load(res.dir / "model.pt", weights_only=True)
    m = build_model(TINY["model"], res.data.input_shape, res.data.num_outputs)
    m.load_state_dict(state)
    x = res.data.x_test[:5]
    res.model.eval()
    m.eval()
    torch.testing.assert_close(m(x), res.model(x))


def test_history_csv_and_metrics_json(tiny_run):
    res, _ = tiny_run
    lines = (res.dir / "history.csv").read_text().strip().splitlines()
    assert lines[0].startswith("epoch,step,train_loss,train_acc,val_loss") and len(lines) == 3
    m = json.loads((res.dir / "metrics.json").read_text())
    assert m["diverged"] is False and m["epochs"] == 2 and m["steps"] == 4
    assert m["test"]["acc"] == pytest.approx(res.history.test["acc"]) and m["final"]["epoch"] == 2


def test_run_is_reproducible_and_auto_names_do_not_collide(tiny_run, tmp_path):
    res, _ = tiny_run
    a, b = run(TINY, tmp_path), run(TINY, tmp_path)
    assert a.dir != b.dir and a.dir.exists() and b.dir.exists()
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a.history.records]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in res.history.records]
    named = run({**TINY, "name": "mine"}, tmp_path)
    assert named.dir == tmp_path / "mine"


class _FrozenClock(__import__("datetime").datetime):
    """``datetime.now()`` stuck on one second: every run starts "in the same second"."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize("seeds", [1, 3])
def test_unnamed_runs_started_in_the_same_second_get_their_own_folders(seeds, tmp_path, monkeypatch):
    """Single- and multi-seed runs share one folder writer: the second run started in the same
    second goes to ``<name>-2``, never into the first run's folder."""
    import datetime

    cfg = {**TINY, "train": {**TINY["train"], "seeds": seeds, "epochs": 1}}
    run(cfg, tmp_path / "warm-up")  # loads every lazily imported module (C extensions want the real clock)
    monkeypatch.setattr(datetime, "datetime", _FrozenClock)
    tmp_path = tmp_path / "runs"
    a, b = run(cfg, tmp_path), run(cfg, tmp_path)
    assert a.dir != b.dir and a.dir.exists() and b.dir.exists()
    assert b.dir.name == a.dir.name + "-2" and a.dir.name.endswith("20260102-030405")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.dir.name, b.dir.name])
    # each folder holds its own run's files, untouched by the other run
    assert yaml.safe_load((a.dir / "config.yaml").read_text())["_meta"]["created"] == "20260102-030405"
    if seeds > 1:
        assert sorted(p.name for p in a.dir.iterdir()) == ["config.yaml", "metrics.json", "seed-0", "seed-1", "seed-2"]


def test_run_without_out_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run(TINY, None)
    assert res.dir is None and list(tmp_path.iterdir()) == []


def test_one_seed_seeds_training_unless_train_seed_is_set():
    assert RunConfig(seed=7).train.seed == 7
    assert RunConfig(seed=7, train={"seed": 2}).train.seed == 2
    assert RunConfig().train.seed == 0
    assert load_config(None, ["seed=5"]).train.seed == 5


def test_load_config_yaml_and_overrides(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text("data:\n  name: digits\ntrain:\n  lr: 0.1\n  optimizer: sgd\n")
    cfg = load_config(p, ["train.lr=0.01", "model.depth=3", "train.betas=[0.8, 0.9]", "name=x"])
    assert cfg.train.lr == 0.01 and cfg.train.optimizer == "sgd" and cfg.model == {"name": "mlp", "depth": 3}
    assert cfg.train.betas == (0.8, 0.9) and cfg.name == "x" and cfg.data.name == "digits"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["trian.lr=1"], r"^unknown key\(s\) 'trian'; valid keys: name, seed, data, model, train, regularize, log$"),
        (["train.lrate=1"], r"^train: unknown key\(s\) 'lrate'; valid keys: optimizer, lr, "),
        (["data.colour=1"], r"^data: unknown key\(s\) 'colour'; valid keys: name, train_size, "),
        (["train.lr=0"], r"^train.lr: Input should be greater than 0 \(got 0\)$"),
        (["train.lr=-1"], r"^train.lr: Input should be greater than 0 \(got -1\)$"),
        (["train.batch_size=0"], r"^train.batch_size: Input should be greater than or equal to 1 \(got 0\)$"),
        (["model.dropout=1.5"], r"^model 'mlp': dropout: Input should be less than 1 \(got 1.5\)$"),
        (["model.dropout=-0.1"], r"^model 'mlp': dropout: Input should be greater than or equal to 0 \(got -0.1\)$"),
        (["data.name=imagenet"], r"^data.name: unknown data set 'imagenet'; known: cifar10, digits, "),
        (["model.name=resnet"], r"^model: unknown model 'resnet'; known: "),
        (["model.activation=relux"], r"unknown activation 'relux'.*known: .*relu"),
        (["model.depht=2"], r"^model 'mlp': unknown key\(s\) 'depht'; valid keys: depth, "),
        (["train.lr"], r"^--set expects key=value \(e.g. train.lr=0.01\); got 'train.lr'$"),
        (["train..lr=1"], r"^--set: bad key 'train..lr'; use dotted keys like train.lr$"),
        (["seed=1", "seed.x=1"], r"^--set seed.x: 'seed' is not a section$"),
        (["seed.x=1"], r"^seed: Input should be a valid integer \(got \{'x': 1\}\)$"),
    ],
)
def test_bad_configs_fail_naming_field_value_and_allowed(overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_config(None, overrides)
    assert "\n" not in str(e.value)


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping at the top level; got list"):
        load_config(tmp_path / "list.yaml")


def test_apply_overrides_does_not_mutate_input():
    cfg = {"train": {"lr": 1}}
    out = apply_overrides(cfg, ["train.lr=2", "train.flag=true", "data.name=digits"])
    assert cfg == {"train": {"lr": 1}} and out == {"train": {"lr": 2, "flag": True}, "data": {"name": "digits"}}


class TestHistory:
    h = History(records=[{"epoch": 1, "val_loss": 0.5, "val_acc": 0.8}, {"epoch": 2, "val_loss": 0.3},
                         {"epoch": 3, "val_loss": 0.4, "val_acc": 0.9}])

    def test_column_best_last(self):
        assert self.h.column("val_loss") == [0.5, 0.3, 0.4]
        assert math.isnan(self.h.column("val_acc")[1])
        assert self.h.best()["epoch"] == 2 and self.h.best("val_acc", "max")["epoch"] == 3
        assert self.h.last["epoch"] == 3 and History().last == {}

    def test_best_errors(self):
        with pytest.raises(ValueError, match="mode must be 'min' or 'max'; got mode='low'"):
            self.h.best(mode="low")
        with pytest.raises(ValueError, match=r"no record has metric 'test_loss'; recorded keys: \['epoch', 'val_acc', 'val_loss'\]"):
            self.h.best("test_loss")

    def test_csv_union_of_keys_and_summary(self, tmp_path):
        text = self.h.to_csv().splitlines()
        assert text[0] == "epoch,val_loss,val_acc" and text[2] == "2,0.3,"
        self.h.write_csv(tmp_path / "h.csv")
        assert (tmp_path / "h.csv").read_text().splitlines() == text
        s = self.h.summary()
        assert "records" not in s and s["final"]["epoch"] == 3 and s["diverged"] is False
