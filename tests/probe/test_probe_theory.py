"""The mean-field overlay: expectations vs closed forms and the init package, predictions vs measurements."""

import math

import pytest
import torch
from scipy.stats import norm
from torch import nn

from initreg.probe import expectations, probe, variance_map
from initreg.probe.theory import saturation_fraction

torch.set_num_threads(1)


@pytest.mark.parametrize("q", [1e-4, 0.5, 1.0, 7.0, 1e6])
def test_expectations_closed_forms(q):
    e, d = expectations(nn.ReLU(), q)
    assert e == pytest.approx(q / 2, rel=1e-6) and d == pytest.approx(0.5, rel=1e-9)
    a = 0.2
    e, d = expectations(nn.LeakyReLU(a), q)
    assert e == pytest.approx(q * (1 + a * a) / 2, rel=1e-6) and d == pytest.approx((1 + a * a) / 2, rel=1e-9)
    assert expectations(None, q) == (q, 1.0)
    assert expectations(nn.Identity(), q)[0] == pytest.approx(q, rel=1e-6)  # quadrature accuracy


def test_tanh_and_sigmoid_limits():
    # small q: tanh is linear, sigmoid' = 1/4
    e, d = expectations(nn.Tanh(), 1e-6)
    assert e == pytest.approx(1e-6, rel=1e-4) and d == pytest.approx(1.0, rel=1e-4)
    assert expectations(nn.Sigmoid(), 1e-8)[1] == pytest.approx(1 / 16, rel=1e-6)
    # large q: E[tanh'(√q z)²] -> ∫sech⁴ · φ(0)/√q = (4/3)/√(2πq); Gauss–Hermite with few nodes misses it
    for q in (256.0, 1e4, 1e8):
        assert expectations(nn.Tanh(), q)[1] == pytest.approx(4 / 3 / math.sqrt(2 * math.pi * q), rel=2e-3)


def test_agrees_with_the_init_package_where_its_quadrature_is_accurate():
    mf = pytest.importorskip("initreg.init.gain")
    for name, mod in (("relu", nn.ReLU()), ("tanh", nn.Tanh()), ("sigmoid", nn.Sigmoid()), ("gelu", nn.GELU())):
        for q in (0.25, 1.0, 4.0):
            m = mf.moments(name, q)
            e, d = expectations(mod, q)
            assert e == pytest.approx(m["second_moment"], rel=1e-5)
            assert d == pytest.approx(m["derivative_second_moment"], rel=1e-5)


def test_variance_map_kaiming_and_legacy():
    assert variance_map(nn.ReLU(), 1.0, sw2=[2.0] * 5, sb2=[0.0] * 5) == pytest.approx([2.0] * 5)
    qs = variance_map(None, 1.0, sw2=[1 / 3] * 4, sb2=[0.0] * 4)  # legacy uniform, linear: 1/3 per layer
    assert qs == pytest.approx([3.0 ** -k for k in range(1, 5)])


def test_saturation_fraction_closed_form():
    for q in (0.5, 4.0, 100.0):
        want = 2 * norm.sf(math.atanh(0.99) / math.sqrt(q))
        assert saturation_fraction(nn.Tanh(), q, 0.01) == pytest.approx(want, abs=2e-3)
    assert saturation_fraction(nn.ReLU(), 1.0, 0.01) is None


def test_overlay_follows_a_wide_network():
    """Width 512, depth 8, tanh at σ_w² = 1.5 (finite q*): measured E[h²] within 10% of the prediction."""
    torch.manual_seed(0)
    layers, d = [], 256
    for _ in range(8):
        lin = nn.Linear(d, 512, bias=False)
        nn.init.normal_(lin.weight, 0, math.sqrt(1.5 / d))
        layers += [lin, nn.Tanh()]
        d = 512
    out = nn.Linear(d, 10, bias=False)
    nn.init.normal_(out.weight, 0, math.sqrt(1 / d))
    net = nn.Sequential(*layers, out)
    x, y = torch.randn(512, 256), torch.randint(0, 10, (512,))
    r = probe(net, x, y)
    for row in r.layers:
        assert row.rms ** 2 == pytest.approx(row.theory_ms, rel=0.1)
        assert row.bwd_ratio == pytest.approx(row.theory_bwd_ratio, rel=0.15)
