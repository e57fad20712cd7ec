"""Mean-field q-map, χ₁, predicted variances vs simulation, and critical points."""

import math

import pytest
import torch

from initreg.errors import ConfigError
from initreg.init import (
    chi1,
    critical_point,
    fixed_point,
    initialize,
    model_variances,
    moments,
    predicted_variances,
    qmap,
)


def test_qmap_and_chi1_closed_forms():
    assert qmap(3.0, "relu", sigma_w=math.sqrt(2)) == pytest.approx(3.0)
    assert qmap(2.0, "identity", sigma_w=1 / math.sqrt(3), sigma_b=0.5) == pytest.approx(2 / 3 + 0.25)
    assert chi1(5.0, "relu", sigma_w=math.sqrt(2)) == pytest.approx(1.0)
    assert chi1(0.3, "identity", sigma_w=2.0) == pytest.approx(4.0)


def test_fixed_point_of_tanh():
    q = fixed_point("tanh", sigma_w=1.5, sigma_b=0.3)
    assert qmap(q, "tanh", 1.5, 0.3) == pytest.approx(q, rel=1e-8)
    assert fixed_point("relu", sigma_w=2.0) == math.inf  # chaotic ReLU diverges


def test_predicted_variances_linear_closed_form():
    p = predicted_variances("identity", [(100, 50), (50, 200), (200, 10)], weight_var=[0.02, 0.01, 0.005],
                            bias_var=0.1, input_moment=2.0)
    q1 = 100 * 0.02 * 2.0 + 0.1
    q2 = 50 * 0.01 * q1 + 0.1
    q3 = 200 * 0.005 * q2 + 0.1
    assert p.forward == pytest.approx([q1, q2, q3])
    # backward: delta_3 = 1, delta_2 = fan_out_3 v_3 = 10 * 0.005, delta_1 = delta_2 * 200 * 0.01
    assert p.backward == pytest.approx([0.05 * 2.0, 0.05, 1.0])
    assert p.input_grad == pytest.approx(50 * 0.02 * 0.1)


def test_predicted_matches_simulation_tanh():
    torch.manual_seed(0)
    widths = [400] * 7
    net = torch.nn.Sequential(*[m for a, b in zip(widths[:-1], widths[1:]) for m in (torch.nn.Linear(a, b), torch.nn.Tanh())])
    initialize(net, {"name": "xavier_normal", "gain": 1.3}, generator=torch.Generator().manual_seed(1))
    x = torch.randn(2000, 400, generator=torch.Generator().manual_seed(2))
    pre = []
    h = x
    with torch.no_grad():
        for m in net:
            h = m(h)
            if isinstance(m, torch.nn.Linear):
                pre.append(float(h.pow(2).mean()))
    pred = predicted_variances("tanh", depth=6, width=400, scheme={"name": "xavier_normal", "gain": 1.3}).forward
    # finite width 400 and batch 2000: relative error a few percent
    assert pre == pytest.approx(pred, rel=0.06)
    mv = model_variances(net)
    assert mv.forward == pytest.approx(pred, rel=0.03)  # measured weights instead of the scheme's variance


def test_predicted_variances_errors():
    with pytest.raises(ConfigError, match=r"exactly one of weight_var= or scheme="):
        predicted_variances("relu", depth=3, width=10)
    with pytest.raises(ConfigError, match=r"needs fans="):
        predicted_variances("relu", weight_var=1.0)
    with pytest.raises(ConfigError, match=r"one per layer \(3\); got 2"):
        predicted_variances("relu", depth=3, width=10, weight_var=[1.0, 2.0])


def test_critical_points():
    p = critical_point("tanh", q_star=1.0)
    assert p.chi1 == pytest.approx(1.0, abs=1e-12)
    m = moments("tanh", 1.0)
    assert p.sigma_w ** 2 * m["derivative_second_moment"] == pytest.approx(1.0)
    assert p.sigma_w ** 2 * m["second_moment"] + p.sigma_b ** 2 == pytest.approx(1.0)  # q* is a fixed point
    # from sigma_b: Schoenholz et al.'s tanh point sigma_b^2 = 0.05 -> sigma_w^2 ≈ 1.76
    p = critical_point("tanh", sigma_b=math.sqrt(0.05))
    assert p.sigma_b == pytest.approx(math.sqrt(0.05))
    assert p.sigma_w ** 2 == pytest.approx(1.76, abs=0.01)
    assert qmap(p.q_star, "tanh", p.sigma_w, p.sigma_b) == pytest.approx(p.q_star, rel=1e-8)
    relu = critical_point("relu")
    assert (relu.sigma_w ** 2, relu.sigma_b) == pytest.approx((2.0, 0.0))
    sig = critical_point("sigmoid")  # q*=1 unreachable -> sigma_b = 0
    assert sig.sigma_b == 0 and sig.chi1 == pytest.approx(1.0)
    with pytest.raises(ConfigError, match=r"'relu' has no critical point with sigma_b=0.1"):
        critical_point("relu", sigma_b=0.1)
    with pytest.raises(ConfigError, match=r"'sigmoid' has no critical point with q\*=1.0.*sigma_b\^2 = .* < 0"):
        critical_point("sigmoid", q_star=1.0)
    with pytest.raises(ConfigError, match=r"give q_star or sigma_b, not both"):
        critical_point("tanh", q_star=1.0, sigma_b=0.1)


def test_critical_init_keeps_gradients_in_deep_tanh():
    torch.manual_seed(0)
    depth, width = 30, 300
    net = torch.nn.Sequential(*[m for _ in range(depth) for m in (torch.nn.Linear(width, width), torch.nn.Tanh())])
    rep = initialize(net, "critical", generator=torch.Generator().manual_seed(0))
    assert rep[0].extra["q_star"] == pytest.approx(1.0)
    x = torch.randn(200, width, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    out = net(x)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(2))).sum().backward()
    g_in = float(x.grad.pow(2).mean())
    # chi1 = 1: the gradient neither vanishes nor explodes over 30 layers (a factor 2^±2 allowed for
    # finite width); Xavier gain 1 (chi1 < 1 at q* = 0 drift) would give a much smaller value
    assert 0.25 < g_in < 4.0
    assert float(out.detach().pow(2).mean()) == pytest.approx(
        moments("tanh", 1.0)["second_moment"], rel=0.15)
