"""Early stopping: patience on any metric, and Prechelt's (1998) criteria GL_α, PQ_α, UP_s.

Papers: L. Prechelt, "Early Stopping — But When?", in *Neural Networks: Tricks of the Trade*
(1998). With E_va(t) the validation error after evaluation t, E_opt(t) = min_{t'≤t} E_va(t')
and E_tr the training error:

- **GL_α** (generalization loss): ``GL(t) = 100 · (E_va(t) / E_opt(t) − 1)``; stop at the first
  t with ``GL(t) > α``.
- **PQ_α** (progress quotient), checked at the end of each strip of k evaluations:
  ``P_k(t) = 1000 · (Σ_{t'=t−k+1..t} E_tr(t') / (k · min_{t'=t−k+1..t} E_tr(t')) − 1)``;
  stop at the first strip end with ``GL(t) / P_k(t) > α``.
- **UP_s** (up): stop at strip end t when the validation error rose in s successive strips:
  ``E_va(t − i·k) > E_va(t − (i+1)·k)`` for i = 0 … s−1 (needs s+1 strip ends).

The plain rule (Keras' ``EarlyStopping``): stop when ``monitor`` has not improved by more
than ``min_delta`` for ``patience`` evaluations. Either way the callback can restore the
weights of the best evaluation at the end, and records where and why it stopped
(``state.stop_reason``, `EarlyStopping.report`).

>>> import torch
>>> from initreg.data import load_data
>>> from initreg.models import build_model
>>> from initreg.train import fit
>>> d = load_data({"name": "digits", "train_size": 200})
>>> m = build_model({"name": "mlp", "depth": 1, "width": 32}, d.input_shape, d.num_outputs, seed=0)
>>> es = EarlyStopping(patience=2)
>>> h = fit(m, d, {"epochs": 300, "lr": 0.01, "progress": "none"}, callbacks=[es])
>>> h.epochs < 300, es.report["best_epoch"] <= h.epochs
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch

from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from . import regularizers

__all__ = ["EarlyStopping", "generalization_loss", "training_progress", "prechelt_fires", "prechelt_stop"]

Criterion = Literal["patience", "GL", "PQ", "UP"]


def generalization_loss(val: Sequence[float]) -> float:
    """``GL(t) = 100 · (E_va(t) / min_{t'≤t} E_va(t') − 1)`` for the last entry of ``val``.

    >>> round(generalization_loss([1.0, 0.5, 0.6]), 9)
    20.0
    """
    if not val:
        raise ValueError("generalization_loss needs at least one value; got an empty sequence")
    best = min(val)
    if best <= 0:
        raise ValueError(f"GL needs a positive error (a loss or error rate); got min E_va = {best}")
    return 100.0 * (val[-1] / best - 1.0)


def training_progress(train: Sequence[float], k: int = 5) -> float:
    """``P_k(t) = 1000 · (mean of the last k E_tr / their min − 1)``.

    >>> training_progress([1.0, 1.0, 1.0, 1.0, 1.0])
    0.0
    """
    if k < 1 or len(train) < k:
        raise ValueError(f"training_progress needs k >= 1 and at least k values; got k={k}, {len(train)} values")
    strip = list(train[-k:])
    lo = min(strip)
    if lo <= 0:
        raise ValueError(f"P_k needs a positive training error; got min E_tr = {lo} in the last strip")
    return 1000.0 * (sum(strip) / (k * lo) - 1.0)


def prechelt_fires(criterion: str, val: Sequence[float], train: Sequence[float] = (), *, alpha: float | None = None,
                   k: int = 5, s: int = 3) -> tuple[bool, str]:
    """Whether Prechelt's ``criterion`` ("GL", "PQ" or "UP") stops after the last evaluation.

    ``val`` / ``train`` are the errors of evaluations 1 … t (the last one is "now"). PQ and
    UP are checked only at strip ends (t a multiple of ``k``). Returns ``(fires, reason)``.

    >>> prechelt_fires("GL", [1.0, 0.8, 0.9], alpha=5)
    (True, 'GL_5: generalization loss 12.5 > 5 at evaluation 3')
    """
    t = len(val)
    if t == 0:
        return False, ""
    if criterion == "GL":
        a = 5.0 if alpha is None else alpha
        gl = generalization_loss(val)
        return gl > a, f"GL_{a:g}: generalization loss {gl:.3g} > {a:g} at evaluation {t}"
    if criterion == "PQ":
        a = 0.5 if alpha is None else alpha
        if t % k or len(train) < t:
            return False, ""
        gl, pk = generalization_loss(val), training_progress(train[:t], k)
        q = math.inf if pk == 0 else gl / pk
        return q > a, f"PQ_{a:g}: GL/P_{k} = {gl:.3g}/{pk:.3g} = {q:.3g} > {a:g} at evaluation {t}"
    if criterion == "UP":
        if t % k or t < (s + 1) * k:
            return False, ""
        ups = all(val[t - 1 - i * k] > val[t - 1 - (i + 1) * k] for i in range(s))
        return ups, f"UP_{s}: validation error rose in {s} successive strips of {k} at evaluation {t}"
    raise ConfigError(f"criterion must be 'GL', 'PQ' or 'UP'; got criterion={criterion!r}")


def prechelt_stop(criterion: str, val: Sequence[float], train: Sequence[float] = (), *, alpha: float | None = None,
                  k: int = 5, s: int = 3) -> int | None:
    """The first evaluation (1-based) after which ``criterion`` stops, or None.

    >>> prechelt_stop("UP", [5, 4, 3, 4, 5, 6], k=1, s=2)
    5
    """
    for t in range(1, len(val) + 1):
        if prechelt_fires(criterion, val[:t], train[:t], alpha=alpha, k=k, s=s)[0]:
            return t
    return None


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving; optionally restore the best weights.

    Checked after every evaluation (each epoch by default, or every ``train.eval_every``
    steps). The best evaluation is the one with the lowest (``mode="min"``) or highest
    (``"max"``) value of ``monitor``; with ``restore_best`` its weights are loaded back at
    the end of the run, whether it stopped early or not, before the test evaluation.

    Args:
        monitor: a key of the evaluation record, e.g. ``val_loss``, ``val_acc``, ``val_ece``.
        mode: ``min``, ``max`` or ``auto`` (``max`` for names containing "acc", else ``min``).
        patience: evaluations without an improvement of more than ``min_delta`` before
            stopping (``criterion="patience"``).
        min_delta: the smallest change that counts as an improvement.
        restore_best: load the best evaluation's weights at the end.
        criterion: ``patience`` or one of Prechelt's ``GL``, ``PQ``, ``UP`` (these need a
            positive error to minimize: a loss, not an accuracy).
        alpha: the threshold of GL (default 5) or PQ (default 0.5).
        strip: Prechelt's strip length k (PQ, UP).
        s: number of successive rising strips for UP.
        train_monitor: the training error for PQ (the running mean of batch losses by default).
    """

    def __init__(self, monitor: str = "val_loss", mode: Literal["auto", "min", "max"] = "auto", patience: int = 10,
                 min_delta: float = 0.0, restore_best: bool = True, criterion: Criterion = "patience",
                 alpha: float | None = None, strip: int = 5, s: int = 3, train_monitor: str = "train_loss"):
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"mode must be 'auto', 'min' or 'max'; got mode={mode!r}")
        if criterion not in ("patience", "GL", "PQ", "UP"):
            raise ConfigError(f"criterion must be 'patience', 'GL', 'PQ' or 'UP'; got criterion={criterion!r}")
        if patience < 0:
            raise ConfigError(f"patience must be >= 0; got patience={patience}")
        if min_delta < 0:
            raise ConfigError(f"min_delta must be >= 0; got min_delta={min_delta}")
        if strip < 1 or s < 1:
            raise ConfigError(f"strip and s must be >= 1; got strip={strip}, s={s}")
        if alpha is not None and alpha < 0:
            raise ConfigError(f"alpha must be >= 0; got alpha={alpha}")
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        if criterion != "patience" and self.mode != "min":
            raise ConfigError(f"criterion={criterion!r} needs an error to minimize; got monitor={monitor!r} with "
                              f"mode={self.mode!r}. Monitor a loss (e.g. val_loss) or use criterion='patience'")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best, self.criterion, self.alpha = restore_best, criterion, alpha
        self.strip, self.s, self.train_monitor = strip, s, train_monitor
        self._reset()

    stacks = True  # epoch-level only: in stacked training each copy stops (and restores its best) on its own

    def get_config(self) -> dict[str, Any]:
        return {"name": "early_stopping", "monitor": self.monitor, "mode": self.mode, "patience": self.patience,
                "min_delta": self.min_delta, "restore_best": self.restore_best, "criterion": self.criterion,
                "alpha": self.alpha, "strip": self.strip, "s": self.s, "train_monitor": self.train_monitor}

    def _reset(self) -> None:
        self.values: list[float] = []
        self.train_values: list[float] = []
        self.best_value = math.inf if self.mode == "min" else -math.inf
        self.best_index = 0  # 1-based evaluation index of the best value (0: none yet)
        self.best_record: dict[str, Any] = {}
        self.wait = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.report: dict[str, Any] = {}

    def _better(self, v: float, delta: float) -> bool:
        if math.isnan(v):
            return False
        return v < self.best_value - delta if self.mode == "min" else v > self.best_value + delta

    def on_fit_start(self, state: TrainState) -> None:
        self._reset()

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        if self.monitor not in record:
            raise ConfigError(f"early_stopping: monitor={self.monitor!r} is not in the evaluation record; "
                              f"available: {', '.join(k for k in record if k not in ('epoch', 'step'))}")
        v = float(record[self.monitor])
        self.values.append(v)
        if self.criterion == "PQ":
            if self.train_monitor not in record:
                raise ConfigError(f"early_stopping: train_monitor={self.train_monitor!r} is not in the evaluation "
                                  f"record; available: {', '.join(record)}")
            self.train_values.append(float(record[self.train_monitor]))
        # Patience counts only improvements beyond min_delta; Prechelt's criteria track the exact optimum.
        delta = self.min_delta if self.criterion == "patience" else 0.0
        if self._better(v, delta):
            self.best_value, self.best_index, self.wait = v, len(self.values), 0
            self.best_record = dict(record)
            if self.restore_best:
                self.best_state = {k: t.detach().clone() for k, t in state.model.state_dict().items()}
        else:
            self.wait += 1
        where = f"epoch {record.get('epoch')}, step {record.get('step')}"
        best = f"best {self.monitor}={self.best_value:.4g} at epoch {self.best_record.get('epoch')}"
        if self.criterion == "patience":
            fires = self.wait > 0 and self.wait >= self.patience
            why = (f"early stopping: {self.monitor} did not improve by more than {self.min_delta:g} "
                   f"for {self.wait} evaluation(s) (patience={self.patience}); {best}; stopped at {where}")
        else:
            fires, why = prechelt_fires(self.criterion, self.values, self.train_values, alpha=self.alpha,
                                        k=self.strip, s=self.s)
            why = f"early stopping ({why}); {best}; stopped at {where}"
        if fires and not state.stop:
            state.stop, state.stop_reason = True, why
            self.report.update(stopped=True, stop_epoch=record.get("epoch"), stop_step=record.get("step"), reason=why)

    def on_fit_end(self, state: TrainState) -> None:
        self.report.setdefault("stopped", False)
        self.report.update(monitor=self.monitor, best_value=self.best_value, best_epoch=self.best_record.get("epoch"),
                           best_step=self.best_record.get("step"), evaluations=len(self.values), restored=False)
        if self.restore_best and self.best_state is not None and self.best_index != len(self.values):
            state.model.load_state_dict(self.best_state)
            self.report["restored"] = True
        if not self.report["stopped"]:
            self.report["reason"] = state.stop_reason or "ran to the end of the budget"
        state.extra["early_stopping"] = dict(self.report)


regularizers.register("early_stopping", EarlyStopping)
