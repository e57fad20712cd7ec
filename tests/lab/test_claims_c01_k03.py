"""Claims C1 (bottleneck) and K3 (overfitting): their measurements on hand-made histories and
on tiny budgets — one value per seed for each declared part, the identities they rest on, and
K3's smoothed windows (one noisy epoch cannot decide the last-quarter check)."""

import math

import pytest

from initreg.lab import Context
from initreg.lab.claims import c01_bottleneck as c1
from initreg.lab.claims import k03_overfitting as k3
from initreg.train import History


def test_c1_bottleneck_is_one_map_of_rank_k():
    data = c1._synthetic_data(0)
    assert data.sizes() == {"train": 150, "val": 50, "test": 1000} and data.input_shape == (100,)
    for k in (2, 4):
        r = c1._synthetic_runs([data], [0], k, steps=30)[0]
        assert r["rank"] == k and len(r["singular_values"]) == 10
        assert r["singular_values"][k] < 1e-5 * r["singular_values"][0]
        assert r["collapse_err"] < 1e-12
    full = c1._synthetic_runs([data], [0], None, steps=30)[0]
    assert full["rank"] == 50 and math.isnan(full["collapse_err"])


def test_c1_measures_every_part_per_seed(tmp_path):
    exp = c1.run
    seeds = [0, 1, 2]
    ctx = Context(quick=True, seeds=seeds, settings={**exp.mode_settings(True), "steps": 40, "mnist_epochs": 1},
                  dir=tmp_path, log=lambda m: None)
    out = exp(ctx)
    rec = exp.judge(out, ctx)
    assert set(out.measurements) == {c.part for c in exp.criteria}
    assert all(len(v) == 3 for v in out.measurements.values())
    assert out.measurements["rank_at_most_k"] == [0, 0, 0]
    per = out.numbers["per_seed"]
    lr = out.measurements["bottleneck_regularizes_lowrank"]
    assert lr == pytest.approx([math.log10(f / k) for f, k in zip(per["test_mse_full"], per["test_mse_k4"])])
    assert out.measurements["bottleneck_regularizes_mnist"] == pytest.approx(
        [a - b for a, b in zip(per["mnist_test_loss_plain"], per["mnist_test_loss_bottleneck"])])
    assert out.numbers["ratio_lowrank"]["mean"] == pytest.approx(sum(10 ** v for v in lr) / 3)
    assert rec["headline"] == "bottleneck_regularizes_mnist" and rec["seeds"] == seeds
    assert "k = 2" in out.numbers["per_rank"] and (tmp_path / "bottleneck.png").stat().st_size > 5_000


def test_c1_needs_the_true_rank(tmp_path):
    ctx = Context(quick=True, seeds=[0, 1, 2], settings={**c1.run.mode_settings(True), "ranks": [2, 8]},
                  dir=tmp_path, log=lambda m: None)
    with pytest.raises(ValueError, match="needs the true rank 4"):
        c1.run(ctx)


def _hist(val, train):
    return History(records=[{"epoch": i + 1, "val_loss": v, "train_loss": t, "val_acc": 0.5}
                            for i, (v, t) in enumerate(zip(val, train))])


def test_k3_moving_average():
    assert k3.moving_average([1.0, 3.0, 5.0, 7.0], 3) == [1.0, 2.0, 3.0, 5.0]
    with pytest.raises(ValueError, match="window must be >= 1"):
        k3.moving_average([1.0], 0)


def test_k3_windows_not_single_epochs():
    # 20 epochs: val rises steadily after epoch 4, but the very last epoch dips below the epoch at 3/4
    val = [1.0, 0.7, 0.5, 0.45] + [0.45 + 0.02 * i for i in range(1, 16)] + [0.40]
    train = [1.0 / (i + 1) for i in range(20)]
    p = k3.overfitting_point(_hist(val, train), window=5)
    assert val[-1] < val[14]  # single epochs: "the validation loss fell over the last quarter"
    assert p["late_val_ratio"] > 1  # windows: it rose
    assert p["late_train_ratio"] < 1
    assert p["windows"] == {"e_first": 11, "e_last": 15, "q_first": 16, "q_last": 20}
    late = sum(val[15:20]) / 5
    assert p["late_val_ratio"] == pytest.approx(late / (sum(val[10:15]) / 5))
    assert p["best_epoch"] == 5  # the smoothed minimum, not the raw one (epoch 4)
    assert p["val_rise"] == pytest.approx(p["val_loss_last"] / p["val_loss_best"])


def test_k3_plateau_and_recovery_are_not_rises():
    train = [1.0 / (i + 1) for i in range(20)]
    flat = k3.overfitting_point(_hist([1.0, 0.6] + [0.5] * 18, train), window=5)
    assert flat["late_val_ratio"] == pytest.approx(1.0)
    recovering = k3.overfitting_point(_hist([1.0, 0.5] + [0.5 + 0.05 * i for i in range(10)]
                                            + [0.95 - 0.05 * i for i in range(8)], train), window=5)
    assert recovering["late_val_ratio"] < 1
    stalls = k3.overfitting_point(_hist([1.0, 0.5] + [0.5 + 0.01 * i for i in range(18)], [0.3] * 20), window=5)
    assert stalls["late_train_ratio"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs records with train_loss and val_loss"):
        k3.overfitting_point(History(), window=5)
    with pytest.raises(ValueError, match="epochs"):
        k3.overfitting_point(_hist([1.0] * 6, [1.0] * 6), window=5)


def test_k3_declared_in_the_lectures_form():
    exp = k3.run
    assert exp.claim == "K3" and 3 < exp.order < 4 and exp.lecture == ("K3",)
    assert {c.part for c in exp.criteria} == {"val_loss_rises_late", "train_loss_falls_late"}
    assert all(c.threshold == 0.0 for c in exp.criteria)
    assert exp.settings["quick"]["window"] == exp.settings["full"]["window"] > 1
