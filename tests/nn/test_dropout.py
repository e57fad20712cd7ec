"""Dropout: both modes' formulas, identities, mask statistics, torch agreement, errors, builder."""

import math

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.nn import Dropout, dropout


def test_identity_cases():
    x = torch.randn(3, 5)
    assert dropout(x, 0.0, training=True) is x
    assert dropout(x, 0.5, training=False, mode="inverted") is x
    assert torch.equal(dropout(x, 0.3, training=False, mode="classic"), x * 0.7)
    assert torch.equal(Dropout(0.0, mode="classic").train()(x), x)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_training_values_are_mask_times_scale(mode):
    p = 0.25
    x = torch.randn(50, 40)
    y = dropout(x, p, training=True, mode=mode, generator=torch.Generator().manual_seed(1))
    kept = y != 0
    scale = 1 / (1 - p) if mode == "inverted" else 1.0
    assert torch.allclose(y[kept], x[kept] * scale)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_drop_fraction_matches_p(p):
    # The dropped count is Binomial(n, p): allow 5 standard deviations.
    n = 200_000
    y = dropout(torch.ones(n), p, generator=torch.Generator().manual_seed(0))
    dropped = int((y == 0).sum())
    assert abs(dropped - n * p) < 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_expectation_equals_eval_output(mode):
    # Weight scaling: E_mask[train output] = eval output. Mean of n draws: error ~ sd/sqrt(n).
    p, n = 0.4, 100_000
    x = torch.full((n,), 2.0, dtype=torch.float64)
    train = dropout(x, p, True, mode, generator=torch.Generator().manual_seed(3)).mean()
    ev = dropout(x[:1], p, False, mode)[0]
    sd = 2.0 * math.sqrt(p * (1 - p)) / ((1 - p) if mode == "inverted" else 1.0)
    assert abs(float(train - ev)) < 5 * sd / math.sqrt(n)


def test_seeded_reproducible_and_seed_sensitive():
    x = torch.ones(1000)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    c = dropout(x, 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_module_generator_is_used():
    d1 = Dropout(0.5, generator=torch.Generator().manual_seed(5))
    d2 = Dropout(0.5, generator=torch.Generator().manual_seed(5))
    x = torch.ones(64)
    assert torch.equal(d1(x), d2(x))


def test_inverted_agrees_with_torch_dropout():
    x = torch.randn(32, 17)
    torch.manual_seed(11)
    ref = nn.Dropout(0.3).train()(x)
    torch.manual_seed(11)
    ours = Dropout(0.3).train()(x)
    assert torch.allclose(ours, ref)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_gradient_is_mask_times_scale(mode):
    x = torch.randn(20, 10, requires_grad=True)
    y = dropout(x, 0.5, True, mode, generator=torch.Generator().manual_seed(0))
    y.sum().backward()
    mask = (y != 0).to(x.dtype)
    assert torch.allclose(x.grad, mask * (2.0 if mode == "inverted" else 1.0))


def test_errors_name_the_value():
    with pytest.raises(ConfigError, match=r"p must be in \[0, 1\); got p=1.0"):
        Dropout(1.0)
    with pytest.raises(ConfigError, match=r"got p=-0.1"):
        dropout(torch.ones(2), -0.1)
    with pytest.raises(ConfigError, match=r"mode must be one of inverted, classic; got mode='gaussian'"):
        Dropout(0.5, mode="gaussian")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'q'"):
        Dropout.from_config({"name": "dropout", "q": 0.1})


def test_config_round_trip():
    d = Dropout(0.3, mode="classic")
    e = Dropout.from_config(d.get_config())
    assert (e.p, e.mode) == (0.3, "classic")


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_builder_places_dropout_in_hidden_layers_only(mode):
    m = build_model({"name": "mlp", "depth": 2, "width": 8, "dropout": 0.5, "dropout_mode": mode, "init": "torch"},
                    (4,), 3, seed=0)
    kinds = [type(x).__name__ for x in m]
    drops = [x for x in m if isinstance(x, Dropout)]
    assert len(drops) == 2 and all(d.mode == mode for d in drops)
    assert kinds[-1] == "Linear" and kinds[-2] == "Dropout"  # dropout before, never after, the output layer
    c = build_model({"name": "cnn", "channels": [4], "hidden": 8, "dropout": 0.2, "dropout_mode": mode,
                     "init": "torch"}, (1, 8, 8), 3, seed=0)
    assert isinstance(c[-2], Dropout) and c[-2].mode == mode


def test_builder_rejects_unknown_mode():
    with pytest.raises(ConfigError, match="dropout_mode"):
        build_model({"name": "mlp", "dropout": 0.5, "dropout_mode": "alpha"}, (4,), 3)
