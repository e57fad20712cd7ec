"""Knowledge distillation: a student learns from a teacher's softened predictions.

Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network"::

    L = α · T² · KL( softmax(t / T) ‖ softmax(s / T) ) + (1 − α) · CE(s, y)

with student logits ``s``, teacher logits ``t``, temperature ``T`` and weight ``α``. The
``T²`` keeps the soft term's gradient on the same scale as the hard term's when ``T``
changes (the soft gradient shrinks as ``1/T²``). The teacher is fixed: no gradient reaches it.

Three forms: the functional `distillation_loss`; the `Distill` callback (replaces `fit`'s
loss in ``on_loss``; registered as the regularizer ``distill``, which loads a teacher run
folder); and the entry point `distill(teacher, student, data, train)`.

When the batch the student sees is an untouched slice of the train split (no augmentation
or mixup changed it), the teacher's logits are computed once for the whole split and
looked up per batch; any other batch gets a live teacher forward pass.

>>> s = torch.tensor([[1.0, 0.0]]); t = torch.tensor([[0.0, 1.0]]); y = torch.tensor([0])
>>> round(float(distillation_loss(s, t, y, temperature=1.0, alpha=0.0)), 4)  # CE only
0.3133
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..train.callbacks import Callback, TrainState
from ..train.history import History
from . import regularizers

__all__ = ["distillation_loss", "Distill", "distill", "load_run_model"]


def _check(temperature: float, alpha: float) -> None:
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0; got temperature={temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1] (the weight of the soft term); got alpha={alpha}")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor | None = None,
                      *, temperature: float = 4.0, alpha: float = 0.9, hard_loss: torch.Tensor | None = None) -> torch.Tensor:
    """``α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(s, y)``, averaged over the batch.

    ``teacher_logits`` are detached. ``hard_loss`` replaces ``CE(s, y)`` when given (e.g. a
    label-smoothed loss already computed); with ``alpha == 1`` no target is needed.
    """
    _check(temperature, alpha)
    T = float(temperature)
    log_ps = F.log_softmax(student_logits / T, dim=1)
    log_pt = F.log_softmax(teacher_logits.detach() / T, dim=1)
    soft = F.kl_div(log_ps, log_pt, reduction="batchmean", log_target=True) * (T * T)
    if alpha == 1.0:
        return soft
    if hard_loss is None:
        if target is None:
            raise ConfigError("distillation_loss: alpha < 1 needs the hard labels (target) or hard_loss")
        hard_loss = F.cross_entropy(student_logits, target)
    return alpha * soft + (1.0 - alpha) * hard_loss


def load_run_model(run_dir: str | Path, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """The trained model of a run folder (``config.yaml`` + ``model.pt``), in eval mode."""
    from ..models import build_model

    d = Path(run_dir)
    cfg_path, w_path = d / "config.yaml", d / "model.pt"
    if not cfg_path.is_file() or not w_path.is_file():
        raise ConfigError(f"teacher {str(d)!r} is not a run folder: it needs config.yaml and model.pt "
                          "(made by `initreg train`)")
    cfg = yaml.safe_load(cfg_path.read_text()) or {}
    mcfg = dict(cfg.get("model") or {})
    if "name" not in mcfg:
        raise ConfigError(f"teacher {str(d)!r}: config.yaml has no model.name")
    mcfg["init"] = "torch"  # the weights are loaded next; skip the init scheme
    model = build_model(mcfg, input_shape, num_outputs, seed=0)
    state = torch.load(w_path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ConfigError(f"teacher {str(d)!r}: its weights do not fit a {mcfg['name']} for inputs {tuple(input_shape)} "
                          f"and {num_outputs} outputs (was it trained on other data?): {str(e).splitlines()[0]}") from None
    return model.eval()


class Distill(Callback):
    """Train the model as a student of ``teacher`` (see `distillation_loss`).

    Args:
        teacher: a trained ``nn.Module``, or a run folder (loaded when training starts,
            for the data's input shape).
        temperature: ``T`` (> 0).
        alpha: weight of the soft term, in [0, 1].
        precompute: look up teacher logits computed once for the train split when the batch
            is an untouched slice of it (checked exactly per batch; else a live forward).
    """

    def __init__(self, teacher: nn.Module | str | Path, temperature: float = 4.0, alpha: float = 0.9,
                 precompute: bool = True):
        _check(temperature, alpha)
        if isinstance(teacher, (str, Path)):
            d = Path(teacher)
            if not (d / "config.yaml").is_file() or not (d / "model.pt").is_file():
                raise ConfigError(f"teacher {str(d)!r} is not a run folder: it needs config.yaml and model.pt "
                                  "(made by `initreg train`)")
        self.teacher_src = teacher
        self.teacher: nn.Module | None = teacher if isinstance(teacher, nn.Module) else None
        self.temperature, self.alpha, self.precompute = float(temperature), float(alpha), precompute
        self._all: torch.Tensor | None = None  # teacher logits for the train split
        self._perm: torch.Tensor | None = None
        self._batch = 0
        self.hits = self.misses = 0  # batches served from the precomputed logits / by a live forward

    stacks = True  # it reads only the copy's output and batch: in stacked training each copy has its own teacher targets

    @torch.no_grad()
    def _teacher(self, x: torch.Tensor) -> torch.Tensor:
        assert self.teacher is not None
        return self.teacher(x)

    def on_fit_start(self, state: TrainState) -> None:
        if self.teacher is None:
            self.teacher = load_run_model(self.teacher_src, state.data.input_shape, state.data.num_outputs)  # type: ignore[arg-type]
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        if self.precompute:
            x = state.data.x_train
            bs = state.config.eval_batch_size
            self._all = torch.cat([self._teacher(x[i:i + bs]) for i in range(0, len(x), bs)])

    def on_epoch_start(self, state: TrainState) -> None:
        # kept for subclasses that index the epoch's order themselves (the lab's transfer-set claim)
        self._perm, self._batch = state.epoch_order, 0

    def _lookup(self, state: TrainState, x: torch.Tensor) -> torch.Tensor | None:
        idx = state.batch_index  # the rows of x_train `fit` sliced this batch from
        if self._all is None or idx is None:
            return None
        if len(idx) == len(x) and torch.equal(state.data.x_train[idx], x):
            return self._all[idx]
        return None

    def on_loss(self, state: TrainState, loss: torch.Tensor, output: torch.Tensor, x: torch.Tensor,
                y: torch.Tensor) -> torch.Tensor:
        t = self._lookup(state, x)
        if t is None:
            t = self._teacher(x)
            self.misses += 1
        else:
            self.hits += 1
        return distillation_loss(output, t, temperature=self.temperature, alpha=self.alpha, hard_loss=loss)


@regularizers.register("distill", description="knowledge distillation from a trained teacher run (Hinton et al. 2015)")
def distill_callback(teacher: str, temperature: float = 4.0, alpha: float = 0.9, precompute: bool = True) -> Distill:
    """``regularize: [{name: distill, teacher: runs/teacher, temperature: 4, alpha: 0.9}]``."""
    return Distill(teacher, temperature, alpha, precompute)


def distill(teacher: nn.Module, student: nn.Module, data: Splits, train: Mapping[str, Any] | Any = None, *,
            temperature: float = 4.0, alpha: float = 0.9, precompute: bool = True,
            callbacks: Sequence[Callback] = ()) -> History:
    """Train ``student`` on ``data`` against ``teacher`` with `fit` (``train``: a `TrainConfig` or dict).

    >>> from initreg.data import load_data
    >>> from initreg.models import build_model
    >>> d = load_data({"name": "digits", "train_size": 200})
    >>> t = build_model({"name": "mlp", "depth": 1, "width": 64}, d.input_shape, 10, seed=0)
    >>> s = build_model({"name": "mlp", "depth": 1, "width": 8}, d.input_shape, 10, seed=0)
    >>> h = distill(t, s, d, {"epochs": 1, "progress": "none"})
    >>> "acc" in h.test
    True
    """
    from ..train.fit import fit

    return fit(student, data, train, callbacks=[Distill(teacher, temperature, alpha, precompute), *callbacks])
