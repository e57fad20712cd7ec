"""Loss penalties: formulas by hand, parameter selection, activity hooks, schedules, fit/config use."""

import pytest
import torch
from torch import nn

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers
from initreg.regularize.penalties import (
    ActivityPenalty,
    WeightPenalty,
    activity_penalty,
    select_parameters,
    strength_at,
    weight_penalty,
)
from initreg.train import fit, load_config


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_weight_penalty_by_hand():
    a = torch.tensor([1.0, -2.0])
    b = torch.tensor([[0.5, 0.0], [-1.0, 3.0]])
    # l1 * (3 + 4.5) + l2/2 * (5 + 10.25)
    assert torch.isclose(weight_penalty([a, b], l1=0.1, l2=0.2), torch.tensor(0.75 + 1.525))
    assert float(weight_penalty([a, b])) == 0.0


def test_selection_excludes_bias_and_norm_by_default():
    m = _net()
    assert [n for n, _ in select_parameters(m)] == ["0.weight", "3.weight"]
    assert [n for n, _ in select_parameters(m, include_bias=True)] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert [n for n, _ in select_parameters(m, include_norm=True)] == ["0.weight", "1.weight", "1.bias", "3.weight"]
    assert [n for n, _ in select_parameters(m, params=["3.*"])] == ["3.weight"]
    with pytest.raises(ConfigError, match=r"pattern '9.weight' matches no selected parameter"):
        select_parameters(m, params=["9.weight"])


def test_l2_penalty_gradient_equals_sgd_weight_decay():
    # d/dθ (λ/2)‖θ‖² = λθ: one SGD step on loss + penalty equals SGD(weight_decay=λ) on the loss.
    x, y = torch.randn(8, 3), torch.randn(8, 2)
    lam = 0.3
    m1 = nn.Linear(3, 2, bias=False)
    m2 = nn.Linear(3, 2, bias=False)
    m2.load_state_dict(m1.state_dict())
    o1 = torch.optim.SGD(m1.parameters(), lr=0.1)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.1, weight_decay=lam)
    (nn.functional.mse_loss(m1(x), y) + WeightPenalty(l2=lam).penalty(m1)).backward()
    nn.functional.mse_loss(m2(x), y).backward()
    o1.step()
    o2.step()
    assert torch.allclose(m1.weight, m2.weight, atol=1e-7)


def test_l1_gradient_is_sign():
    m = nn.Linear(3, 2, bias=False)
    WeightPenalty(l1=0.5).penalty(m).backward()
    assert torch.equal(m.weight.grad, 0.5 * torch.sign(m.weight.detach()))


def test_activity_penalty_by_hand_and_batch_normalized():
    h = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    # (1/2) * (l1 * 6 + l2/2 * 14)
    assert torch.isclose(activity_penalty(h, l1=1.0, l2=0.5), torch.tensor(0.5 * (6 + 3.5)))
    assert torch.isclose(activity_penalty(torch.cat([h, h]), l1=1.0, l2=0.5), activity_penalty(h, l1=1.0, l2=0.5))


def test_activity_hooks_default_to_activations_and_skip_eval():
    m = _net()
    x = torch.randn(6, 3)
    pen = ActivityPenalty(l1=0.1).attach(m)
    assert [n for n, _ in pen.chosen(m)] == ["2"]
    m.train()
    out = m(x)
    expected = 0.1 * torch.relu(m[1](m[0](x))).abs().sum() / 6  # BN in train mode, as in the pass
    assert torch.isclose(pen.penalty(), expected.detach(), atol=1e-6)
    assert float(pen.penalty()) == 0.0  # cleared
    m.eval()
    m(x)
    assert float(pen.penalty()) == 0.0  # eval forwards are not penalized
    pen.detach()
    m.train()
    m(x)
    assert float(pen.penalty()) == 0.0
    assert out.shape == (6, 2)


def test_activity_module_selection_and_errors():
    m = _net()
    assert [n for n, _ in ActivityPenalty(l1=1, modules=["0", "ReLU"]).chosen(m)] == ["0", "2"]
    with pytest.raises(ConfigError, match=r"modules entry 'Tanh' matches no module"):
        ActivityPenalty(l1=1, modules=["Tanh"]).chosen(m)
    with pytest.raises(ConfigError, match="has no activation modules"):
        ActivityPenalty(l1=1).chosen(nn.Sequential(nn.Linear(2, 2)))


def test_activity_penalty_gradient_reaches_earlier_layers():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with ActivityPenalty(l2=1.0).attach(m) as pen:
        x = torch.randn(5, 3)
        m(x)
        pen.penalty().backward()
    h = torch.relu(m[0](x))
    # d/dW (1/B)(1/2)Σh² = (1/B) (h * relu')ᵀ x
    grad = (h * (h > 0)).T @ x / 5
    assert torch.allclose(m[0].weight.grad, grad.detach(), atol=1e-6)


def test_schedules():
    assert strength_at(0.3) == 1.0
    assert strength_at(0.5, "linear") == 0.5
    assert strength_at(0.2, "linear", start=0.5, warmup=0.4) == pytest.approx(0.75)
    assert strength_at(0.9, "linear", warmup=0.4) == 1.0
    assert strength_at(0.5, "cosine") == pytest.approx(0.5)
    assert strength_at(0.25, "cosine") == pytest.approx((1 - 2 ** -0.5) / 2)
    with pytest.raises(ConfigError, match=r"schedule must be one of constant, linear, cosine; got schedule='exp'"):
        strength_at(0.1, "exp")
    with pytest.raises(ConfigError, match=r"warmup .* got warmup=0"):
        WeightPenalty(l2=1, schedule="linear", warmup=0)


def test_strength_errors():
    with pytest.raises(ConfigError, match=r"l1 must be a finite number >= 0; got l1=-1"):
        WeightPenalty(l1=-1)
    with pytest.raises(ConfigError, match=r"l1_ratio must be in \[0, 1\]; got l1_ratio=1.5"):
        build_regularizers([{"name": "elastic_net", "strength": 1e-3, "l1_ratio": 1.5}])


def test_registered_configs_build_and_round_trip():
    regs = build_regularizers([{"name": "l1", "strength": 1e-4}, {"name": "l2", "strength": 3e-3},
                               {"name": "elastic_net", "strength": 1e-3, "l1_ratio": 0.25},
                               {"name": "activity", "l1": 1e-4, "modules": ["ReLU"]}])
    assert (regs[0].l1, regs[0].l2) == (1e-4, 0.0)
    assert (regs[1].l1, regs[1].l2) == (0.0, 3e-3)
    assert regs[2].l1 == pytest.approx(2.5e-4) and regs[2].l2 == pytest.approx(7.5e-4)
    for r in regs:
        again = build_regularizers([r.get_config()])[0]
        assert (again.l1, again.l2) == pytest.approx((r.l1, r.l2))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'lam'"):
        load_config({"regularize": [{"name": "l2", "lam": 1}]})


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 300})


def _train(d, regs, epochs=8):
    m = build_model({"name": "mlp", "depth": 1, "width": 32, "init": "torch"}, d.input_shape, d.num_outputs, seed=0)
    fit(m, d, {"epochs": epochs, "progress": "none", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
        callbacks=build_regularizers(regs))
    return m


def test_in_fit_zero_strength_is_identity_and_l2_shrinks(digits):
    base = _train(digits, [])
    zero = _train(digits, [{"name": "l2", "strength": 0.0}, {"name": "activity", "l1": 0.0}])
    for a, b in zip(base.parameters(), zero.parameters()):
        assert torch.equal(a, b)
    l2 = _train(digits, [{"name": "l2", "strength": 0.05}])
    assert l2[1].weight.norm() < 0.8 * base[1].weight.norm()
    assert torch.equal(l2[1].bias.abs() > 0, base[1].bias.abs() > 0)


def test_in_fit_activity_l1_sparsifies(digits):
    def zeros(m):
        with torch.no_grad():
            return float((m[:3](digits.x_test) == 0).float().mean())

    base = _train(digits, [])
    sparse = _train(digits, [{"name": "activity", "l1": 3e-3}])
    assert zeros(sparse) > zeros(base) + 0.1


def test_activity_hooks_are_removed_when_fit_stops_on_an_exception(digits):
    from initreg.train.callbacks import Callback

    class Interrupt(Callback):
        def on_step_end(self, state):
            raise KeyboardInterrupt

    m = build_model({"name": "mlp", "depth": 1, "width": 32}, digits.input_shape, digits.num_outputs, seed=0)
    with pytest.raises(KeyboardInterrupt):
        fit(m, digits, {"steps": 3, "progress": "none"}, callbacks=[ActivityPenalty(l1=1e-3), Interrupt()])
    assert not any(mod._forward_hooks for mod in m.modules())
