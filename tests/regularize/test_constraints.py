"""Max-norm: the projection by hand and vs torch.renorm, layer selection, in fit, errors."""

import pytest
import torch
from torch import nn

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers
from initreg.regularize.constraints import MaxNorm, max_norm_
from initreg.train import fit


def test_projection_by_hand_rows_inside_untouched():
    w = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 0.1]])
    keep = w[1:].clone()
    max_norm_(w, 1.0)
    assert torch.allclose(w[0], torch.tensor([0.6, 0.8]))
    assert torch.equal(w[1:], keep)  # norms <= c: bitwise unchanged


@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 3, 3), (6, 2, 5)])
def test_agrees_with_torch_renorm(shape):
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    ref = torch.renorm(w, 2, 0, 2.0)
    ours = max_norm_(w.clone(), 2.0)
    assert torch.allclose(ours, ref, rtol=1e-6)
    assert (ours.flatten(1).norm(dim=1) <= 2.0 + 1e-12).all()


def test_errors():
    with pytest.raises(ConfigError, match=r"max_norm must be a finite number > 0; got max_norm=0"):
        max_norm_(torch.ones(2, 2), 0)
    with pytest.raises(ConfigError, match=r"ndim >= 2\); got shape \(3,\)"):
        max_norm_(torch.ones(3), 1.0)
    with pytest.raises(ConfigError, match=r"modules entry '7' matches no Linear/Conv layer; layers: 1, 3"):
        MaxNorm(1.0, modules=["7"]).weights_of(nn.Sequential(nn.Flatten(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)))


def test_selection_and_apply():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(10)
    out_before = m[2].weight.clone()
    MaxNorm(0.5, modules=["0"]).apply_(m)
    assert torch.allclose(m[0].weight.norm(dim=1), torch.full((4,), 0.5))
    assert torch.equal(m[2].weight, out_before)
    assert m[0].bias.abs().max() > 0.5  # biases are not constrained


def test_in_fit_every_step_keeps_norms_bounded():
    d = load_data({"name": "digits", "train_size": 200})
    m = build_model({"name": "mlp", "depth": 1, "width": 32, "init": "torch"}, d.input_shape, d.num_outputs, seed=0)
    cb = build_regularizers([{"name": "max_norm", "max_norm": 0.4}])[0]
    seen = []

    class Watch(MaxNorm):  # runs after the constraint (callbacks run in order)
        def on_step_end(self, state):
            seen.append(max(float(w.detach().flatten(1).norm(dim=1).max()) for w in cb._weights))

    fit(m, d, {"epochs": 2, "progress": "none", "optimizer": "sgd", "lr": 0.5}, callbacks=[cb, Watch()])
    assert seen and max(seen) <= 0.4 + 1e-6
    assert cb.get_config() == {"name": "max_norm", "max_norm": 0.4, "modules": None}
