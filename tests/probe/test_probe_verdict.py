"""Verdicts: thresholds, labels, where a problem starts, agreement with the mean-field overlay."""

import math

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.probe import Thresholds, layer_verdict, overall_verdict, probe

torch.set_num_threads(1)


def deep(depth, act, sigma, width=128, din=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    layers, d = [], din
    for _ in range(depth):
        layers += [nn.Linear(d, width, bias=False), act()]
        d = width
    layers.append(nn.Linear(d, 10, bias=False))
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                std = math.sqrt(2 / m.in_features) if sigma == "kaiming" else sigma
                m.weight.normal_(0, std, generator=g)
    return net


def data(seed=0, din=64, n=256):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, din, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("seed", [0, 1])
def test_built_to_fail_nets_are_flagged_and_located(seed):
    x, y = data(seed)
    # ReLU, σ = 1: RMS √64 = 8 at layer 1, then ×√(128/2) = 8 per layer: 64 at layer 2,
    # 512 at layer 3 -> the first layer past 100 is 3 (forward), and so says the theory.
    r = probe(deep(12, nn.ReLU, 1.0, seed=seed), x, y)
    assert r.label == "exploding"
    assert r.first_bad["index"] == 3 and r.first_bad["direction"] == "forward"
    assert r.theory_verdict["label"] == "exploding" and r.theory_verdict["first_bad"]["index"] == 3
    # tanh, σ = 0.01: the RMS shrinks ≈ 0.08× (layer 1), 0.11× per layer -> crosses 0.01 at layer 2 or 3
    r = probe(deep(12, nn.Tanh, 0.01, seed=seed), x, y)
    assert r.label == "vanishing" and r.first_bad["index"] in (2, 3)
    assert r.theory_verdict["label"] == "vanishing"
    assert abs(r.theory_verdict["first_bad"]["index"] - r.first_bad["index"]) <= 1
    # sigmoid, σ = 0.01: RMS stays (units sit at 0.5) but the signal and the gradients vanish
    r = probe(deep(12, nn.Sigmoid, 0.01, seed=seed), x, y)
    assert r.label == "vanishing"
    assert r.layers[5].fwd_ratio > 0.01 and r.layers[5].signal_ratio < 0.01
    assert r.theory_verdict["label"] == "vanishing"
    # Kaiming: healthy, and the theory agrees
    r = probe(deep(12, nn.ReLU, "kaiming", seed=seed), x, y)
    assert r.healthy and r.theory_verdict["label"] == "healthy"


def test_saturated_tanh_matches_the_gaussian_prediction():
    x, y = data()
    r = probe(deep(6, nn.Tanh, 1.0, width=256), x, y)
    assert r.label == "saturated" and r.first_bad["index"] == 1
    for row in r.layers[1:-1]:  # wide layers: the fraction follows P(|tanh(√q z)| > 0.99)
        assert row.saturated == pytest.approx(row.theory_saturated, abs=0.03)


def test_zero_init_relu_is_dead():
    net = deep(3, nn.ReLU, 1.0)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.zero_()
    x, y = data()
    r = probe(net, x, y, theory=False)
    assert r.layers[0].dead == 1.0
    assert r.label == "vanishing"  # zero output RMS is also a vanished signal, reported first
    assert any("inactive" in i["text"] for i in r.layers[0].issues)


def test_layer_verdict_each_label_and_priority():
    t = Thresholds()
    assert layer_verdict({"fwd_ratio": 1.0, "bwd_ratio": 1.0}, t) == ("healthy", [])
    assert layer_verdict({"fwd_ratio": 101.0}, t)[0] == "exploding"
    assert layer_verdict({"fwd_ratio": 0.009}, t)[0] == "vanishing"
    assert layer_verdict({"fwd_ratio": 1.0, "signal_ratio": 0.001}, t)[0] == "vanishing"
    assert layer_verdict({"bwd_ratio": 1e3}, t)[0] == "exploding"
    assert layer_verdict({"saturated": 0.51}, t)[0] == "saturated"
    assert layer_verdict({"saturated": 0.49}, t)[0] == "healthy"
    assert layer_verdict({"dead": 0.6}, t)[0] == "dead"
    assert layer_verdict({"update_ratio": 0.2}, t)[0] == "exploding"
    assert layer_verdict({"update_ratio": float("nan")}, t)[0] == "exploding"  # a non-finite update
    label, issues = layer_verdict({"fwd_ratio": 0.001, "saturated": 0.9, "dead": 0.9}, t)
    assert label == "vanishing" and len(issues) == 3


def test_overall_forward_first_then_backward_from_the_output():
    t = Thresholds()
    rows = []
    for i, (f, b) in enumerate([(1, 1e-4), (1, 1e-3), (1, 0.005), (1, 0.5), (1, 1)], 1):
        label, issues = layer_verdict({"fwd_ratio": f, "bwd_ratio": b}, t)
        rows.append({"index": i, "name": str(i), "issues": issues})
    v = overall_verdict(rows, t)
    assert v["label"] == "vanishing" and v["first_bad"]["index"] == 3 and v["first_bad"]["direction"] == "backward"
    _, issues = layer_verdict({"fwd_ratio": 200.0}, t)
    rows[3]["issues"] = issues
    v = overall_verdict(rows, t)
    assert v["first_bad"]["index"] == 4 and v["first_bad"]["direction"] == "forward" and v["label"] == "exploding"


def test_threshold_errors():
    with pytest.raises(ConfigError, match="0 < vanish < 1 < explode"):
        Thresholds(vanish=2.0)
    with pytest.raises(ConfigError, match="dead must be in"):
        Thresholds(dead=1.5)
    with pytest.raises(ConfigError, match="update must be > 0"):
        Thresholds(update=0)


def test_custom_thresholds_change_the_verdict():
    x, y = data()
    net = deep(4, nn.ReLU, 0.2)  # grows ≈ 0.2·√(128/2) = 1.6x per layer: ≈ 10x by the output
    strict = probe(net, x, y, thresholds=Thresholds(explode=1.5))
    loose = probe(net, x, y)
    assert strict.label == "exploding" and loose.healthy


def test_report_json_round_trip(tmp_path):
    import json

    x, y = data()
    r = probe(deep(3, nn.Tanh, 0.5), x, y, jacobian=2)
    p = r.write_json(tmp_path / "r.json")
    d = json.loads(p.read_text())
    assert d["verdict"]["label"] == r.label and len(d["layers"]) == 4
    assert d["jacobian"]["samples"] == 2 and d["thresholds"]["explode"] == 100.0
