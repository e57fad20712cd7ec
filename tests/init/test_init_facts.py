"""Every registered init scheme carries its facts; callers use them (variance, activation, bias,
data), and the facts are true: the variance formula matches sampled weights."""

import math

import pytest
import torch
from torch import nn

import initreg.init as ours
from initreg.errors import ConfigError
from initreg.init import SchemeFacts, initialize, inits, scheme_facts, schemes_with, weight_variance

TORCH_NAMES = {"uniform", "normal", "trunc_normal", "constant", "ones", "zeros", "eye", "dirac", "xavier_uniform",
               "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"}


def test_every_scheme_has_facts_and_torchs_are_marked():
    for name in inits.names():
        f = scheme_facts(name)
        assert isinstance(f, SchemeFacts), name
        if f.torch_name is not None:
            assert f.torch_name == name + "_" and inits.get(name) is getattr(ours, f.torch_name)
            assert hasattr(torch.nn.init, f.torch_name)
    assert set(schemes_with(applies_to="tensor")) - {n for n in inits.names() if scheme_facts(n).torch_name is None} \
        == TORCH_NAMES
    assert schemes_with(needs_data=True) == ["lsuv"]
    assert schemes_with(activation="always") == ["auto", "critical"]
    assert schemes_with(activation="on_request") == ["kaiming_normal", "kaiming_uniform", "orthogonal",
                                                     "xavier_normal", "xavier_uniform"]
    assert scheme_facts("critical").bias == "N(0, sigma_b^2)" and scheme_facts("torch").bias == "kept"
    with pytest.raises(ConfigError, match=r"activation must be one of always, on_request, never; got activation='x'"):
        SchemeFacts(activation="x")


VARIANCE_CASES = [
    ("uniform", {}), ("uniform", {"a": -0.5, "b": 2.0}), ("normal", {"mean": 0.3, "std": 0.2}),
    ("trunc_normal", {}), ("trunc_normal", {"mean": 0.5, "std": 1.0, "a": 0.0, "b": 3.0}),
    ("constant", {"val": 0.3}), ("ones", {}), ("zeros", {}), ("eye", {}), ("sparse", {"sparsity": 0.3, "std": 0.1}),
    ("xavier_uniform", {}), ("xavier_normal", {"gain": 1.7}), ("kaiming_uniform", {"a": 0.3, "mode": "fan_out"}),
    ("kaiming_normal", {}), ("kaiming_normal", {"nonlinearity": "tanh"}), ("kaiming_normal", {"mode": "fan_avg"}),
    ("orthogonal", {"gain": 2.0}), ("legacy_uniform", {}), ("lecun_normal", {}), ("lecun_uniform", {}),
    ("variance_scaling", {"scale": 2.0, "distribution": "truncated_normal"}),
]


@pytest.mark.parametrize("name,params", VARIANCE_CASES, ids=[f"{n}{p}" for n, p in VARIANCE_CASES])
def test_variance_facts_match_sampled_weights(name, params):
    shape = (400, 300)
    w = inits.get(name)(torch.empty(shape), **params, **(
        {"generator": torch.Generator().manual_seed(0)} if name not in ("constant", "ones", "zeros", "eye") else {}))
    expected = weight_variance({"name": name, **params}, shape)
    # relative sd of a mean of N squares ~ sqrt(2/N) ≈ 0.3% here
    assert float(w.double().pow(2).mean()) == pytest.approx(expected, rel=0.02, abs=1e-12), name


def test_dirac_variance_fact_is_exact():
    w = ours.dirac_(torch.empty(6, 4, 3, 3), 2)
    assert float(w.pow(2).mean()) == pytest.approx(weight_variance({"name": "dirac", "groups": 2}, (6, 4, 3, 3)))


def test_weight_variance_uses_the_activation_only_where_the_facts_say():
    shape = (100, 100)
    assert weight_variance("kaiming_normal", shape, "tanh") == pytest.approx(2 / 100)  # torch's: gain sqrt(2)
    assert weight_variance("xavier_normal", shape, "relu") == pytest.approx(1 / 100)
    auto = {"name": "xavier_normal", "gain": "auto"}
    assert weight_variance(auto, shape, "relu") == pytest.approx(2 / 100)
    assert weight_variance("xavier_normal", shape, "relu", gains=True) == pytest.approx(2 / 100)
    assert weight_variance({"name": "kaiming_normal", "gain": "auto"}, shape, "tanh") == pytest.approx(
        ours.gain("tanh") ** 2 / 100)
    assert weight_variance("auto", shape, "tanh") == pytest.approx(ours.gain("tanh") ** 2 / 100)  # always
    assert weight_variance("normal", shape, "tanh", gains=True) == 1.0  # no gain: the activation plays no part
    with pytest.raises(ConfigError, match=r"'lsuv' has no closed-form weight variance"):
        weight_variance("lsuv", shape)


def test_gain_auto_errors_and_validation():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ConfigError, match=r"init scheme 'normal': gain: auto needs a scheme whose gain can be computed "
                                          r"from the activation; those are: kaiming_normal, kaiming_uniform, "
                                          r"orthogonal, xavier_normal, xavier_uniform"):
        initialize(net, {"name": "normal", "gain": "auto"})
    with pytest.raises(ConfigError, match=r"init scheme 'xavier_normal': unknown key\(s\) 'gaim'; valid keys: gain, activation"):
        initialize(net, {"name": "xavier_normal", "gaim": "auto"})
    with pytest.raises(ConfigError, match=r"init scheme 'xavier_normal': gain"):
        initialize(net, {"name": "xavier_normal", "gain": "automatic"})
    with pytest.raises(ConfigError, match=r"a= and nonlinearity= choose torch's gain.*got a=0, nonlinearity='relu'"):
        initialize(net, {"name": "kaiming_normal", "nonlinearity": "relu", "gain": "auto"})


def test_initialize_kaiming_is_torchs_on_every_layer_unless_asked():
    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(30, 40), nn.Tanh(), nn.Linear(40, 5))

    a = net()
    rep = initialize(a, "kaiming_normal", generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    expected = [torch.nn.init.kaiming_normal_(torch.empty(40, 30), generator=g),
                torch.nn.init.kaiming_normal_(torch.empty(5, 40), generator=g)]
    assert torch.equal(a[0].weight, expected[0]) and torch.equal(a[2].weight, expected[1])
    assert [r.gain for r in rep] == [pytest.approx(math.sqrt(2))] * 2
    b = net()
    rep = initialize(b, {"name": "kaiming_normal", "gain": "auto"}, generator=torch.Generator().manual_seed(3))
    assert rep[0].gain == pytest.approx(ours.gain("tanh")) and rep[1].gain == pytest.approx(1.0)  # output: linear
    # a config that sets the gain keeps it under gains=True
    rep = initialize(net(), {"name": "kaiming_normal", "nonlinearity": "tanh"}, gains=True)
    assert [r.gain for r in rep] == [5 / 3, 5 / 3]


def test_bias_from_facts_and_data_from_facts():
    net = nn.Sequential(nn.Linear(200, 200), nn.Tanh())
    rep = initialize(net, "critical", generator=torch.Generator().manual_seed(0), zero_bias=True)
    sb = scheme_facts("critical").bias_std({"activation": "tanh"})
    assert rep[0].bias == f"N(0, {sb:.3g}^2)" and float(net[0].bias.detach().std()) == pytest.approx(sb, rel=0.25)
    with pytest.raises(ConfigError, match=r"init scheme 'lsuv' needs a data batch"):
        initialize(net, "lsuv")
