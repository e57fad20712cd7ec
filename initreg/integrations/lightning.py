"""Lightning callbacks: initreg's init, probe, penalties and early stopping in ``Trainer.fit``.

``pip install 'initreg[lightning]'``. Each class is a ``lightning.pytorch.Callback``:

- `InitAtSetup`: initialize the LightningModule's Linear/Conv layers with a scheme when
  ``fit`` sets up (seeded; the per-layer `InitReport` is kept).
- `LightningProbe`: the signal-propagation probe (`initreg.probe.probe`) on a fixed training
  batch before training and every ``every_n_epochs`` epochs, with its verdict; it can stop
  training on a bad verdict.
- `LightningWeightPenalty`, `LightningActivityPenalty`: `WeightPenalty` / `ActivityPenalty`
  added to the training loss, without changing the module's ``training_step``.
- `LightningEarlyStopping`: `EarlyStopping` (patience, or Prechelt's GL/PQ/UP) on the
  metrics the module logs, restoring the best weights at the end.

>>> from initreg.integrations.lightning import LightningWeightPenalty
>>> LightningWeightPenalty(l2=1e-4).penalty.l2
0.0001
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import torch

from ..utils.optional import require

pl = require("lightning.pytorch", extra="lightning")

from ..init import initialize  # noqa: E402
from ..probe import ProbeReport, probe  # noqa: E402
from ..regularize.early_stopping import EarlyStopping  # noqa: E402
from ..regularize.penalties import ActivityPenalty, WeightPenalty  # noqa: E402
from .penalty_step import add_penalty_gradient  # noqa: E402

__all__ = ["InitAtSetup", "LightningProbe", "LightningWeightPenalty", "LightningActivityPenalty",
           "LightningEarlyStopping"]

Batch = Callable[[Any], tuple[torch.Tensor, torch.Tensor | None]]


def _xy(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(x, y)`` from a batch that is a tensor, ``(x, y, ...)`` or ``{"x"/"input": ..., "y"/"label": ...}``."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0], batch[1] if len(batch) > 1 else None
    if isinstance(batch, dict):
        x = next((batch[k] for k in ("x", "input", "inputs") if k in batch), None)
        y = next((batch[k] for k in ("y", "label", "labels", "target") if k in batch), None)
        if x is not None:
            return x, y
    raise ValueError(f"cannot read (inputs, targets) from a batch of type {type(batch).__name__}; "
                     "pass batch=lambda b: (x, y) to the callback")


def _progress(trainer: Any) -> float:
    """Share of the training budget done, for the penalties' strength schedules."""
    total = trainer.estimated_stepping_batches
    return trainer.global_step / total if total and total != float("inf") else 0.0


class InitAtSetup(pl.Callback):
    """Initialize the module with ``scheme`` (see `initreg.init.initialize`) at ``setup("fit")``.

    The weights come from a generator seeded with ``seed``; the `InitReport` is kept in
    ``self.report``. Runs once: a resumed or second ``fit`` keeps the trained weights.
    """

    def __init__(self, scheme: str | dict[str, Any] = "auto", *, seed: int = 0, **kw: Any):
        self.scheme, self.seed, self.kw = scheme, seed, kw
        self.report = None

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if stage != "fit" or self.report is not None:
            return
        g = torch.Generator(device=pl_module.device).manual_seed(self.seed)
        self.report = initialize(pl_module, self.scheme, generator=g, **self.kw)


class LightningProbe(pl.Callback):
    """Probe signal propagation on one fixed training batch, before training and every
    ``every_n_epochs`` epochs after; keep the `ProbeReport` objects in ``self.reports``.

    Each report's overall verdict (healthy / vanishing / exploding / saturated / dead) is
    logged as ``probe/healthy`` (1 or 0) and ``probe/worst_fwd_ratio`` when the trainer has
    a logger. With ``stop_on`` (verdict labels), training stops at the first report with one
    of them (``self.stop_reason`` says why).

    Args:
        every_n_epochs: probe after every that many epochs (0: only before training).
        batch: ``batch -> (x, y)`` for batches that are not ``(x, y, ...)`` tuples or dicts.
        loss_fn: ``loss_fn(output, y)`` for the backward pass (default: cross-entropy for
            integer targets, MSE otherwise).
        stop_on: verdict labels that stop training.
        on_report: called with each report (e.g. ``print``).
        probe_kw: passed to `initreg.probe.probe` (``theory``, ``thresholds``, ``jacobian``…).
    """

    def __init__(self, every_n_epochs: int = 1, *, batch: Batch | None = None, loss_fn: Callable | None = None,
                 stop_on: Sequence[str] = (), on_report: Callable[[ProbeReport], None] | None = None, **probe_kw: Any):
        if every_n_epochs < 0:
            raise ValueError(f"every_n_epochs must be >= 0; got every_n_epochs={every_n_epochs}")
        self.every_n_epochs, self.batch, self.loss_fn = every_n_epochs, batch or _xy, loss_fn
        self.stop_on, self.on_report, self.probe_kw = tuple(stop_on), on_report, probe_kw
        self.reports: list[ProbeReport] = []
        self.stop_reason: str | None = None
        self._xy: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def _run(self, trainer: Any, pl_module: Any) -> None:
        x, y = self._xy
        rep = probe(pl_module, x.to(pl_module.device), None if y is None else y.to(pl_module.device),
                    loss_fn=self.loss_fn, **self.probe_kw)
        rep.meta.update(epoch=trainer.current_epoch, step=trainer.global_step)
        self.reports.append(rep)
        if self.on_report is not None:
            self.on_report(rep)
        if trainer.logger is not None:
            fwd = [r.fwd_ratio for r in rep.layers if r.fwd_ratio == r.fwd_ratio]
            trainer.logger.log_metrics({"probe/healthy": float(rep.healthy),
                                        **({"probe/worst_fwd_ratio": max(fwd, key=lambda v: abs(v - 1))} if fwd else {})},
                                       step=trainer.global_step)
        if rep.label in self.stop_on and not trainer.should_stop:
            self.stop_reason = f"probe: verdict {rep.label!r} at epoch {trainer.current_epoch} ({rep.summary()})"
            trainer.should_stop = True

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self.reports, self.stop_reason = [], None
        self._xy = self.batch(next(iter(trainer.train_dataloader)))
        self._run(trainer, pl_module)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._run(trainer, pl_module)


class LightningWeightPenalty(pl.Callback):
    """`WeightPenalty` ``R(θ) = l1 Σ|θ| + (l2/2) Σθ²`` (times its schedule) added to the loss.

    Its gradient ``∂R/∂θ`` is added to each selected weight's gradient once per optimizer
    step (``on_before_optimizer_step``: after gradient accumulation and AMP unscaling, before
    gradient clipping), which is the gradient of ``loss + R``. The penalty is logged as
    ``weight_penalty``. Arguments are `WeightPenalty`'s.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kw: Any):
        self.penalty = WeightPenalty(l1, l2, **kw)

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        r = add_penalty_gradient(self.penalty, pl_module, trainer.global_step, trainer.estimated_stepping_batches)
        if r is None:
            return
        pl_module.log("weight_penalty", r, on_step=True, on_epoch=False, logger=bool(trainer.loggers))


class LightningActivityPenalty(pl.Callback):
    """`ActivityPenalty` ``(1/B) Σ (l1 Σ|h| + (l2/2) Σh²)`` on chosen modules' outputs, added to
    the loss of each training step.

    Forward hooks record the training forwards' outputs; just before the step's backward
    (``on_before_backward``) the penalty's own backward runs first, scaled as Lightning scales
    the loss (gradient accumulation, the AMP loss scale), so the gradients are those of
    ``loss + R``. Logged as ``activity_penalty``. Arguments are `ActivityPenalty`'s.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kw: Any):
        self.penalty = ActivityPenalty(l1, l2, **kw)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.penalty.attach(pl_module)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.penalty.penalty()  # drop terms of forwards outside a training step (validation runs no_grad anyway)

    def on_before_backward(self, trainer: Any, pl_module: Any, loss: torch.Tensor) -> None:
        pen = self.penalty
        s = pen.multiplier(SimpleNamespace(step=trainer.global_step, total_steps=trainer.estimated_stepping_batches)) \
            if pen.schedule != "constant" else 1.0
        r = pen.penalty(s)
        if not r.requires_grad:
            return
        pl_module.log("activity_penalty", r.detach(), on_step=True, on_epoch=False, logger=bool(trainer.loggers))
        scaled = r / max(trainer.accumulate_grad_batches, 1)
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        if scaler is not None:
            scaled = scaler.scale(scaled)
        scaled.backward(retain_graph=True)  # the loss's backward goes through the same forward next

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.penalty.detach()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.penalty.detach()


class LightningEarlyStopping(pl.Callback):
    """`EarlyStopping` on the metrics the module logs (``self.log("val_loss", ...)``).

    After each validation (sanity check excluded) the logged metrics form the evaluation
    record (with ``epoch`` and ``step``); ``train_loss`` must be logged per epoch for
    Prechelt's PQ. When the criterion fires, ``trainer.should_stop`` is set; with
    ``restore_best`` the best evaluation's weights are loaded back when training ends.
    ``self.report`` says where and why it stopped. Arguments are `EarlyStopping`'s, e.g.
    ``LightningEarlyStopping(criterion="GL", alpha=5)``.
    """

    def __init__(self, monitor: str = "val_loss", **kw: Any):
        self.early = EarlyStopping(monitor, **kw)
        self._state: SimpleNamespace | None = None

    @property
    def report(self) -> dict[str, Any]:
        return self.early.report

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # EarlyStopping reads and writes only these fields of fit's TrainState
        self._state = SimpleNamespace(model=pl_module, stop=False, stop_reason=None, extra={})
        self.early.on_fit_start(self._state)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or self._state is None:
            return
        record: dict[str, Any] = {"epoch": trainer.current_epoch + 1, "step": trainer.global_step}
        record.update({k: float(v) for k, v in trainer.callback_metrics.items()
                       if isinstance(v, (int, float)) or (isinstance(v, torch.Tensor) and v.numel() == 1)})
        self.early.on_evaluate(self._state, record)
        if self._state.stop:
            trainer.should_stop = True

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self._state is not None:
            self.early.on_fit_end(self._state)
