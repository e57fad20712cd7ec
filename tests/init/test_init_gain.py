"""Gains by quadrature vs closed forms, torch's exact gains, and errors."""

import math

import pytest
import torch
from scipy import integrate, stats

from initreg.errors import ConfigError
from initreg.init import TORCH_HEURISTIC_GAINS, calculate_gain, gain, gauss_expectation, moments
from initreg.nn.activations import SELU_ALPHA, SELU_SCALE


def test_exact_torch_gains_agree():
    assert gain("identity") == pytest.approx(torch.nn.init.calculate_gain("linear"), abs=1e-12)
    assert gain("relu") == pytest.approx(torch.nn.init.calculate_gain("relu"), abs=1e-12)
    assert gain("relu", mode="backward") == pytest.approx(math.sqrt(2), abs=1e-12)
    for a in (0.01, 0.1, 0.2, 0.5):
        ref = torch.nn.init.calculate_gain("leaky_relu", a)
        assert gain("leaky_relu", negative_slope=a) == pytest.approx(ref, abs=1e-12)
        assert calculate_gain("leaky_relu", a) == pytest.approx(ref, abs=1e-12)
    for name in ("conv2d", "linear"):
        assert calculate_gain(name) == torch.nn.init.calculate_gain(name)


def test_heuristic_gains_differ_and_are_documented():
    for name, torch_value in TORCH_HEURISTIC_GAINS.items():
        assert torch.nn.init.calculate_gain(name) == pytest.approx(torch_value)
        assert abs(gain(name) - torch_value) > 0.05
    assert gain("selu") == pytest.approx(1.0, abs=1e-10)  # E[selu(z)^2] = 1 by design


def _quad(fn):
    lo = integrate.quad(lambda z: fn(z) * stats.norm.pdf(z), -40, 0, limit=200, epsabs=1e-14)[0]
    hi = integrate.quad(lambda z: fn(z) * stats.norm.pdf(z), 0, 40, limit=200, epsabs=1e-14)[0]
    return lo + hi


def test_gains_vs_closed_forms_and_quad():
    # ELU: E[elu(z)^2] = 1/2 + a^2 (e^2 Phi(-2) - 2 e^{1/2} Phi(-1) + 1/2)
    for a in (1.0, 0.5):
        m2 = 0.5 + a * a * (math.e ** 2 * stats.norm.cdf(-2) - 2 * math.exp(0.5) * stats.norm.cdf(-1) + 0.5)
        assert moments("elu", alpha=a)["second_moment"] == pytest.approx(m2, abs=1e-12)
        dm2 = 0.5 + a * a * math.e ** 2 * stats.norm.cdf(-2)  # E[f'^2] = 1/2 + a^2 E[e^{2z}; z<0]
        assert moments("elu", alpha=a)["derivative_second_moment"] == pytest.approx(dm2, abs=1e-12)
    # ReLU mean 1/sqrt(2 pi); step: E[f^2] = 1/2
    assert moments("relu")["mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert gain("binary_step") == pytest.approx(math.sqrt(2), abs=1e-12)
    # straight-through step: E[1{|z|<=1}] = P(|z| <= 1)
    assert gain("binary_step", mode="backward", straight_through=True) == pytest.approx(
        1 / math.sqrt(stats.norm.cdf(1) - stats.norm.cdf(-1)), abs=1e-10)
    # smooth ones against adaptive quadrature
    refs = {
        "tanh": (lambda z: math.tanh(z) ** 2, lambda z: (1 - math.tanh(z) ** 2) ** 2),
        "sigmoid": (lambda z: 1 / (1 + math.exp(-z)) ** 2, lambda z: (math.exp(-z) / (1 + math.exp(-z)) ** 2) ** 2),
        "selu": (lambda z: (SELU_SCALE * (z if z > 0 else SELU_ALPHA * math.expm1(z))) ** 2,
                 lambda z: (SELU_SCALE * (1 if z > 0 else SELU_ALPHA * math.exp(z))) ** 2),
        "gelu": (lambda z: (z * stats.norm.cdf(z)) ** 2, lambda z: (stats.norm.cdf(z) + z * stats.norm.pdf(z)) ** 2),
    }
    for name, (f2, d2) in refs.items():
        assert gain(name) == pytest.approx(1 / math.sqrt(_quad(f2)), rel=1e-9), name
        assert gain(name, mode="backward") == pytest.approx(1 / math.sqrt(_quad(d2)), rel=1e-9), name


def test_any_callable_and_q():
    assert gain(lambda x: 3 * x) == pytest.approx(1 / 3)
    assert gain(torch.tanh, mode="backward") == pytest.approx(gain("tanh", mode="backward"), rel=1e-12)  # autograd
    assert gain("relu", q=7.0) == pytest.approx(math.sqrt(2) / math.sqrt(7.0))  # homogeneous: ∝ 1/√q
    # wide inputs: the split quadrature stays accurate where plain Gauss–Hermite is off by 0.03
    q = 100.0
    ref = 2 * integrate.quad(lambda z: (1 - math.tanh(10 * z) ** 2) ** 2 * stats.norm.pdf(z), 0, 12,
                             points=[0.1], limit=500, epsabs=1e-15)[0]
    assert moments("tanh", q)["derivative_second_moment"] == pytest.approx(ref, rel=1e-9)
    assert gauss_expectation(lambda x: x ** 2, q=4.0, mean=1.0) == pytest.approx(5.0, rel=1e-12)


QS = [1e-8, 1e-6, 1e-4, 1e-2, 0.25, 1.0, 2.0, 2.5, 4.0, 16.0, 256.0, 1e4, 1e6, 1e8]


def _ref(g, q):
    """E[g(√q z)²] by adaptive quadrature in x = √q z, cut at the Gaussian's and the activation's scales."""
    s = math.sqrt(q)
    pts = sorted({0.0, *[p for p in (-40, -10, -3, -1, 1, 3, 10, 40) if abs(p) < 14 * s]})
    edges = [-14 * s, *pts, 14 * s]
    return sum(integrate.quad(lambda x: g(x) ** 2 * math.exp(-x * x / (2 * q)) / math.sqrt(2 * math.pi * q), a, b,
                              epsabs=0, epsrel=1e-13, limit=500)[0] for a, b in zip(edges[:-1], edges[1:]))


def _sig(x):
    return 0.5 * (1 + math.tanh(x / 2))


SMOOTH = {  # f, f'
    "tanh": (math.tanh, lambda x: 1 / math.cosh(x) ** 2 if abs(x) < 350 else 0.0),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "gelu": (lambda x: x * stats.norm.cdf(x), lambda x: stats.norm.cdf(x) + x * stats.norm.pdf(x)),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
}


@pytest.mark.parametrize("q", QS)
def test_moments_from_tiny_to_huge_q(q):
    """1e-8 (a vanishing net) to 1e8 (an exploding one): E[f²], E[f'²] within 1e-9 of adaptive
    quadrature; at q = 1e8 a split at 0 alone misses tanh'(√q z)², of width 1e-4 in z."""
    for name, (f, df) in SMOOTH.items():
        m = moments(name, q)
        assert m["second_moment"] == pytest.approx(_ref(f, q), rel=1e-9), name
        assert m["derivative_second_moment"] == pytest.approx(_ref(df, q), rel=1e-9), name
    leaky = {"name": "leaky_relu", "negative_slope": 0.2}
    for name, e, d in (("relu", q / 2, 0.5), ("identity", q, 1.0), (leaky, q * 1.04 / 2, 1.04 / 2)):
        m = moments(name, q)
        assert m["second_moment"] == pytest.approx(e, rel=1e-12), name
        assert m["derivative_second_moment"] == pytest.approx(d, rel=1e-12), name


def test_modules_and_callables():
    """A module computing a registered activation is that activation; any other module or
    callable gets its derivative by autograd, split at its corners (torch's piecewise-linear
    modules) or at 0; one that takes only float32 is evaluated in float32."""
    for q in (1e-8, 1.0, 1e8):
        assert moments(torch.nn.LeakyReLU(0.2), q) == moments({"name": "leaky_relu", "negative_slope": 0.2}, q)
        assert moments(torch.nn.Tanh(), q) == moments("tanh", q)

        class Tanh2(torch.nn.Module):  # no registry name
            def forward(self, x):
                return 1 - 2 * torch.sigmoid(-2 * x)

        a, b = moments(Tanh2(), q), moments("tanh", q)
        for k in ("second_moment", "derivative_second_moment"):
            assert a[k] == pytest.approx(b[k], rel=1e-9), (q, k)
    s = 2.0  # ReLU6 at q = 4: corners at 0 and 6
    want = integrate.quad(lambda x: x * x * stats.norm.pdf(x / s) / s, 0, 6)[0] + 36 * stats.norm.sf(6 / s)
    assert moments(torch.nn.ReLU6(), s * s)["second_moment"] == pytest.approx(want, rel=1e-12)
    assert moments(torch.nn.ReLU6(), s * s)["derivative_second_moment"] == pytest.approx(
        stats.norm.cdf(3) - 0.5, rel=1e-12)
    m = moments(torch.nn.PReLU(init=0.2), 3.0)  # float32 weight: float32 evaluation
    assert m["second_moment"] == pytest.approx(3 * 1.04 / 2, rel=1e-6)


def test_gain_errors():
    with pytest.raises(ConfigError, match=r"mode must be 'forward' or 'backward'; got mode='sideways'"):
        gain("relu", mode="sideways")
    with pytest.raises(ConfigError, match=r"backward gain of activation 'binary_step' is undefined.*straight_through"):
        gain("binary_step", mode="backward")
    with pytest.raises(ConfigError, match=r"unknown activation 'rleu' \(did you mean 'relu'\?\)"):
        gain("rleu")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['slope'\]; valid: \['negative_slope'\]"):
        gain("leaky_relu", slope=0.1)
    with pytest.raises(ConfigError, match=r"q must be >= 0; got q=-1"):
        gain("relu", q=-1)
