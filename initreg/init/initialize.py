"""`initialize`: apply a scheme to every Linear/Conv of any model, with the right gain and fan.

For each ``nn.Linear`` / ``nn.Conv1d/2d/3d`` the activation that follows it is found

- in a (nested) ``nn.Sequential`` by module order — exact;
- in any other model by ``torch.fx`` symbolic tracing: the layer's output is followed
  through shape-only and normalization ops (dropout, norm layers, pooling, flatten,
  view/reshape) to the first activation module or function (``nn.ReLU``, ``F.relu``,
  ``torch.tanh``, ``x.sigmoid()``, ...);
- if symbolic tracing fails (data-dependent control flow, as in Hugging Face models), by one
  real forward pass on an example input (``data=``, or a Hugging Face model's own
  ``dummy_inputs``) recorded as the same kind of graph (`initreg.init.runtime_trace`),
  marked ``"traced"``;
- failing both, by module registration order, marked ``"module order (unverified)"``.

A layer whose output feeds another Linear/Conv, the model output, or attention's products
(``q·kᵀ``, ``softmax(·)·v``: linear in each input) has no activation ("identity", gain 1). A
residual add is followed to what comes after it (``relu(bn(conv(x)) + x)``: ReLU's gain, as He
et al. 2016 initialize residual nets). A layer whose output goes anywhere else (two different
activations, a custom op) is **unresolved**: it is initialized as if linear (gain 1) and
listed in ``report.unresolved`` with the reason. Hugging Face's ``Conv1D`` (GPT-2's attention
and MLP; a Linear with its weight stored transposed, ``(in, out)``) is a layer like Linear.
Embeddings: ``auto`` draws ``N(0, 1)`` — a lookup is a Linear on a one-hot input, so fan_in
is 1 and ``g²/fan_in = 1`` keeps unit variance, which is also torch's default — except an
embedding tied to an output layer (GPT-2's ``wte`` and ``lm_head``), initialized once, as that
layer; other schemes leave embeddings as they are. Other modules with weights (transposed
convs, norm layers) are left untouched and listed in ``report.skipped`` when their weight has
≥ 2 dims, as is any other ≥ 2-D parameter (``nn.MultiheadAttention.in_proj_weight``). A
Linear inside a torch module that ``torch.fx`` traces as one op (``nn.TransformerEncoder``) is
unresolved, and the reason names that module.

Gain rules come from each scheme's facts (`initreg.init.facts`): a scheme defined by the
activation (``auto``, ``critical``) always receives the one found; a scheme named like
torch's (``xavier_*``, ``kaiming_*``, ``orthogonal``) means torch's function with torch's
defaults (Xavier and orthogonal: gain 1; Kaiming: ``a=0``, ``leaky_relu``, i.e. √2) unless
its config says ``gain: auto`` (or ``gains=True`` and the config sets no gain): then each
layer gets the gain computed for the activation after it (`initreg.init.gain`). Other
schemes take their params as given. Biases are zeroed (``zero_bias=True``), except where a
scheme's facts draw them (``critical``: ``N(0, σ_b²)``) or keep them (``torch``).

>>> net = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Tanh(), torch.nn.Linear(30, 2))
>>> rep = initialize(net, "auto", generator=torch.Generator().manual_seed(0))
>>> [(r.name, r.activation) for r in rep]
[('0', 'tanh'), ('2', 'identity')]
"""

from __future__ import annotations

import inspect
import math
import operator
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nn.activations import TRANSPARENT as _TRANSPARENT
from ..nn.activations import activation_of_module
from ..registry import validate_params
from ..utils.display import Table, TableDisplay
from .facts import SchemeFacts, inits, register_scheme, scheme_facts
from .fan import fan_in_and_fan_out
from .gain import gain as activation_gain
from .runtime_trace import trace_forward
from .schemes import kaiming_normal_, kaiming_std, resolve_gain_request

__all__ = ["LayerInfo", "LayerReport", "InitReport", "resolve_layers", "initialize", "auto_", "torch_default_",
           "WEIGHTED", "is_weighted", "is_hf_conv1d", "layer_weight", "functional_activations"]

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_EMBEDDING_SCHEMES = {"auto"}  # schemes with a rule for nn.Embedding (see the module docstring)
_FN_ACT: dict[Any, str] = {F.relu: "relu", torch.relu: "relu", torch.tanh: "tanh", F.tanh: "tanh",
                           torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", F.gelu: "gelu", F.silu: "silu",
                           F.selu: "selu", torch.selu: "selu", F.mish: "mish", F.softplus: "softplus",
                           F.elu: "elu", F.leaky_relu: "leaky_relu", F.relu_: "relu", torch.relu_: "relu"}
_FN_SHAPE = {torch.flatten, torch.reshape, F.dropout, F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d,
             F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, torch.squeeze, torch.unsqueeze,
             F.batch_norm, F.layer_norm, F.group_norm, F.dropout1d, F.dropout2d}
_METHOD_ACT = {"relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh", "sigmoid": "sigmoid",
               "sigmoid_": "sigmoid"}
_METHOD_SHAPE = {"view", "reshape", "flatten", "contiguous", "squeeze", "unsqueeze", "permute", "transpose",
                 "split", "chunk", "unbind", "to", "type_as", "float", "half", "bfloat16"}
_FN_SHAPE |= {torch.split, torch.chunk, torch.unbind, torch.transpose, torch.permute, operator.getitem}
# products that are linear in the layer's output: attention's q·kᵀ and softmax(·)·v
_LINEAR_SINKS = {torch.matmul, torch.bmm, torch.baddbmm, torch.einsum, operator.matmul,
                 F.scaled_dot_product_attention}
_METHOD_LINEAR_SINKS = {"matmul", "bmm"}
_ADDS = {operator.add, operator.iadd, torch.add}
# ops whose output holds the layer's output values unchanged beside others (a KV cache, a class token)
_CONCATS = {torch.cat, torch.concat, torch.concatenate, torch.stack}
_METHOD_ADDS = {"add", "add_"}


def is_hf_conv1d(m: nn.Module) -> bool:
    """Hugging Face's ``Conv1D`` (``transformers.pytorch_utils``): a Linear whose weight is
    stored ``(in, out)``. Recognised by class, so that it never imports transformers."""
    return type(m).__name__ == "Conv1D" and type(m).__module__.startswith("transformers.")


def is_weighted(m: nn.Module) -> bool:
    """A layer `initialize` initializes: Linear, Conv1d/2d/3d, or Hugging Face's ``Conv1D``."""
    return isinstance(m, WEIGHTED) or is_hf_conv1d(m)


def layer_weight(m: nn.Module) -> torch.Tensor:
    """The layer's weight in torch's ``(out, in, *kernel)`` layout: a transposed view for HF ``Conv1D``."""
    return m.weight.T if is_hf_conv1d(m) else m.weight


@dataclass
class LayerInfo:
    """A Linear/Conv layer and the activation found after it."""

    name: str
    module: nn.Module
    fan_in: int
    fan_out: int
    activation: dict[str, Any] | None  # None: unresolved
    resolved_by: str  # "sequential", "fx", "module order (unverified)", or "unresolved: <why>"

    @property
    def activation_name(self) -> str:
        if self.activation is None:
            return "?"
        extra = ", ".join(f"{k}={v}" for k, v in self.activation.items() if k != "name")
        return self.activation["name"] + (f"({extra})" if extra else "")


@dataclass
class LayerReport:
    """What `initialize` did to one layer."""

    name: str
    kind: str
    shape: tuple[int, ...]
    fan_in: int
    fan_out: int
    activation: str
    resolved_by: str
    scheme: str
    gain: float | None
    std: float  # the std of the weight after init
    bias: str
    extra: dict[str, Any] = field(default_factory=dict)


class InitReport(TableDisplay, list):
    """A list of :class:`LayerReport` plus ``unresolved`` and ``skipped`` layer names, and
    ``gains``: whether the gains were computed from the activation after each layer.

    ``print(report)`` shows `table`; a notebook shows the same table as HTML."""

    def __init__(self, rows=(), scheme: str = "", unresolved: list[str] | None = None,
                 skipped: list[str] | None = None, gains: bool = False):
        super().__init__(rows)
        self.scheme = scheme
        self.gains = gains  # whether each layer's gain came from the activation found after it
        self.unresolved = list(unresolved or [])
        self.skipped = list(skipped or [])

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self]

    def table(self) -> str:
        """A plain-text table (one line per layer)."""
        wn = max([20, *(len(r.name) for r in self)])  # columns as wide as their longest entry
        ws = max([16, *(len(r.scheme) for r in self)])
        head = (f"{'layer':<{wn}} {'shape':<18} {'fan_in':>7} {'fan_out':>7} {'activation':<22} {'scheme':<{ws}} "
                f"{'gain':>6} {'std':>9}  found by")
        lines = [head, "-" * len(head)]
        for r in self:
            g = "" if r.gain is None else f"{r.gain:.3f}"
            lines.append(f"{r.name:<{wn}} {str(tuple(r.shape)):<18} {r.fan_in:>7} {r.fan_out:>7} {r.activation:<22} "
                         f"{r.scheme:<{ws}} {g:>6} {r.std:>9.4g}  {r.resolved_by}")
        if self.unresolved:
            lines.append("unresolved (initialized as linear): " + ", ".join(self.unresolved))
        if self.skipped:
            lines.append("skipped (not Linear/Conv, left as they were): " + ", ".join(self.skipped))
        return "\n".join(lines)

    def describe_gains(self) -> str:
        """One line: which gain the layers got and where it came from.

        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> initialize(net, "xavier_normal").describe_gains()
        "init: xavier_normal, gain per layer 1 x2 (torch's default gain; gain: auto computes it from the activation after each layer)"
        >>> initialize(net, {"name": "xavier_normal", "gain": "auto"}).describe_gains()
        'init: xavier_normal, gain per layer 1.414 (relu) x1, 1 (identity) x1 (gain: auto, computed from the activation after each layer)'
        """
        facts = scheme_facts(self.scheme)
        runs: list[list[Any]] = []  # [gain, activation, count], consecutive layers merged
        for r in self:
            key = [None if r.gain is None else round(r.gain, 4), r.activation if self.gains else None]
            if runs and runs[-1][:2] == key:
                runs[-1][2] += 1
            else:
                runs.append([*key, 1])
        if all(g is None for g, _, _ in runs):
            return f"init: {self.scheme} (no gain)"
        parts = ", ".join(f"{'-' if g is None else f'{g:.4g}'}{f' ({a})' if a else ''} x{n}" for g, a, n in runs)
        if self.gains and facts.activation == "on_request":
            how = "gain: auto, computed from the activation after each layer"
        elif self.gains:
            how = "set by the activation after each layer"
        elif facts.activation == "on_request":
            how = "torch's default gain; gain: auto computes it from the activation after each layer"
        else:
            how = "as configured"
        return f"init: {self.scheme}, gain per layer {parts} ({how})"

    def display_table(self) -> Table:
        """The per-layer table as cells; unresolved and skipped layers in the notes."""
        cols = ["layer", "shape", "fan_in", "fan_out", "activation", "scheme", "gain", "std", "found by"]
        rows = [[r.name, str(tuple(r.shape)), str(r.fan_in), str(r.fan_out), r.activation, r.scheme,
                 "" if r.gain is None else f"{r.gain:.3f}", f"{r.std:.4g}", r.resolved_by] for r in self]
        notes = ([f"unresolved (initialized as linear): {', '.join(self.unresolved)}"] if self.unresolved else []) + \
                ([f"skipped (not Linear/Conv, left as they were): {', '.join(self.skipped)}"] if self.skipped else [])
        return Table(f"init: {self.scheme}" if self.scheme else "init", cols, rows, notes)

    def __str__(self) -> str:
        return self.table()


# ---- resolving the activation after each layer -----------------------------------------------

def _is_pure_sequential(model: nn.Module) -> bool:
    if not isinstance(model, nn.Sequential):
        return False
    return all(_is_pure_sequential(c) if isinstance(c, nn.Sequential) else
               (not any(True for _ in c.children()) or _is_leaf_like(c)) for c in model.children())


def _is_transparent(m: nn.Module) -> bool:
    """Modules that pass the signal on without changing which activation comes next:
    dropout (torch's and `initreg.nn.Dropout`), norm layers, pooling, flatten."""
    if isinstance(m, _TRANSPARENT) or isinstance(m, nn.modules.dropout._DropoutNd):
        return True
    from ..nn.dropout import is_dropout

    return is_dropout(m)


def _is_leaf_like(m: nn.Module) -> bool:
    return is_weighted(m) or activation_of_module(m) is not None or _is_transparent(m)


def _leaves(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    for name, m in model.named_modules():
        if not any(True for _ in m.children()) or is_weighted(m):
            if name:
                yield name, m
            elif not any(True for _ in model.children()):
                yield name, m


def _by_order(model: nn.Module, how: str) -> list[LayerInfo]:
    leaves = list(_leaves(model))
    out = []
    for i, (name, m) in enumerate(leaves):
        if not is_weighted(m):
            continue
        act, why = {"name": "identity"}, how
        for _, nxt in leaves[i + 1:]:
            a = activation_of_module(nxt)
            if a is not None:
                act = a
                break
            if is_weighted(nxt):
                break
            if _is_transparent(nxt):
                continue
            act, why = None, (f"unresolved: followed by {type(nxt).__name__}" if how == "sequential" else
                              f"unresolved: next in module order is {type(nxt).__name__}, not a known activation")
            break
        fi, fo = fan_in_and_fan_out(layer_weight(m))
        out.append(LayerInfo(name, m, fi, fo, act, why))
    return out


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if activation_of_module(m) is not None or is_weighted(m) or _is_transparent(m):
            return True
        return super().is_leaf_module(m, qualname)


def _fn_activation(node) -> dict[str, Any] | None:
    name = _FN_ACT.get(node.target)
    if name is None:
        return None
    if name == "leaky_relu":
        slope = node.args[1] if len(node.args) > 1 else node.kwargs.get("negative_slope", 0.01)
        return {"name": name, "negative_slope": float(slope)}
    if name == "elu":
        alpha = node.args[1] if len(node.args) > 1 else node.kwargs.get("alpha", 1.0)
        return {"name": name, "alpha": float(alpha)}
    if name == "gelu" and node.kwargs.get("approximate", "none") != "none":
        return {"name": "gelu_tanh"} if node.kwargs["approximate"] == "tanh" else None
    if name == "softplus" and (len(node.args) > 1 or node.kwargs.get("beta", 1) != 1):
        return None
    return {"name": name}


class _Resolver:
    """Follows a layer's output through a graph to the activation it reaches (memoized: a
    residual stream's adds are shared by every layer before them)."""

    def __init__(self, modules: dict[str, nn.Module], how: str):
        self.modules, self.how = modules, how
        self.memo: dict[Any, tuple[dict[str, Any] | None, str]] = {}

    def follow(self, node) -> tuple[dict[str, Any] | None, str]:
        """The activation reached from ``node``'s output, or (None, why)."""
        if node in self.memo:
            return self.memo[node]
        self.memo[node] = (None, "unresolved: a cycle in the graph")  # a DAG has none; guards recursion
        users = list(node.users)
        if not users:
            res: tuple[dict[str, Any] | None, str] = ({"name": "identity"}, self.how)
        else:
            found = [self.classify(u, node) for u in users]
            acts = [f[0] for f in found]
            if any(a is None for a in acts):
                res = next(f for f in found if f[0] is None)
            elif any(a != acts[0] for a in acts[1:]):
                res = (None, "unresolved: output used by several different ops")
            else:
                res = found[0]
        self.memo[node] = res
        return res

    def classify(self, u, src) -> tuple[dict[str, Any] | None, str]:
        how = self.how
        first = bool(u.args) and u.args[0] is src
        if u.op == "output":
            return {"name": "identity"}, how
        if u.op == "call_module":
            m = self.modules[u.target]
            a = activation_of_module(m)
            if a is not None:
                return a, how
            if is_weighted(m):
                return {"name": "identity"}, how
            if _is_transparent(m):
                return self.follow(u)
            return None, f"unresolved: feeds {type(m).__name__}"
        if u.op == "call_function":
            a = _fn_activation(u)
            if a is not None and first:
                return a, how
            if u.target in _FN_SHAPE and first:
                return self.follow(u)
            if u.target in _ADDS or u.target in _CONCATS:  # a residual add / a concatenation: what
                return self.follow(u)  # follows the result follows this layer's output too
            if u.target in _LINEAR_SINKS:
                return {"name": "identity"}, how
            fname = getattr(u.target, "__name__", str(u.target))
            return None, f"unresolved: feeds {fname}"
        if u.op == "call_method":
            if u.target in _METHOD_ACT and first:
                return {"name": _METHOD_ACT[u.target]}, how
            if u.target in _METHOD_SHAPE and first:
                return self.follow(u)
            if u.target in _METHOD_ADDS:
                return self.follow(u)
            if u.target in _METHOD_LINEAR_SINKS:
                return {"name": "identity"}, how
            return None, f"unresolved: feeds .{u.target}()"
        return None, f"unresolved: feeds {u.op}"


def functional_activations(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Layers whose output goes straight into a *functional* activation (``F.relu(self.fc(x))``,
    ``torch.tanh``, ``x.sigmoid()``), found by ``torch.fx``: ``{layer name: activation config}``.
    The probe computes their activation statistics from it. Empty when the model does not trace.

    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = torch.nn.Linear(3, 4)
    ...     def forward(self, x):
    ...         return torch.tanh(self.fc(x))
    >>> functional_activations(Net())
    {'fc': {'name': 'tanh'}}
    """
    if _is_pure_sequential(model):  # module order only: no function call in its forward
        return {}
    try:
        graph = _Tracer().trace(model)
    except Exception:  # data-dependent control flow: nothing known
        return {}
    modules = dict(model.named_modules())
    out: dict[str, dict[str, Any]] = {}
    for node in graph.nodes:
        if node.op != "call_module" or not is_weighted(modules.get(node.target)) or len(node.users) != 1:
            continue
        u = next(iter(node.users))
        if not (u.args and u.args[0] is node):
            continue
        a = _fn_activation(u) if u.op == "call_function" else (
            {"name": _METHOD_ACT[u.target]} if u.op == "call_method" and u.target in _METHOD_ACT else None)
        if a is not None:
            out[node.target] = a
    return out


def _example_input(model: nn.Module, example: Any) -> Any:
    """The input for a runtime trace: the given one, else a Hugging Face model's ``dummy_inputs``."""
    if example is not None:
        return example
    try:
        return getattr(model, "dummy_inputs", None)
    except Exception:  # a property that fails for this model
        return None


def _layers_of(graph, model: nn.Module, how: str) -> list[LayerInfo]:
    modules = dict(model.named_modules())
    resolver = _Resolver(modules, how)
    out, done = [], set()
    for node in graph.nodes:
        if node.op == "call_module" and is_weighted(modules.get(node.target)):
            m = modules[node.target]
            act, found_by = resolver.follow(node)
            if node.target in done:  # a shared layer called twice: both uses must agree
                prev = next(i for i in out if i.name == node.target)
                if prev.activation != act:
                    prev.activation, prev.resolved_by = None, "unresolved: shared layer with different activations"
                continue
            done.add(node.target)
            fi, fo = fan_in_and_fan_out(layer_weight(m))
            out.append(LayerInfo(node.target, m, fi, fo, act, found_by))
    called = {n.target for n in graph.nodes if n.op == "call_module"}
    for name, m in modules.items():  # layers never called: inside a module traced as one op, or dead code
        if is_weighted(m) and name not in done and name:
            fi, fo = fan_in_and_fan_out(layer_weight(m))
            outer = next((p for p in sorted(called, key=len, reverse=True) if p and name.startswith(p + ".")), None)
            why = (f"unresolved: inside {outer} ({type(modules[outer]).__name__}), which the trace records as one op"
                   if outer is not None else "unresolved: not reached by the traced forward")
            out.append(LayerInfo(name, m, fi, fo, None, why))
    return out


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0][:80] if str(e) else type(e).__name__


def resolve_layers(model: nn.Module, method: Literal["auto", "fx", "order"] = "auto", *,
                   example: Any = None) -> list[LayerInfo]:
    """Each Linear/Conv of ``model`` (forward order for Sequential/fx) with its activation.

    ``example``: an input for the runtime trace when ``torch.fx`` cannot trace the model (a
    tensor, a tuple of positional inputs, or a mapping of keyword inputs as Hugging Face
    models take them); without one a Hugging Face model's ``dummy_inputs`` are tried.

    Examples:
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        >>> [(i.name, i.activation_name, i.resolved_by) for i in resolve_layers(net)]
        [('0', 'relu', 'sequential')]
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"initialize needs an nn.Module; got {type(model).__name__}")
    if method not in ("auto", "fx", "order"):
        raise ConfigError(f"method must be one of auto, fx, order; got method={method!r}")
    if method == "order":
        return _by_order(model, "module order (unverified)")
    if method == "auto" and _is_pure_sequential(model):
        return _by_order(model, "sequential")
    if method == "auto" and is_weighted(model):
        fi, fo = fan_in_and_fan_out(layer_weight(model))
        return [LayerInfo("", model, fi, fo, {"name": "identity"}, "single layer")]
    try:
        graph = _Tracer().trace(model)
    except Exception as e:  # data-dependent control flow etc.
        if method == "fx":
            raise ConfigError(f"initialize: torch.fx could not trace {type(model).__name__}: {e}") from None
        why = f"fx failed: {_first_line(e)}"
        x = _example_input(model, example)
        if x is None:
            return _by_order(model, f"module order (unverified: {why}; pass data= for a traced forward)")
        try:
            graph = trace_forward(model, x, is_leaf=_is_leaf_like)
        except Exception as e2:  # the example does not fit the model
            return _by_order(model, f"module order (unverified: {why}; the traced forward failed: {_first_line(e2)})")
        return _layers_of(graph, model, "traced")
    return _layers_of(graph, model, "fx")


# ---- the model-level schemes ----------------------------------------------------------------------

def _auto_var(shape, activation="identity"):
    return kaiming_std(shape, activation=activation) ** 2


@register_scheme("auto", "N(0, g(f)^2/fan_in), g = forward gain of the activation found after each layer (the default)",
                 SchemeFacts(variance=_auto_var, activation="always",
                             gain=lambda p: activation_gain(p.get("activation", "identity"), mode="forward")))
def auto_(tensor: torch.Tensor, activation: str | dict | Callable = "identity", *,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """The default: ``N(0, g(f)²/fan_in)`` with ``g`` the forward gain of the activation that
    follows the layer (He et al. 2015 generalized; LeCun normal for an output layer, He for
    ReLU, ``1/√E[tanh(z)²] ≈ 1.59`` for tanh, LeCun for SELU).

    >>> w = auto_(torch.empty(300, 300), "relu", generator=torch.Generator().manual_seed(0))
    >>> round(w.var().item() * 300, 1)
    2.0
    """
    return kaiming_normal_(tensor, mode="fan_in", generator=generator, activation=activation)


@register_scheme("torch", "keep PyTorch's own init (legacy uniform weights and biases)", SchemeFacts(applies_to="keep"))
def torch_default_(tensor: torch.Tensor) -> torch.Tensor:
    """Leave the tensor as it is (PyTorch's own init: legacy uniform for Linear/Conv weights
    *and* biases).

    >>> torch_default_(torch.ones(2))
    tensor([1., 1.])
    """
    return tensor


def _embeddings(model: nn.Module, layer_of: dict[int, str], scheme: str, generator: torch.Generator | None,
                done: set[int]) -> list[LayerReport]:
    """``auto``'s embedding rule: ``N(0, 1)`` (fan_in 1: a lookup is a Linear on a one-hot
    input), the padding row zero, as ``nn.Embedding`` itself does; an embedding whose weight is
    also a layer's (tied to an output layer) keeps that layer's init. Adds each to ``done``."""
    rows = []
    for n, m in model.named_modules():
        if not isinstance(m, nn.Embedding) or id(m) in done:
            continue
        done.add(id(m))
        w = m.weight
        tied = layer_of.get(id(w))
        if not tied:
            with torch.no_grad():
                w.normal_(0.0, 1.0, generator=generator)
                if m.padding_idx is not None:
                    w[m.padding_idx].zero_()
        rows.append(LayerReport(name=n, kind="Embedding", shape=tuple(w.shape), fan_in=1, fan_out=w.shape[1],
                                activation="(lookup)", resolved_by=f"tied to {tied}" if tied else "embedding",
                                scheme=scheme if not tied else f"{scheme} (as {tied})", gain=None if tied else 1.0,
                                std=float(w.detach().std()), bias="none"))
    return rows


def initialize(model: nn.Module, scheme: str | dict[str, Any] = "auto", *, generator: torch.Generator | None = None,
               zero_bias: bool = True, gains: bool = False, data: torch.Tensor | None = None,
               method: Literal["auto", "fx", "order"] = "auto", warn: bool = True) -> InitReport:
    """Initialize every Linear/Conv of ``model`` in place; return a per-layer report.

    Args:
        scheme: a registered name (``initreg inits``) or ``{"name": ..., **params}``, e.g.
            ``{"name": "normal", "std": 0.01}``; ``"torch"`` leaves everything untouched.
            Names shared with ``torch.nn.init`` mean torch's function with its defaults
            (``xavier_normal``: gain 1); ``{"name": "xavier_normal", "gain": "auto"}`` gives
            each layer the gain computed for the activation after it.
        generator: the random source (none: torch's global RNG).
        zero_bias: set biases to 0 (a scheme whose facts give a bias std, ``critical``, draws
            ``N(0, σ_b²)`` instead; ``torch`` keeps them).
        gains: ``gain: auto`` for every scheme that has a computable gain (``xavier_*``,
            ``kaiming_*``, ``orthogonal``) and whose config does not set it.
        data: a batch of inputs, for schemes that need data (``lsuv``), and for the traced
            forward pass that finds the activations of a model ``torch.fx`` cannot trace (a
            tensor, a tuple of inputs, or a mapping of keyword inputs such as a Hugging Face
            tokenizer's batch; without it a Hugging Face model's ``dummy_inputs`` are used).
        method: how to find activations (``auto``: Sequential order, else ``torch.fx``).
        warn: warn (once) when some layers could not be resolved.
    """
    cfg = {"name": scheme} if isinstance(scheme, str) else dict(scheme)
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise ConfigError(f"init must be a scheme name or {{'name': ..., **params}}; got {scheme!r}")
    name = cfg.pop("name")
    fn = inits.get(name)
    facts = scheme_facts(name)
    if facts.needs_data and data is None:
        raise ConfigError(f"init scheme {name!r} needs a data batch: initialize(model, {name!r}, data=x)")
    if facts.applies_to == "model":
        params = validate_params(fn, cfg, where=f"init scheme {name!r}", supplied={"model", "data", "generator"})
        return fn(model, data, generator=generator, zero_bias=zero_bias, method=method, **params)
    cfg, use_activation = resolve_gain_request(name, cfg, gains)
    layers = resolve_layers(model, method, example=data)
    sig = inspect.signature(fn).parameters
    params = validate_params(fn, cfg, where=f"init scheme {name!r}", supplied={"tensor", "generator"})
    rows, unresolved = [], []
    for info in layers:
        w = layer_weight(info.module)
        act = info.activation if info.activation is not None else {"name": "identity"}
        if info.activation is None:
            unresolved.append(f"{info.name or '(model)'} ({info.resolved_by.removeprefix('unresolved: ')})")
        p = dict(params)
        if use_activation and "activation" not in p:
            p["activation"] = act
        extra: dict[str, Any] = {}
        bias_note = "kept"
        g = None
        if facts.applies_to == "tensor":
            fn(w, **p, **({"generator": generator} if "generator" in sig else {}))
            g = facts.gain(p) if facts.gain is not None else None
            extra = facts.details(p) if facts.details is not None else {}
            b = getattr(info.module, "bias", None)
            if b is not None and facts.bias_std is not None:
                sb = facts.bias_std(p)
                with torch.no_grad():
                    b.normal_(0.0, sb, generator=generator)
                bias_note = f"N(0, {sb:.3g}^2)"
            elif b is not None and zero_bias:
                with torch.no_grad():
                    b.zero_()
                bias_note = "zeros"
        rows.append(LayerReport(name=info.name, kind=type(info.module).__name__, shape=tuple(w.shape),
                                fan_in=info.fan_in, fan_out=info.fan_out, activation=info.activation_name,
                                resolved_by=info.resolved_by, scheme=name, gain=g,
                                std=float(w.detach().std()) if w.numel() > 1 else math.nan, bias=bias_note, extra=extra))
    done = {id(i.module) for i in layers}
    if name in _EMBEDDING_SCHEMES and facts.applies_to == "tensor":
        rows += _embeddings(model, {id(i.module.weight): i.name for i in layers}, name, generator, done)
    skipped = [n for n, m in model.named_modules() if id(m) not in done and not is_weighted(m)
               and isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.ndim >= 2]
    covered = {id(i.module.weight) for i in layers} | {id(m.weight) for n, m in model.named_modules() if n in skipped}
    covered |= {id(m.weight) for m in model.modules() if id(m) in done}  # embeddings with a rule
    skipped += [n for n, p in model.named_parameters() if p.ndim >= 2 and id(p) not in covered]  # e.g. in_proj_weight
    warn = warn and facts.applies_to != "keep" and use_activation  # where activations are matters only then
    guessed = [i.name for i in layers if i.resolved_by.startswith("module order")]
    if guessed and warn and method != "order":
        warnings.warn(f"initialize: torch.fx could not trace {type(model).__name__}; activations of "
                      f"{', '.join(guessed)} were guessed from module order ({layers[0].resolved_by}); functional "
                      "activations (F.relu, ...) are invisible to it: pass an explicit scheme config or check the report",
                      stacklevel=2)
    if unresolved and warn:
        warnings.warn(f"initialize: could not find the activation after {len(unresolved)} layer(s); initialized "
                      f"as linear (gain 1): {', '.join(unresolved)}", stacklevel=2)
    return InitReport(rows, scheme=name, unresolved=unresolved, skipped=skipped, gains=use_activation)
