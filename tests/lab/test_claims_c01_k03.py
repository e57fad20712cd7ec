"""Claims C1 (bottleneck) and K3 (overfitting): their criteria on hand-made numbers, and
C1's pieces on a tiny budget. (The full quick run of C1 is in tests/cli/test_cli_lab.py.)"""

import pytest

from initreg.lab.claims import c01_bottleneck as c1
from initreg.lab.claims import k03_overfitting as k3
from initreg.train import History


def _syn(full, k2, k4, k8, ranks=(2, 4, 8)):
    """Per-seed records: (train_mse, test_mse) pairs; ranks as learned."""
    rec = lambda tr, te, r: {"train_mse": tr, "test_mse": te, "rank": r}  # noqa: E731
    return {"full": [rec(*full, 50)], "k2": [rec(*k2, ranks[0])], "k4": [rec(*k4, ranks[1])], "k8": [rec(*k8, ranks[2])]}


def test_c1_criterion_parts():
    mn_ok = {"plain": [{"test_loss": 0.5}], "bottleneck": [{"test_loss": 0.6}]}
    good = _syn((0.3, 2.0), (30.0, 31.0), (0.9, 0.19), (0.8, 0.5))
    assert all(c1.verdict(good, mn_ok, [2, 4, 8]).values())
    bad_rank = _syn((0.3, 2.0), (30.0, 31.0), (0.9, 0.19), (0.8, 0.5), ranks=(2, 3, 8))
    assert not c1.verdict(bad_rank, mn_ok, [2, 4, 8])["rank_is_k"]
    close = _syn((0.3, 2.0), (30.0, 31.0), (0.9, 0.6), (0.8, 0.5))  # k=4 only 3.3x better: not "far better"
    assert not c1.verdict(close, mn_ok, [2, 4, 8])["true_rank_beats_full"]
    fits = _syn((0.3, 2.0), (3.0, 3.1), (0.9, 0.19), (0.8, 0.5))  # k=2 fits train nearly as well
    assert not c1.verdict(fits, mn_ok, [2, 4, 8])["too_small_underfits"]
    helps = {"plain": [{"test_loss": 0.6}], "bottleneck": [{"test_loss": 0.5}]}
    assert not c1.verdict(good, helps, [2, 4, 8])["mnist_bottleneck_no_help"]


def test_c1_product_rank_is_exactly_k_after_training():
    data = c1._synthetic_data(0)
    assert data.sizes() == {"train": 150, "val": 50, "test": 1000} and data.input_shape == (100,)
    for k in (2, 4):
        r = c1._synthetic_run(data, 0, k, steps=30)
        assert r["rank"] == k and len(r["singular_values"]) == 10
        assert r["singular_values"][k] < 1e-5 * r["singular_values"][0]


def test_c1_settings_keep_the_criterion_fixed():
    exp = c1.run
    assert exp.claim == "C1" and exp.lecture == ("L2",) and exp.criterion == c1.CRITERION
    assert exp.settings["quick"]["ranks"] == exp.settings["full"]["ranks"]
    assert exp.settings["quick"]["steps"] <= exp.settings["full"]["steps"]


def _hist(val, train):
    return History(records=[{"epoch": i + 1, "val_loss": v, "train_loss": t} for i, (v, t) in enumerate(zip(val, train))])


def test_k3_overfitting_point_and_criterion():
    val = [1.0, 0.6, 0.5, 0.55, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7]
    train = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001]
    p = k3.overfitting_point(_hist(val, train))
    assert (p["best_epoch"], p["last_epoch"]) == (3, 10)
    assert p["val_rise"] == pytest.approx(0.7 / 0.5) and p["train_ratio"] == pytest.approx(0.001 / 0.3)
    assert k3.holds(p)
    no_rise = k3.overfitting_point(_hist([1.0, 0.6, 0.5] + [0.52] * 7, train))  # plateau, 4% above the minimum
    assert not k3.holds(no_rise)
    late = k3.overfitting_point(_hist([1.0 - 0.05 * i for i in range(8)] + [0.8, 0.9], train))  # minimum at epoch 8 of 10
    assert late["best_epoch"] == 8 and not k3.holds(late)
    stalls = k3.overfitting_point(_hist(val, [1.0, 0.5, 0.3] + [0.29] * 7))  # train loss stops falling
    assert not k3.holds(stalls)
    recovering = k3.overfitting_point(_hist([1.0, 0.6, 0.5, 0.7, 0.9, 1.0, 0.95, 0.9, 0.85, 0.8], train))
    assert recovering["val_rise"] > 1.5 and recovering["late_val_rise"] < 1 and not k3.holds(recovering)
    with pytest.raises(ValueError, match="needs records with train_loss and val_loss"):
        k3.overfitting_point(History())


def test_k3_registered_after_part_one_with_fixed_criterion():
    exp = k3.run
    assert exp.claim == "K3" and 3 < exp.order < 4
    assert exp.settings["quick"]["train_size"] == exp.settings["full"]["train_size"]
    assert str(k3.MIN_VAL_RISE) in exp.criterion
