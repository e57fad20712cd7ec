"""The activation table: derivatives vs autograd, ranges (corrected), modules, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initreg.errors import ConfigError
from initreg.nn.activation_table import activations_table
from initreg.nn.activations import (
    BinaryStep,
    activation_info,
    activation_of_module,
    activations,
    is_activation,
    make_activation,
)

PARAMS = {"leaky_relu": [{}, {"negative_slope": 0.3}], "elu": [{}, {"alpha": 0.7}],
          "binary_step": [{}, {"straight_through": True}]}


@pytest.mark.parametrize("name", activations.names())
def test_derivative_and_formula_match_module(name):
    info = activation_info(name)
    for params in PARAMS.get(name, [{}]):
        mod = make_activation(name, **params).double()
        x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
        x = x[x != 0] if info.kink_at_zero else x
        x = x.clone().requires_grad_(True)
        y = mod(x)
        (auto,) = torch.autograd.grad(y.sum(), x)
        p = info.with_defaults(params)
        assert torch.allclose(info.df(x.detach(), **p), auto, atol=1e-10, rtol=0)
        assert torch.allclose(info.f(x.detach(), **p), y.detach(), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", activations.names())
def test_ranges_hold_on_samples(name):
    info = activation_info(name)
    for params in PARAMS.get(name, [{}]):
        p = info.with_defaults(params)
        # |x| <= 15: beyond ~19, float64 rounds tanh(x) to exactly ±1 and sigmoid(x) to 1 (open ends)
        x = torch.cat([torch.linspace(-15, 15, 3001, dtype=torch.float64),
                       (torch.randn(5000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5).clamp(-15, 15)])
        with torch.no_grad():
            y = make_activation(name, **params).double()(x)
        assert bool(info.range.contains(y, **p).all()), (name, info.range.describe(**p))


def test_corrected_ranges_printed():
    rows = {r["name"]: r for r in activations_table()}
    assert rows["softplus"]["range"] == "(0, ∞)" and rows["softplus"]["lecture_range"] == "(0, 1)"
    assert rows["leaky_relu"]["range"] == "(-∞, ∞)" and rows["leaky_relu"]["lecture_range"] == "(-1, 1)"
    assert rows["elu"]["range"] == "(-1, ∞)" and rows["elu"]["lecture_range"] == "[0, ∞)"
    assert rows["relu"]["range"] == "[0, ∞)"
    assert rows["binary_step"]["range"] == "{0, 1}"
    assert rows["binary_step"]["gain_backward"] == math.inf
    assert rows["relu"]["gain_forward"] == pytest.approx(math.sqrt(2))
    assert "linear" not in rows and "swish" not in rows  # aliases are not repeated
    assert activation_info("elu").range.describe(alpha=2.5) == "(-2.5, ∞)"


def test_binary_step_gradients():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    BinaryStep()(x).sum().backward()
    assert torch.equal(x.grad, torch.zeros(5))
    x.grad = None
    y = BinaryStep(straight_through=True)(x)
    assert torch.equal(y, torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))


def test_module_round_trip_and_errors():
    for name in activations.names():
        for params in PARAMS.get(name, [{}]):
            cfg = activation_of_module(make_activation(name, **params))
            assert cfg is not None
            again = activation_of_module(make_activation(cfg))
            assert again == cfg
    assert activation_of_module(nn.Softplus(beta=2)) is None  # not the table's softplus
    assert activation_of_module(nn.GELU(approximate="tanh")) == {"name": "gelu_tanh"}
    assert activation_of_module(nn.Linear(2, 2)) is None
    with pytest.raises(ConfigError, match=r"unknown activation 'tanhh' \(did you mean 'tanh'\?\); known: .*sigmoid"):
        make_activation("tanhh")
    with pytest.raises(ConfigError, match=r"activation 'leaky_relu': unknown key\(s\) 'alpha'; valid keys: negative_slope"):
        make_activation("leaky_relu", alpha=0.1)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['beta'\]"):
        activation_info("elu").with_defaults({"beta": 1})


# ---- the module classifier: activation, bounds, transparent ---------------------------------

def test_module_classifier():
    from torch import nn

    from initreg.nn import Dropout
    from initreg.nn.activations import (
        activation_bounds,
        is_activation,
        is_rectifier,
        is_transparent,
    )

    for m in (nn.ReLU(), nn.Tanh(), nn.GELU(), nn.Hardtanh(), nn.PReLU(), nn.LeakyReLU(0.2), BinaryStep()):
        assert is_activation(m), m
    for m in (Dropout(0.3), Dropout(0.3, mode="classic"), nn.Dropout(0.3), nn.Identity(), nn.Softmax(1),
              nn.LogSoftmax(1), nn.LayerNorm(4), nn.Linear(2, 2), nn.GLU()):
        assert not is_activation(m), m
    for m in (Dropout(0.3), nn.Dropout(0.3), nn.AlphaDropout(0.1), nn.BatchNorm1d(4), nn.Flatten(), nn.MaxPool2d(2)):
        assert is_transparent(m), m
    assert not is_transparent(nn.ReLU()) and not is_transparent(nn.Linear(2, 2))
    assert is_rectifier(nn.ReLU()) and is_rectifier(nn.ReLU6()) and not is_rectifier(nn.LeakyReLU())
    # bounds come from the table's Range where the activation is registered
    assert activation_bounds(nn.Sigmoid()) == activation_info("sigmoid").range.bounds() == (0.0, 1.0)
    assert activation_bounds(nn.Tanh()) == activation_info("tanh").range.bounds() == (-1.0, 1.0)
    assert activation_bounds(nn.Hardtanh(-2.0, 3.0)) == (-2.0, 3.0)
    for m in (nn.ReLU(), nn.ELU(), nn.GELU(), BinaryStep(), nn.Identity()):
        assert activation_bounds(m) is None, m


@pytest.mark.parametrize("name, torch_fn", [
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("quick_gelu", lambda x: x * torch.sigmoid(1.702 * x)),
])
def test_gelu_approximations_match_torch_and_autograd(name, torch_fn):
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64, requires_grad=True)
    info = activation_info(name)
    y = info.f(x)
    assert torch.allclose(y, torch_fn(x), atol=1e-12)
    (g,) = torch.autograd.grad(torch_fn(x).sum(), x)
    assert torch.allclose(info.df(x), g, atol=1e-12)  # the hand-written derivative is autograd's
    lo, _ = info.range.bounds()
    assert float(y.detach().min()) == pytest.approx(lo, abs=2e-5) and float(y.detach().min()) >= lo  # the minimum, on a 0.006 grid
    assert torch.allclose(make_activation(name)(x.detach()), info.f(x.detach()), atol=1e-12)


def test_hugging_face_activation_modules_are_recognised_by_class():
    acts = pytest.importorskip("transformers.activations")
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    for cls_name, want in [("GELUActivation", "gelu"), ("NewGELUActivation", "gelu_tanh"),
                           ("FastGELUActivation", "gelu_tanh"), ("QuickGELUActivation", "quick_gelu")]:
        m = getattr(acts, cls_name)()
        assert activation_of_module(m) == {"name": want} and is_activation(m)
        assert torch.allclose(m(x), activation_info(want).f(x), atol=1e-6), cls_name  # it computes that function
    assert activation_of_module(acts.ClippedGELUActivation(-1.0, 1.0)) is None  # clipped: not a table function
