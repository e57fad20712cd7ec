"""Which module after a layer is its activation: dropout (torch's or initreg's) is not one."""

import pytest
import torch
from torch import nn

import initreg.nn
from initreg.probe import probe

torch.set_num_threads(1)


def _net(dropout: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 64), dropout, nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).eval()


@pytest.mark.parametrize("dropout", [initreg.nn.Dropout(0.2), initreg.nn.Dropout(0.2, mode="classic")],
                         ids=["inverted", "classic"])
def test_initreg_dropout_is_not_an_activation(dropout):
    """Layer 0's activation is the ReLU after the dropout, as with torch's nn.Dropout: it gets
    a dead-unit count, and the mean-field prediction for layer 3 is the same as with nn.Dropout."""
    x, y = torch.randn(256, 20, generator=torch.Generator().manual_seed(1)), torch.arange(256) % 10
    ours = probe(_net(dropout), x, y)
    ref = probe(_net(nn.Dropout(0.2)), x, y)
    assert [r.activation for r in ours.layers] == [r.activation for r in ref.layers] == ["ReLU", "ReLU", None]
    assert ours.layers[0].dead is not None and ours.layers[0].dead == ref.layers[0].dead
    for a, b in zip(ours.layers, ref.layers):
        assert a.theory_ms == pytest.approx(b.theory_ms, rel=1e-12)
