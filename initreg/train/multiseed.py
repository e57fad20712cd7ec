"""Many seeds at once: K independently initialized, shuffled and dropped-out copies of a
model trained as one vectorized model.

Small models leave a CPU (or GPU) mostly idle: per-step overhead (Python, op dispatch,
the optimizer's loops) dominates the matmuls. Stacking the K copies' weights into
``(K, out, in)`` tensors turns K small matmuls into one batched ``torch.baddbmm`` and K
optimizer updates into one, so K seeds cost little more than one (measured in
``bench/bench_seeds.py``: ≈3× for 16 seeds of MNIST-1D's 40-100-100-10 MLP).

Results equal K separate `fit` runs with the same seeds up to float rounding (the batched
matmul sums in a different order): copy ``k`` shuffles with the ``"data-order"`` stream of
``seeds[k]`` and draws its dropout masks from its ``"model-noise"`` stream in the same order
as a separate run draws them from the global RNG (`initreg.train.streams`). The losses of the copies are
summed, so each copy's gradient is its own; gradient clipping is per copy.

What can be vectorized: a ``Sequential`` of ``Flatten``, ``Linear``, `LowRankLinear` (plain or
pruned with ``torch.nn.utils.prune``: masks per copy), ``Conv1d`` / ``Conv2d`` (one grouped
convolution), BatchNorm (running statistics per copy), LayerNorm, GroupNorm, InstanceNorm,
pooling, parameter-free elementwise activations and dropout (``nn.Dropout`` or
`initreg.nn.Dropout` without its own generator), trained with callbacks that declare
``stacks = True``: weight and activity penalties, weight decay, mixup, CutMix, label smoothing,
early stopping, pruning and distillation run per copy, each copy with its own instances,
streams and ``stop`` flag (`initreg.train.stacked_callbacks`). Anything else — other layers, a
callback that acts on one model at a time — falls back to K sequential `fit` runs, and the
result says why (``result.reason``). The stacked model itself is `initreg.train.stacked`.

Each copy may train on its own data: ``data`` is one `Splits` shared by all copies or a
sequence of K `Splits` (e.g. a split, label noise or subset drawn per seed), which must
agree in input shape, outputs, task and training-set size; copy ``k`` trains, validates and
tests on ``data[k]`` exactly as ``fit(models[k], data[k])`` would.

>>> from initreg.data import load_data
>>> from initreg.models import build_model
>>> d = load_data({"name": "digits", "train_size": 100})
>>> ms = [build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, 10, seed=s) for s in range(4)]
>>> hs = fit_seeds(ms, d, {"epochs": 1, "progress": "none"}, seeds=[0, 1, 2, 3])
>>> len(hs), hs.vectorized
(4, True)
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..metrics import accuracy, expected_calibration_error
from ..metrics.calibration import calibration_errors_along
from .callbacks import Callback, TrainState, overridden
from .config import TrainConfig
from .device import autocast, make_scaler, resolve_device, warn_if_slow
from .fit import fit
from .history import History
from .loop import (
    LoopPlan,
    as_train_config,
    eval_loss_function,
    loss_kind,
    make_optimizer,
    make_scheduler,
)
from .progress import Progress
from .stacked import StackedSequential, signature, vectorize_reason
from .stacked_callbacks import CopyView
from .streams import CALLBACKS, DATA_ORDER, MODEL_NOISE, callback_stream_names, stream

__all__ = ["SeedsResult", "StackedSequential", "fit_seeds", "train_seeds", "vectorize_reason"]


class SeedsResult(list):
    """K histories (a list), plus whether they were trained vectorized and, if not, why;
    ``callbacks[k]``: copy ``k``'s callbacks (its own instances when they were stacked)."""

    vectorized: bool = False
    reason: str | None = None
    callbacks: list[list[Callback]]


_HOOKS = ("on_fit_start", "on_epoch_start", "on_batch", "on_loss", "on_after_backward", "on_step_end", "on_evaluate",
          "on_epoch_end", "on_fit_end", "on_fit_abort")


def _losses(kind: str, ls: float, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-copy mean loss ``(K,)`` of outputs ``(K, B, C)`` against targets ``(K, B, ...)``
    (class indices ``(K, B)`` or, after mixup or distillation callbacks, probabilities ``(K, B, C)``)."""
    k = out.shape[0]
    if kind == "cross_entropy":
        # classes along dim 1, (K, C, B): torch's log-softmax over a short last axis (10 classes)
        # is ≈3x slower on the CPU than over a leading one (600 → 200 µs per step, K=16, B=128)
        tgt = y.transpose(1, 2) if y.ndim == out.ndim else y
        return F.cross_entropy(out.float().transpose(1, 2), tgt, label_smoothing=ls, reduction="none").mean(1)
    yy = y.reshape(out.shape) if y.numel() == out.numel() else y  # mse (`loss_kind` allows no other)
    return ((out.float() - yy) ** 2).reshape(k, -1).mean(1)


def _stack_targets(ys: Sequence[torch.Tensor], num_classes: int) -> torch.Tensor:
    """The copies' targets as one tensor: class indices stay indices unless another copy's are
    probabilities (mixup applied to some copies' batches only), then all become probabilities."""
    if len({tuple(t.shape) for t in ys}) == 1:
        return torch.stack(list(ys))
    soft = next(t for t in ys if t.ndim == 2)
    return torch.stack([t if t.ndim == 2 else F.one_hot(t.long(), num_classes).to(soft.dtype) for t in ys])


def _metrics_at_once(out: torch.Tensor, y: torch.Tensor, ks: Sequence[int]) -> dict[int, dict[str, float]]:
    """Loss, accuracy and ECE of K copies' logits ``out (K, N, C)`` against labels ``y (K, N)``,
    with no loop over the copies (the numbers `fit`'s `evaluate` gives each copy, to rounding)."""
    z = out.float().transpose(1, 2)  # (K, C, N): reductions over the classes run along a leading axis
    loss = F.cross_entropy(z, y, reduction="none").mean(1)
    probs = F.softmax(z, dim=1)
    acc = (z.argmax(1) == y).float().mean(1)
    ece = calibration_errors_along(probs, y, class_dim=1)
    rows = torch.stack([loss.double(), acc.double(), ece.double()], 1).tolist()
    return {k: {"loss": rows[k][0], "acc": rows[k][1], "ece": rows[k][2]} for k in ks}


def _clip_per_copy(params: Sequence[torch.Tensor], max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each copy's slice separately (same formula as torch)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    k = grads[0].shape[0]
    norms = torch.sqrt(torch.stack([(g.reshape(k, -1).double() ** 2).sum(1) for g in grads]).sum(0)).float()
    coef = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.ndim - 1))))


def _data_reason(datas: Sequence[Splits]) -> str | None:
    """Why K per-copy splits cannot be stacked (None if they can)."""
    for what, key in (("input shape", lambda d: d.input_shape), ("number of outputs", lambda d: d.num_outputs),
                      ("task", lambda d: d.task), ("training-set size", lambda d: len(d.x_train))):
        vals = [key(d) for d in datas]
        if len(set(vals)) > 1:
            return f"the copies' data differ in {what} ({', '.join(map(str, vals))})"
    return None


def _stack_split(xs: Sequence[torch.Tensor]) -> torch.Tensor:
    """K per-copy tensors ``(N_k, ...)`` as one ``(K, max N_k, ...)`` tensor (zero-padded rows)."""
    n = max(len(t) for t in xs)
    if all(len(t) == n for t in xs):
        return torch.stack(list(xs))
    return torch.stack([torch.cat([t, t.new_zeros(n - len(t), *t.shape[1:])]) for t in xs])


def fit_seeds(models: nn.Module | Sequence[nn.Module], data: Splits | Sequence[Splits], config: TrainConfig | Mapping[str, Any] | None = None,
              *, seeds: Sequence[int] | None = None,
              callbacks: Sequence[Callback] | Callable[[int], Sequence[Callback]] = ()) -> SeedsResult:
    """Train K models (K = ``len(models)``) with train seeds ``seeds`` (default
    ``config.seed + k``); vectorized if `vectorize_reason` allows, else one `fit` each.

    ``data`` is one `Splits` for all copies or K of them, one per copy (same input shape,
    outputs, task and training-set size, else the copies train sequentially and the result
    says why). ``callbacks`` may be a factory ``k -> callbacks`` so each copy (or sequential run) gets
    fresh ones; a shared list (or an instance the factory returns for several copies) is used
    as is by sequential runs and deep-copied for copies 1 … K-1 of a stacked run
    (``result.callbacks[k]`` are copy ``k``'s). Callbacks that declare
    ``stacks = True`` run per copy in stacked training (`initreg.train.stacked_callbacks`).
    The models are trained in place (like `fit`). Returns a `SeedsResult` of K histories.
    """
    cfg = as_train_config(config)
    if isinstance(models, nn.Module):
        raise ConfigError(f"train.seeds={cfg.seeds} needs {cfg.seeds} independently built models; got one model. "
                          "Pass a list of models (or use initreg.train.run, which builds them)")
    models = list(models)
    if not models:
        raise ConfigError("fit_seeds needs at least one model; got an empty list")
    if cfg.seeds not in (1, len(models)):
        raise ConfigError(f"train.seeds={cfg.seeds} but {len(models)} models were given; they must match")
    seeds = list(seeds) if seeds is not None else [cfg.seed + k for k in range(len(models))]
    if len(seeds) != len(models):
        raise ConfigError(f"seeds has {len(seeds)} entries but {len(models)} models were given; they must match")
    one = cfg.model_copy(update={"seeds": 1})
    K = len(models)
    shared = isinstance(data, Splits)
    datas = [cast("Splits", data)] * K if shared else list(cast("Sequence[Splits]", data))
    if len(datas) != K or not all(isinstance(d, Splits) for d in datas):
        raise ConfigError(f"data must be one Splits or a sequence of {K} Splits (one per model); "
                          f"got {type(data).__name__} of {len(datas)} {'/'.join(sorted({type(d).__name__ for d in datas}))}")
    cbs = [list(callbacks(k)) for k in range(K)] if callable(callbacks) else [list(callbacks)] * K
    reason = vectorize_reason(models[0], [c for cs in cbs for c in cs])
    if reason is None and len({signature(m) for m in models}) > 1:
        reason = "the models differ in architecture"
    if reason is None and not shared:
        reason = _data_reason(datas)
    res = SeedsResult()
    res.callbacks = cbs
    if reason is not None or K == 1:
        if reason is not None and K > 1:
            warnings.warn(f"training {K} seeds sequentially: {reason}", stacklevel=2)
        for m, d, s, cbs_k in zip(models, datas, seeds, cbs):
            res.append(fit(m, d, one.model_copy(update={"seed": s}), callbacks=cbs_k))
        res.vectorized, res.reason = False, reason or "one seed"
        return res
    # each copy its own instances: an instance already given to an earlier copy (a shared list, or
    # the same object returned by the factory for several copies) is deep-copied for the later ones
    given: set[int] = set()
    for k, cs in enumerate(cbs):
        cbs[k] = [copy.deepcopy(c) if id(c) in given else c for c in cs]
        given.update(id(c) for c in cs)
    res.callbacks = cbs
    res.extend(_fit_stacked(cast("list[nn.Sequential]", models), datas, shared, one, seeds, cbs))
    res.vectorized, res.reason = True, None
    return res


def _fit_stacked(stack: list[nn.Sequential], datas: list[Splits], shared: bool, one: TrainConfig, seeds: list[int],
                 cbs: list[list[Callback]]) -> list[History]:
    """The stacked loop of `fit_seeds`: K copies of ``stack``'s architecture as one model, copy
    ``k`` on ``datas[k]`` (all the same object when ``shared``)."""
    dev = resolve_device(one.device)
    datas = [d if d.x_train.device == dev else d.to(dev) for d in datas]
    data = datas[0]  # task and sizes: the same for every copy
    if dev.type != "cpu":
        for m in stack:
            m.to(dev)
    K = len(stack)
    net = StackedSequential(stack).to(dev)
    gens = [stream(s, DATA_ORDER) for s in seeds]  # shuffling (CPU, like fit)
    dgens = [stream(s, MODEL_NOISE, device=dev) for s in seeds]  # dropout masks (fit: the global RNG, same seed)
    net.generators = dgens
    x, y = (data.x_train, data.y_train) if shared else (_stack_split([d.x_train for d in datas]),
                                                        _stack_split([d.y_train for d in datas]))
    # copy k's batch: rows idx[k] of x (shared) or of x[k] (per copy), gathered with one index_select
    # over the flattened rows (4x faster than advanced indexing x[rows, idx] here)
    offsets = None if shared else torch.arange(K, device=dev).view(K, 1) * x.shape[1]
    xf, yf = (x, y) if shared else (x.flatten(0, 1), y.flatten(0, 1))
    plan = LoopPlan.of(one, len(data.x_train))
    n, bs, steps_per_epoch, total = plan.n, plan.batch_size, plan.steps_per_epoch, plan.total
    loss_fn = eval_loss_function(one, data.task)
    kind = loss_kind(one, data.task)
    opt = make_optimizer(net, one)
    sched = make_scheduler(opt, one, total, steps_per_epoch)
    amp = autocast(one.precision, dev)
    warn_if_slow(one.precision, dev)
    scaler = make_scaler(one.precision, dev)
    hists = [History() for _ in range(K)]
    frozen = [False] * K  # stopped or diverged: its final weights are in its model, its history is closed
    active = torch.ones(K, dtype=torch.bool)  # not frozen, as a mask over the copies' losses
    step, epoch = 0, 0
    classify = data.task == "classification" and data.y_train.ndim == 1
    num_classes = data.num_classes if data.task == "classification" else 0
    run_loss = torch.zeros(K, dtype=torch.float64)
    run_correct = torch.zeros(K, dtype=torch.long, device=dev)
    seen = 0  # training examples per copy since the start; a copy's running sums cover seen - since[k]
    since = [0] * K
    progress = Progress(one.progress, total, f"train {K} seeds")
    t0 = time.perf_counter()
    hooks = [{h: overridden(cs, h) for h in _HOOKS} if cs else dict.fromkeys(_HOOKS, []) for cs in cbs]
    any_hook = {h: any(hk[h] for hk in hooks) for h in _HOOKS}
    states: list[TrainState] = []
    if any(cbs):
        for k, (m, s, cs) in enumerate(zip(stack, seeds, cbs)):
            states.append(TrainState(
                model=m, optimizer=opt, scheduler=sched, config=one.model_copy(update={"seed": s}), data=datas[k],
                history=hists[k], generator=stream(s, CALLBACKS), total_steps=total, scaler=scaler, seed=s,
                streams={id(cb): stream(s, name) for cb, name in zip(cs, callback_stream_names(cs))},
                copy=CopyView(net, k)))

    def call(k: int, hook: str, *args: Any) -> None:
        """Copy k's epoch-level hook, on its own model brought up to date (and read back after)."""
        if not hooks[k][hook]:
            return
        if not frozen[k]:
            net.write_back(stack, [k])
        for cb in hooks[k][hook]:
            getattr(cb, hook)(states[k], *args)
        if not frozen[k]:
            net.read_from(stack, [k])

    def freeze(k: int, ep: int) -> None:
        """Copy k takes no more steps: its weights now are its final ones (as a separate run ending here)."""
        if not frozen[k]:
            net.write_back(stack, [k])
            frozen[k] = True
            active[k] = False
            hists[k].steps, hists[k].epochs = step, ep

    def per_copy_eval(split: str, ks: Sequence[int]) -> dict[int, dict[str, float]]:
        xs, ys = [getattr(d, f"x_{split}") for d in datas], [getattr(d, f"y_{split}") for d in datas]
        if max(len(t) for t in xs) == 0 or not ks:
            return {k: {} for k in ks}
        xe = xs[0] if shared else _stack_split(xs)  # per copy: (K, N, ...), padded to the longest split
        n_e = xe.shape[0 if shared else 1]
        net.eval()
        try:
            with torch.no_grad():
                chunks = [xe[i:i + one.eval_batch_size] if shared else xe[:, i:i + one.eval_batch_size]
                          for i in range(0, n_e, one.eval_batch_size)]
                out = torch.cat([net(c.unsqueeze(0).expand(K, *c.shape) if shared else c) for c in chunks], 1)
        finally:
            net.train()
        if data.task == "classification" and kind == "cross_entropy" and all(t.ndim == 1 and len(t) == n_e for t in ys):
            return _metrics_at_once(out, ys[0].expand(K, n_e) if shared else torch.stack(ys), ks)
        res_k: dict[int, dict[str, float]] = {}
        for k in ks:
            if len(ys[k]) == 0:
                res_k[k] = {}
                continue
            ok, ye = out[k, :len(ys[k])], ys[k]
            r = {"loss": float(loss_fn(ok, ye))}
            if data.task == "classification":
                r["acc"] = accuracy(ok, ye)
                r["ece"] = expected_calibration_error(F.softmax(ok.float(), dim=1), ye)
            res_k[k] = r
        return res_k

    def do_eval(ks: Sequence[int]) -> None:
        """Evaluate copies ``ks`` (the running ones), call their ``on_evaluate``, append their records."""
        base = {"epoch": epoch, "step": step}
        tr = per_copy_eval("train", ks) if one.eval_train else None
        va = per_copy_eval("val", ks)
        lr = opt.param_groups[0]["lr"]
        secs = time.perf_counter() - t0
        correct = run_correct.tolist()
        for k in ks:
            cnt = seen - since[k]
            rec: dict[str, Any] = {"epoch": states[k].epoch if states else epoch, "step": step}
            if tr is not None:
                rec.update({f"train_{a}": v for a, v in tr[k].items()})
            elif cnt:
                rec["train_loss"] = float(run_loss[k]) / cnt
                if classify:
                    rec["train_acc"] = correct[k] / cnt
            rec.update({f"val_{a}": v for a, v in va[k].items()})
            rec["lr"], rec["seconds"] = lr, secs
            if states:
                call(k, "on_evaluate", rec)
                states[k].metrics = rec
            hists[k].records.append(rec)
            run_loss[k] = 0.0
            run_correct[k] = 0
            since[k] = seen
        progress.report(hists[ks[0]].records[-1] if ks else base)

    def running() -> list[int]:
        return [k for k in range(K) if not frozen[k]]

    net.train()
    try:
        for k in range(K) if states else ():
            call(k, "on_fit_start")
        i = 0
        while step < total and not all(frozen):
            perms_cpu = torch.stack([torch.randperm(n, generator=g) for g in gens])
            perms = perms_cpu.to(dev)
            for k in running() if states else ():
                states[k].epoch_order = perms_cpu[k]
                call(k, "on_epoch_start")
            for i in range(steps_per_epoch):
                idx = perms[:, i * bs:(i + 1) * bs]
                flat = (idx if offsets is None else idx + offsets).reshape(-1)
                xb = xf.index_select(0, flat).view(*idx.shape, *xf.shape[1:])
                yb = yf.index_select(0, flat).view(*idx.shape, *yf.shape[1:])
                hard = None  # with per-copy targets: which copies' batches kept hard labels
                if states:
                    live = running()
                    for k in live:
                        states[k].batch_index = perms_cpu[k, i * bs:(i + 1) * bs]
                    if any_hook["on_batch"]:
                        xs, ys, changed = list(xb.unbind(0)), list(yb.unbind(0)), False
                        for k in live:
                            xk, yk = xs[k], ys[k]
                            for cb in hooks[k]["on_batch"]:
                                xk, yk = cb.on_batch(states[k], xk, yk)
                            changed = changed or xk is not xs[k] or yk is not ys[k]
                            xs[k], ys[k] = xk, yk
                        if changed:
                            hard = torch.tensor([t.ndim == 1 for t in ys], device=dev)
                            xb, yb = torch.stack(xs), _stack_targets(ys, num_classes)
                with amp:
                    out = net(xb)
                    losses = _losses(kind, one.label_smoothing, out, yb)
                lv = losses.detach().cpu()
                if states and any_hook["on_loss"]:
                    parts = list(losses.unbind(0))
                    for k in running():
                        for cb in hooks[k]["on_loss"]:
                            parts[k] = cb.on_loss(states[k], parts[k], out[k], xb[k], yb[k])
                    losses = torch.stack(parts)
                    finite = torch.isfinite(lv) & torch.isfinite(losses.detach()).cpu()
                    ok = bool(finite.all())
                else:
                    ok = math.isfinite(float(lv.sum()))
                    finite = torch.isfinite(lv) if not ok else None
                if not ok:  # some copy's loss is non-finite (a diverged one stays NaN)
                    assert finite is not None
                    for k in [k for k in running() if not bool(finite[k])]:
                        h = hists[k]
                        h.diverged, h.diverged_step = True, step
                        h.stop_reason = f"non-finite loss at step {step}"
                        if states:
                            states[k].stop, states[k].stop_reason = True, h.stop_reason
                        freeze(k, epoch)  # before this step's update: the weights a separate run ends with
                    if all(frozen):
                        break
                if bool(active.all()):
                    total_loss = losses.sum()
                else:  # frozen (stopped or diverged) copies get no gradient
                    total_loss = torch.where(active.to(dev), losses, torch.zeros_like(losses)).sum()
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(total_loss).backward()
                    if one.grad_clip is not None or any_hook["on_after_backward"]:
                        scaler.unscale_(opt)
                else:
                    total_loss.backward()
                for k in running() if any_hook["on_after_backward"] else ():
                    for cb in hooks[k]["on_after_backward"]:
                        cb.on_after_backward(states[k])
                if one.grad_clip is not None:
                    _clip_per_copy(list(net.parameters()), one.grad_clip)
                if scaler is not None:
                    scaler.step(opt)
                    scaler.update()
                else:
                    opt.step()
                if sched is not None:
                    sched.step()
                step += 1
                run_loss += lv.double() * idx.shape[1]
                seen += idx.shape[1]
                if classify:
                    if yb.ndim == 2:
                        run_correct += (out.argmax(2) == yb).sum(1)
                    elif hard is not None and bool(hard.any()):  # some copies' labels went soft: count the others
                        run_correct += ((out.argmax(2) == yb.argmax(2)) & hard.view(-1, 1)).sum(1)
                progress.step()
                if states:
                    lvl = lv.tolist()
                    for k in running():
                        states[k].step, states[k].loss = step, lvl[k]
                        for cb in hooks[k]["on_step_end"]:
                            cb.on_step_end(states[k])
                if plan.eval_after_step(step):
                    do_eval(running())
                if states:  # a copy a callback stopped during this step ends as a separate run would
                    for k in [k for k in running() if states[k].stop]:
                        completed = i == steps_per_epoch - 1
                        ep = epoch + 1 if completed else epoch
                        states[k].epoch = ep
                        if plan.eval_after_epoch(step, completed, True):
                            do_eval([k])
                        if completed:
                            call(k, "on_epoch_end")
                        freeze(k, ep)
                if step >= total or all(frozen):
                    break
            if all(frozen):
                break
            completed = i == steps_per_epoch - 1
            finished = step >= total
            if completed:
                epoch += 1
                for k in running() if states else ():
                    states[k].epoch = epoch
            if plan.eval_after_epoch(step, completed, finished):
                do_eval(running())
            if completed:
                for k in running() if states else ():
                    call(k, "on_epoch_end")
            for k in running() if states else ():
                if states[k].stop:
                    freeze(k, epoch)
        live = running()
        net.write_back(stack, live)
        for k in live:
            hists[k].steps, hists[k].epochs = step, epoch
        for k in range(K) if states else ():
            for cb in hooks[k]["on_fit_end"]:
                cb.on_fit_end(states[k])
            hists[k].stop_reason = states[k].stop_reason
    except BaseException as e:
        for k in range(K) if states else ():
            for cb in hooks[k]["on_fit_abort"]:
                cb.on_fit_abort(states[k], e)
        raise
    finally:
        progress.close()
    secs = time.perf_counter() - t0
    for h in hists:
        h.seconds = secs
    if one.evaluate_test:
        if states:
            net.read_from(stack)  # on_fit_end may have restored weights or folded masks in
        ok_ks = [k for k in range(K) if not hists[k].diverged]
        for k, r in per_copy_eval("test", ok_ks).items():
            hists[k].test = r
    return hists


def train_seeds(model_config: str | Mapping[str, Any], data: Splits, train_config: TrainConfig | Mapping[str, Any] | None,
                seeds: Sequence[int], *, callbacks: Sequence[Callback] | Callable[[int], Sequence[Callback]] = ()
                ) -> tuple[list[nn.Module], SeedsResult]:
    """Build one model per seed (``build_model(model_config, seed=s)``) and train them with
    train seed ``s`` — vectorized where possible. For the lab's multi-seed intervals:

    >>> from initreg.data import load_data
    >>> d = load_data({"name": "digits", "train_size": 100})
    >>> models, hs = train_seeds({"name": "mlp", "depth": 1, "width": 8}, d, {"epochs": 1, "progress": "none"}, [0, 1])
    >>> len(models), [h.steps for h in hs]
    (2, [2, 2])
    """
    from ..models import build_model

    models = [build_model(model_config, data.input_shape, data.num_outputs, seed=s) for s in seeds]
    return models, fit_seeds(models, data, train_config, seeds=list(seeds), callbacks=callbacks)
