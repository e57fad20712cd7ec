"""`StackedSequential`: K copies of a small ``Sequential`` as one model with stacked weights.

Stacking the K copies' weights into ``(K, out, in)`` tensors turns K small matmuls into one
batched ``torch.baddbmm`` and K optimizer updates into one (`initreg.train.multiseed` trains
it). What can be stacked: a ``Sequential`` of ``Flatten``, ``Linear``, `LowRankLinear`,
parameter-free elementwise activations and dropout (``nn.Dropout`` or `initreg.nn.Dropout`
without its own generator); `vectorize_reason` says why a model cannot.

>>> import torch
>>> from torch import nn
>>> ms = [nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)) for _ in range(3)]
>>> vectorize_reason(ms[0]) is None
True
>>> out = StackedSequential(ms).eval()(torch.randn(5, 4).expand(3, 5, 4))
>>> out.shape
torch.Size([3, 5, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..models.low_rank import LowRankLinear
from ..nn.dropout import Dropout

__all__ = ["StackedSequential", "StackedLinear", "vectorize_reason", "signature"]


def _is_elementwise(m: nn.Module) -> bool:
    """A parameter-free module that maps each element independently (checked numerically)."""
    if any(True for _ in m.parameters()) or any(True for _ in m.buffers()) or any(True for _ in m.children()):
        return False
    if type(m).__name__ in ("RReLU", "Dropout", "AlphaDropout", "FeatureAlphaDropout"):
        return False
    x = torch.linspace(-3, 3, 24).reshape(2, 3, 4)
    try:
        with torch.no_grad():
            a, b = m(x), m(x.reshape(-1))
        return a.shape == x.shape and torch.equal(a.reshape(-1), b)
    except Exception:
        return False


def _dropout_spec(m: nn.Module) -> tuple[float, str] | None:
    if isinstance(m, Dropout):
        return (m.p, m.mode) if m.generator is None else None
    if type(m) is nn.Dropout:
        return (m.p, "inverted")
    return None


def _plain_linear(m: nn.Module) -> str | None:
    """None if a Linear / `LowRankLinear` (and its children) is a plain affine map of its own
    ``weight`` / ``bias`` parameters — no hooks, buffers or parametrizations (pruning masks,
    weight norm, spectral norm ...) that the stacked copy would silently drop."""
    from torch.nn.utils import parametrize

    for sub in m.modules():
        if sub._forward_hooks or sub._forward_pre_hooks or getattr(sub, "_backward_hooks", None):
            return "has hooks (e.g. a pruning mask or weight norm)"
        if any(True for _ in sub.buffers(recurse=False)):
            return "has buffers (e.g. a pruning mask)"
        if parametrize.is_parametrized(sub):
            return "is parametrized (e.g. torch.nn.utils.parametrizations)"
        if isinstance(sub, nn.Linear) and set(sub._parameters) - {"weight", "bias"}:
            return f"has extra parameters {sorted(set(sub._parameters) - {'weight', 'bias'})}"
    return None


def vectorize_reason(model: nn.Module, callbacks: Sequence[object] = ()) -> str | None:
    """None if ``model`` can be trained as a stacked K-seed model, else the reason why not."""
    if callbacks:
        return f"callbacks ({', '.join(type(c).__name__ for c in callbacks)}) act on one model at a time"
    if not isinstance(model, nn.Sequential):
        return f"{type(model).__name__} is not an nn.Sequential"
    for i, m in enumerate(model):
        if isinstance(m, nn.Flatten):
            if i != 0 or m.start_dim != 1 or m.end_dim != -1:
                return "only a leading Flatten(1, -1) is supported"
        elif isinstance(m, (nn.Linear, LowRankLinear)):
            if (why := _plain_linear(m)) is not None:
                return f"layer {i} ({type(m).__name__}) {why}"
        elif _dropout_spec(m) is not None:
            continue
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            return f"layer {i} ({type(m).__name__}) keeps running statistics per model"
        elif not _is_elementwise(m):
            return f"layer {i} ({type(m).__name__}) is not a Linear, dropout or parameter-free elementwise layer"
    return None


_INPLACE = {nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


def _stacked_affine(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``x·Wᵀ + b`` for ``x (K, B, in)``, ``W (K, out, in)``, ``b (K, out)`` or None."""
    if b is None:
        return torch.bmm(x, w.transpose(1, 2))
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))


class StackedLinear(torch.autograd.Function):
    """``x·Wᵀ + b`` for stacked ``x (K, B, in)``, ``W (K, out, in)``, ``b (K, out)``, with a
    backward that produces ∂L/∂W directly in W's layout (``gᵀ·x``), so no transposed copy is
    made when it is accumulated; skips ∂L/∂x for the input data. ≈8% faster training steps
    than autograd through ``baddbmm`` here (16 copies of a 40-100-100-10 MLP, 1 thread)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return _stacked_affine(x, w, b)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, w = ctx.saved_tensors
        gx = torch.bmm(g, w) if ctx.needs_input_grad[0] else None
        gw = torch.bmm(g.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        gb = g.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


class StackedSequential(nn.Module):
    """K copies of a vectorizable ``Sequential`` with stacked weights ``(K, out, in)``.

    ``forward(x)`` takes ``(K, B, *input_shape)`` (``x.expand(K, ...)`` shares one batch)
    and returns ``(K, B, outputs)``; in training mode each dropout layer draws copy ``k``'s
    mask from ``generators[k]``.
    """

    def __init__(self, models: Sequence[nn.Sequential]):
        super().__init__()
        if not models:
            raise ConfigError("StackedSequential needs at least one model; got an empty list")
        self.k = len(models)
        self.ops: list[tuple[str, Any]] = []
        self.weights = nn.ParameterList()
        self.generators: list[torch.Generator] | None = None

        def stack(get) -> int:
            self.weights.append(nn.Parameter(torch.stack([get(m).detach().clone() for m in models])))
            return len(self.weights) - 1

        ref = models[0]
        for i, m in enumerate(ref):
            if isinstance(m, nn.Flatten):
                self.ops.append(("flatten", None))
            elif isinstance(m, nn.Linear):
                w = stack(lambda mm, i=i: mm[i].weight)
                b = stack(lambda mm, i=i: mm[i].bias) if m.bias is not None else None
                self.ops.append(("linear", (w, b)))
            elif isinstance(m, LowRankLinear):
                w1 = stack(lambda mm, i=i: mm[i].down.weight)
                self.ops.append(("linear", (w1, None)))
                w2 = stack(lambda mm, i=i: mm[i].up.weight)
                b = stack(lambda mm, i=i: mm[i].up.bias) if m.up.bias is not None else None
                self.ops.append(("linear", (w2, b)))
            elif (spec := _dropout_spec(m)) is not None:
                self.ops.append(("dropout", spec))
            else:
                self.ops.append(("act", m))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = not torch.is_autocast_enabled(x.device.type)
        fresh = False  # does x hold a tensor this forward made (safe to overwrite in place)?
        for kind, arg in self.ops:
            if kind == "flatten":
                x = x.flatten(2)
            elif kind == "linear":
                w = self.weights[arg[0]]
                b = self.weights[arg[1]] if arg[1] is not None else None
                x = StackedLinear.apply(x, w, b) if fast else _stacked_affine(x, w, b)  # autocast: torch's autograd
                fresh = True
            elif kind == "dropout":
                p, mode = arg
                if p == 0:
                    continue
                keep = 1.0 - p
                if not self.training:
                    if mode != "inverted":
                        x, fresh = x * keep, True
                    continue
                if self.generators is None:
                    raise RuntimeError("StackedSequential in training mode needs .generators (one per copy)")
                mask = torch.stack([torch.empty(x.shape[1:], dtype=x.dtype, device=x.device).bernoulli_(keep, generator=g)
                                    for g in self.generators])
                x, fresh = (x * mask / keep if mode == "inverted" else x * mask), True
            else:
                inplace = _INPLACE.get(type(arg)) if fresh else None
                # relu_/tanh_/sigmoid_ on the matmul's own output: their backward needs only their
                # result, the matmul's backward not its output — one tensor and one pass less
                x = inplace(x) if inplace is not None else arg(x)
                fresh = inplace is not None
        return x

    @torch.no_grad()
    def write_back(self, models: Sequence[nn.Sequential]) -> None:
        """Copy copy ``k``'s weights into ``models[k]``."""
        it = iter(self.weights)
        for i, m in enumerate(models[0]):
            if isinstance(m, nn.Linear):
                names = ["weight"] + (["bias"] if m.bias is not None else [])
            elif isinstance(m, LowRankLinear):
                names = ["down.weight", "up.weight"] + (["up.bias"] if m.up.bias is not None else [])
            else:
                continue
            for name in names:  # in the order __init__ stacked them
                w = next(it)
                for k, mm in enumerate(models):
                    mm[i].get_parameter(name).copy_(w[k])


def signature(m: nn.Module) -> tuple[Any, ...]:
    """Parameter shapes and each layer's repr (dropout p, activation settings, ...): copies
    with equal signatures are the same function up to their weights."""
    shapes = tuple((n, tuple(p.shape)) for n, p in m.named_parameters())
    return shapes + tuple(repr(c) for c in m.children())
