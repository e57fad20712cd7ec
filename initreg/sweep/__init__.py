"""Sweeps: a grid or random search over any run-config keys × seeds, run by a local
process pool or a Ray cluster, with every result in an embedded SQLite database.

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
