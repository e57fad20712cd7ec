"""The measurement logic of the coverage claims (K1, K2, I2, I6, R1, R3), on cases whose answer
is known — not their verdicts."""

import math

import torch
from torch import nn

from initreg.lab.claims.i02_unit_variance import mc_check
from initreg.lab.claims.i06_xavier_uniform import moments
from initreg.lab.claims.k01_robustness import accuracy_curves
from initreg.lab.claims.k02_test_once import selection_bias
from initreg.lab.claims.r01_activity_penalty import hidden_mean_square
from initreg.lab.claims.r03_layernorm_trained import affine_moved


def test_selection_bias_of_equal_candidates_is_positive_when_chosen_on_test_and_zero_on_validation():
    g = torch.Generator().manual_seed(0)
    # 20 candidates, each right on a random 60% of 2000 pool examples: equal true accuracy
    pool = (torch.rand(20, 2000, generator=g) < 0.6).float()
    val = (torch.rand(20, 500, generator=g) < 0.6).float()
    r = selection_bias(val, pool, 200, 300, torch.Generator().manual_seed(1))
    assert r["bias_test"] > 3.0  # the max of 20 noisy 200-example scores: about 1.9 standard errors of 3.5 pp
    assert abs(r["bias_val"]) < 1.0
    assert math.isclose(r["bias_test"], r["reported_test"] - r["fresh_test"])


def test_selection_bias_with_one_clearly_best_candidate_has_no_optimism():
    pool = torch.zeros(3, 1000)
    pool[1] = 1.0  # candidate 1 is always right
    val = torch.zeros(3, 10)
    val[1] = 1.0
    r = selection_bias(val, pool, 100, 20, torch.Generator().manual_seed(0))
    assert r["bias_test"] == 0.0 and r["bias_val"] == 0.0 and r["fresh_test"] == 100.0


def test_mc_check_detects_a_wrong_formula():
    r = mc_check(400_000, 0.3, 0.3, torch.Generator().manual_seed(5))
    assert r["err_three"] < 0.03 and r["err_zero"] < 0.03
    # the zero-mean form alone misses the two dropped terms: terms sum / product term
    expected = (r["ex2_varw"] + r["ew2_varx"] + r["varw_varx"]) / r["varw_varx"]
    assert abs(r["understated"] / expected - 1) < 0.03 and expected > 2


def test_xavier_moments_match_the_closed_form():
    r = moments(300, 500, 0)
    assert r["err_uniform"] < 0.02 and r["err_normal"] < 0.02 and 0.99 < r["bound"] <= 1.0


def test_accuracy_curves_share_corruptions_and_fall_to_chance_with_huge_noise():
    torch.manual_seed(0)
    x = torch.randn(300, 64)
    w = torch.randn(64, 10)
    y = (x @ w).argmax(1)
    model = nn.Sequential(nn.Linear(64, 10, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(w.T)
    c = accuracy_curves(model, x, y, [0.0, 100.0], [0, 8], seed=0)
    assert c["noise"][0] == 100.0 and c["noise"][1] < 30.0
    assert c["occlusion"][0] == 100.0 and c["occlusion"][1] < 30.0  # the whole 8×8 image occluded
    assert accuracy_curves(model, x, y, [0.0, 100.0], [0, 8], seed=0) == c  # same seed, same corrupted images


def test_hidden_mean_square_reads_every_relu_output():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        for layer in (m[0], m[2]):
            layer.weight.copy_(torch.eye(2))
            layer.bias.zero_()
    x = torch.tensor([[1.0, 2.0], [-1.0, 3.0]])
    # both ReLUs output relu(x): squares 1, 4, 0, 9 → mean 3.5
    assert hidden_mean_square(m, x) == 3.5


def test_affine_moved_is_zero_at_init_and_counts_gamma_and_beta():
    m = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 4), nn.LayerNorm(4))
    assert affine_moved(m) == 0.0
    with torch.no_grad():
        m[1].weight.add_(0.5)
        m[4].bias.fill_(-0.25)
    assert math.isclose(affine_moved(m), 0.25 + 0.125)
