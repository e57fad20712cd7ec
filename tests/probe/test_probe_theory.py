"""The mean-field overlay: expectations (`initreg.init`'s) vs closed forms and Monte Carlo,
predictions vs measurements and vs `initreg.init.meanfield`."""

import math

import pytest
import torch
from scipy.stats import norm
from torch import nn

from initreg.init import moments, predicted_variances
from initreg.probe import expectations, probe, variance_map
from initreg.probe.theory import saturation_fraction

torch.set_num_threads(1)


QS = [1e-8, 1e-6, 1e-4, 0.5, 1.0, 7.0, 256.0, 1e4, 1e6, 1e8]  # a vanishing net's q to an exploding one's
PHI0 = 1 / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("q", QS)
def test_expectations_closed_forms(q):
    e, d = expectations(nn.ReLU(), q)
    assert e == pytest.approx(q / 2, rel=1e-12) and d == pytest.approx(0.5, rel=1e-12)
    a = 0.2
    e, d = expectations(nn.LeakyReLU(a), q)
    assert e == pytest.approx(q * (1 + a * a) / 2, rel=1e-12) and d == pytest.approx((1 + a * a) / 2, rel=1e-12)
    assert expectations(None, q) == (q, 1.0)
    e, d = expectations(nn.Identity(), q)
    assert e == pytest.approx(q, rel=1e-12) and d == pytest.approx(1.0, rel=1e-12)


def test_tanh_sigmoid_gelu_limits():
    for q in (1e-8, 1e-6):  # small q: Taylor series
        e, d = expectations(nn.Tanh(), q)  # tanh² = x² - 2x⁴/3 + …, sech⁴ = 1 - 2x² + 7x⁴/3 + …
        assert e == pytest.approx(q - 2 * q * q, rel=1e-11) and d == pytest.approx(1 - 2 * q + 7 * q * q, rel=1e-12)
        e, d = expectations(nn.Sigmoid(), q)  # σ = 1/2 + x/4 - x³/48 + …
        assert e == pytest.approx(0.25 + q / 16, rel=1e-11) and d == pytest.approx(1 / 16 - q / 32, rel=1e-11)
        e, d = expectations(nn.GELU(), q)  # x Φ(x) = x/2 + φ(0) x² + …
        assert e == pytest.approx(q / 4 + 3 * q * q / (2 * math.pi), rel=1e-7) and d == pytest.approx(
            0.25 + 2 * q / math.pi, rel=1e-11)
    for q in (1e6, 1e8):  # large q: tanh' and σ' are spikes of width 1/√q at 0
        s = math.sqrt(q)
        e, d = expectations(nn.Tanh(), q)  # E[sech⁴(√q z)] -> φ(0)/√q ∫sech⁴ = (4/3) φ(0)/√q
        assert e == pytest.approx(1 - 2 * PHI0 / s, rel=1e-9) and d == pytest.approx(4 / 3 * PHI0 / s, rel=1e-6)
        e, d = expectations(nn.Sigmoid(), q)  # ∫(σ² - 1[x>0]) = -1, ∫σ'² = 1/6; next terms O(q^-3/2)
        assert e == pytest.approx(0.5 - PHI0 / s, rel=1e-8) and d == pytest.approx(PHI0 / (6 * s), rel=1e-6)
        assert expectations(nn.GELU(), q)[0] == pytest.approx(q / 2, rel=1e-9)


class SoftClip(nn.Module):
    """An elementwise activation with no registry name: its derivative comes from autograd."""

    def forward(self, x):
        return x / torch.sqrt(1 + x * x)


@pytest.mark.parametrize("q", [1e-8, 1.0, 1e8])
def test_any_module_against_monte_carlo(q):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(400_000, generator=g, dtype=torch.float64) * math.sqrt(q)).requires_grad_(True)
    y = SoftClip()(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    for got, sample in zip(expectations(SoftClip(), q), (y.detach() ** 2, dy ** 2)):
        assert got == pytest.approx(float(sample.mean()), abs=5 * float(sample.std()) / math.sqrt(len(sample)))


def test_the_probe_uses_the_init_package():
    """One implementation: a module gives the moments of the activation it computes, at any q."""
    for name, mod in (("relu", nn.ReLU()), ("tanh", nn.Tanh()), ("sigmoid", nn.Sigmoid()), ("gelu", nn.GELU())):
        for q in QS:
            m = moments(name, q)
            assert expectations(mod, q) == (m["second_moment"], m["derivative_second_moment"])


def test_variance_map_kaiming_and_legacy():
    assert variance_map(nn.ReLU(), 1.0, sw2=[2.0] * 5, sb2=[0.0] * 5) == pytest.approx([2.0] * 5, rel=1e-12)
    qs = variance_map(None, 1.0, sw2=[1 / 3] * 4, sb2=[0.0] * 4)  # legacy uniform, linear: 1/3 per layer
    assert qs == pytest.approx([3.0 ** -k for k in range(1, 5)], rel=1e-12)


@pytest.mark.parametrize("q", [0.0, 1e-8, 0.5, 4.0, 100.0, 1e4, 1e8])
def test_saturation_fraction_closed_form(q):
    s = math.sqrt(q)
    want = 2 * norm.sf(math.atanh(0.99) / s) if q else 0.0
    assert saturation_fraction(nn.Tanh(), q, 0.01) == pytest.approx(want, abs=1e-12)
    want = norm.sf(math.log(0.98 / 0.02) / s) + norm.cdf(math.log(0.02 / 0.98) / s) if q else 0.0
    assert saturation_fraction(nn.Sigmoid(), q, 0.04) == pytest.approx(want, abs=1e-12)
    want = 2 * norm.sf(0.99 / s) if q else 0.0  # hardtanh: |x| >= 0.99
    assert saturation_fraction(nn.Hardtanh(), q, 0.01) == pytest.approx(want, abs=1e-12)
    assert saturation_fraction(nn.ReLU(), q, 0.01) is None


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


def test_overlay_is_the_mean_field_recursion():
    """The overlay's q_l and gradient factors are `predicted_variances` on the layers' measured weights."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, 10))
    x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
    r = probe(net, x, y)
    lins = [m for m in net if isinstance(m, nn.Linear)]
    p = predicted_variances(["tanh", "gelu", "identity"], [(m.in_features, m.out_features) for m in lins],
                            weight_var=[float(m.weight.detach().double().pow(2).mean()) for m in lins],
                            bias_var=[float(m.bias.detach().double().pow(2).mean()) for m in lins],
                            input_moment=r.input_rms ** 2)
    assert [row.theory_ms for row in r.layers] == pytest.approx(p.forward, rel=1e-5)
    g = r.layers[-1].grad_rms ** 2
    assert [row.theory_grad_ms for row in r.layers] == pytest.approx(
        [g * p.chi[0] * p.chi[1], g * p.chi[1], g], rel=1e-5)
