"""`Probe`: per-layer signal and gradient statistics of any ``nn.Module``, through hooks.

What counts as a *layer*: every module that owns a ``weight`` parameter with ≥ 2 dims
(``Linear``, ``Conv*``, ``Bilinear``, ``Embedding``, the two maps of a `LowRankLinear`),
or the modules you name. Each *call* of a layer is one row, in the order of execution, so a
module called twice in one forward pass gives two rows (``name`` and ``name#2``). The
*activation* of a layer is the first activation module (ReLU, Tanh, Sigmoid, GELU, …)
called after it; a functional activation (``F.relu``) is invisible, and its layer gets no
dead / saturated counts.

Per row: the output's mean, std and RMS (all entries) and its *signal* std (the std across
the batch, averaged over the other entries: how much the output still depends on the
input); after the activation: its mean and std, the fraction of **dead** units (rectifiers:
zero on every example of the batch; a unit is a feature for dense layers, a channel for
convolutions) and of **saturated** values (bounded activations: within ``margin``·(hi−lo)/2
of a bound, i.e. ``|tanh| > 0.99``); in the backward pass the RMS and norm of ∂L/∂output
(a tensor hook on the output: cheaper than ``register_full_backward_hook``) and of ∂L/∂W
(a hook on the weight, so a shared weight reports its summed gradient).

The probe never changes results: hooks only read detached tensors and return ``None``,
no random numbers are drawn, and every hook is removed on exit (even on an exception).
Statistics stay 0-d tensors until `report` (no ``.item()`` per hook call).

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

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .report import LayerStats, ProbeReport
from .verdict import Thresholds, layer_verdict, overall_verdict

__all__ = ["Probe", "probe", "activation_bounds", "is_activation", "weight_layers"]

_NOT_ACTIVATIONS = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.MultiheadAttention, nn.GLU,
                    nn.Threshold)
_RECTIFIERS = (nn.ReLU, nn.ReLU6)  # exactly zero on a half-line: dead units are well defined


def is_activation(m: nn.Module) -> bool:
    """An elementwise activation module: torch's (except softmax-like ones) or initreg's."""
    mod = type(m).__module__
    if isinstance(m, _NOT_ACTIVATIONS):
        return False
    return mod == "torch.nn.modules.activation" or mod.startswith("initreg.nn")


def activation_bounds(m: nn.Module) -> tuple[float, float] | None:
    """``(lo, hi)`` of a bounded activation (tanh, sigmoid, softsign, hardtanh, …), else None."""
    if isinstance(m, nn.Hardtanh):  # includes ReLU6
        return float(m.min_val), float(m.max_val)
    if isinstance(m, (nn.Tanh, nn.Softsign)):
        return -1.0, 1.0
    if isinstance(m, (nn.Sigmoid, nn.Hardsigmoid)):
        return 0.0, 1.0
    b = getattr(m, "bounds", None)  # an initreg activation may declare its range
    if isinstance(b, tuple) and len(b) == 2 and all(math.isfinite(v) for v in b):
        return float(b[0]), float(b[1])
    return None


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every module owning a ``weight`` parameter with ≥ 2 dims."""
    out = []
    for name, m in model.named_modules():
        w = m._parameters.get("weight")
        if isinstance(w, Tensor) and w.ndim >= 2:
            out.append((name or type(m).__name__, m))
    return out


def _unit_dim(m: nn.Module) -> int:
    return 1 if isinstance(m, nn.modules.conv._ConvNd) else -1


def _fans(w: Tensor, m: nn.Module) -> tuple[int, int]:
    """torch's fan convention for a weight shaped ``(out, in, *kernel)``."""
    rf = math.prod(w.shape[2:]) if w.ndim > 2 else 1
    if isinstance(m, nn.Embedding):
        return 1, w.shape[1]
    return w.shape[1] * rf, w.shape[0] * rf


class _Site:
    """One call of one layer; statistics are 0-d tensors until the report."""

    __slots__ = ("name", "module", "act", "s", "numel", "grad_numel")

    def __init__(self, name: str, module: nn.Module):
        self.name, self.module, self.act = name, module, None
        self.s: dict[str, Tensor] = {}
        self.numel = 0
        self.grad_numel = 0


def _f32(t: Tensor) -> Tensor:
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _overflowed(v: Tensor, t: Tensor) -> bool:
    """A float32 statistic that overflowed (|x| > ~1e19 squares past float32's max) on CPU:
    recompute it in float64. On an accelerator the check would force a sync: keep the inf."""
    return t.device.type == "cpu" and t.dtype != torch.float64 and not bool(torch.isfinite(v))


class Probe:
    """Hooks that record per-layer statistics of a model's forward and backward passes.

    Args:
        model: any ``nn.Module``.
        layers: the names of the modules to treat as layers (default: every module with a
            ≥ 2-D ``weight``); see `weight_layers`.
        thresholds: the verdict thresholds (`Thresholds`).
        grads: also record gradients (a tensor hook on each layer output and weight).
        activations: extra module types to treat as activations.

    Use it as a context manager around one forward/backward pass (the *last* pass inside
    the block is what the report shows), or call `attach` / `detach` yourself; the
    trainer callback is `ProbeCallback`.
    """

    def __init__(self, model: nn.Module, *, layers: Sequence[str] | None = None, thresholds: Thresholds | None = None,
                 grads: bool = True, activations: Iterable[type] = ()):
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
        self.grads = grads
        self._extra_acts = tuple(activations)
        self._acts = [m for m in model.modules() if is_activation(m) or (self._extra_acts and isinstance(m, self._extra_acts))]
        self._handles: list[Any] = []
        self._sites: dict[str, _Site] = {}
        self._calls: dict[int, int] = {}
        self._last: _Site | None = None
        self._input: dict[str, Tensor] = {}
        self._wgrad: dict[int, tuple[Tensor, Tensor]] = {}
        self.attached = False

    # ---- attach / detach -------------------------------------------------------------
    def attach(self) -> Probe:
        """Register the hooks (idempotent)."""
        if self.attached:
            return self
        h = self._handles
        h.append(self.model.register_forward_pre_hook(self._on_root))
        for name, m in self._layers:
            h.append(m.register_forward_hook(self._layer_hook(name)))
        for a in self._acts:
            h.append(a.register_forward_hook(self._on_act))
        if self.grads:
            seen: set[int] = set()
            for _, m in self._layers:
                w = m._parameters.get("weight")
                if isinstance(w, Tensor) and w.requires_grad and id(w) not in seen:
                    seen.add(id(w))
                    h.append(w.register_hook(self._weight_hook(w)))
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
        """Forget the recorded statistics."""
        self._sites.clear()
        self._input.clear()
        self._wgrad.clear()
        self._calls.clear()
        self._last = None

    # ---- hooks -----------------------------------------------------------------------
    def _on_root(self, module: nn.Module, args: Any) -> None:
        self._calls.clear()
        self._last = None
        self._input.clear()

    def _layer_hook(self, name: str) -> Callable:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if not isinstance(output, Tensor) or not output.is_floating_point():
                return
            k = self._calls.get(id(module), 0) + 1
            self._calls[id(module)] = k
            key = name if k == 1 else f"{name}#{k}"
            site = self._sites.get(key)
            if site is None:
                site = self._sites[key] = _Site(key, module)
            site.act = None
            with torch.no_grad():
                if not self._input and args and isinstance(args[0], Tensor) and args[0].is_floating_point():
                    x = _f32(args[0].detach())
                    self._input["ms"] = x.pow(2).mean()
                    self._input["signal_var"] = x.var(dim=0).mean() if x.shape[0] > 1 else x.new_tensor(math.nan)
                o = _f32(output.detach())
                s = site.s
                s.clear()
                self._moments(o, s)
                site.numel = o.numel()
            if self.grads and output.requires_grad:
                output.register_hook(self._grad_hook(site))
            self._last = site

        return hook

    @staticmethod
    def _moments(o: Tensor, s: dict[str, Tensor]) -> None:
        s["mean"] = o.mean()
        s["var"] = o.var(unbiased=False) if o.numel() > 1 else o.new_tensor(0.0)
        s["signal_var"] = o.var(dim=0).mean() if o.ndim >= 1 and o.shape[0] > 1 else o.new_tensor(math.nan)
        if _overflowed(s["var"], o) and bool(torch.isfinite(o).all()):
            Probe._moments(o.double(), s)

    def _on_act(self, module: nn.Module, args: Any, output: Any) -> None:
        site, self._last = self._last, None
        if site is None or not isinstance(output, Tensor) or not output.is_floating_point():
            return
        site.act = module
        with torch.no_grad():
            a = _f32(output.detach())
            s = site.s
            s["act_mean"] = a.mean()
            s["act_var"] = a.var(unbiased=False) if a.numel() > 1 else a.new_tensor(0.0)
            if isinstance(module, _RECTIFIERS) and a.ndim >= 2:
                d = _unit_dim(site.module)
                nz = a.ne(0)
                alive = nz.transpose(0, 1).reshape(a.shape[1], -1).any(1) if d == 1 and a.ndim > 2 else nz.reshape(-1, a.shape[-1]).any(0)
                s["dead"] = 1.0 - alive.float().mean()
            b = activation_bounds(module)
            if b is not None:
                tol = self.thresholds.margin * (b[1] - b[0]) / 2
                s["saturated"] = ((a <= b[0] + tol) | (a >= b[1] - tol)).float().mean()

    def _grad_hook(self, site: _Site) -> Callable:
        def hook(g: Tensor) -> None:
            with torch.no_grad():
                gd = _f32(g.detach())
                ms = gd.pow(2).mean()
                if _overflowed(ms, gd):
                    ms = gd.double().pow(2).mean()
                site.s["grad_ms"] = ms
                site.grad_numel = g.numel()

        return hook

    def _weight_hook(self, w: Tensor) -> Callable:
        key = id(w)

        def hook(g: Tensor) -> None:
            with torch.no_grad():
                gd = _f32(g.detach())
                gs = gd.pow(2).sum()
                if _overflowed(gs, gd):
                    gs = gd.double().pow(2).sum()
                self._wgrad[key] = (gs, _f32(w.detach()).pow(2).sum())

        return hook

    # ---- report ----------------------------------------------------------------------
    def report(self, *, theory: bool = True, update_ratios: dict[str, float] | None = None,
               step: int | None = None, loss: float | None = None) -> ProbeReport:
        """The recorded statistics as a `ProbeReport`, with verdicts (and the theory overlay)."""
        if not self._sites:
            raise ConfigError("Probe.report: nothing recorded; run a forward pass inside `with Probe(model):` first")
        sites = list(self._sites.values())
        in_ms = float(self._input["ms"]) if "ms" in self._input else math.nan
        in_sig = float(self._input["signal_var"]) if "signal_var" in self._input else math.nan
        rows: list[LayerStats] = []
        for i, st in enumerate(sites, 1):
            s = {k: float(v) for k, v in st.s.items()}
            w = st.module._parameters.get("weight")
            b = st.module._parameters.get("bias")
            wd = w.detach() if isinstance(w, Tensor) else None
            fan_in, fan_out = _fans(wd, st.module) if wd is not None and wd.ndim >= 2 else (0, 0)
            wg = self._wgrad.get(id(w)) if w is not None else None
            w_norm = math.sqrt(float(wg[1])) if wg is not None else (float(wd.float().norm()) if wd is not None else math.nan)
            w_ms = w_norm ** 2 / wd.numel() if wd is not None and wd.numel() else math.nan
            b_ms = float(b.detach().float().pow(2).mean()) if isinstance(b, Tensor) and b.numel() else 0.0
            var, mean = s.get("var", math.nan), s.get("mean", math.nan)
            row = LayerStats(
                index=i, name=st.name, kind=type(st.module).__name__,
                shape=list(wd.shape) if wd is not None else [], fan_in=fan_in, fan_out=fan_out,
                activation=type(st.act).__name__ if st.act is not None else None,
                mean=mean, std=math.sqrt(max(var, 0.0)) if var == var else math.nan,
                rms=math.sqrt(max(var + mean * mean, 0.0)) if var == var else math.nan,
                signal_std=math.sqrt(s["signal_var"]) if s.get("signal_var", math.nan) == s.get("signal_var") and s["signal_var"] >= 0 else math.nan,
                act_mean=s.get("act_mean"), act_std=math.sqrt(s["act_var"]) if "act_var" in s else None,
                dead=s.get("dead"), saturated=s.get("saturated"),
                grad_rms=math.sqrt(s["grad_ms"]) if "grad_ms" in s else None,
                grad_norm=math.sqrt(s["grad_ms"] * st.grad_numel) if "grad_ms" in s else None,
                weight_norm=w_norm, weight_ms=w_ms, bias_ms=b_ms,
                weight_grad_norm=math.sqrt(float(wg[0])) if wg is not None else None,
                update_ratio=(update_ratios or {}).get(st.name.split("#")[0]),
            )
            if row.weight_grad_norm is not None and w_norm > 0:
                row.grad_to_weight = row.weight_grad_norm / w_norm
            in_rms = math.sqrt(in_ms) if in_ms == in_ms else math.nan
            row.fwd_ratio = _ratio(row.rms, in_rms)
            row.signal_ratio = _ratio(row.signal_std, math.sqrt(in_sig) if in_sig == in_sig and in_sig >= 0 else math.nan)
            rows.append(row)
        with_grad = [r for r in rows if r.grad_rms is not None]
        if with_grad:
            ref = with_grad[-1].grad_rms
            for r in with_grad:
                r.bwd_ratio = _ratio(r.grad_rms, ref)
        t = self.thresholds
        for r in rows:
            r.verdict, r.issues = layer_verdict(r.to_dict(), t)
        rep = ProbeReport(layers=rows, input_rms=math.sqrt(in_ms) if in_ms == in_ms else math.nan,
                          input_signal_std=math.sqrt(in_sig) if in_sig == in_sig and in_sig >= 0 else math.nan,
                          thresholds=t, verdict=overall_verdict([r.to_dict() for r in rows], t), step=step, loss=loss)
        if theory:
            from .overlay import add_theory

            add_theory(rep, [st.act for st in sites])
        return rep


def _ratio(a: float | None, b: float | None) -> float:
    if a is None or b is None or a != a or b != b:
        return math.nan
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


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
