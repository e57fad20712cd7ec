"""Sweeps: a grid, random or TPE (Optuna) search over any run-config keys × seeds, run by a
local process pool or a Ray cluster, with every result in an embedded SQLite database; a
median or successive-halving pruner stops bad runs early, and a rerun resumes unfinished
runs from their checkpoints.

>>> from initreg.sweep import load_spec
>>> spec = load_spec({"base": {"data": {"name": "digits"}}, "params": {"train.lr": [0.01, 0.1]}, "seeds": 2})
>>> [r.params for r in spec.expand()][:2]
[{'train.lr': 0.01}, {'train.lr': 0.01}]
"""

from .figure import plot_sweep
from .run import run_sweep
from .spec import SweepSpec, Trial, load_spec
from .store import Store, open_store

__all__ = ["Store", "SweepSpec", "Trial", "load_spec", "open_store", "plot_sweep", "run_sweep"]
