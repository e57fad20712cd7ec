"""The callback interface of `fit`.

Override only the hooks you need; `fit` calls only overridden hooks, so an unused hook
costs nothing. Set ``state.stop = True`` (and ``state.stop_reason``) to end training after
the current step or epoch.

Hook order per step: ``on_batch`` (may replace the batch: mixup, augmentation) → forward →
``on_loss`` (may add a penalty) → backward → ``on_after_backward`` (read or change
gradients) → optimizer step → ``on_step_end`` (constraints, probes, pruning masks). When an
exception ends training, ``on_fit_abort`` runs instead of ``on_fit_end``.

A callback that sets ``stacks = True`` can run per copy when `fit_seeds` trains K seeds as
one stacked model (its rules: `initreg.train.stacked_callbacks`); any other callback makes
`fit_seeds` train the seeds one after another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .streams import stream

if TYPE_CHECKING:
    from ..data import Splits
    from .config import TrainConfig
    from .history import History
    from .stacked_callbacks import CopyView

__all__ = ["Callback", "TrainState", "overridden"]


@dataclass
class TrainState:
    """What callbacks can read (and, for ``stop``, write) while `fit` runs."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    config: TrainConfig
    data: Splits
    history: History
    generator: torch.Generator  # the callbacks' shared stream (not the batch order); prefer `generator_for`
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps completed
    total_steps: int = 0
    loss: float = float("nan")  # last batch loss (before on_loss additions are included)
    metrics: dict[str, float] = field(default_factory=dict)  # the last evaluation record
    stop: bool = False
    stop_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # scratch space shared between callbacks
    scaler: Any = None  # fp16's GradScaler: gradients seen during backward are multiplied by its scale
    seed: int = 0  # the run's seed: every stream derives from it (`initreg.train.streams`)
    epoch_order: torch.Tensor | None = None  # this epoch's permutation of the rows of ``data.x_train``
    batch_index: torch.Tensor | None = None  # rows of ``data.x_train`` in the current batch (before on_batch)
    streams: dict[int, torch.Generator] = field(default_factory=dict, repr=False)  # id(callback) -> its stream
    copy: CopyView | None = None  # in stacked training (`fit_seeds`): this copy's weights, gradients, layer outputs

    def generator_for(self, callback: object) -> torch.Generator:
        """The callback's own random stream, derived from the run's seed and the callback's
        class and position among callbacks of its class (`initreg.train.streams`): what it draws
        moves neither the batch order nor any other callback's draws."""
        g = self.streams.get(id(callback))
        if g is None:  # a callback `fit` was not given (e.g. one called by another callback)
            g = self.streams[id(callback)] = stream(self.seed, f"callback:{type(callback).__qualname__}@{len(self.streams)}")
        return g


class Callback:
    """Base class: every hook is a no-op.

    ``stacks``: True if the callback follows the rules of `initreg.train.stacked_callbacks`
    (per-step hooks reach the model only through ``state.copy``), so `fit_seeds` can run it
    once per copy of a stacked model; False (the default) trains K seeds sequentially.
    """

    stacks: bool = False

    def on_fit_start(self, state: TrainState) -> None: ...

    def on_epoch_start(self, state: TrainState) -> None: ...

    def on_batch(self, state: TrainState, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, y

    def on_loss(self, state: TrainState, loss: torch.Tensor, output: torch.Tensor,
                x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss

    def on_after_backward(self, state: TrainState) -> None: ...

    def on_step_end(self, state: TrainState) -> None: ...

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        """Called after each evaluation; may add keys to ``record`` (it becomes a history row)."""

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_fit_end(self, state: TrainState) -> None:
        """Called before the final test evaluation (e.g. to restore the best weights)."""

    def on_fit_abort(self, state: TrainState, error: BaseException) -> None:
        """Called instead of ``on_fit_end`` when training stops on an exception (Ctrl-C, an
        error in the model or a callback) — to remove hooks and release resources; the
        exception propagates after every callback's ``on_fit_abort`` has run."""


def overridden(callbacks: list[Callback], hook: str) -> list[Callback]:
    """The callbacks whose class overrides ``hook``."""
    base = getattr(Callback, hook)
    return [cb for cb in callbacks if getattr(type(cb), hook, base) is not base]
