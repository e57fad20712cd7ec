"""`Probe`: per-layer signal and gradient statistics of any ``nn.Module``, through hooks.

What counts as a *layer*: every module that owns a ``weight`` parameter with ≥ 2 dims
(``Linear``, ``Conv*``, ``Bilinear``, ``Embedding``, the two maps of a `LowRankLinear`),
or the modules you name. Each *call* of a layer is one row, in the order of execution, so a
module called twice in one forward pass gives two rows (``name`` and ``name#2``). The
*activation* of a layer is the first activation module (ReLU, Tanh, Sigmoid, GELU, …)
called after it, or a functional activation its output goes straight into
(``F.relu(self.fc(x))``, ``torch.tanh``, ``x.sigmoid()``: found by ``torch.fx`` when the
model traces, `initreg.init.initialize.functional_activations`), whose statistics the probe
computes by applying the same function to the layer's output.

Per row: the output's mean, std and RMS (all entries) and its *signal* std (the std across
the batch, averaged over the other entries: how much the output still depends on the
input); after the activation: its mean and std, the fraction of **dead** units (rectifiers:
zero on every example of the batch; a unit is a feature for dense layers, a channel for
convolutions) and of **saturated** values (bounded activations: within ``margin``·(hi−lo)/2
of a bound, i.e. ``|tanh| > 0.99``); in the backward pass the RMS and norm of ∂L/∂output
(a pre-hook on the autograd node that consumes the output — cheaper than a tensor hook, far
cheaper than ``register_full_backward_hook``) and of ∂L/∂W (a hook on the weight, so a shared
weight reports its summed gradient).

The probe never changes results: hooks only read detached tensors and return ``None``,
no random numbers are drawn, and every hook is removed on exit (even on an exception).
Statistics stay tensors until `report` (no ``.item()`` per hook call; on the CPU the trainer
callback's one-pass batch sums read two numbers back to catch cancellation — free there).

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
>>> x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
>>> with Probe(net) as p:
...     nn.functional.cross_entropy(net(x), y).backward()
>>> r = p.report()
>>> [row.name for row in r.layers], r.label in ("healthy", "vanishing", "exploding", "saturated", "dead")
(['0', '2'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..nn.activations import activation_bounds, is_activation, is_rectifier, make_activation
from .assemble import SiteRecord, Snapshot, WeightGrad, build_report
from .report import ProbeReport
from .stats import (
    Scratch,
    as_float32,
    batch_sums,
    batch_sums_fast,
    nonfinite,
    sum_of_squares,
)
from .verdict import Thresholds

__all__ = ["Probe", "Snapshot", "SiteRecord", "WeightGrad", "probe", "weight_layers"]

def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every module owning a ``weight`` parameter with ≥ 2 dims."""
    out = []
    for name, m in model.named_modules():
        w = m._parameters.get("weight")
        if isinstance(w, Tensor) and w.ndim >= 2:
            out.append((name or type(m).__name__, m))
    return out


def _functional_activations(model: nn.Module, layers: Sequence[tuple[str, nn.Module]]) -> dict[int, nn.Module]:
    """``id(layer) -> activation module`` for layers that feed a functional activation directly."""
    from ..init.initialize import functional_activations  # torch.fx: only imported by a probe

    found = functional_activations(model)
    return {id(m): make_activation(found[n]) for n, m in layers if n in found}


def _unit_dim(m: nn.Module) -> int:
    return 1 if isinstance(m, nn.modules.conv._ConvNd) else -1


class _Site(Scratch):
    """One call of one layer; statistics stay tensors until the report."""

    __slots__ = ("name", "module", "act", "s", "n", "grad_n", "prehooks")

    def __init__(self, name: str, module: nn.Module):
        super().__init__()
        self.name, self.module = name, module
        self.act: nn.Module | None = None
        self.s: dict[str, Any] = {}  # a new dict every pass: a snapshot keeps the old one without copying
        self.n = 0  # entries of the output
        self.grad_n = 0
        self.prehooks: dict[int, Callable] = {}


class Probe:
    """Hooks that record per-layer statistics of a model's forward and backward passes.

    Args:
        model: any ``nn.Module``.
        layers: the names of the modules to treat as layers (default: every module with a
            ≥ 2-D ``weight``); see `weight_layers`.
        thresholds: the verdict thresholds (`Thresholds`).
        grads: also record gradients (a pre-hook on the autograd node of each layer output,
            and a hook on each weight unless ``weight_grads=False``).
        activations: extra module types to treat as activations.
        activation_moments: also record the mean and std *after* each activation (two more
            tensor ops per layer; dead / saturated fractions are recorded either way).
        weight_grads: hook each weight for ∂L/∂W (`record_weight_grads` reads ``.grad``
            after the backward pass instead). The trainer callback keeps them on and sets
            ``weight_copies`` (``id(W) -> buffer``) so each hook also copies W before the
            optimizer step, while W is in cache.
        check_overflow: redo in float64 a float32 sum that overflowed (|x| ≳ 1e19); costs one
            host read per statistic, so the trainer callback turns it off (such sums read inf).

    Use it as a context manager around one forward/backward pass (the *last* pass inside
    the block is what the report shows), or call `attach` / `detach` yourself; the
    trainer callback is `ProbeCallback`.
    """

    def __init__(self, model: nn.Module, *, layers: Sequence[str] | None = None, thresholds: Thresholds | None = None,
                 grads: bool = True, activations: Iterable[type] = (), activation_moments: bool = True,
                 weight_grads: bool = True, check_overflow: bool = True):
        if not isinstance(model, nn.Module):
            raise ConfigError(f"Probe needs an nn.Module; got {type(model).__name__}")
        self.model = model
        named = dict(model.named_modules())
        if layers is None:
            self._layers = weight_layers(model)
        else:
            missing = [n for n in layers if n not in named]
            if missing:
                raise ConfigError(f"Probe: no module named {', '.join(map(repr, missing))}; "
                                  f"modules: {', '.join(n for n in named if n) or '(none)'}")
            self._layers = [(n, named[n]) for n in layers]
        if not self._layers:
            raise ConfigError(f"Probe: {type(model).__name__} has no layer with a >= 2-D weight; name the layers to watch with layers=[...]")
        self.thresholds = thresholds or Thresholds()
        self.grads, self.weight_grads = grads, weight_grads
        self.activation_moments, self.check_overflow = activation_moments, check_overflow
        self._extra_acts = tuple(activations)
        self._acts = [m for m in model.modules() if is_activation(m) or (self._extra_acts and isinstance(m, self._extra_acts))]
        self._act_kind: dict[int, tuple] = {}
        self._functional = _functional_activations(model, self._layers)
        for a in [*self._acts, *self._functional.values()]:
            b = activation_bounds(a)
            if is_rectifier(a):
                self._act_kind[id(a)] = ("dead", b)
            elif b is not None:
                self._act_kind[id(a)] = ("sat", b)
        self._handles: list[Any] = []
        self._sites: dict[str, _Site] = {}
        self._spare: dict[str, _Site] = {}  # sites of earlier passes, kept for their scratch buffers
        self._calls: dict[int, int] = {}
        self._last: _Site | None = None
        self._input: dict[str, Any] = {}
        self._wgrad: dict[int, WeightGrad] = {}
        self._weights: list[Tensor] | None = None
        self.weight_copies: dict[int, Tensor] | None = None  # id(W) -> buffer: copy W there in its gradient hook
        self._copied: set[int] = set()
        self._input_site = _Site("input", model)  # scratch of the input statistics
        self.attached = False

    # ---- attach / detach -------------------------------------------------------------
    def attach(self) -> Probe:
        """Register the hooks (idempotent)."""
        if self.attached:
            return self
        h = self._handles
        h.append(self.model.register_forward_pre_hook(self._on_root))
        for name, m in self._layers:
            h.append(m.register_forward_hook(self._layer_hook(name, m, self._functional.get(id(m)))))
        for a in self._acts:
            h.append(a.register_forward_hook(self._act_hook(a)))
        if self.grads and self.weight_grads:
            seen: set[int] = set()
            for _, m in self._layers:
                w = m._parameters.get("weight")
                if isinstance(w, Tensor) and w.requires_grad and id(w) not in seen:
                    seen.add(id(w))
                    b = m._parameters.get("bias")
                    h.append(w.register_hook(self._weight_hook(w, b if isinstance(b, Tensor) else None)))
        self.attached = True
        return self

    def detach(self) -> None:
        """Remove every hook this probe registered (tensor hooks on outputs die with the graph)."""
        while self._handles:
            self._handles.pop().remove()
        self.attached = False

    def __enter__(self) -> Probe:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def clear(self) -> None:
        """Forget the recorded statistics (the per-layer scratch buffers are kept)."""
        self._spare.update(self._sites)
        self._sites.clear()  # in place: the hooks hold these dicts
        self._input.clear()
        self._wgrad.clear()
        self._copied.clear()
        self._calls.clear()
        self._last = None

    # ---- hooks (each a handful of tensor ops, no host reads unless check_overflow) ----
    def _on_root(self, module: nn.Module, args: Any) -> None:
        self._calls.clear()
        self._last = None
        self._input.clear()

    def _layer_hook(self, name: str, module: nn.Module, functional: nn.Module | None = None) -> Callable:
        # Runs on every call of every layer while recording: kept to a few tensor ops and
        # little Python (on 2 slow cores each extra attribute lookup or op dispatch shows up
        # in the per-step overhead, bench/bench_probe.py).
        calls, sites, spare, inp = self._calls, self._sites, self._spare, self._input
        mid, grads = id(module), self.grads
        stats = (lambda o, site: batch_sums(o, True)) if self.check_overflow else batch_sums_fast
        act_hook = self._act_hook(functional) if functional is not None else None

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if not isinstance(output, Tensor) or not output.is_floating_point():
                return
            k = calls.get(mid, 0) + 1
            calls[mid] = k
            key = name if k == 1 else f"{name}#{k}"
            site = sites.get(key)
            if site is None:
                site = spare.pop(key, None)
                if site is None or site.module is not module:
                    site = _Site(key, module)
                sites[key] = site
            if not inp and args and isinstance(args[0], Tensor) and args[0].is_floating_point():
                x = as_float32(args[0].detach())
                inp["col"], inp["ss"] = stats(x, self._input_site)
                inp["n"] = x.numel()
            o = output.detach()  # ops on a detached tensor record no graph (cheaper than no_grad())
            if o.dtype is not torch.float32 and o.dtype is not torch.float64:
                o = as_float32(o)
            col, ss = stats(o, site)
            site.s = {"col": col, "ss": ss}
            site.act = None
            site.n = o.numel()
            if grads and output.requires_grad:
                node = output.grad_fn
                if node is not None:  # a pre-hook on the node that consumes ∂L/∂output: no tensor-hook bookkeeping
                    nr = output.output_nr
                    ph = site.prehooks.get(nr)
                    if ph is None:  # made once per site and output slot, reused every pass
                        ph = site.prehooks[nr] = self._grad_prehook(site, nr)
                    node.register_prehook(ph)
                else:
                    ph = self._grad_prehook(site, 0)
                    output.register_hook(lambda g: ph((g,)))
            self._last = site
            if act_hook is not None:  # the functional activation the output goes into, applied here
                act_hook(functional, None, functional(o))

        return hook

    def _act_hook(self, module: nn.Module) -> Callable:
        kind = self._act_kind.get(id(module))
        dead = kind is not None and kind[0] == "dead"
        bounds = kind[1] if kind is not None else None
        moments, margin = self.activation_moments, self.thresholds.margin

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            site = self._last
            if site is None:
                return
            self._last = None
            if not isinstance(output, Tensor) or not output.is_floating_point():
                return
            site.act = module
            a = as_float32(output.detach())
            s = site.s
            if moments:
                m = a.mean()
                s["act_mean"], s["act_ss"] = m, sum_of_squares(a - m)
            if dead and a.ndim >= 2:  # rectifier outputs are >= 0: alive <=> max over the batch > 0
                if a.ndim == 2:
                    s["amax"] = a.amax(0)
                else:
                    keep = 1 if _unit_dim(site.module) == 1 else a.ndim - 1
                    s["amax"] = a.amax(dim=tuple(i for i in range(a.ndim) if i != keep))
            if bounds is not None:
                lo, hi = bounds
                mid, half = (lo + hi) / 2, (hi - lo) / 2
                d = a.abs() if mid == 0 else (a - mid).abs()
                s["sat"] = (d >= half * (1 - margin)).sum()

        return hook

    def _grad_prehook(self, site: _Site, index: int) -> Callable:
        chk = self.check_overflow

        def hook(grad_outputs: tuple) -> None:
            if index >= len(grad_outputs):
                return
            g = grad_outputs[index]
            if g is None:
                return
            if g.requires_grad:  # only under create_graph
                g = g.detach()
            g = as_float32(g)
            v = g.view(-1) if g.is_contiguous() else g.reshape(-1)
            ss = torch.dot(v, v)
            if chk and g.is_cpu and nonfinite(ss):
                ss = sum_of_squares(g.double())
            site.s["grad_ss"] = ss
            site.grad_n = v.numel()

        return hook

    def _weight_hook(self, w: Tensor, b: Tensor | None) -> Callable:
        key = id(w)
        chk = self.check_overflow
        wgrad, copied = self._wgrad, self._copied
        b = b if b is not None and b.numel() else None

        def hook(g: Tensor) -> None:
            # runs in the backward pass right after ∂L/∂W is computed — g, and W (just read
            # for ∂L/∂input by the same node), are still in cache: reading them here is cheaper
            # than a pass over .grad and the weights after the backward pass
            if g.requires_grad:  # only under create_graph
                g = g.detach()
            g = as_float32(g)
            gs = sum_of_squares(g)
            if chk and g.is_cpu and nonfinite(gs):
                gs = sum_of_squares(g.double())
            wd = w.detach()
            copies = self.weight_copies
            buf = copies.get(key) if copies is not None else None
            if buf is not None:  # the trainer callback's copy of W before the optimizer step
                buf.copy_(wd)
                copied.add(key)
                ws = sum_of_squares(buf)
            else:
                ws = sum_of_squares(as_float32(wd))
            wgrad[key] = WeightGrad(gs, ws, sum_of_squares(as_float32(b.detach())) if b is not None else None,
                                    (g.data_ptr(), g._version))

        return hook

    def record_weight_grads(self) -> list[Tensor]:
        """Read ∂L/∂W from each weight's ``.grad`` after a backward pass that started from
        zeroed grads — for a probe attached with ``weight_grads=False``. Returns ``‖W‖²`` of
        each weight of `weights` (0-d tensors), as BLAS dot products."""
        out: list[Tensor] = []
        for w in self.weights():
            w2 = sum_of_squares(as_float32(w.detach()))
            out.append(w2)
            if w.grad is not None:
                self._wgrad.setdefault(id(w), WeightGrad(sum_of_squares(as_float32(w.grad.detach())), w2, None, None))
        return out

    @property
    def layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every watched layer, in the order given (or found)."""
        return list(self._layers)

    def weight_grad(self, w: Tensor) -> WeightGrad | None:
        """What ``w``'s gradient hook recorded in the last backward pass (None if it did not run)."""
        return self._wgrad.get(id(w))

    def was_copied(self, w: Tensor) -> bool:
        """Whether ``w``'s gradient hook copied it into ``weight_copies`` in the last backward pass."""
        return id(w) in self._copied

    def weights(self) -> list[Tensor]:
        """The ≥ 2-D ``weight`` parameter of each layer, in layer order, each once."""
        if self._weights is None:
            seen: set[int] = set()
            self._weights = []
            for _, m in self._layers:
                w = m._parameters.get("weight")
                if isinstance(w, Tensor) and id(w) not in seen:
                    seen.add(id(w))
                    self._weights.append(w)
        return self._weights

    # ---- report ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The statistics recorded so far, still as tensors: cheap to take every step; turn
        it into a `ProbeReport` later with `report(snapshot=...)`."""
        if not self._sites:
            raise ConfigError("Probe.report: nothing recorded; run a forward pass inside `with Probe(model):` first")
        return Snapshot([SiteRecord(st.name, st.module, st.act, st.s, st.n, st.grad_n) for st in self._sites.values()],
                        dict(self._input), dict(self._wgrad))

    def report(self, *, snapshot: Snapshot | None = None, theory: bool = True,
               update_ratios: dict[str, Any] | None = None, step: int | None = None,
               loss: float | None = None, grad_scale: float = 1.0) -> ProbeReport:
        """The recorded statistics (or a `snapshot`) as a `ProbeReport`, with verdicts (and the
        theory overlay): `initreg.probe.assemble.build_report`."""
        snap = snapshot if snapshot is not None else self.snapshot()
        rep = build_report(snap, self.thresholds, theory=theory, update_ratios=update_ratios, step=step, loss=loss,
                           grad_scale=grad_scale)
        if snap.sites:  # layers whose forward never ran (e.g. MultiheadAttention's out_proj, used as a weight)
            called = {rec.name.split("#")[0] for rec in snap.sites}
            rep.meta["not_called"] = [n for n, _ in self._layers if n not in called]
        return rep


def probe(model: nn.Module, x: Tensor, y: Tensor | None = None, *, loss_fn: Callable | None = None,
          theory: bool = True, jacobian: int = 0, **kw: Any) -> ProbeReport:
    """One forward (and, with targets, backward) pass of ``model`` on ``(x, y)``, probed.

    ``loss_fn(output, y)`` defaults to cross-entropy for integer targets and MSE otherwise.
    The model's ``.grad`` fields are left as they were (the pass's gradients are discarded),
    and ``jacobian > 0`` adds the singular values of the input–output Jacobian on that many
    examples (`jacobian_singular_values`).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))
    >>> r = probe(net, torch.randn(128, 4), torch.randint(0, 3, (128,)))
    >>> r.label
    'healthy'
    """
    saved = {n: (p.grad.clone() if p.grad is not None else None) for n, p in model.named_parameters()}
    p = Probe(model, **kw)
    try:
        with p:
            out = model(x)
            if y is not None:
                if loss_fn is None:
                    loss_fn = nn.functional.cross_entropy if not y.is_floating_point() else (
                        lambda o, t: nn.functional.mse_loss(o, t.view_as(o)))
                loss = loss_fn(out, y)
                loss.backward()
        rep = p.report(theory=theory, loss=float(loss.detach()) if y is not None else None)
    finally:
        for n, q in model.named_parameters():
            q.grad = saved.get(n)
    if jacobian:
        from .jacobian import jacobian_singular_values

        rep.jacobian = jacobian_singular_values(model, x[:jacobian])
    return rep
