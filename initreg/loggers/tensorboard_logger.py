"""`TensorBoardLogger`: every evaluation record of `fit` as TensorBoard scalars, written live."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..train.callbacks import Callback, TrainState
from ..utils.optional import require

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(Callback):
    """Write each evaluation's numeric metrics as scalars (x axis: the optimizer step).

    ``tensorboard --logdir LOG_DIR`` shows them while the run trains; the events are flushed
    after every evaluation, so a killed run keeps what it logged. Needs the ``tensorboard``
    extra (``torch.utils.tensorboard`` writes the files).

    Args:
        log_dir: the folder for the event files.
        prefix: prepended to each tag (e.g. ``"seed0/"``).
        flush_secs: the writer's background flush interval.
    """

    def __init__(self, log_dir: str | Path, *, prefix: str = "", flush_secs: int = 30):
        require("tensorboard", extra="tensorboard", feature="the TensorBoard logger")
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir, self.prefix = Path(log_dir), prefix
        self._writer_cls, self.flush_secs = SummaryWriter, flush_secs
        self.writer = None

    def on_fit_start(self, state: TrainState) -> None:
        self.writer = self._writer_cls(log_dir=str(self.log_dir), flush_secs=self.flush_secs)

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        if self.writer is None:
            self.on_fit_start(state)
        step = int(record.get("step", state.step))
        for k, v in record.items():
            if k in ("step", "epoch") or isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                continue
            self.writer.add_scalar(self.prefix + k, float(v), global_step=step)
        self.writer.flush()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def on_fit_end(self, state: TrainState) -> None:
        self._close()

    def on_fit_abort(self, state: TrainState, error: BaseException) -> None:
        self._close()
