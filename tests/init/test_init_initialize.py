"""`initialize` on Sequential, custom modules (torch.fx) and conv nets; LSUV; errors."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initreg.errors import ConfigError
from initreg.init import critical_point, gain, initialize, lsuv_, resolve_layers
from initreg.models import build_model
from initreg.models.build import DEFAULT_INIT


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sequential_right_gain_and_fan():
    net = nn.Sequential(nn.Linear(300, 400), nn.ReLU(), nn.Dropout(0.1), nn.Linear(400, 500), nn.LayerNorm(500),
                        nn.Tanh(), nn.Linear(500, 10))
    rep = initialize(net, "auto", generator=g())
    assert [r.activation for r in rep] == ["relu", "tanh", "identity"]
    assert all(r.resolved_by == "sequential" for r in rep)
    expected = [math.sqrt(2 / 300), gain("tanh") / math.sqrt(400), 1 / math.sqrt(500)]
    for r, m, e in zip(rep, [net[0], net[3], net[6]], expected):
        assert r.std == pytest.approx(float(m.weight.detach().std()))
        assert r.std == pytest.approx(e, rel=0.05)
        assert torch.equal(m.bias, torch.zeros_like(m.bias))
    assert (rep[0].fan_in, rep[0].fan_out, rep[0].shape) == (300, 400, (400, 300))


def test_xavier_means_torchs_by_default_and_auto_gain_is_opt_in():
    net = nn.Sequential(nn.Linear(200, 300), nn.ReLU(), nn.Linear(300, 5))
    rep = initialize(net, "xavier_normal", generator=g())  # torch's: gain 1
    assert [r.gain for r in rep] == [1.0, 1.0] and not rep.gains
    assert float(net[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 500), rel=0.05)
    for how in ({"scheme": {"name": "xavier_normal", "gain": "auto"}}, {"scheme": "xavier_normal", "gains": True}):
        rep = initialize(net, generator=g(), **how)
        assert rep.gains and rep[0].gain == pytest.approx(math.sqrt(2)) and rep[1].gain == pytest.approx(1.0)
        assert float(net[0].weight.detach().std()) == pytest.approx(math.sqrt(2) * math.sqrt(2 / 500), rel=0.05)
    rep = initialize(net, {"name": "xavier_normal", "gain": 1.5}, generator=g(), gains=True)  # the config wins
    assert [r.gain for r in rep] == [1.5, 1.5]


def test_bias_options_and_torch_scheme():
    net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2))
    before = [p.detach().clone() for p in net.parameters()]
    rep = initialize(net, "torch")
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert [r.bias for r in rep] == ["kept", "kept"]
    b = net[0].bias.detach().clone()
    initialize(net, "kaiming_normal", generator=g(), zero_bias=False)
    assert torch.equal(net[0].bias, b)
    rep = initialize(net, {"name": "critical", "q_star": 1.0}, generator=g())
    assert rep[0].extra["sigma_b"] == 0.0  # ReLU: sigma_b = 0
    net2 = nn.Sequential(nn.Linear(100, 100), nn.Tanh())
    rep = initialize(net2, "critical", generator=g())
    assert float(net2[0].bias.detach().std()) == pytest.approx(rep[0].extra["sigma_b"], rel=0.2)


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 32)
        self.res = nn.Linear(32, 32)
        self.head = nn.Linear(32, 10)  # registered before use order differs from call order
        self.mid = nn.Linear(32, 32)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2)
        x = x.sigmoid() if False else torch.tanh(self.mid(x))
        x = x + self.res(x)
        return self.head(F.gelu(x))


def test_custom_module_by_fx_follows_a_residual_add():
    m = Custom()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every layer resolved: no warning
        rep = initialize(m, "auto", generator=g())
    acts = {r.name: r.activation for r in rep}
    # res's output is added to x, and the sum goes into GELU: res gets GELU's gain, like He et al.'s residual nets
    assert acts == {"conv": "relu", "fc": "leaky_relu(negative_slope=0.2)", "mid": "tanh", "res": "gelu",
                    "head": "identity"}
    assert [r.name for r in rep] == ["conv", "fc", "mid", "res", "head"]  # forward order, not registration
    assert rep.unresolved == [] and {r.resolved_by for r in rep} == {"fx"}
    assert rep[0].fan_in == 27 and rep[0].std == pytest.approx(math.sqrt(2 / 27), rel=0.3)


def test_custom_module_by_fx_with_unresolved_layer():
    class TwoWays(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 2)

        def forward(self, x):
            h = self.a(x)
            return self.b(torch.relu(h) * torch.tanh(h))  # two different activations of one output

    with pytest.warns(UserWarning, match=r"could not find the activation after 1 layer\(s\).*a \(output used by several"):
        rep = initialize(TwoWays(), "auto", generator=g())
    assert [r.activation for r in rep] == ["?", "identity"]
    assert rep.unresolved == ["a (output used by several different ops)"]
    assert "unresolved (initialized as linear): a" in rep.table()


def test_untraceable_model_falls_back_to_module_order():
    class Dyn(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.act, self.b = nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)

        def forward(self, x):
            if x.sum() > 0:
                x = x * 2
            return self.b(self.act(self.a(x)))

    with pytest.warns(UserWarning, match=r"could not trace Dyn"):
        rep = initialize(Dyn(), generator=g())
    assert [r.activation for r in rep] == ["relu", "identity"]
    assert rep[0].resolved_by.startswith("module order (unverified")
    with pytest.raises(ConfigError, match=r"torch.fx could not trace Dyn"):
        resolve_layers(Dyn(), method="fx")


def test_conv_net_from_the_zoo_and_build_model_default():
    net = build_model({"name": "cnn", "channels": [4, 8], "hidden": 16, "init": "kaiming_normal"}, (1, 8, 8), 10, seed=0)
    rep = initialize(net, "kaiming_normal", generator=g())
    assert [r.kind for r in rep] == ["Conv2d", "Conv2d", "Linear", "Linear"]
    assert [r.activation for r in rep] == ["relu", "relu", "relu", "identity"]
    assert rep[1].fan_in == 4 * 9 and rep[1].fan_out == 8 * 9
    assert DEFAULT_INIT == "auto"
    a = build_model({"name": "mlp", "depth": 2, "width": 32}, (20,), 3, seed=1)
    b = build_model({"name": "mlp", "depth": 2, "width": 32}, (20,), 3, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert float(a[1].weight.detach().std()) == pytest.approx(math.sqrt(2 / 20), rel=0.2)
    assert torch.equal(a[1].bias, torch.zeros(32))


def test_generator_reproducible_initialize():
    def make():
        torch.manual_seed(123)
        return nn.Sequential(nn.Linear(5, 6), nn.SiLU(), nn.Linear(6, 2))

    a, b = make(), make()
    initialize(a, "orthogonal", generator=g(9))
    initialize(b, "orthogonal", generator=g(9))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_initialize_errors():
    net = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(ConfigError, match=r"unknown init scheme 'he'.*known: .*kaiming_normal"):
        initialize(net, "he")
    with pytest.raises(ConfigError, match=r"init scheme 'normal': unknown key\(s\) 'sigma'; valid keys: mean, std"):
        initialize(net, {"name": "normal", "sigma": 0.1})
    with pytest.raises(ConfigError, match=r"init scheme 'kaiming_normal': mode: .*'fan_in', 'fan_out' or 'fan_avg' \(got 'both'\)"):
        initialize(net, {"name": "kaiming_normal", "mode": "both"})
    with pytest.raises(ConfigError, match=r"'lsuv' needs a data batch"):
        initialize(net, "lsuv")
    with pytest.raises(ConfigError, match=r"needs an nn.Module; got Tensor"):
        initialize(torch.zeros(3), "auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initialize(nn.Sequential(nn.Linear(3, 3), nn.ReLU()), "auto")  # nothing to warn about


def test_lsuv_reaches_unit_variance_on_any_model():
    torch.manual_seed(0)
    m = Custom()
    x = torch.randn(64, 3, 8, 8, generator=g(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = initialize(m, {"name": "lsuv", "tol": 0.05}, data=x, generator=g(2))
    assert [r.name for r in rep] == ["conv", "fc", "mid", "res", "head"]
    outs = {}
    hooks = [getattr(m, n).register_forward_hook(lambda mod, i, o, n=n: outs.__setitem__(n, o)) for n in
             ("conv", "fc", "mid", "res", "head")]
    m.eval()
    with torch.no_grad():
        m(x)
    for h in hooks:
        h.remove()
    for n, o in outs.items():
        assert abs(float(o.var()) - 1) < 0.05, n
    # a deep tanh MLP: plain orthogonal would shrink the variance, LSUV fixes each layer
    net = nn.Sequential(*[mod for _ in range(8) for mod in (nn.Linear(64, 64), nn.Tanh())])
    rep = lsuv_(net, torch.randn(256, 64, generator=g(3)), tol=0.02, generator=g(4))
    assert all(abs(r.extra["variance"] - 1) < 0.02 for r in rep)
    with pytest.raises(ConfigError, match=r"lsuv: tol must be > 0; got tol=0"):
        lsuv_(net, torch.randn(4, 64), tol=0)


def test_zoo_models_with_dropout_norm_and_bottleneck_resolve():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every layer resolved, no warning
        m = build_model({"name": "mlp", "depth": 2, "width": 16, "norm": "batch", "dropout": 0.2, "input_dropout": 0.1,
                         "dropout_mode": "classic", "bottleneck": 4, "activation": "gelu"}, (20,), 3, seed=0)
        rep = initialize(m, "auto", generator=g())
    assert [r.activation for r in rep] == ["identity", "gelu", "gelu", "identity"]  # down, up, hidden, output
    assert rep.unresolved == []


def test_critical_init_of_a_net_with_a_linear_output_layer():
    """The hidden tanh layers get the critical point for sigma_b; the output layer, followed by no
    activation, gets sigma_w = 1 (χ₁ = σ_w² for a linear map) instead of an error."""
    net = nn.Sequential(nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 10))
    rep = initialize(net, {"name": "critical", "sigma_b": 0.05 ** 0.5}, generator=g())
    sw_tanh = critical_point("tanh", sigma_b=0.05 ** 0.5).sigma_w
    assert [r.activation for r in rep] == ["tanh", "tanh", "identity"]
    assert rep[0].std == pytest.approx(sw_tanh / 20, rel=0.02) and rep[2].std == pytest.approx(1 / 20, rel=0.05)
    assert float(net[4].bias.detach().std()) == pytest.approx(0.05 ** 0.5, rel=0.6)  # N(0, σ_b²) biases, 10 of them
