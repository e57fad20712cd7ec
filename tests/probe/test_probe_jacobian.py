"""Singular values of the input–output Jacobian vs the matrices they come from."""

import pytest
import torch
from torch import nn

from initreg.probe import jacobian_singular_values

torch.set_num_threads(1)


def test_linear_net_singular_values_are_those_of_the_product():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 4))
    want = torch.linalg.svdvals((net[1].weight @ net[0].weight).double())
    got = jacobian_singular_values(net, torch.randn(3, 6))
    assert got["samples"] == 3
    for s in got["singular_values"]:
        assert torch.allclose(torch.tensor(s, dtype=torch.float64), want, rtol=1e-5)


def test_orthogonal_deep_linear_net_is_isometric_and_mode_is_restored():
    torch.manual_seed(0)
    layers = [nn.Linear(16, 16, bias=False) for _ in range(10)]
    for lin in layers:
        nn.init.orthogonal_(lin.weight)
    net = nn.Sequential(*layers, nn.Dropout(0.5))
    net.train()
    r = jacobian_singular_values(net, torch.randn(2, 16))
    assert r["max"] == pytest.approx(1.0, abs=1e-4) and r["min"] == pytest.approx(1.0, abs=1e-4)
    assert r["log10_spread"] == pytest.approx(0.0, abs=1e-4)
    assert net.training  # eval mode only during the computation (no dropout inside)
    assert all(p.grad is None for p in net.parameters())
