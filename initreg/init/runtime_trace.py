"""A dataflow graph of one real forward pass, for models ``torch.fx`` cannot trace symbolically.

``torch.fx`` runs a model on proxies, so data-dependent control flow (Hugging Face's
attention-mask code, ``if x.shape[1] > ...``) stops it. This tracer runs the model once on an
example input instead, under a ``torch.overrides.TorchFunctionMode`` that sees every torch
function, tensor method and operator, and forward hooks that see every module. It writes what
it saw as a ``torch.fx.Graph`` with the same node kinds a symbolic trace gives
(``placeholder``, ``call_module``, ``call_function``, ``call_method``, ``output``), so
`initreg.init.resolve_layers` reads both the same way.

Leaf modules are recorded as one ``call_module`` node, as in ``torch.fx``: torch's own
``nn`` modules and those ``is_leaf`` names (Linear/Conv, activations, norm layers…). What runs
inside a leaf is not recorded. Tensors are matched to the node that produced them by
identity; a tensor no recorded op produced (a parameter, a mask built from constants) is an
argument of no node. Calls that return no tensor (``x.size()``) are not nodes.

The pass runs under ``torch.no_grad()`` in eval mode (no BatchNorm statistics move, no dropout),
and the model's mode is restored. Only the path the example input takes is seen.

>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
>>> g = trace_forward(net, torch.randn(2, 3), is_leaf=lambda m: not list(m.children()))
>>> [n.op for n in g.nodes]
['placeholder', 'call_module', 'call_module', 'output']
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.fx import Graph, Node
from torch.overrides import TorchFunctionMode

__all__ = ["trace_forward", "call_model"]

# Operators reach the mode as the tensor methods they call (``a + b`` as ``Tensor.add``), recorded
# as ``call_method``; indexing reaches it as ``Tensor.__getitem__``, which a symbolic trace records
# as ``operator.getitem``.
_GETITEM = "__getitem__"


def call_model(model: nn.Module, example: Any) -> Any:
    """``model(example)``; a mapping is passed as keyword arguments (``model(**batch)``, as
    Hugging Face models take their inputs), a tuple as positional ones."""
    if isinstance(example, Mapping):
        return model(**example)
    if isinstance(example, tuple):
        return model(*example)
    return model(example)


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _tensors(v)]
    return []


class _Recorder(TorchFunctionMode):
    def __init__(self, graph: Graph):
        super().__init__()
        self.graph = graph
        self.producer: dict[int, Node] = {}
        self.alive: list[torch.Tensor] = []  # keeps every seen tensor alive, so ids are never reused
        self.in_leaf = 0

    def arg(self, a: Any) -> Any:
        """A call's argument as a node argument: a tensor becomes its producer (or None)."""
        if isinstance(a, torch.Tensor):
            return self.producer.get(id(a))
        if isinstance(a, (tuple, list)):
            return type(a)(self.arg(v) for v in a) if isinstance(a, list) else tuple(self.arg(v) for v in a)
        if isinstance(a, Mapping):
            return {str(k): self.arg(v) for k, v in a.items()}
        if a is None or isinstance(a, (bool, int, float, str, slice, torch.dtype, torch.device)):
            return a
        return repr(a)

    def produced(self, node: Node, out: Any) -> None:
        for t in _tensors(out):
            self.producer[id(t)] = node
            self.alive.append(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.in_leaf or not _tensors(out):
            return out
        name = getattr(func, "__name__", "")
        node_args, node_kwargs = self.arg(tuple(args)), self.arg(kwargs)
        if name == _GETITEM and getattr(torch.Tensor, name, None) is func:
            node = self.graph.call_function(operator.getitem, node_args, node_kwargs)
        elif name and getattr(torch.Tensor, name, None) is func:
            node = self.graph.call_method(name, node_args, node_kwargs)
        else:
            node = self.graph.call_function(func, node_args, node_kwargs)
        self.produced(node, out)
        return out


def trace_forward(model: nn.Module, example: Any, is_leaf: Callable[[nn.Module], bool]) -> Graph:
    """The graph of ``call_model(model, example)``, leaf modules (``is_leaf``, and torch's own
    ``nn`` modules) as ``call_module`` nodes named by their qualified names."""
    graph = Graph()
    rec = _Recorder(graph)
    names = {id(m): n for n, m in model.named_modules()}
    for i, t in enumerate(_tensors(example)):
        rec.produced(graph.placeholder(f"input_{i}"), t)

    def leaf(m: nn.Module) -> bool:
        if m is model:
            return False
        return is_leaf(m) or (type(m).__module__.startswith("torch.nn.modules") and not isinstance(m, nn.Sequential))

    def pre(m: nn.Module, args: tuple, kwargs: dict) -> None:
        if leaf(m):
            if not rec.in_leaf:
                m._initreg_trace_args = (rec.arg(args), rec.arg(kwargs))  # noqa: SLF001 - removed in post
            rec.in_leaf += 1

    def post(m: nn.Module, args: tuple, kwargs: dict, out: Any) -> None:
        if leaf(m):
            rec.in_leaf -= 1
            if not rec.in_leaf:
                a, kw = m.__dict__.pop("_initreg_trace_args")
                rec.produced(graph.call_module(names[id(m)], a, kw), out)

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(pre, with_kwargs=True),
                                                    m.register_forward_hook(post, with_kwargs=True))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), rec:
            out = call_model(model, example)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
        for m in model.modules():
            m.__dict__.pop("_initreg_trace_args", None)
    graph.output(tuple(rec.producer.get(id(t)) for t in _tensors(out)))
    return graph
