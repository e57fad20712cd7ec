"""Init schemes: KS tests against the target distributions, variance formulas, torch agreement,
reproducibility, edge cases and errors."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from initreg.errors import ConfigError
from initreg.init import (
    auto_,
    constant_,
    critical_,
    critical_point,
    fan_in_and_fan_out,
    gain,
    inits,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    legacy_uniform_,
    normal_,
    orthogonal_,
    uniform_,
    variance_scaling_,
    weight_variance,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)

SHAPES = [(64, 128), (96, 32), (16, 8, 3, 3), (24, 6, 5)]  # Linear and Conv1d/2d fans


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def ks_p(sample: torch.Tensor, cdf) -> float:
    return stats.kstest(sample.flatten().double().numpy(), cdf).pvalue


# Fixed seeds; a correct sampler has p ~ U(0,1). Threshold 1e-4 (~50 KS tests: family-wise false alarm
# about 0.5%); a std wrong by 10% gives p < 1e-5 at 8k samples (test_ks_detects_wrong_variance).
P_MIN = 1e-4


@pytest.mark.parametrize("shape", SHAPES)
def test_ks_normal_schemes(shape):
    fi, fo = fan_in_and_fan_out(shape)
    cases = [
        (lambda w: xavier_normal_(w, generator=gen(1)), math.sqrt(2 / (fi + fo))),
        (lambda w: xavier_normal_(w, gain=2.0, generator=gen(2)), 2 * math.sqrt(2 / (fi + fo))),
        (lambda w: kaiming_normal_(w, activation="relu", generator=gen(3)), math.sqrt(2 / fi)),
        (lambda w: kaiming_normal_(w, mode="fan_out", generator=gen(4)), math.sqrt(2 / fo)),
        (lambda w: kaiming_normal_(w, nonlinearity="linear", generator=gen(5)), math.sqrt(1 / fi)),
        (lambda w: kaiming_normal_(w, activation="tanh", generator=gen(11)), gain("tanh") / math.sqrt(fi)),
        (lambda w: lecun_normal_(w, generator=gen(6)), math.sqrt(1 / fi)),
        (lambda w: normal_(w, std=0.01, generator=gen(7)), 0.01),
        (lambda w: variance_scaling_(w, 2.0, "fan_avg", generator=gen(8)), math.sqrt(2 / ((fi + fo) / 2))),
        (lambda w: critical_(w, "tanh", q_star=1.0, generator=gen(9)),
         critical_point("tanh", q_star=1.0).sigma_w / math.sqrt(fi)),
        (lambda w: auto_(w, "gelu", generator=gen(10)), gain("gelu") / math.sqrt(fi)),
    ]
    for fill, std in cases:
        w = fill(torch.empty(shape))
        assert ks_p(w, stats.norm(0, std).cdf) > P_MIN, std


@pytest.mark.parametrize("shape", SHAPES)
def test_ks_uniform_schemes(shape):
    fi, fo = fan_in_and_fan_out(shape)
    cases = [
        (lambda w: legacy_uniform_(w, generator=gen(1)), 1 / math.sqrt(fi)),
        (lambda w: xavier_uniform_(w, generator=gen(2)), math.sqrt(6 / (fi + fo))),
        (lambda w: kaiming_uniform_(w, generator=gen(3)), math.sqrt(6 / fi)),
        (lambda w: lecun_uniform_(w, generator=gen(4)), math.sqrt(3 / fi)),
        (lambda w: uniform_(w, -0.3, 0.3, generator=gen(5)), 0.3),
        (lambda w: variance_scaling_(w, 1.0, "fan_out", "uniform", generator=gen(6)), math.sqrt(3 / fo)),
    ]
    for fill, bound in cases:
        w = fill(torch.empty(shape))
        assert float(w.abs().max()) <= bound + 1e-7
        assert ks_p(w, stats.uniform(-bound, 2 * bound).cdf) > P_MIN, bound


def test_ks_truncated_normal():
    w = variance_scaling_(torch.empty(80, 100), 1.0, "fan_in", "truncated_normal", generator=gen())
    sigma = math.sqrt(1 / 100) / math.sqrt(0.7737413035499232)
    assert float(w.abs().max()) <= 2 * sigma + 1e-7
    assert ks_p(w, stats.truncnorm(-2, 2, scale=sigma).cdf) > P_MIN
    assert abs(float(w.var()) * 100 - 1) < 0.05


def test_ks_detects_wrong_variance():
    w = kaiming_normal_(torch.empty(64, 128), generator=gen())
    assert ks_p(w, stats.norm(0, 1.1 * math.sqrt(2 / 128)).cdf) < P_MIN  # a std wrong by 10% is caught


def test_orthogonal_haar_marginal_and_orthonormal():
    # rows orthonormal when out <= in, columns otherwise
    w = orthogonal_(torch.empty(20, 50), generator=gen())
    assert torch.allclose(w @ w.T, torch.eye(20), atol=1e-5)
    w = orthogonal_(torch.empty(50, 20), gain=2.0, generator=gen())
    assert torch.allclose(w.T @ w, 4 * torch.eye(20), atol=1e-4)
    w = orthogonal_(torch.empty(8, 2, 3, 3), generator=gen())  # conv: reshaped to (8, 18)
    m = w.reshape(8, -1)
    assert torch.allclose(m @ m.T, torch.eye(8), atol=1e-5)
    # Haar: an entry of a uniformly random unit vector in R^n has u² ~ Beta(1/2, (n-1)/2)
    n = 12
    g = gen(3)
    vals = [float(orthogonal_(torch.empty(n, n), generator=g)[0, 0]) ** 2 for _ in range(600)]
    assert stats.kstest(vals, stats.beta(0.5, (n - 1) / 2).cdf).pvalue > P_MIN


@pytest.mark.parametrize("shape", SHAPES)
def test_weight_variance_formulas(shape):
    fi, fo = fan_in_and_fan_out(shape)
    assert weight_variance("legacy_uniform", shape) == pytest.approx(1 / (3 * fi))
    assert weight_variance("xavier_normal", shape) == pytest.approx(2 / (fi + fo))
    assert weight_variance("xavier_uniform", shape) == pytest.approx(2 / (fi + fo))
    assert weight_variance("kaiming_normal", shape) == pytest.approx(2 / fi)
    assert weight_variance({"name": "kaiming_uniform", "mode": "fan_out"}, shape) == pytest.approx(2 / fo)
    assert weight_variance("lecun_normal", shape) == pytest.approx(1 / fi)
    assert weight_variance({"name": "normal", "std": 0.1}, shape) == pytest.approx(0.01)
    # measured variance of big samples matches within 5% (relative sd of a variance estimate ~ sqrt(2/N))
    for name in ("legacy_uniform", "xavier_uniform", "kaiming_uniform", "lecun_uniform", "orthogonal"):
        big = (shape[0] * 8,) + tuple(shape[1:])
        w = inits.get(name)(torch.empty(big), generator=gen())
        assert float(w.pow(2).mean()) == pytest.approx(weight_variance(name, big), rel=0.05), name


def test_fans_of_linear_and_conv():
    assert fan_in_and_fan_out(torch.nn.Linear(7, 3).weight) == (7, 3)
    assert fan_in_and_fan_out(torch.nn.Conv2d(4, 6, 5).weight) == (4 * 25, 6 * 25)
    assert fan_in_and_fan_out(torch.nn.Conv1d(4, 6, 3, groups=2).weight) == (2 * 3, 6 * 3)
    for shape in SHAPES:
        assert fan_in_and_fan_out(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_agrees_with_torch_same_generator():
    for shape in SHAPES:
        ours = legacy_uniform_(torch.empty(shape), generator=gen(5))
        theirs = torch.nn.init.kaiming_uniform_(torch.empty(shape), a=math.sqrt(5), generator=gen(5))
        assert torch.allclose(ours, theirs, atol=1e-7)
        pairs = [
            (xavier_uniform_(torch.empty(shape), generator=gen(1)), torch.nn.init.xavier_uniform_(torch.empty(shape), generator=gen(1))),
            (xavier_normal_(torch.empty(shape), 1.3, generator=gen(1)), torch.nn.init.xavier_normal_(torch.empty(shape), 1.3, generator=gen(1))),
            # the computed gain of ReLU / leaky ReLU equals torch's exact one
            (kaiming_normal_(torch.empty(shape), activation="relu", generator=gen(2)),
             torch.nn.init.kaiming_normal_(torch.empty(shape), nonlinearity="relu", generator=gen(2))),
            (kaiming_uniform_(torch.empty(shape), activation={"name": "leaky_relu", "negative_slope": 0.2},
                              mode="fan_out", generator=gen(3)),
             torch.nn.init.kaiming_uniform_(torch.empty(shape), a=0.2, mode="fan_out", generator=gen(3))),
        ]
        for a, b in pairs:
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)
    # PyTorch's nn.Linear default is exactly legacy uniform
    torch.manual_seed(0)
    ref = torch.nn.Linear(50, 20).weight.detach()
    torch.manual_seed(0)
    ours = legacy_uniform_(torch.empty(20, 50))
    assert torch.allclose(ref, ours)


def test_generator_reproducibility():
    for name in ("normal", "uniform", "legacy_uniform", "xavier_uniform", "xavier_normal", "kaiming_normal",
                 "kaiming_uniform", "lecun_normal", "lecun_uniform", "orthogonal", "variance_scaling", "critical", "auto"):
        fn = inits.get(name)
        a = fn(torch.empty(12, 9), generator=gen(4))
        b = fn(torch.empty(12, 9), generator=gen(4))
        c = fn(torch.empty(12, 9), generator=gen(5))
        assert torch.equal(a, b), name
        assert not torch.equal(a, c), name


def test_constant_and_zeros():
    assert torch.equal(constant_(torch.empty(3, 2), 0.5), torch.full((3, 2), 0.5))
    assert torch.equal(zeros_(torch.ones(4)), torch.zeros(4))  # 1-D is fine for these


def test_one_dimensional_tensors_are_refused():
    for fn in (legacy_uniform_, xavier_normal_, xavier_uniform_, kaiming_normal_, lecun_normal_, orthogonal_):
        with pytest.raises(ConfigError, match=r"at least 2 dimensions.*shape \(10,\).*zeros_"):
            fn(torch.empty(10))


def test_zero_size_tensor_is_returned_unchanged():
    for fn in (xavier_normal_, orthogonal_):  # as torch: no warning
        w = torch.empty(0, 5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fn(w) is w
    for fn in (legacy_uniform_, kaiming_normal_, kaiming_uniform_, lecun_normal_, lecun_uniform_, variance_scaling_,
               auto_, critical_):  # torch's warning for Kaiming, and for initreg's fan-based schemes
        w = torch.empty(0, 5)
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fn(w) is w


def test_bad_mode_and_values():
    with pytest.raises(ConfigError, match=r"mode must be one of fan_in, fan_out, fan_avg; got mode='fan_on'"):
        kaiming_normal_(torch.empty(3, 3), mode="fan_on")
    with pytest.raises(ConfigError, match=r"std must be >= 0.*std=-1"):
        normal_(torch.empty(3), std=-1)
    with pytest.raises(ConfigError, match=r"need a <= b; got a=1.0, b=0.0"):
        uniform_(torch.empty(3), 1.0, 0.0)
    with pytest.raises(ConfigError, match=r"gain must be >= 0 and finite; got gain=-1.0"):
        xavier_normal_(torch.empty(3, 3), gain=-1.0)
    with pytest.raises(ConfigError, match=r"distribution must be one of normal, uniform, truncated_normal"):
        variance_scaling_(torch.empty(3, 3), distribution="cauchy")


def test_unknown_scheme_lists_known():
    with pytest.raises(ConfigError, match=r"unknown init scheme 'kaiming'.*known: .*kaiming_normal.*xavier_uniform"):
        inits.get("kaiming")
    with pytest.raises(ConfigError, match=r"unknown activation 'relu6'.*known: .*relu"):
        kaiming_normal_(torch.empty(3, 3), activation="relu6")


def test_in_place_under_no_grad():
    w = torch.nn.Parameter(torch.empty(5, 5))
    out = kaiming_normal_(w, generator=gen())
    assert out is w and w.requires_grad
    assert np.isfinite(w.detach().numpy()).all()
