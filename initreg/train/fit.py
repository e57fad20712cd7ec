"""`fit`: a plain, fast training loop over in-memory tensors, with callbacks.

In memory (`Splits`, tensors, a ``Dataset``): each epoch permutes the train tensors once (seeded
generator) and takes contiguous slices, which is what a hand-written PyTorch loop does (see
``bench/``). A ``DataLoader`` is streamed: each epoch iterates it (`initreg.data.stream`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..data import Splits
from ..data.convert import as_splits
from ..data.stream import StreamData
from ..errors import ConfigError
from ..metrics import accuracy, expected_calibration_error
from .callbacks import Callback, TrainState, overridden
from .checkpoint import restore, save_checkpoint
from .config import TrainConfig
from .device import autocast, make_scaler, resolve_device, warn_if_slow
from .history import History
from .loop import (
    LoopPlan,
    as_train_config,
    eval_loss_function,
    loss_function,
    make_optimizer,
    make_scheduler,
)
from .progress import Progress
from .streams import CALLBACKS, DATA_ORDER, MODEL_NOISE, callback_stream_names, stream, stream_seed

# loop's names stay importable from here: `from initreg.train.fit import loss_function` keeps working
__all__ = ["fit", "evaluate", "evaluate_batches", "make_optimizer", "make_scheduler", "loss_function", "eval_loss_function", "as_train_config"]

# Off the CPU, `fit` keeps running sums on the device and checks for divergence only when it
# evaluates (no host sync per step). Tests set this to exercise that path on the CPU.
_FORCE_LAZY_SYNC = False


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
    return _metrics(torch.cat(outs), y, loss_fn, task)


def _metrics(out: torch.Tensor, y: torch.Tensor, loss_fn, task: str) -> dict[str, float]:
    res = {"loss": float(loss_fn(out, y))}
    if task == "classification":
        res["acc"] = accuracy(out, y)
        res["ece"] = expected_calibration_error(F.softmax(out.float(), dim=1), y)
    return res


@torch.no_grad()
def evaluate_batches(model: nn.Module, batches, loss_fn, *, task: str = "classification") -> dict[str, float]:
    """`evaluate` over ``(x, y)`` batches (a streamed loader): the same metrics over all of them."""
    was_training = model.training
    model.eval()
    try:
        pairs = [(model(xb), yb) for xb, yb in batches]
    finally:
        model.train(was_training)
    if not pairs:
        return {}
    return _metrics(torch.cat([o for o, _ in pairs]), torch.cat([t for _, t in pairs]), loss_fn, task)


def fit(model: nn.Module, data: Splits | Any, config: TrainConfig | Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = (), *, val: Any = None, test: Any = None,
        checkpoint: str | Path | None = None, resume: Mapping[str, Any] | None = None) -> History:
    """Train ``model`` on ``data.x_train`` and evaluate on the validation (and test) split.

    ``data`` is `Splits`, or your own data: ``(x, y)`` tensors or a ``Dataset`` (read once
    into memory, `initreg.data.as_splits`), or a ``DataLoader``, streamed: each epoch iterates
    it with its own batch size, sampler, workers and transforms (`initreg.data.stream`;
    ``train.batch_size`` is not used). ``val=`` and ``test=`` take the same forms. Without
    validation data the history has no ``val_*`` metrics (a callback that monitors one says
    so); without test data no test.

    With ``checkpoint`` (a path) and ``config.checkpoint_every = N`` a checkpoint is written at
    every N-th epoch end that follows an evaluation; ``resume`` (`load_checkpoint`'s dict)
    continues such a run — on the CPU bit-identical to an uninterrupted one
    (`initreg.train.checkpoint`).

    One model, one `History`. K seeds at once (vectorized where the model allows it) is
    `initreg.train.multiseed.fit_seeds`, which counts steps and evaluations the same way
    (`initreg.train.loop`).

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
    if isinstance(data, DataLoader):
        data = StreamData.of(data, val=val, test=test)
    elif not (isinstance(data, Splits) and val is None and test is None):
        data = as_splits(data, val=val, test=test)
    streamed = isinstance(data, StreamData)
    if not isinstance(model, nn.Module):
        what = f"a list of {len(model)} models" if isinstance(model, (list, tuple)) else type(model).__name__
        raise ConfigError(f"fit trains one nn.Module; got {what}. For several seeds use "
                          "initreg.train.multiseed.fit_seeds(models, data, config)")
    if cfg.seeds > 1:
        raise ConfigError(f"fit trains one model; got train.seeds={cfg.seeds}. For several seeds use "
                          "initreg.train.multiseed.fit_seeds(models, data, config) or initreg.runs.run")
    dev = resolve_device(cfg.device)
    if dev.type != "cpu":
        model.to(dev)
    if not streamed and data.x_train.device != dev:
        data = data.to(dev)
    cbs = list(callbacks)
    hooks = {h: overridden(cbs, h) for h in ("on_fit_start", "on_epoch_start", "on_batch", "on_loss", "on_after_backward",
                                             "on_step_end", "on_evaluate", "on_epoch_end", "on_fit_end", "on_fit_abort")}
    if streamed:
        plan = LoopPlan.of_batches(cfg, data.steps_per_epoch, data.train.batch_size or 1)
        x = y = torch.empty(0)
    else:
        x, y = data.x_train, data.y_train
        plan = LoopPlan.of(cfg, len(x))
    n, bs, steps_per_epoch, total = plan.n, plan.batch_size, plan.steps_per_epoch, plan.total
    loss_fn = loss_function(cfg, data.task)
    eval_loss_fn = eval_loss_function(cfg, data.task)
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, cfg, total, steps_per_epoch)
    gen = stream(cfg.seed, DATA_ORDER)  # the batch order: no callback draws from it
    loader_gen = data.train.generator if streamed else None  # a streamed loader's own order, if it has one
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
    progress = Progress(cfg.progress, total, f"train {type(model).__name__}")
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

    def eval_on(which: str) -> dict[str, float]:
        if streamed:
            src = data.train if which == "train" else getattr(data, which)
            return evaluate_batches(model, data.batches(src, dev), eval_loss_fn, task=data.task)
        xs_, ys_ = (x, y) if which == "train" else data.split(which)
        return evaluate(model, xs_, ys_, eval_loss_fn, batch_size=cfg.eval_batch_size, task=data.task)

    def do_eval() -> None:
        nonlocal run_loss, run_correct, run_count
        if lazy:
            if lazy_diverged():
                return
            run_loss_t.zero_()
            run_correct_t.zero_()
        rec: dict[str, Any] = {"epoch": state.epoch, "step": state.step}
        if cfg.eval_train:
            rec.update({f"train_{k}": v for k, v in eval_on("train").items()})
        elif run_count:
            rec["train_loss"] = run_loss / run_count
            if data.task == "classification" and y.ndim == 1:
                rec["train_acc"] = run_correct / run_count
        rec.update({f"val_{k}": v for k, v in eval_on("val").items()})
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
        if resume is not None:
            restore(resume, state, gen, loader=loader_gen)
        model.train()
        for cb in hooks["on_fit_start"]:
            cb.on_fit_start(state)
        try:
            while state.step < total and not state.stop:
                if streamed:  # the loader's own order, batches and transforms
                    perm = state.epoch_order = None
                    for cb in hooks["on_epoch_start"]:
                        cb.on_epoch_start(state)
                    batches = enumerate(data.batches(data.train, dev))
                else:
                    perm = state.epoch_order = torch.randperm(n, generator=gen)
                    for cb in hooks["on_epoch_start"]:
                        cb.on_epoch_start(state)
                    xs, ys = x[perm], y[perm]
                    batches = ((i, (xs[i * bs:(i + 1) * bs], ys[i * bs:(i + 1) * bs])) for i in range(steps_per_epoch))
                i = -1
                for i, (xb, yb) in batches:
                    state.batch_index = perm[i * bs:(i + 1) * bs] if perm is not None else None
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
                    if plan.eval_after_step(state.step):
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
                if plan.eval_after_epoch(state.step, completed, finished):
                    do_eval()
                if hist.diverged:
                    if completed:
                        state.epoch -= 1  # lazy path: the epoch did not complete cleanly
                    break
                if completed:
                    for cb in hooks["on_epoch_end"]:
                        cb.on_epoch_end(state)
                    every = cfg.checkpoint_every
                    if checkpoint is not None and every and state.epoch % every == 0 and not run_count \
                            and not state.stop and state.step < total:
                        save_checkpoint(checkpoint, state, gen, loader=loader_gen)
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
        hist.test = eval_on("test")
    hist.seconds = time.perf_counter() - t0
    return hist
