"""`initreg.init.runtime_trace`: one real forward pass recorded as a torch.fx graph, for models
that torch.fx cannot trace symbolically."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initreg.init import initialize, resolve_layers
from initreg.init.runtime_trace import call_model, trace_forward


class Branchy(nn.Module):
    """Data-dependent control flow (fx cannot trace it) and functional activations (module
    order cannot see them)."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        if x.sum() > -1e9:  # data-dependent: symbolic tracing fails here
            x = x * 1.0
        h = F.relu(self.a(x))
        h = h + torch.tanh(self.b(h))  # a residual branch with a functional tanh
        return self.c(F.leaky_relu(h, 0.1))


def test_the_graph_has_the_ops_of_the_forward_pass():
    g = trace_forward(Branchy(), torch.randn(3, 4), is_leaf=lambda m: isinstance(m, nn.Linear))
    ops = [(n.op, n.target if isinstance(n.target, str) else getattr(n.target, "__name__", n.target)) for n in g.nodes]
    assert ("call_module", "a") in ops and ("call_module", "b") in ops and ("call_module", "c") in ops
    assert ("call_function", "relu") in ops and ("call_function", "tanh") in ops and ("call_function", "leaky_relu") in ops
    nodes = {n.target: n for n in g.nodes if n.op == "call_module"}
    assert [u.target.__name__ for u in nodes["a"].users] == ["relu"]  # a's output feeds F.relu, and only it
    assert nodes["c"].users and next(iter(nodes["c"].users)).op == "output"
    assert not any(n.op == "call_method" and n.target == "size" for n in g.nodes)  # no tensor out: no node


def test_untraceable_model_resolved_from_a_forward_pass_with_data():
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(Branchy())
    layers = resolve_layers(Branchy(), example=torch.randn(3, 4))
    got = {i.name: (i.activation_name, i.resolved_by) for i in layers}
    # functional activations, invisible to module order, are found in the recorded graph
    assert got == {"a": ("relu", "traced"), "b": ("tanh", "traced"), "c": ("identity", "traced")}
    rep = initialize(Branchy(), "auto", data=torch.randn(3, 4), generator=torch.Generator().manual_seed(0))
    assert [r.gain for r in rep] == pytest.approx([2 ** 0.5, 1.5927, 1.0], rel=1e-3) and not rep.unresolved
    without = resolve_layers(Branchy())  # no example input: module order, marked unverified
    assert all(i.resolved_by.startswith("module order (unverified: fx failed") for i in without)


def test_operators_and_inplace_ops_are_followed():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            if x.shape[0] > 0 and bool(x.abs().sum() >= 0):
                h = self.a(x)
                h = h.view(len(x), 2, 2).reshape(len(x), 4)
                h.relu_()  # in place: the same tensor object, now produced by relu_
                return self.b(h)
            return x

    g = trace_forward(M(), torch.randn(2, 4), is_leaf=lambda m: isinstance(m, nn.Linear))
    targets = [n.target for n in g.nodes if n.op in ("call_method", "call_function")]
    assert "view" in targets and "reshape" in targets and "relu_" in targets
    b = next(n for n in g.nodes if n.op == "call_module" and n.target == "b")
    assert b.args[0].target == "relu_"
    rep = initialize(M(), "auto", data=torch.randn(2, 4), warn=False)
    assert [(r.activation, r.resolved_by) for r in rep] == [("relu", "traced"), ("identity", "traced")]


def test_mapping_inputs_are_keyword_arguments_and_the_model_is_restored():
    class KW(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.bn = nn.Linear(3, 3), nn.BatchNorm1d(3)

        def forward(self, input_ids, scale=1.0):
            if input_ids.sum() != 0.123:
                return torch.sigmoid(self.bn(self.fc(input_ids)) * scale)
            return input_ids

    m = KW().train()
    assert call_model(m, {"input_ids": torch.ones(2, 3)}).shape == (2, 3)
    before = m.bn.running_mean.clone()
    g = trace_forward(m, {"input_ids": torch.randn(4, 3)}, is_leaf=lambda mod: isinstance(mod, nn.Linear))
    assert m.training and torch.equal(m.bn.running_mean, before)
    assert any(n.op == "call_method" and n.target == "mul" for n in g.nodes)  # x * s dispatches as Tensor.mul
    rep = initialize(m, "auto", data={"input_ids": torch.randn(4, 3)}, warn=False)
    assert [(r.activation, r.resolved_by) for r in rep] == [("?", "unresolved: feeds .mul()")]
