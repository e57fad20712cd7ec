"""The probe sees functional activations (``F.relu(self.fc(x))``): the same statistics as the
same net written with activation modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from initreg.probe import Probe


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(10, 32), nn.Linear(32, 32), nn.Linear(32, 3)

    def forward(self, x):
        return self.c(torch.tanh(self.b(F.relu(self.a(x)))))


def _report(model, x, y):
    with Probe(model) as p:
        F.cross_entropy(model(x), y).backward()
    return p.report()


def test_functional_activations_report_like_modules():
    torch.manual_seed(0)
    fn = Functional()
    with torch.no_grad():
        fn.a.bias[:8] = -20.0  # 8 of 32 ReLU units dead on every example
        fn.b.weight.mul_(8.0)  # a saturated tanh
    mods = nn.Sequential(fn.a, nn.ReLU(), fn.b, nn.Tanh(), fn.c)  # the same weights, activation modules
    x, y = torch.randn(128, 10, generator=torch.Generator().manual_seed(1)), torch.arange(128) % 3
    r_fn, r_mod = _report(fn, x, y), _report(mods, x, y)
    assert [row.activation for row in r_fn.layers] == ["ReLU", "Tanh", None]
    assert [row.activation for row in r_mod.layers] == ["ReLU", "Tanh", None]
    for a, b in zip(r_fn.layers, r_mod.layers):
        assert a.dead == b.dead and a.saturated == b.saturated
        assert a.fwd_ratio == b.fwd_ratio
    assert r_fn.layers[0].dead == 0.25 and r_fn.layers[1].saturated > 0.1
    assert r_fn.label == r_mod.label
