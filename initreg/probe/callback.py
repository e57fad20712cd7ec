"""`ProbeCallback`: the probe inside `initreg.train.fit`, recording every ``every`` steps."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from .core import Probe
from .report import ProbeReport
from .stats import as_float32, sum_of_squares
from .verdict import Thresholds

__all__ = ["ProbeCallback"]


def _plain_sgd_groups(opt: Any, weights: list[Tensor]) -> list[dict] | None:
    """The param group of each weight when ``opt`` is plain SGD — ``torch.optim.SGD`` without
    momentum or weight decay, whose update is exactly ``ΔW = −lr·∂L/∂W`` — else None."""
    if type(opt) is not torch.optim.SGD:
        return None
    where = {}
    for group in opt.param_groups:
        if group.get("momentum", 0) != 0 or group.get("weight_decay", 0) != 0:
            return None
        for q in group["params"]:
            where[id(q)] = group
    if not all(id(w) in where for w in weights):
        return None
    return [where[id(w)] for w in weights]


class ProbeCallback(Callback):
    """Record a `ProbeReport` every ``every`` optimizer steps while `fit` trains.

    Recording keeps the statistics as tensors (no ``.item()``, no report per step);
    `reports` turns them into `ProbeReport` objects when first read — or right away when
    ``stop_on`` or ``on_report`` needs the verdict. On a recording step the hooks are attached
    for that step only (the other steps run with no hook at all), and removed at the end of
    the step — or when training ends, also after a non-finite loss (that last, forward-only
    report has ``meta["diverged"] = True``).

    The **update-to-weight ratio** ``‖ΔW‖ / ‖W‖`` is that of the optimizer's step (gradient
    clipping, momentum and weight decay included; a later change by another callback, such
    as a max-norm constraint, is not). For plain SGD (``torch.optim.SGD`` without momentum or
    weight decay) the step is ``ΔW = −lr·∂L/∂W``, so ``‖ΔW‖ = lr·‖∂L/∂W‖`` is read off the
    gradient the step uses (cs231n's "update scale"; an update too small to change a float32
    weight still reads its size). For any other optimizer each weight is copied in its
    gradient hook during the backward pass (into a buffer allocated once) and compared with
    the weight right after the step (``updates="copy"`` forces this for SGD too).

    Args:
        every: record on steps 0, every, 2·every, …
        thresholds: verdict thresholds.
        theory: add the mean-field overlay to each report (costs a quadrature per layer).
        updates: measure update-to-weight ratios: True (from the gradient for plain SGD, else a
            copy of the weights per record), ``"copy"`` (always copy) or False.
        stop_on: stop training when a report's overall verdict is one of these labels.
        on_report: called with each report (e.g. to print it).
        activation_moments: also record mean / std after each activation (off by default to
            keep recording cheap; dead and saturated fractions are always recorded).

    Examples:
        >>> from initreg.data import load_data
        >>> from initreg.models import build_model
        >>> from initreg.train import fit
        >>> d = load_data({"name": "digits", "train_size": 200})
        >>> m = build_model({"name": "mlp", "depth": 2, "width": 32}, d.input_shape, d.num_outputs, seed=0)
        >>> cb = ProbeCallback(every=5)
        >>> _ = fit(m, d, {"steps": 10, "progress": "none"}, callbacks=[cb])
        >>> [r.step for r in cb.reports]
        [1, 6]
    """

    def __init__(self, every: int = 1, *, thresholds: Thresholds | None = None, theory: bool = False,
                 updates: bool | str = True, stop_on: Sequence[str] = (), on_report: Callable[[ProbeReport], None] | None = None,
                 layers: Sequence[str] | None = None, activations: Iterable[type] = (),
                 activation_moments: bool = False):
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"ProbeCallback: every must be an integer >= 1; got every={every!r}")
        if updates not in (True, False, "copy"):
            raise ConfigError(f"ProbeCallback: updates must be True, False or 'copy'; got updates={updates!r}")
        from .verdict import LABELS

        bad = [s for s in stop_on if s not in LABELS]
        if bad:
            raise ConfigError(f"ProbeCallback: stop_on must be verdict labels ({', '.join(LABELS)}); got {bad}")
        self.every, self.thresholds, self.theory, self.updates = every, thresholds or Thresholds(), theory, updates
        self.stop_on, self.on_report = tuple(stop_on), on_report
        self._layers, self._acts, self._act_moments = layers, tuple(activations), activation_moments
        self.probe: Probe | None = None
        self._snaps: list[tuple[Any, dict[str, Any]]] = []
        self._reports: list[ProbeReport] = []
        self._recording = False
        self._bufs: list[Tensor] = []
        self._flat: list[Tensor] = []
        self._ups: list[tuple] | None = None  # per weight (‖ΔW‖², ‖W‖², scale of ‖ΔW‖²: lr² or 1) of the recorded step
        self._sgd_groups: list[dict] | None = None
        self._opt_hook: Any = None
        self._grad_scale = 1.0
        self._wnorms: list[Tensor] = []
        self._copied = False
        self._names: list[tuple[str, int]] | None = None

    @property
    def reports(self) -> list[ProbeReport]:
        """One `ProbeReport` per recorded step (built on first access from the recorded tensors)."""
        while len(self._reports) < len(self._snaps):
            snap, meta = self._snaps[len(self._reports)]
            self._reports.append(self._build(snap, meta))
        return self._reports

    def _build(self, snap, meta: dict[str, Any]) -> ProbeReport:
        assert self.probe is not None
        rep = self.probe.report(snapshot=snap, theory=self.theory, update_ratios=meta.pop("updates", None),
                                step=meta.pop("step"), loss=meta.pop("loss"), grad_scale=meta.pop("grad_scale", 1.0))
        rep.meta.update(meta)
        return rep

    def _weight_names(self) -> list[tuple[str, int]]:
        """``(layer name, index in probe.weights())`` of every layer with a weight (tied weights:
        each of their layers)."""
        assert self.probe is not None
        if self._names is None:
            index = {id(w): k for k, w in enumerate(self.probe.weights())}
            self._names = [(n, index[id(m._parameters["weight"])]) for n, m in self.probe.layers
                           if id(m._parameters.get("weight")) in index]
        return self._names

    def on_fit_start(self, state: TrainState) -> None:
        self._names, self._bufs, self._flat, self._ups = None, [], [], None
        self.probe = Probe(state.model, layers=self._layers, thresholds=self.thresholds, activations=self._acts,
                           activation_moments=self._act_moments, check_overflow=False)
        self._sgd_groups = None
        if not self.updates:
            return
        opt = state.optimizer
        if self.updates != "copy" and state.scaler is None:  # (GradScaler.unscale_ leaves .grad's version as is)
            self._sgd_groups = _plain_sgd_groups(opt, self.probe.weights())
        if self._sgd_groups is not None:  # ΔW = −lr·∂L/∂W: read off the gradient, no copy
            self._opt_hook = opt.register_step_pre_hook(self._before_plain_sgd_step)
        else:  # one buffer per weight, allocated once: W is copied there in its gradient hook
            self._bufs = [torch.empty_like(w, memory_format=torch.contiguous_format) for w in self.probe.weights()]
            self.probe.weight_copies = {id(w): b for w, b in zip(self.probe.weights(), self._bufs)}
            self._flat = [b.view(-1) for b in self._bufs]
            self._opt_hook = opt.register_step_post_hook(self._after_step)

    def on_batch(self, state: TrainState, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if state.step % self.every == 0 and self.probe is not None:
            self.probe.clear()
            self.probe.attach()  # a no-op when every == 1 (the hooks then stay attached)
            self._recording = True
            self._ups = None
        return x, y

    def on_after_backward(self, state: TrainState) -> None:
        if not self._recording or self.probe is None:
            return
        if state.scaler is not None:  # fp16: the hooks saw gradients times the loss scale
            self._grad_scale = float(state.scaler.get_scale())
        if not self._bufs:
            return
        p = self.probe
        norms = []
        with torch.no_grad():
            for k, w in enumerate(p.weights()):
                if not p.was_copied(w):  # no gradient this step (its hook did not run)
                    b = self._bufs[k]
                    b.copy_(w.detach())
                    norms.append(sum_of_squares(b))
                else:
                    rec = p.weight_grad(w)
                    assert rec is not None  # the hook that copied W recorded it
                    norms.append(rec.weight_ss)
        self._wnorms = norms
        self._copied = True

    def _after_step(self, opt: Any, args: Any, kwargs: Any) -> None:
        """Optimizer post-hook (copy path): ``‖W_before − W_after‖²`` of each weight, right after the step."""
        if not self._copied or self.probe is None:
            return
        self._copied = False
        ups = []
        with torch.no_grad():  # weight by weight, the dot while the difference is in cache (one _foreach_sub_
            for w, b, f, wn in zip(self.probe.weights(), self._bufs, self._flat, self._wnorms):  # first is slower)
                b.sub_(w)  # W_before − W_after in place (torch.dist allocates: ~10× slower here)
                ups.append((torch.dot(f, f), wn, 1.0))
        self._ups = ups

    def _before_plain_sgd_step(self, opt: Any, args: Any, kwargs: Any) -> None:
        """Optimizer pre-hook (plain SGD): ``‖ΔW‖² = lr²·‖∂L/∂W‖²`` from the gradient the step is
        about to use. The gradient hook's ``‖∂L/∂W‖²`` is reused when ``.grad`` is the very tensor it
        saw, unmodified (same storage, same version counter); clipping, unscaling or any other
        in-place change since then bumps the version, and the norm is taken again."""
        if not self._recording or self.probe is None or self._sgd_groups is None:
            return
        p = self.probe
        ups: list[tuple[Any, Any, float]] = []
        with torch.no_grad():
            for w, group in zip(p.weights(), self._sgd_groups):
                g, rec = w.grad, p.weight_grad(w)
                ws = rec.weight_ss if rec is not None else sum_of_squares(as_float32(w.detach()))
                if g is None:  # SGD skips a parameter without a gradient: ΔW = 0
                    ups.append((0.0, ws, 1.0))
                    continue
                fresh = rec is not None and rec.grad_id == (g.data_ptr(), g._version)
                gs = rec.grad_ss if rec is not None and fresh else sum_of_squares(as_float32(g.detach()))
                lr = float(group["lr"])
                ups.append((gs, ws, lr * lr))
        self._ups = ups

    def _finish(self, state: TrainState, **meta: Any) -> None:
        assert self.probe is not None
        if self.every > 1 or meta:
            self.probe.detach()
        self._recording = False
        ratios = None
        if self._ups is not None:
            ratios = {n: self._ups[k] for n, k in self._weight_names()}
            self._ups = None
        try:
            snap = self.probe.snapshot()
        except ConfigError:  # nothing recorded (e.g. the forward pass raised)
            return
        self._snaps.append((snap, {"updates": ratios, "step": state.step, "loss": state.loss,
                                   "grad_scale": self._grad_scale, **meta}))
        self._grad_scale = 1.0
        if self.stop_on or self.on_report is not None:
            rep = self.reports[-1]
            state.extra["probe"] = rep
            if self.on_report is not None:
                self.on_report(rep)
            if rep.label in self.stop_on and not state.stop:
                state.stop, state.stop_reason = True, f"probe: {rep.summary()}"

    def on_step_end(self, state: TrainState) -> None:
        if self._recording:
            self._finish(state)

    def on_fit_end(self, state: TrainState) -> None:
        if self._recording and self.probe is not None:  # the recording step never finished (non-finite loss)
            self._copied, self._ups = False, None
            self._finish(state, diverged=state.history.diverged)
        self._remove_hooks()

    def on_fit_abort(self, state: TrainState, error: BaseException) -> None:
        self._recording = self._copied = False
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        if self.probe is not None:
            self.probe.detach()
        if self._opt_hook is not None:
            self._opt_hook.remove()
            self._opt_hook = None

    def rows(self) -> list[dict[str, Any]]:
        """One summary row per report: step, loss, verdict, first bad layer, extremes."""
        out = []
        def mx(r: ProbeReport, key: str) -> float:
            vals = [v for v in r.column(key) if v is not None and v == v]
            return max(vals) if vals else math.nan

        for r in self.reports:

            fb = r.first_bad
            out.append({"step": r.step, "loss": r.loss, "label": r.label,
                        "first_bad": fb["index"] if fb else None, "direction": fb["direction"] if fb else None,
                        "max_fwd_ratio": mx(r, "fwd_ratio"), "max_bwd_ratio": mx(r, "bwd_ratio"),
                        "max_grad_to_weight": mx(r, "grad_to_weight"), "max_update_ratio": mx(r, "update_ratio"),
                        "diverged": bool(r.meta.get("diverged", False))})
        return out
