"""Weight decay forms: agreement with torch's SGD/AdamW, and when the forms coincide or differ."""

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.regularize import build_regularizers
from initreg.regularize.weight_decay import WeightDecay, apply_decay_, sgd_step


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 5, generator=g, dtype=torch.float64), torch.randn(32, 3, generator=g, dtype=torch.float64)
    w0 = torch.randn(3, 5, generator=g, dtype=torch.float64)
    return x, y, w0


def _train(opt_fn, decay=None, steps=20, lr_at=None, seed=0):
    """Train a bias-free linear model (fp64); ``decay`` is a WeightDecay callback or None."""
    x, y, w0 = _problem(seed)
    m = nn.Linear(5, 3, bias=False).double()
    with torch.no_grad():
        m.weight.copy_(w0)
    opt = opt_fn(m.parameters())
    if decay is not None:
        decay.bind(m, opt)
    for t in range(steps):
        if lr_at is not None:
            for g in opt.param_groups:
                g["lr"] = lr_at(t)
        opt.zero_grad()
        nn.functional.mse_loss(m(x), y).backward()
        if decay is not None:
            decay.step_()
        opt.step()
    return m.weight.detach().clone()


def test_sgd_step_formulas():
    t, g = torch.tensor([2.0], dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64)
    assert float(sgd_step(t, g, lr=0.1, strength=0.2, form="coupled")) == pytest.approx(2 - 0.1 * (0.5 + 0.4))
    assert float(sgd_step(t, g, lr=0.1, strength=0.2, form="decoupled")) == pytest.approx(2 * 0.98 - 0.05)
    assert float(sgd_step(t, g, lr=0.1, strength=0.2, form="lecture")) == pytest.approx(2 * 0.8 - 0.05)


def test_plain_sgd_coupled_equals_decoupled_and_lecture_with_rescaled_lambda():
    lr, lam = 0.05, 0.1
    coupled = _train(lambda p: torch.optim.SGD(p, lr=lr), WeightDecay(lam, "coupled"))
    decoupled = _train(lambda p: torch.optim.SGD(p, lr=lr), WeightDecay(lam, "decoupled"))
    lecture = _train(lambda p: torch.optim.SGD(p, lr=lr), WeightDecay(lr * lam, "lecture"))
    torch_wd = _train(lambda p: torch.optim.SGD(p, lr=lr, weight_decay=lam))
    assert torch.allclose(coupled, torch_wd, atol=1e-13, rtol=0)
    assert torch.allclose(coupled, decoupled, atol=1e-13, rtol=0)
    assert torch.allclose(lecture, decoupled, atol=1e-13, rtol=0)
    # ...and decay does something: without it the weights end elsewhere.
    assert (coupled - _train(lambda p: torch.optim.SGD(p, lr=lr))).abs().max() > 1e-3


def test_lecture_form_differs_from_decoupled_under_a_lr_schedule():
    lam, lr0 = 0.1, 0.05
    schedule = lambda t: lr0 if t < 10 else lr0 / 10  # noqa: E731
    decoupled = _train(lambda p: torch.optim.SGD(p, lr=lr0), WeightDecay(lam, "decoupled"), lr_at=schedule)
    lecture = _train(lambda p: torch.optim.SGD(p, lr=lr0), WeightDecay(lr0 * lam, "lecture"), lr_at=schedule)
    # after the drop, decoupled decays by (1 - lr0/10·λ) per step, lecture still by (1 - lr0·λ)
    assert (decoupled - lecture).abs().max() > 1e-3


def test_momentum_coupled_matches_torch_and_differs_from_decoupled():
    lr, lam, mu = 0.05, 0.1, 0.9
    coupled = _train(lambda p: torch.optim.SGD(p, lr=lr, momentum=mu), WeightDecay(lam, "coupled"))
    torch_wd = _train(lambda p: torch.optim.SGD(p, lr=lr, momentum=mu, weight_decay=lam))
    decoupled = _train(lambda p: torch.optim.SGD(p, lr=lr, momentum=mu), WeightDecay(lam, "decoupled"))
    assert torch.allclose(coupled, torch_wd, atol=1e-13, rtol=0)
    assert (coupled - decoupled).abs().max() > 1e-3
    # coupled decay is amplified by the momentum: it shrinks the weights more than decoupled here
    assert coupled.norm() < decoupled.norm()


def test_adam_decoupled_equals_adamw_and_differs_from_coupled():
    lr, lam = 0.01, 0.5
    ours = _train(lambda p: torch.optim.Adam(p, lr=lr), WeightDecay(lam, "decoupled"))
    adamw = _train(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam))
    coupled = _train(lambda p: torch.optim.Adam(p, lr=lr), WeightDecay(lam, "coupled"))
    adam_wd = _train(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam))
    assert torch.allclose(ours, adamw, atol=1e-12, rtol=0)
    assert torch.allclose(coupled, adam_wd, atol=1e-12, rtol=0)
    assert (ours - coupled).abs().max() > 1e-3


def test_zero_strength_is_identity():
    base = _train(lambda p: torch.optim.Adam(p, lr=0.01))
    for form in ("coupled", "decoupled", "lecture"):
        assert torch.equal(_train(lambda p: torch.optim.Adam(p, lr=0.01), WeightDecay(0.0, form)), base)


def test_biases_and_norm_excluded_by_default():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    WeightDecay(0.5, "lecture").bind(m, opt).step_()
    after = dict(m.named_parameters())
    assert torch.allclose(after["0.weight"], before["0.weight"] * 0.5)
    for n in ("0.bias", "1.weight", "1.bias"):
        assert torch.equal(after[n], before[n])
    WeightDecay(0.5, "lecture", include_bias=True, include_norm=True).bind(m, opt).step_()
    assert torch.allclose(after["1.weight"], before["1.weight"] * 0.5)


def test_errors():
    with pytest.raises(ConfigError, match=r"form must be one of coupled, decoupled, lecture; got form='adamw'"):
        WeightDecay(0.1, "adamw")
    with pytest.raises(ConfigError, match=r"strength must be < 1; got strength=1.5"):
        WeightDecay(1.5, "lecture")
    with pytest.raises(ConfigError, match=r"strength must be a finite number >= 0; got strength=-0.1"):
        WeightDecay(-0.1)
    with pytest.raises(ConfigError, match="pass lr="):
        apply_decay_([torch.zeros(2)], strength=0.1, form="decoupled")
    with pytest.raises(ConfigError, match=r"form: Input should be 'coupled', 'decoupled' or 'lecture'"):
        build_regularizers([{"name": "weight_decay", "strength": 0.1, "form": "l2"}])


def test_config_round_trip():
    wd = build_regularizers([{"name": "weight_decay", "strength": 1e-3, "form": "lecture", "include_bias": True}])[0]
    again = build_regularizers([wd.get_config()])[0]
    assert (again.strength, again.form, again.include_bias) == (1e-3, "lecture", True)
