"""Hugging Face ``Trainer`` callbacks: initreg's probe and weight penalty in ``Trainer.train``.

``pip install 'initreg[hf]'`` (transformers and accelerate). Each class is a
``transformers.TrainerCallback``:

- `ProbeTrainerCallback`: the signal-propagation probe (`initreg.probe.probe`) on a fixed
  training batch before training and every ``every_n_steps`` optimizer steps, with its
  verdict; it can stop training on a bad verdict.
- `WeightPenaltyTrainerCallback`: `WeightPenalty` ``R(θ) = l1 Σ|θ| + (l2/2) Σθ²`` added to
  the training loss without subclassing the ``Trainer``.
- `ActivityPenaltyTrainerCallback`: `ActivityPenalty` ``R = (1/B) Σ (l1 Σ|h| + (l2/2) Σh²)``
  on chosen modules' outputs ``h`` (every activation module by default; HF's GELU modules
  included), added to the loss the model returns.

>>> from initreg.integrations.hf import WeightPenaltyTrainerCallback
>>> WeightPenaltyTrainerCallback(l2=1e-4).penalty.l2
0.0001
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from ..utils.optional import require

transformers = require("transformers", extra="hf")
require("accelerate", extra="hf", feature="the Hugging Face Trainer")

from ..probe import ProbeReport, probe  # noqa: E402
from ..regularize.penalties import ActivityPenalty, WeightPenalty  # noqa: E402
from .penalty_step import add_penalty_gradient  # noqa: E402

__all__ = ["ProbeTrainerCallback", "WeightPenaltyTrainerCallback", "ActivityPenaltyTrainerCallback"]


class _CallWithBatch(nn.Module):
    """``model(**batch)`` as a one-argument module, so the probe can run a Hugging Face model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Mapping[str, Any]) -> Any:
        return self.model(**batch)


def _output_loss(out: Any, _y: Any) -> torch.Tensor:
    loss = out.get("loss") if isinstance(out, Mapping) else getattr(out, "loss", None)
    if loss is None:
        raise ValueError("the model returned no loss: the probe's batches need 'labels' (or pass loss_fn=...)")
    return loss


class ProbeTrainerCallback(transformers.TrainerCallback):
    """Probe signal propagation on one fixed training batch, before training and every
    ``every_n_steps`` optimizer steps; keep the `ProbeReport` objects in ``self.reports``.

    The batch is the first of the Trainer's training dataloader, run as ``model(**batch)``;
    the backward pass uses the loss the model returns (its batches carry ``labels``), or
    ``loss_fn(output, batch)``. Layer names are the model's own, prefixed with ``model.``.
    With ``stop_on`` (verdict labels: vanishing, exploding, saturated, dead), training stops
    at the first report with one of them (``self.stop_reason`` says why).

    Args:
        every_n_steps: probe after every that many optimizer steps (0: only before training).
        loss_fn: ``loss_fn(output, batch) -> loss`` when the model's output has no loss.
        stop_on: verdict labels that stop training.
        on_report: called with each report (e.g. ``print``).
        probe_kw: passed to `initreg.probe.probe` (``theory``, ``thresholds``…).
    """

    def __init__(self, every_n_steps: int = 0, *, loss_fn: Callable | None = None, stop_on: Sequence[str] = (),
                 on_report: Callable[[ProbeReport], None] | None = None, **probe_kw: Any):
        if every_n_steps < 0:
            raise ValueError(f"every_n_steps must be >= 0; got every_n_steps={every_n_steps}")
        self.every_n_steps, self.loss_fn = every_n_steps, loss_fn
        self.stop_on, self.on_report, self.probe_kw = tuple(stop_on), on_report, probe_kw
        self.reports: list[ProbeReport] = []
        self.stop_reason: str | None = None
        self._batch: dict[str, Any] | None = None

    def _run(self, state: Any, control: Any, model: nn.Module) -> None:
        dev = next(model.parameters()).device
        batch = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in self._batch.items()}
        loss_fn = self.loss_fn or _output_loss
        rep = probe(_CallWithBatch(model), batch, batch, loss_fn=loss_fn, **{"theory": False, **self.probe_kw})
        rep.meta.update(step=state.global_step, epoch=state.epoch)
        self.reports.append(rep)
        if self.on_report is not None:
            self.on_report(rep)
        if rep.label in self.stop_on and not control.should_training_stop:
            self.stop_reason = f"probe: verdict {rep.label!r} at step {state.global_step} ({rep.summary()})"
            control.should_training_stop = True

    def on_train_begin(self, args: Any, state: Any, control: Any, model: nn.Module | None = None,
                       train_dataloader: Any = None, **kw: Any):
        self.reports, self.stop_reason = [], None
        self._batch = dict(next(iter(train_dataloader)))
        self._run(state, control, model)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kw: Any):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._run(state, control, model)
        return control


class WeightPenaltyTrainerCallback(transformers.TrainerCallback):
    """`WeightPenalty` ``R(θ) = l1 Σ|θ| + (l2/2) Σθ²`` (times its schedule) added to the loss.

    At the start of each optimizer step (``on_step_begin``, the gradients are empty) the
    gradient ``∂R/∂θ`` is put into each selected weight's ``.grad``; the step's backward
    passes accumulate onto it, so gradient clipping and the update see the gradient of
    ``loss + R`` — what adding ``R`` to ``compute_loss`` gives. Under fp16 loss scaling the
    gradient is added after unscaling instead (``on_pre_optimizer_step``, after clipping).
    With gradient accumulation ``R`` counts once per optimizer step (as in `fit`), whatever
    the micro-batch loss normalization. Arguments are `WeightPenalty`'s. ``self.last`` is the
    last step's penalty.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kw: Any):
        self.penalty = WeightPenalty(l1, l2, **kw)
        self.last = float("nan")

    def _add_gradient(self, state: Any, model: nn.Module) -> None:
        r = add_penalty_gradient(self.penalty, model, state.global_step, state.max_steps)
        if r is not None:
            self.last = float(r)

    def on_step_begin(self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kw: Any):
        if not args.fp16:
            self._add_gradient(state, model)
        return control

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kw: Any):
        if args.fp16:
            self._add_gradient(state, model)
        return control


class ActivityPenaltyTrainerCallback(transformers.TrainerCallback):
    """`ActivityPenalty` ``R = (1/B) Σ_batch (l1 Σ|h| + (l2/2) Σh²)`` (times its schedule) on the
    outputs ``h`` of chosen modules, added to the loss the model returns.

    Forward hooks record the chosen modules' outputs in training-mode forwards; a forward hook
    on the model itself adds ``R`` to its output's ``loss``. The ``Trainer`` then treats
    ``loss + R`` as the model's loss — its gradient accumulation and fp16 loss scaling apply to
    ``R`` as to the loss, so the gradients are those of ``compute_loss`` returning ``loss + R``.
    When the ``Trainer`` passes ``num_items_in_batch`` to the model (it then does not divide
    the loss by the accumulation steps), ``R`` is divided by them, so it counts once per
    optimizer step either way. The model must compute its loss (its batches carry ``labels``).
    Evaluation forwards (eval mode, no grad) are not penalized. ``self.last`` is the last
    training forward's ``R``. Arguments are `ActivityPenalty`'s (``modules=None``: every
    activation module, Hugging Face's own GELU modules included).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kw: Any):
        self.penalty = ActivityPenalty(l1, l2, **kw)
        self.last = float("nan")
        self._handle: Any = None
        self._state: Any = None
        self._accumulation = 1

    def _add_to_loss(self, module: nn.Module, args: Any, kwargs: dict[str, Any], output: Any) -> Any:
        pen = self.penalty
        if not (module.training and torch.is_grad_enabled()):
            pen.penalty()  # forget the terms of a forward that trains nothing
            return None
        loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
        if loss is None:
            pen.penalty()
            raise ValueError("ActivityPenaltyTrainerCallback adds R to the loss the model returns, and this model "
                             "returned none: give its training batches 'labels'")
        st = self._state
        s = pen.multiplier(SimpleNamespace(step=st.global_step, total_steps=max(st.max_steps, 1))) \
            if pen.schedule != "constant" and st is not None else 1.0
        r = pen.penalty(s)
        if "num_items_in_batch" in kwargs:  # the Trainer will not divide this micro-batch's loss by the steps
            r = r / self._accumulation
        self.last = float(r.detach())
        output["loss"] = loss + r.to(loss.dtype)
        return output

    def on_train_begin(self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kw: Any):
        self.detach()
        self._state, self._accumulation = state, max(int(args.gradient_accumulation_steps), 1)
        self.penalty.attach(model)
        self._handle = model.register_forward_hook(self._add_to_loss, with_kwargs=True)
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any):
        self.detach()
        return control

    def detach(self) -> None:
        """Remove the hooks from the model (done at the end of training)."""
        self.penalty.detach()
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __repr__(self) -> str:
        last = "" if math.isnan(self.last) else f", last={self.last:.4g}"
        return f"ActivityPenaltyTrainerCallback(l1={self.penalty.l1}, l2={self.penalty.l2}{last})"
