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

Each copy may train on its own data: ``data`` is one `Splits` shared by all copies or a
sequence of K `Splits` (e.g. a split, label noise or subset drawn per seed), which must
agree in input shape, outputs, task and training-set size; copy ``k`` trains, validates and
tests on ``data[k]`` exactly as ``fit(models[k], data[k])`` would.

What can be vectorized: a ``Sequential`` of ``Flatten``, ``Linear``, `LowRankLinear`,
parameter-free elementwise activations and dropout (``nn.Dropout`` or `initreg.nn.Dropout`
without its own generator), trained without callbacks. Anything else — BatchNorm (its
running statistics), LayerNorm, convolutions, callbacks (they see one model) — falls back
to K sequential `fit` runs, and the result says why (``result.reason``). The stacked model
itself is `initreg.train.stacked`.

>>> from initreg.data import load_data
>>> from initreg.models import build_model
>>> d = load_data({"name": "digits", "train_size": 100})
>>> ms = [build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, 10, seed=s) for s in range(4)]
>>> hs = fit_seeds(ms, d, {"epochs": 1, "progress": "none"}, seeds=[0, 1, 2, 3])
>>> len(hs), hs.vectorized
(4, True)
"""

from __future__ import annotations

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
from .callbacks import Callback
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
from .streams import DATA_ORDER, MODEL_NOISE, stream

__all__ = ["SeedsResult", "StackedSequential", "fit_seeds", "train_seeds", "vectorize_reason"]


class SeedsResult(list):
    """K histories (a list), plus whether they were trained vectorized and, if not, why."""

    vectorized: bool = False
    reason: str | None = None


def _losses(kind: str, ls: float, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-copy mean loss ``(K,)`` of outputs ``(K, B, C)`` against targets ``(K, B, ...)``."""
    k, b = out.shape[:2]
    if kind == "cross_entropy":
        per = F.cross_entropy(out.reshape(k * b, -1).float(), y.reshape(k * b), label_smoothing=ls, reduction="none")
        return per.view(k, b).mean(1)
    yy = y.reshape(out.shape) if y.numel() == out.numel() else y  # mse (`loss_kind` allows no other)
    return ((out.float() - yy) ** 2).reshape(k, -1).mean(1)


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
    says why). ``callbacks`` may be a factory ``k -> callbacks`` so each sequential run gets fresh ones.
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
    shared = isinstance(data, Splits)
    datas = [cast("Splits", data)] * len(models) if shared else list(cast("Sequence[Splits]", data))
    if len(datas) != len(models) or not all(isinstance(d, Splits) for d in datas):
        raise ConfigError(f"data must be one Splits or a sequence of {len(models)} Splits (one per model); "
                          f"got {type(data).__name__} of {len(datas)} {'/'.join(sorted({type(d).__name__ for d in datas}))}")
    one = cfg.model_copy(update={"seeds": 1})
    cb_for = callbacks if callable(callbacks) else (lambda k: callbacks)
    reason = vectorize_reason(models[0], cb_for(0))
    if reason is None and len({signature(m) for m in models}) > 1:
        reason = "the models differ in architecture"
    if reason is None and not shared:
        reason = _data_reason(datas)
    res = SeedsResult()
    if reason is not None or len(models) == 1:
        if reason is not None and len(models) > 1:
            warnings.warn(f"training {len(models)} seeds sequentially: {reason}", stacklevel=2)
        for k, (m, s) in enumerate(zip(models, seeds)):
            res.append(fit(m, datas[k], one.model_copy(update={"seed": s}), callbacks=cb_for(k)))
        res.vectorized, res.reason = False, reason or "one seed"
        return res

    dev = resolve_device(cfg.device)
    datas = [d if d.x_train.device == dev else d.to(dev) for d in datas]
    data = datas[0]  # task and sizes: the same for every copy
    K = len(models)
    stack = cast("list[nn.Sequential]", models)  # vectorize_reason allowed only Sequentials
    net = StackedSequential(stack).to(dev)
    gens = [stream(s, DATA_ORDER) for s in seeds]  # shuffling (CPU, like fit)
    dgens = [stream(s, MODEL_NOISE, device=dev) for s in seeds]  # dropout masks (fit: the global RNG, same seed)
    net.generators = dgens
    x, y = (data.x_train, data.y_train) if shared else (_stack_split([d.x_train for d in datas]),
                                                        _stack_split([d.y_train for d in datas]))
    rows = None if shared else torch.arange(K, device=dev).view(K, 1)  # copy k's batch comes from its own x[k]
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
    active = torch.ones(K, dtype=torch.bool)
    step, epoch = 0, 0
    classify = data.task == "classification" and y.ndim == 1
    run_loss = torch.zeros(K, dtype=torch.float64)
    run_correct = torch.zeros(K, dtype=torch.long, device=dev)
    run_count = 0
    progress = Progress(one.progress, total, f"train {K} seeds")
    t0 = time.perf_counter()

    def per_copy_eval(split: str) -> list[dict[str, float]]:
        xs, ys = [getattr(d, f"x_{split}") for d in datas], [getattr(d, f"y_{split}") for d in datas]
        if max(len(t) for t in xs) == 0:
            return [{} for _ in range(K)]
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
        res_k: list[dict[str, float]] = []
        for k in range(K):
            if not active[k] or len(ys[k]) == 0:  # diverged: its weights are meaningless now
                res_k.append({})
                continue
            ok, ye = out[k, :len(ys[k])], ys[k]
            r = {"loss": float(loss_fn(ok, ye))}
            if data.task == "classification":
                r["acc"] = accuracy(ok, ye)
                r["ece"] = expected_calibration_error(F.softmax(ok.float(), dim=1), ye)
            res_k.append(r)
        return res_k

    def do_eval() -> None:
        nonlocal run_loss, run_correct, run_count
        base = {"epoch": epoch, "step": step}
        tr = per_copy_eval("train") if one.eval_train else None
        va = per_copy_eval("val")
        lr = opt.param_groups[0]["lr"]
        secs = time.perf_counter() - t0
        correct = run_correct.tolist()
        for k in range(K):
            if not active[k]:
                continue
            rec: dict[str, Any] = dict(base)
            if tr is not None:
                rec.update({f"train_{a}": v for a, v in tr[k].items()})
            elif run_count:
                rec["train_loss"] = float(run_loss[k]) / run_count
                if classify:
                    rec["train_acc"] = correct[k] / run_count
            rec.update({f"val_{a}": v for a, v in va[k].items()})
            rec["lr"], rec["seconds"] = lr, secs
            hists[k].records.append(rec)
        progress.report(hists[int(active.nonzero()[0])].records[-1] if active.any() else base)
        run_loss = torch.zeros(K, dtype=torch.float64)
        run_correct.zero_()
        run_count = 0

    net.train()
    try:
        while step < total and bool(active.any()):
            perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
            for i in range(steps_per_epoch):
                idx = perms[:, i * bs:(i + 1) * bs]
                xb, yb = (x[idx], y[idx]) if rows is None else (x[rows, idx], y[rows, idx])
                with amp:
                    out = net(xb)
                    losses = _losses(kind, one.label_smoothing, out, yb)
                lv = losses.detach().cpu()
                lsum = float(lv.sum())
                if not math.isfinite(lsum):  # some copy's loss is non-finite (a diverged one stays NaN)
                    newly = active & ~torch.isfinite(lv)
                    for k in newly.nonzero().flatten().tolist():
                        h = hists[k]
                        h.diverged, h.diverged_step = True, step
                        h.stop_reason = f"non-finite loss at step {step}"
                        h.steps, h.epochs = step, epoch
                    active &= torch.isfinite(lv)
                    if not active.any():
                        break
                if bool(active.all()):
                    total_loss = losses.sum()
                else:  # frozen (diverged) copies get no gradient
                    total_loss = torch.where(active.to(dev), losses, torch.zeros_like(losses)).sum()
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(total_loss).backward()
                    if one.grad_clip is not None:
                        scaler.unscale_(opt)
                else:
                    total_loss.backward()
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
                run_loss += lv.double() * len(idx[0])
                run_count += idx.shape[1]
                if classify:
                    run_correct += (out.argmax(2) == yb).sum(1)
                progress.step()
                if plan.eval_after_step(step):
                    do_eval()
                if step >= total:
                    break
            if not active.any():
                break
            completed = i == steps_per_epoch - 1
            finished = step >= total
            if completed:
                epoch += 1
            if plan.eval_after_epoch(step, completed, finished):
                do_eval()
    finally:
        progress.close()
    net.write_back(stack)
    secs = time.perf_counter() - t0
    for h in hists:
        if not h.diverged:
            h.steps, h.epochs = step, epoch
        h.seconds = secs
    if one.evaluate_test:
        for k, r in enumerate(per_copy_eval("test")):
            if not hists[k].diverged:
                hists[k].test = r
    res.extend(hists)
    res.vectorized, res.reason = True, None
    return res


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
