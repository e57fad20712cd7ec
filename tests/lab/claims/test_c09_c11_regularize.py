"""Claims C9–C11: criterion logic on hand-made numbers, and the fast pieces run for real."""

import torch

from initreg.data import load_data
from initreg.lab.claims import c09_penalties as c9
from initreg.lab.claims import c10_batchnorm as c10
from initreg.lab.claims import c11_dropout as c11


def _w(norm, small, test_loss, gap):
    return {"norm": norm, "small_frac": small, "test_loss": test_loss, "gap": gap}


def test_c9_verdict_logic():
    w = {"none": [_w(10, 0.02, 0.9, 0.9)], "l2": [_w(5, 0.02, 0.6, 0.5)], "l1": [_w(8, 0.7, 0.8, 0.8)]}
    act = {0.0: [0.33], 1e-4: [0.5], 1e-3: [0.8]}
    assert all(c9.verdict(w, act).values())
    w["l2"][0]["norm"] = 6.5  # ratio 0.65 > 0.6
    w["l1"][0]["small_frac"] = 0.15  # < 50%
    act[1e-4] = [0.3]  # not monotone
    parts = c9.verdict(w, act)
    assert not parts["l2_shrinks"] and not parts["l1_sparse"] and not parts["activity_l1_sparsifies"]
    w["l2"][0].update(test_loss=0.85)  # only 0.05 lower
    assert not c9.verdict(w, act)["l2_lowers_test_loss_and_gap"]


def test_c9_activity_run_counts_zeros():
    d = load_data({"name": "digits", "train_size": 300})
    z0 = c9.activity_run(d, 0, 0.0, 2)
    z1 = c9.activity_run(d, 0, 1e-2, 2)
    assert 0.0 <= z0 < z1 <= 1.0


def test_c10_axes_and_train_eval_checks():
    axes = c10.axes_check(0)
    n, c, h, w = c10._SHAPE
    sizes = {"batch": n * h * w, "layer": c * h * w, "instance": h * w, "group": c // c10._GROUPS * h * w}
    for kind, size in sizes.items():
        assert axes[kind]["groups_match"] and axes[kind]["group_size"] == size and axes[kind]["hand_error"] < 1e-8
    model = c10.sigmoid_mlp(20, 3, True, 0)
    model.train()
    model(torch.randn(64, 20) + 2)  # move the running stats away from (0, 1)
    tve = c10.train_vs_eval(model, torch.randn(32, 20))
    assert tve["train_vs_batch_formula"] < 1e-10 and tve["eval_vs_running_formula"] < 1e-10
    assert tve["running_update_error"] < 1e-10 and tve["train_minus_eval_max"] > 1e-3


def test_c10_verdict_logic():
    tve = {"train_vs_batch_formula": 0, "eval_vs_running_formula": 0, "running_update_error": 0, "train_minus_eval_max": 1}
    axes = {"batch": {"groups_match": True, "hand_error": 0}}
    speed = {"bn": [{"steps": 800}], "plain": [{"steps": None}]}
    assert c10.verdict(tve, speed, axes, 4000)["bn_faster"]
    assert not c10.verdict(tve, speed, axes, 2000)["bn_faster"]  # budget below 3× the BN steps
    assert not c10.verdict(tve, {"bn": [{"steps": 800}], "plain": [{"steps": 1600}]}, axes, 4000)["bn_faster"]
    assert not c10.verdict(tve, {"bn": [{"steps": None}], "plain": [{"steps": None}]}, axes, 4000)["bn_faster"]


def test_c11_equivalence_is_exact_and_needs_the_lr_rescale():
    d = load_data({"name": "digits", "train_size": 200})
    r = c11.equivalence(d, 0, 40)
    assert r["max_diff"] < 1e-12
    assert r["max_diff_no_lr_rescale"] > 1e-3


def test_c11_verdict_logic():
    eq = [{"max_diff": 1e-15, "max_diff_no_lr_rescale": 0.5}]
    small = {"none": [{"test_err": 0.12}], "dropout": [{"test_err": 0.105}]}
    gaps, dis = [{1: -3.0, 50: 0.2, 100: -0.1}], [{1: 5.0, 100: 1.0}]
    assert all(c11.verdict(eq, small, gaps, dis).values())
    assert not c11.verdict(eq, {"none": [{"test_err": 0.12}], "dropout": [{"test_err": 0.118}]}, gaps, dis)[
        "dropout_lowers_test_error"]
    assert not c11.verdict(eq, small, [{1: -3.0, 50: 1.5, 100: 0.0}], dis)["mc_matches_weight_scaling"]
    assert not c11.verdict(eq, small, gaps, [{1: 2.0, 100: 1.5}])["mc_matches_weight_scaling"]
    assert not c11.verdict([{"max_diff": 1e-6, "max_diff_no_lr_rescale": 0.5}], small, gaps, dis)["classic_equals_inverted"]
