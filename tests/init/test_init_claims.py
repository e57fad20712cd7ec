"""The init claims (C2–C8): each measures one value per seed for each declared part, on tiny
settings; the measurements are what the set-up says (identities to rounding, mean-field
factors), the lab can judge them and the notes template fits the numbers."""

import math

import pytest
import torch

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

SEEDS = [0, 1, 2]


def run(tmp_path, module, **over):
    exp = module.run
    c = Context(quick=True, seeds=SEEDS, settings={**exp.mode_settings(True), **over}, dir=tmp_path,
                log=lambda m: None)
    out = exp(c)
    rec = exp.judge(out, c)  # raises if a declared part is missing or the notes do not fit the numbers
    assert set(out.measurements) == {p.part for p in exp.criteria}
    assert all(len(v) == len(SEEDS) for v in out.measurements.values())
    assert out.figures and all((tmp_path / f).stat().st_size > 5_000 for f in out.figures)
    assert rec["seeds"] == SEEDS and rec["notes"]
    return out, rec


def test_c02_derivatives_and_ranges(tmp_path):
    out, rec = run(tmp_path, c02_activations, grid=[-6.0, 6.0, 601], points=200, range_grid=[-15.0, 15.0, 3001],
                   samples=2000)
    assert max(out.measurements["derivative_matches_autograd"]) < 1e-12
    assert out.measurements["corrected_ranges_hold"] == [0, 0, 0]
    assert out.measurements["lecture_ranges_violated"] == [0, 0, 0]  # all three wrong ranges violated
    assert rec["verdict"] == "holds"
    assert "| softplus |" in out.numbers["table"]


def test_c02_seed_changes_the_points():
    a = c02_activations.check_seed({**c02_activations._S, "grid": [-1.0, 1.0, 3], "range_grid": [-1.0, 1.0, 3],
                                    "samples": 50, "points": 50}, 0)
    b = c02_activations.check_seed({**c02_activations._S, "grid": [-1.0, 1.0, 3], "range_grid": [-1.0, 1.0, 3],
                                    "samples": 50, "points": 50}, 1)
    assert [r["lecture_excess"] for r in a] != [r["lecture_excess"] for r in b]


def test_c03_example_per_seed(tmp_path):
    out, rec = run(tmp_path, c03_softmax)
    assert out.numbers["rounded_2"] == [0.02, 0.9, 0.05, 0.01, 0.02]
    assert max(out.measurements["example_matches_four_decimals"]) < 5e-5
    assert out.numbers["softmax_err"]["max"] < 1e-6  # softmax at logits of ±1e4 agrees with torch's
    assert out.measurements["stable_at_extreme_logits"] == pytest.approx(
        [max(r["softmax_err"], r["log_softmax_err"]) for r in (c03_softmax.check_seed(c03_softmax._S, s) for s in SEEDS)])
    assert out.numbers["naive_nan"]["min"] > 0  # the naive formula does give NaN there
    assert rec["parts"][0]["verdict"] == "holds" and rec["parts"][1]["verdict"] == "holds"


def test_c03_compares_with_the_numbers_it_is_given():
    wrong = {**c03_softmax._S, "lecture": [0.02, 0.91, 0.05, 0.01, 0.02]}
    assert c03_softmax.check_seed(wrong, 0)["dev_2"] > 0.005


def test_c04_symmetry_is_never_broken(tmp_path):
    out, rec = run(tmp_path, c04_constant, steps=20, activations=["tanh"])
    assert out.measurements["constant_units_identical"] == [0.0, 0.0, 0.0]
    assert out.measurements["zero_relu_weights_frozen"] == [0.0, 0.0, 0.0]
    assert min(out.measurements["random_units_differ"]) > 0.01
    assert out.numbers["zero_loss"]["mean"] == pytest.approx(out.numbers["prior_entropy"], abs=0.05)
    assert rec["verdict"] == "holds"


def test_c04_helpers():
    assert c04_constant.unit_spread(torch.full((4, 3), 0.01)) == 0.0
    assert c04_constant.min_pair_distance(torch.tensor([[0.0, 1.0], [0.0, 1.5]])) == 0.5


def test_c05_factor_is_three(tmp_path):
    out, _ = run(tmp_path, c05_legacy, depth=8, width=256, batch=128)
    assert out.numbers["identity_factor"]["mean"] == pytest.approx(3.0, rel=0.1)
    assert out.numbers["theory"]["identity"] == pytest.approx(3.0, rel=1e-9)
    assert max(out.measurements["linear_shrinks_3x"]) < 0.3
    with pytest.raises(ValueError, match="at least two layers"):
        c05_legacy.shrink_factor([1.0])


def test_c06_doubling_ratio_tells_power_law_from_exponential():
    layers = (10, 20, 40)
    for a in (0.5, 1.0, 3.0):
        assert c06_xavier.doubling_ratio([float(i) ** -a for i in range(1, 41)], layers) == pytest.approx(1.0)
    for r in (0.86, 1 / 3, 0.99):  # any exponential rate, however slow
        assert c06_xavier.doubling_ratio([r ** i for i in range(1, 41)], layers) == pytest.approx(2.0)
    assert math.isnan(c06_xavier.doubling_ratio([0.0] * 40, layers))


def test_c06_xavier_polynomial_legacy_exponential(tmp_path):
    out, rec = run(tmp_path, c06_xavier, depth=16, width=256, batch=128)
    assert out.numbers["theory"]["legacy_forward_m"] == pytest.approx(2.0, abs=0.01)
    assert out.numbers["theory"]["xavier_forward_m"] < 1.2
    assert max(out.measurements["xavier_forward_polynomial"]) < 1.5 < min(out.measurements["legacy_exponential"])
    assert out.numbers["layers"] == {"first": 4, "mid": 8, "last": 16}
    with pytest.raises(ValueError, match="divisible by 4"):
        c06_xavier._layers(10)


def test_c07_vanish_explode_saturate(tmp_path):
    out, _ = run(tmp_path, c07_normal, depth=6, width=128, batch=64)
    assert max(out.measurements["small_sigma_vanishes_relu"]) < -1 and max(out.measurements["small_sigma_vanishes_tanh"]) < -1
    assert min(out.measurements["large_sigma_explodes_relu"]) > 1
    assert out.numbers["theory"]["relu_large"] == pytest.approx(128 / 2, rel=1e-6)  # n·σ²·½ per layer


def test_c08_tiny_training(tmp_path):
    out, rec = run(tmp_path, c08_kaiming, depth=12, width=64, batch=64, steps=30)
    assert out.numbers["theory"]["kaiming"] == pytest.approx(0.0, abs=1e-9)
    assert out.numbers["theory"]["xavier"] == pytest.approx(-11.0, abs=1e-6)  # a factor ½ per layer, 11 steps
    assert max(out.measurements["xavier_halves_per_layer"]) < -6
    diffs = out.measurements["kaiming_trains_xavier_stalls"]
    per = out.numbers["per_seed"]
    assert diffs == pytest.approx([100 * (a - b) for a, b in zip(per["kaiming_acc"], per["xavier_acc"])])
    assert all(0 <= a <= 1 for a in per["kaiming_acc"] + per["xavier_acc"])
