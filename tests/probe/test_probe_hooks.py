"""The probe's hooks: any module, exact statistics, never a change to results, nothing left behind."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initreg.errors import ConfigError
from initreg.probe import Probe, probe, weight_layers

torch.set_num_threads(1)


def mlp(depth=4, width=32, act=nn.ReLU, din=16, dout=3, dropout=0.0, inplace=False):
    layers, d = [], din
    for _ in range(depth):
        layers += [nn.Linear(d, width), act(inplace=True) if inplace else act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = width
    layers.append(nn.Linear(d, dout))
    return nn.Sequential(*layers)


class Shared(nn.Module):
    """A block called twice, a functional activation, a residual and a norm layer."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(16, 32)
        self.block = nn.Linear(32, 32)
        self.norm = nn.LayerNorm(32)
        self.act = nn.Tanh()
        self.out = nn.Linear(32, 3)

    def forward(self, x):
        h = F.relu(self.inp(x))
        h = self.act(self.block(h))
        h = self.norm(h + self.act(self.block(h)))
        return self.out(h)


def convnet():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))


def batch(shape=(64, 16), n_cls=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g), torch.randint(0, n_cls, (shape[0],), generator=g)


def loss_and_grads(model, x, y, seed=0):
    torch.manual_seed(seed)  # dropout draws from the global RNG: same seed, same masks
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.detach().clone(), [p.grad.clone() for p in model.parameters()]


def all_hooks(model):
    n = 0
    for m in model.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
    for p in model.parameters():
        n += len(p._backward_hooks or {})
    return n


@pytest.mark.parametrize("make,shape", [(lambda: mlp(dropout=0.2), (64, 16)), (lambda: mlp(inplace=True), (64, 16)),
                                        (Shared, (64, 16)), (convnet, (32, 1, 8, 8))])
def test_results_bitwise_identical_and_hooks_removed(make, shape):
    torch.manual_seed(1)
    model = make()
    model.train()
    x, y = batch(shape)
    before = all_hooks(model)
    l0, g0 = loss_and_grads(model, x, y)
    state0 = {k: v.clone() for k, v in model.state_dict().items()}  # BatchNorm running stats after pass 1
    with Probe(model) as p:
        model.load_state_dict(state0)
        l1, g1 = loss_and_grads(model, x, y)
        assert all_hooks(model) > before
    assert all_hooks(model) == before
    model.load_state_dict(state0)
    l2, g2 = loss_and_grads(model, x, y)
    assert torch.equal(l0, l1) and torch.equal(l1, l2)
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))
    assert all(torch.equal(a, b) for a, b in zip(g0, g1))
    assert p.report().layers  # something was recorded


def test_hooks_removed_after_an_exception():
    model = mlp()
    with pytest.raises(RuntimeError):
        with Probe(model):
            model(torch.randn(4, 5))  # wrong input width
    assert all_hooks(model) == 0


def test_statistics_equal_direct_computation():
    torch.manual_seed(0)
    model = mlp(depth=2, width=24, act=nn.Tanh)
    x, y = batch()
    outs = {}

    def keep(name):
        def f(m, a, o):
            o.retain_grad()
            outs[name] = o
        return f

    hs = [model[i].register_forward_hook(keep(i)) for i in (0, 2, 4)]
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    for h in hs:
        h.remove()
    wgrads = [model[i].weight.grad.clone() for i in (0, 2, 4)]
    model.zero_grad()
    with Probe(model) as p:
        F.cross_entropy(model(x), y).backward()
    r = p.report()
    assert [row.name for row in r.layers] == ["0", "2", "4"]
    for row, i, wg in zip(r.layers, (0, 2, 4), wgrads):
        o = outs[i].detach()
        assert row.mean == pytest.approx(float(o.mean()), rel=1e-5, abs=1e-7)
        assert row.std == pytest.approx(float(o.std(unbiased=False)), rel=1e-5)
        assert row.signal_std == pytest.approx(math.sqrt(float(o.var(dim=0, unbiased=False).mean())), rel=1e-5)
        g = outs[i].grad
        assert row.grad_rms == pytest.approx(float(g.pow(2).mean().sqrt()), rel=1e-5)
        assert row.grad_norm == pytest.approx(float(g.norm()), rel=1e-5)
        assert row.weight_grad_norm == pytest.approx(float(wg.norm()), rel=1e-5)
        assert row.weight_norm == pytest.approx(float(model[i].weight.detach().norm()), rel=1e-5)
        if i < 4:
            a = torch.tanh(o)
            assert row.act_std == pytest.approx(float(a.std(unbiased=False)), rel=1e-5)
            assert row.saturated == pytest.approx(float((a.abs() >= 0.99).float().mean()))
    assert r.input_rms == pytest.approx(float(x.pow(2).mean().sqrt()), rel=1e-6)
    assert r.layers[-1].bwd_ratio == 1.0


def test_module_called_twice_gives_two_rows_and_the_summed_weight_gradient():
    torch.manual_seed(0)
    model = Shared()
    x, y = batch()
    with Probe(model) as p:
        F.cross_entropy(model(x), y).backward()
    r = p.report()
    names = [row.name for row in r.layers]
    assert names == ["inp", "block", "block#2", "out"]
    b1, b2 = r.layers[1], r.layers[2]
    assert b1.activation == "Tanh" and b2.activation == "Tanh"
    assert r.layers[0].activation == "ReLU"  # F.relu(self.inp(x)): found by torch.fx, applied by the probe
    assert b1.grad_rms is not None and b2.grad_rms is not None and b1.grad_rms != b2.grad_rms
    assert b1.weight_grad_norm == pytest.approx(float(model.block.weight.grad.norm()), rel=1e-5)


def test_dead_units_per_feature_and_per_channel():
    lin = nn.Sequential(nn.Linear(8, 10), nn.ReLU(), nn.Linear(10, 2))
    conv = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 25, 2))
    with torch.no_grad():
        lin[0].bias[:4] = -1e4  # 4 of 10 units can never fire
        conv[0].bias[:3] = -1e4  # 3 of 6 channels
    r1 = probe(lin, torch.randn(128, 8), torch.randint(0, 2, (128,)), theory=False)
    r2 = probe(conv, torch.randn(16, 1, 5, 5), torch.randint(0, 2, (16,)), theory=False)
    assert r1.layers[0].dead == pytest.approx(0.4)
    assert r2.layers[0].dead == pytest.approx(0.5)


def test_inplace_relu_gradient_is_the_pre_activation_gradient():
    torch.manual_seed(0)
    a, b = mlp(inplace=False), mlp(inplace=True)
    b.load_state_dict(a.state_dict())
    x, y = batch()
    ra, rb = probe(a, x, y, theory=False), probe(b, x, y, theory=False)
    for u, v in zip(ra.layers, rb.layers):
        assert u.grad_rms == pytest.approx(v.grad_rms, rel=1e-6)
        assert u.std == pytest.approx(v.std, rel=1e-6)


def test_probe_function_leaves_grads_untouched():
    model = mlp()
    x, y = batch()
    F.cross_entropy(model(x), y).backward()
    before = [p.grad.clone() for p in model.parameters()]
    probe(model, x * 3, y)
    assert all(torch.equal(a, p.grad) for a, p in zip(before, model.parameters()))


def test_forward_only_has_no_gradient_statistics():
    model = mlp()
    with Probe(model) as p, torch.no_grad():
        model(torch.randn(32, 16))
    r = p.report()
    assert all(row.grad_rms is None for row in r.layers)
    assert math.isnan(r.layers[0].bwd_ratio)


def test_errors():
    with pytest.raises(ConfigError, match="needs an nn.Module"):
        Probe("net")
    with pytest.raises(ConfigError, match="no layer with a >= 2-D weight"):
        Probe(nn.Sequential(nn.ReLU()))
    with pytest.raises(ConfigError, match="no module named 'nope'"):
        Probe(mlp(), layers=["nope"])
    with pytest.raises(ConfigError, match="nothing recorded"):
        Probe(mlp()).report()


def test_weight_layers_finds_linear_conv_and_low_rank_parts():
    from initreg.models import LowRankLinear

    m = nn.Sequential(nn.Conv1d(2, 3, 3), nn.Flatten(), LowRankLinear(6, 4, rank=2), nn.BatchNorm1d(4))
    assert [n for n, _ in weight_layers(m)] == ["0", "2.down", "2.up"]
