"""The init claims (C2–C8) run end to end on tiny settings; their verdicts depend on the data."""

import pytest

from initreg.lab import Context
from initreg.lab.claims import (
    c02_activations,
    c03_softmax,
    c04_constant,
    c05_legacy,
    c06_xavier,
    c07_normal,
    c08_kaiming,
)


def ctx(tmp_path, exp, **over):
    settings = {**exp.mode_settings(True), **over}
    return Context(quick=True, seeds=[0], settings=settings, dir=tmp_path, log=lambda m: None)


def check_figures(tmp_path, out):
    assert out.figures and all((tmp_path / f).stat().st_size > 5_000 for f in out.figures)
    assert out.notes


def test_c03_softmax_quick(tmp_path):
    out = c03_softmax.run(ctx(tmp_path, c03_softmax.run))
    assert out.holds and out.numbers["rounded_2"] == [0.02, 0.9, 0.05, 0.01, 0.02]
    check_figures(tmp_path, out)
    bad = c03_softmax.run(ctx(tmp_path, c03_softmax.run, lecture=[0.02, 0.91, 0.05, 0.01, 0.02]))
    assert not bad.holds  # the criterion compares with the numbers it is given


def test_c02_small_grid(tmp_path):
    out = c02_activations.run(ctx(tmp_path, c02_activations.run, grid=[-6.0, 6.0, 601], range_grid=[-15.0, 15.0, 3001],
                                  samples=2000))
    assert out.holds and out.numbers["max_derivative_error"] < 1e-12
    rows = {r["activation"]: r for r in out.numbers["rows"]}
    assert rows["softplus"]["lecture_range_violated"] and rows["elu"]["lecture_range_violated"]
    check_figures(tmp_path, out)


def test_c04_constant_units_identical(tmp_path):
    out = c04_constant.run(ctx(tmp_path, c04_constant.run, steps=20, activations=["tanh"]))
    assert out.holds
    assert out.numbers["tanh_constant_max_spread"]["max"] == 0.0
    assert out.numbers["zero_relu_max_weight_change"]["max"] == 0.0


@pytest.mark.parametrize("module, over, keys", [
    (c05_legacy, {"depth": 8, "width": 256, "batch": 128}, ["identity_ratio_mean", "tanh_ratio_mean"]),
    (c06_xavier, {"depth": 8, "width": 128, "batch": 128, "legacy_max": 1e-3}, ["xavier_forward_last_over_first"]),
    (c07_normal, {"depth": 6, "width": 128, "batch": 64, "vanish_max": 1e-5, "explode_min": 1e5, "saturated_min": 0.5},
     ["tanh_sigma1_saturated_fraction"]),
])
def test_variance_claims_small(tmp_path, module, over, keys):
    out = module.run(ctx(tmp_path, module.run, **over))
    assert out.holds, out.numbers
    assert all(k in out.numbers for k in keys)
    check_figures(tmp_path, out)


def test_c05_fails_when_ratio_is_not_a_third(tmp_path):
    # the same measurement judged against a wrong target must fail
    out = c05_legacy.run(ctx(tmp_path, c05_legacy.run, depth=6, width=128, batch=64, ratio_mean=[0.45, 0.55]))
    assert not out.holds


def test_c08_tiny_training(tmp_path):
    out = c08_kaiming.run(ctx(tmp_path, c08_kaiming.run, depth=12, width=64, batch=64, steps=30,
                              kaiming_acc_min=0.2, xavier_log2_max=-6.0, legacy_log2_max=-15.0, stalled_acc_max=0.3,
                              stalled_loss_min=2.0))
    assert out.numbers["kaiming_log2_theory"] == pytest.approx(0.0, abs=1e-9)
    assert out.numbers["xavier_log2_theory"] == pytest.approx(-11.0, abs=1e-6)  # 1/2 per layer, 11 steps
    assert out.holds, out.numbers
    check_figures(tmp_path, out)
