"""Training: `fit` (a fast in-memory loop with callbacks), its config and history, runs."""

from .callbacks import Callback, TrainState
from .config import TrainConfig
from .fit import evaluate, fit, loss_function, make_optimizer, make_scheduler
from .history import History
from .run import RunConfig, load_config, run

__all__ = ["Callback", "History", "TrainConfig", "TrainState", "evaluate", "fit", "loss_function", "make_optimizer", "make_scheduler", "RunConfig", "load_config", "run"]
