"""Model-based search: ``method: tpe`` asks Optuna's Tree-structured Parzen Estimator for the
next settings and tells it each setting's metric (the mean over the sweep's seeds).

TPE (Bergstra et al., *Algorithms for Hyper-Parameter Optimization*, NeurIPS 2011) models
p(x | good) and p(x | bad) from the settings seen so far — the best γ fraction are "good" —
and proposes the x that maximizes their ratio l(x)/g(x); the first ``startup_trials``
settings are drawn at random. A list of values is a categorical parameter (its index is what
TPE sees), a range ``{low, high, log, int}`` a float or integer one.

The sweep asks ``batch`` settings at a time, runs them, and tells their results in order
before asking again, so the settings depend only on the seed, the batch size and the results:
a sweep rerun with the same spec asks the same settings, which is how a killed TPE sweep
resumes (finished runs are told from the database, not run again). A setting whose runs did
not all give a finite metric (diverged, failed) is told as failed; a pruned run counts with
the metric of its last evaluation.

>>> from initreg.sweep import load_spec
>>> spec = load_spec({"base": {"data": {"name": "digits"}}, "method": "tpe", "trials": 3,
...                   "params": {"train.lr": {"low": 1e-3, "high": 1e-1, "log": True}}})
>>> s = TpeSearch(spec)
>>> [(handle, params)] = s.ask(1)
>>> round(params["train.lr"], 4)
0.0125
>>> s.tell(handle, [0.52, 0.48])  # the mean over two seeds
0.5
"""

from __future__ import annotations

import math
from typing import Any

from ..utils.optional import require
from .spec import Range, SweepSpec

__all__ = ["TpeSearch"]


class TpeSearch:
    """Ask-and-tell over an Optuna study with a seeded `optuna.samplers.TPESampler`."""

    def __init__(self, spec: SweepSpec):
        optuna = require("optuna", extra="optuna", feature="method: tpe")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna, self.spec = optuna, spec
        sampler = optuna.samplers.TPESampler(seed=spec.sample_seed, n_startup_trials=spec.startup_trials)
        self.study = optuna.create_study(direction="minimize" if spec.mode == "min" else "maximize", sampler=sampler)
        d = optuna.distributions
        self.dists: dict[str, Any] = {}
        for k, v in spec.params.items():
            if isinstance(v, Range):
                self.dists[k] = (d.IntDistribution(math.ceil(v.low), math.floor(v.high), log=v.log) if v.int
                                 else d.FloatDistribution(v.low, v.high, log=v.log))
            else:
                self.dists[k] = d.CategoricalDistribution(list(range(len(v))))  # values may be lists or mappings

    def _value(self, k: str, x: Any) -> Any:
        v = self.spec.params[k]
        return x if isinstance(v, Range) else v[x]

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        """``n`` new settings: ``(handle, params)`` pairs (give the handle back to `tell`)."""
        out = []
        for _ in range(n):
            t = self.study.ask(self.dists)
            out.append((t, {k: self._value(k, t.params[k]) for k in self.spec.params}))
        return out

    def tell(self, handle: Any, values: list[float | None]) -> float | None:
        """Tell a setting's metric over its seeds (None or NaN: that run gave none); returns the
        value told (their mean), or None when the setting is told as failed."""
        ok = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        if not values or len(ok) < len(values):
            self.study.tell(handle, state=self.optuna.trial.TrialState.FAIL)
            return None
        mean = sum(ok) / len(ok)
        self.study.tell(handle, mean)
        return mean
