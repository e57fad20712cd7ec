"""Early stopping of bad trials: a median pruner and a successive-halving pruner.

Each trial reports its metric at every evaluation (`Reporter`, a `fit` callback driven by
``on_evaluate``) to the sweep's database; the pruner compares it with the other trials' values
at the same number of completed epochs and stops the trial at once when it is behind. The
decision rules are Optuna's (`optuna.pruners.MedianPruner`, `optuna.pruners.SuccessiveHalvingPruner`),
with epochs as the step; `tests/sweep` checks that both agree with Optuna's on the same reports.

**median** (the median stopping rule; Golovin et al., *Google Vizier*, KDD 2017): from epoch
``warmup_epochs`` on, once ``startup_trials`` trials finished, prune a trial whose best value so
far is worse than the median of the values at the same epoch of the finished (``done``) trials
(at least ``min_trials`` of them must have reported there).

**successive_halving** (asynchronous SHA; Li et al., *A System for Massively Parallel
Hyperparameter Tuning*, MLSys 2020): rungs at ``min_epochs · reduction_factor^k`` epochs; a
trial reaching a rung carries on only if its value is among the best ``1/reduction_factor`` of
every trial that reached that rung so far (the best one when fewer than ``reduction_factor``
reached it).

>>> p = build_pruner({"name": "median", "warmup_epochs": 1}, metric="val_loss", mode="min")
>>> p.prune(Reports(epoch=2, own=[1.2, 0.9], finished=[0.3, 0.5, 0.4], n_finished=3, reached=[]))
True
>>> p.prune(Reports(epoch=2, own=[1.2, 0.35], finished=[0.3, 0.5, 0.4], n_finished=3, reached=[]))
False
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError
from ..registry import Registry, format_validation_error
from ..train.callbacks import Callback, TrainState

__all__ = ["Pruner", "Reports", "MedianPruner", "SuccessiveHalvingPruner", "pruners", "build_pruner", "Reporter", "REPORT_METRICS"]

REPORT_METRICS = ("val_loss", "val_acc", "val_ece", "train_loss", "train_acc")  # what every evaluation records


class Pruner(BaseModel):
    """What every pruner has: the metric it watches and its direction; `prune` decides."""

    model_config = ConfigDict(extra="forbid")
    name: str
    metric: str = "val_loss"  # a metric every evaluation records
    mode: Literal["min", "max"] | None = None  # default: max for *_acc, else min

    @pydantic.field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in REPORT_METRICS:
            raise ValueError(f"metric must be one of {', '.join(REPORT_METRICS)} (recorded at every evaluation); got metric={v!r}")
        return v

    @property
    def direction(self) -> str:
        return self.mode or ("max" if self.metric.endswith("_acc") else "min")

    def worse(self, a: float, b: float) -> bool:
        """``a`` is strictly worse than ``b``."""
        return a > b if self.direction == "min" else a < b

    def prune(self, r: Reports) -> bool:
        """Whether the trial stops now (`Reports`: what the sweep knows at its epoch)."""
        raise NotImplementedError


@dataclass
class Reports:
    """What a pruner sees when a trial reports at ``epoch``."""

    epoch: int
    own: list[float]  # the trial's values so far (one per evaluated epoch), the last at ``epoch``
    finished: list[float]  # the values at ``epoch`` of the trials that finished (done)
    n_finished: int  # trials finished (done), whether or not they reported at ``epoch``
    reached: list[float]  # the values at ``epoch`` of every other trial that reported there


class MedianPruner(Pruner):
    """Stop a trial whose best value so far is worse than the median of the finished trials at the same epoch."""

    name: Literal["median"] = "median"
    warmup_epochs: int = Field(0, ge=0)  # no pruning before this many completed epochs
    startup_trials: int = Field(1, ge=0)  # no pruning until this many trials finished
    min_trials: int = Field(1, ge=1)  # finished trials that must have reported at the epoch

    def prune(self, r: Reports) -> bool:
        if r.epoch < self.warmup_epochs or r.n_finished == 0 or r.n_finished < self.startup_trials:
            return False
        if len(r.finished) < self.min_trials:
            return False
        best = min(r.own) if self.direction == "min" else max(r.own)
        return self.worse(best, statistics.median(r.finished))


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving: at each rung keep the best 1/reduction_factor."""

    name: Literal["successive_halving"] = "successive_halving"
    min_epochs: int = Field(1, ge=1)  # the first rung
    reduction_factor: int = Field(3, ge=2)  # η: rungs at min_epochs·η^k epochs, the best 1/η carry on

    def is_rung(self, epoch: int) -> bool:
        """``epoch`` is ``min_epochs · reduction_factor^k`` for some k ≥ 0."""
        if epoch < self.min_epochs or epoch % self.min_epochs:
            return False
        q = epoch // self.min_epochs
        while q % self.reduction_factor == 0:
            q //= self.reduction_factor
        return q == 1

    def prune(self, r: Reports) -> bool:
        if not self.is_rung(r.epoch):
            return False
        value = r.own[-1]
        values = sorted([*r.reached, value], reverse=self.direction == "max")  # best first
        k = max(len(values) // self.reduction_factor - 1, 0)
        return self.worse(value, values[k])


pruners: Registry[type[Pruner]] = Registry("pruner")
pruners.register("median", MedianPruner)
pruners.register("successive_halving", SuccessiveHalvingPruner)


def build_pruner(config: Mapping[str, Any], *, metric: str | None = None, mode: str | None = None) -> Pruner:
    """A validated pruner from ``{name, **options}``; ``metric``/``mode`` are the defaults (the
    sweep's) when the config gives none and the sweep's metric is recorded at each evaluation."""
    if not isinstance(config, Mapping) or "name" not in config:
        raise ConfigError(f"pruner must be a mapping with a name (known: {', '.join(pruners.names())}); got {config!r}")
    cls = pruners.get(config["name"])
    raw = dict(config)
    if "metric" not in raw and metric in REPORT_METRICS:
        raw["metric"] = metric
        raw.setdefault("mode", mode)
    try:
        return cls(**raw)
    except pydantic.ValidationError as e:
        raise ConfigError(f"pruner {config['name']!r}: {format_validation_error(e)}") from None


class Reporter(Callback):
    """Reports ``metric`` at each evaluation to ``judge`` (`initreg.sweep.judge.Judge`, whose
    ``report`` says whether to stop); stops training at once when pruned."""

    def __init__(self, judge: Any, trial: str, metric: str):
        self.judge, self.trial, self.metric = judge, trial, metric
        self.pruned: dict[str, Any] | None = None

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        v = record.get(self.metric)
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            return  # a diverged run stops by itself
        if self.judge.report(self.trial, state.epoch, state.step, float(v)):
            self.pruned = {"pruned_epoch": state.epoch, "pruned_step": state.step, f"pruned_{self.metric}": float(v)}
            state.stop, state.stop_reason = True, f"pruned at epoch {state.epoch}: {self.metric}={v:.4g}"
