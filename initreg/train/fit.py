"""`fit`: a plain, fast training loop over in-memory tensors, with callbacks.

No DataLoader: each epoch permutes the train tensors once (seeded generator) and takes
contiguous slices, which is what a hand-written PyTorch loop does (see ``bench/``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
import torch
import torch.nn.functional as F
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..metrics import accuracy, expected_calibration_error
from ..registry import format_validation_error
from .callbacks import Callback, TrainState, overridden
from .config import TrainConfig
from .device import autocast, make_scaler, resolve_device, warn_if_slow
from .history import History
from .streams import CALLBACKS, DATA_ORDER, MODEL_NOISE, callback_stream_names, stream, stream_seed

__all__ = ["fit", "evaluate", "make_optimizer", "make_scheduler", "loss_function", "eval_loss_function", "as_train_config"]

# Off the CPU, `fit` keeps running sums on the device and checks for divergence only when it
# evaluates (no host sync per step). Tests set this to exercise that path on the CPU.
_FORCE_LAZY_SYNC = False


def as_train_config(config: TrainConfig | Mapping[str, Any] | None) -> TrainConfig:
    if config is None:
        return TrainConfig()
    if isinstance(config, TrainConfig):
        return config
    try:
        return TrainConfig(**config)
    except pydantic.ValidationError as e:
        raise ConfigError(f"train: {format_validation_error(e)}") from None


def loss_function(cfg: TrainConfig, task: str):
    """``loss(output, target)``: cross-entropy (hard or soft targets) or MSE."""
    kind = cfg.loss if cfg.loss != "auto" else ("cross_entropy" if task == "classification" else "mse")
    if kind == "cross_entropy":
        ls = cfg.label_smoothing

        def ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            # y: class indices (N,) or soft targets (N, K) (mixup, distillation); smoothing applies to both
            return F.cross_entropy(out, y, label_smoothing=ls)

        return ce
    if kind == "mse":
        return lambda out, y: F.mse_loss(out, y.view_as(out) if y.numel() == out.numel() else y)
    raise ConfigError(f"loss must be 'auto', 'cross_entropy' or 'mse'; got loss={cfg.loss!r}")


def eval_loss_function(cfg: TrainConfig, task: str):
    """The loss that evaluation reports: `loss_function` without label smoothing — smoothing is a
    training-time target change, and a smoothed validation loss would not be comparable across
    runs (or fit for early stopping)."""
    return loss_function(cfg.model_copy(update={"label_smoothing": 0.0}) if cfg.label_smoothing else cfg, task)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    # SGD, foreach: one multi-tensor kernel per update op instead of a Python loop over parameters
    # (bit-identical to the loop on the CPU, 1.3-1.4x faster steps for small MLPs).
    # Adam/AdamW, fused (CPU and CUDA): one pass per parameter for the whole update; on this
    # project's 2-core CPU 12-26% faster steps than foreach (bench/bench_precision.py), equal up
    # to float rounding (it divides by sqrt(v)+eps in one expression).
    fe = True if params else None
    kinds = {p.device.type for p in params}
    fused = bool(params) and len(kinds) == 1 and kinds <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay,
                               foreach=fe)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                                **({"fused": True} if fused else {"foreach": fe}))
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                                 **({"fused": True} if fused else {"foreach": fe}))
    raise ConfigError(f"optimizer must be 'sgd', 'adam' or 'adamw'; got optimizer={cfg.optimizer!r}")


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, steps_per_epoch: int):
    """A per-step scheduler (``None`` for a constant rate)."""
    if cfg.schedule == "constant":
        return None
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size * steps_per_epoch, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    raise ConfigError(f"schedule must be 'constant', 'step' or 'cosine'; got schedule={cfg.schedule!r}")


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, *, batch_size: int = 2048,
             task: str = "classification") -> dict[str, float]:
    """Loss (and accuracy, ECE for classification) of ``model`` in eval mode on ``(x, y)``.

    The model's train/eval mode is restored afterwards.
    """
    if len(x) == 0:
        return {}
    was_training = model.training
    model.eval()
    try:
        outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    out = torch.cat(outs)
    res = {"loss": float(loss_fn(out, y))}
    if task == "classification":
        res["acc"] = accuracy(out, y)
        res["ece"] = expected_calibration_error(F.softmax(out.float(), dim=1), y)
    return res


class _Progress:
    """A rich progress bar on a terminal, one log line per epoch otherwise, or nothing."""

    def __init__(self, mode: str, total: int, desc: str):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.total, self.bar, self.task = mode, total, None, None
        if mode == "bar":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn(desc), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                TimeRemainingColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(desc, total=total, info="")

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def report(self, rec: dict[str, Any]) -> None:
        info = "  ".join(f"{k}={v:.4g}" for k, v in rec.items()
                         if k in ("train_loss", "val_loss", "val_acc") and isinstance(v, float))
        if self.bar is not None:
            self.bar.update(self.task, info=info)
        elif self.mode == "log":
            print(f"epoch {rec['epoch']:>4}  step {rec['step']:>7}  {info}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def fit(model: nn.Module | Sequence[nn.Module], data: Splits, config: TrainConfig | Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = ()) -> History:
    """Train ``model`` on ``data.x_train`` and evaluate on the validation (and test) split.

    A list of K models (or ``config.seeds = K`` with such a list) trains K seeds at once —
    vectorized where the model allows it — and returns K histories: see
    `initreg.train.multiseed.fit_seeds`.

    ``config.device`` / ``config.precision`` choose where and in which autocast precision to
    train (`initreg.train.device`); the model and data are moved to the device once. Off the
    CPU no per-step host sync happens unless a callback reads per-step values: running sums
    stay on the device and a non-finite loss is found at the next evaluation (its step is
    still the first bad one, but the steps in between were taken).

    Reproducible: the same model weights, data, config and seed give the identical history
    on CPU. Randomness comes from separate streams derived from ``config.seed``
    (`initreg.train.streams`): the batch order from ``"data-order"``; dropout from torch's
    global RNG inside ``torch.random.fork_rng``, seeded from ``"model-noise"`` (the caller's
    global RNG state is left untouched); each callback from its own stream
    (`TrainState.generator_for`) — so a stochastic callback never moves the batch order.

    A non-finite loss stops the run: ``history.diverged`` is set with the step, and `fit`
    returns normally so sweeps and the lab keep going.

    >>> from initreg.data import load_data
    >>> from initreg.models import build_model
    >>> d = load_data({"name": "digits", "train_size": 200})
    >>> m = build_model({"name": "mlp", "depth": 1, "width": 32}, d.input_shape, d.num_outputs, seed=0)
    >>> h = fit(m, d, {"epochs": 2, "progress": "none"})
    >>> sorted(h.test)
    ['acc', 'ece', 'loss']
    """
    cfg = as_train_config(config)
    if isinstance(model, (list, tuple)) or cfg.seeds > 1:
        from .multiseed import fit_seeds

        return fit_seeds(model, data, cfg, callbacks=callbacks)  # type: ignore[return-value]
    dev = resolve_device(cfg.device)
    if dev.type != "cpu":
        model.to(dev)
    if data.x_train.device != dev:
        data = data.to(dev)
    cbs = list(callbacks)
    hooks = {h: overridden(cbs, h) for h in ("on_fit_start", "on_epoch_start", "on_batch", "on_loss", "on_after_backward",
                                             "on_step_end", "on_evaluate", "on_epoch_end", "on_fit_end", "on_fit_abort")}
    x, y = data.x_train, data.y_train
    n = len(x)
    bs = min(cfg.batch_size, n)
    steps_per_epoch = n // bs if cfg.drop_last else math.ceil(n / bs)
    total = cfg.steps if cfg.steps is not None else cfg.epochs * steps_per_epoch
    eval_every = cfg.eval_every or steps_per_epoch
    loss_fn = loss_function(cfg, data.task)
    eval_loss_fn = eval_loss_function(cfg, data.task)
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, cfg, total, steps_per_epoch)
    gen = stream(cfg.seed, DATA_ORDER)  # the batch order: no callback draws from it
    amp = autocast(cfg.precision, dev)
    warn_if_slow(cfg.precision, dev)
    scaler = make_scaler(cfg.precision, dev)
    step_hooks = any(hooks[h] for h in ("on_batch", "on_loss", "on_after_backward", "on_step_end"))
    lazy = (dev.type != "cpu" or _FORCE_LAZY_SYNC) and not step_hooks
    bad_step = torch.full((), -1, dtype=torch.long, device=dev)  # lazy: first step with a non-finite loss
    run_loss_t = torch.zeros((), device=dev)
    run_correct_t = torch.zeros((), dtype=torch.long, device=dev)
    hist = History()
    state = TrainState(model=model, optimizer=opt, scheduler=sched, config=cfg, data=data, history=hist,
                       generator=stream(cfg.seed, CALLBACKS), total_steps=total, scaler=scaler, seed=cfg.seed,
                       streams={id(cb): stream(cfg.seed, name) for cb, name in zip(cbs, callback_stream_names(cbs))})
    progress = _Progress(cfg.progress, total, f"train {type(model).__name__}")
    t0 = time.perf_counter()
    run_loss, run_correct, run_count = 0.0, 0, 0

    def lazy_diverged() -> bool:
        """Lazy path: fold the device sums into the floats; True (and stop) on a non-finite loss."""
        nonlocal run_loss, run_correct
        b = int(bad_step)
        if b >= 0:
            hist.diverged, hist.diverged_step = True, b
            state.stop, state.stop_reason = True, f"non-finite loss at step {b}"
            state.step = b
            return True
        run_loss, run_correct = float(run_loss_t), int(run_correct_t)
        state.loss = run_loss / max(run_count, 1)
        return False

    def do_eval() -> None:
        nonlocal run_loss, run_correct, run_count
        if lazy:
            if lazy_diverged():
                return
            run_loss_t.zero_()
            run_correct_t.zero_()
        rec: dict[str, Any] = {"epoch": state.epoch, "step": state.step}
        if cfg.eval_train:
            rec.update({f"train_{k}": v for k, v in evaluate(model, x, y, eval_loss_fn, batch_size=cfg.eval_batch_size, task=data.task).items()})
        elif run_count:
            rec["train_loss"] = run_loss / run_count
            if data.task == "classification" and y.ndim == 1:
                rec["train_acc"] = run_correct / run_count
        rec.update({f"val_{k}": v for k, v in evaluate(model, data.x_val, data.y_val, eval_loss_fn,
                                                       batch_size=cfg.eval_batch_size, task=data.task).items()})
        rec["lr"] = opt.param_groups[0]["lr"]
        rec["seconds"] = time.perf_counter() - t0
        for cb in hooks["on_evaluate"]:
            cb.on_evaluate(state, rec)
        hist.records.append(rec)
        state.metrics = rec
        progress.report(rec)
        run_loss, run_correct, run_count = 0.0, 0, 0

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(cfg.seed, MODEL_NOISE))
        model.train()
        for cb in hooks["on_fit_start"]:
            cb.on_fit_start(state)
        try:
            while state.step < total and not state.stop:
                perm = state.epoch_order = torch.randperm(n, generator=gen)
                for cb in hooks["on_epoch_start"]:
                    cb.on_epoch_start(state)
                xs, ys = x[perm], y[perm]
                for i in range(steps_per_epoch):
                    xb, yb = xs[i * bs:(i + 1) * bs], ys[i * bs:(i + 1) * bs]
                    state.batch_index = perm[i * bs:(i + 1) * bs]
                    for cb in hooks["on_batch"]:
                        xb, yb = cb.on_batch(state, xb, yb)
                    with amp:
                        out = model(xb)
                        loss = loss_fn(out, yb)
                    if lazy:
                        ld = loss.detach()
                        bad_step = torch.where((bad_step < 0) & ~torch.isfinite(ld), state.step, bad_step)
                    else:
                        lv = loss.item()
                        for cb in hooks["on_loss"]:
                            loss = cb.on_loss(state, loss, out, xb, yb)
                        if not math.isfinite(lv) or (hooks["on_loss"] and not torch.isfinite(loss)):
                            hist.diverged, hist.diverged_step = True, state.step
                            state.stop, state.stop_reason = True, f"non-finite loss at step {state.step}"
                            break
                    opt.zero_grad(set_to_none=True)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                        if hooks["on_after_backward"] or cfg.grad_clip is not None:
                            scaler.unscale_(opt)
                    else:
                        loss.backward()
                    for cb in hooks["on_after_backward"]:
                        cb.on_after_backward(state)
                    if cfg.grad_clip is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    if scaler is not None:
                        scaler.step(opt)
                        scaler.update()
                    else:
                        opt.step()
                    if sched is not None:
                        sched.step()
                    state.step += 1
                    run_count += len(yb)
                    if lazy:
                        run_loss_t += ld.float() * len(yb)
                        if data.task == "classification" and yb.ndim == 1:
                            run_correct_t += (out.argmax(1) == yb).sum()
                    else:
                        state.loss = lv
                        run_loss += lv * len(yb)
                        if data.task == "classification" and yb.ndim == 1:
                            run_correct += int((out.argmax(1) == yb).sum())
                    progress.step()
                    for cb in hooks["on_step_end"]:
                        cb.on_step_end(state)
                    if cfg.eval_every is not None and state.step % eval_every == 0:
                        do_eval()
                        if hist.diverged:
                            break
                    if state.stop or state.step >= total:
                        break
                if hist.diverged:
                    break
                completed = i == steps_per_epoch - 1
                finished = state.stop or state.step >= total
                if completed:
                    state.epoch += 1
                if cfg.eval_every is None and (completed or finished):
                    do_eval()
                elif cfg.eval_every is not None and finished and state.step % eval_every:
                    do_eval()  # a last record at the very end
                if hist.diverged:
                    if completed:
                        state.epoch -= 1  # lazy path: the epoch did not complete cleanly
                    break
                if completed:
                    for cb in hooks["on_epoch_end"]:
                        cb.on_epoch_end(state)
            for cb in hooks["on_fit_end"]:
                cb.on_fit_end(state)
        except BaseException as e:
            for cb in hooks["on_fit_abort"]:
                cb.on_fit_abort(state, e)
            raise
        finally:
            progress.close()
    hist.steps, hist.epochs, hist.stop_reason = state.step, state.epoch, state.stop_reason
    if cfg.evaluate_test and not hist.diverged:
        hist.test = evaluate(model, data.x_test, data.y_test, eval_loss_fn, batch_size=cfg.eval_batch_size, task=data.task)
    hist.seconds = time.perf_counter() - t0
    return hist
