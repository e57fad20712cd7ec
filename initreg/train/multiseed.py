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

What can be vectorized: a ``Sequential`` of ``Flatten``, ``Linear``, `LowRankLinear`,
parameter-free elementwise activations and dropout (``nn.Dropout`` or `initreg.nn.Dropout`
without its own generator), trained without callbacks. Anything else — BatchNorm (its
running statistics), LayerNorm, convolutions, callbacks (they see one model) — falls back
to K sequential `fit` runs, and the result says why (``result.reason``).

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
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..metrics import accuracy, expected_calibration_error
from ..models.low_rank import LowRankLinear
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
from .streams import DATA_ORDER, MODEL_NOISE, stream

__all__ = ["SeedsResult", "StackedSequential", "fit_seeds", "train_seeds", "vectorize_reason"]


class SeedsResult(list):
    """K histories (a list), plus whether they were trained vectorized and, if not, why."""

    vectorized: bool = False
    reason: str | None = None


def _is_elementwise(m: nn.Module) -> bool:
    """A parameter-free module that maps each element independently (checked numerically)."""
    if any(True for _ in m.parameters()) or any(True for _ in m.buffers()) or any(True for _ in m.children()):
        return False
    if type(m).__name__ in ("RReLU", "Dropout", "AlphaDropout", "FeatureAlphaDropout"):
        return False
    x = torch.linspace(-3, 3, 24).reshape(2, 3, 4)
    try:
        with torch.no_grad():
            a, b = m(x), m(x.reshape(-1))
        return a.shape == x.shape and torch.equal(a.reshape(-1), b)
    except Exception:
        return False


def _dropout_spec(m: nn.Module) -> tuple[float, str] | None:
    from ..nn.dropout import Dropout

    if isinstance(m, Dropout):
        return (m.p, m.mode) if m.generator is None else None
    if type(m) is nn.Dropout:
        return (m.p, "inverted")
    return None


def _plain_linear(m: nn.Module) -> str | None:
    """None if a Linear / `LowRankLinear` (and its children) is a plain affine map of its own
    ``weight`` / ``bias`` parameters — no hooks, buffers or parametrizations (pruning masks,
    weight norm, spectral norm ...) that the stacked copy would silently drop."""
    from torch.nn.utils import parametrize

    for sub in m.modules():
        if sub._forward_hooks or sub._forward_pre_hooks or getattr(sub, "_backward_hooks", None):
            return "has hooks (e.g. a pruning mask or weight norm)"
        if any(True for _ in sub.buffers(recurse=False)):
            return "has buffers (e.g. a pruning mask)"
        if parametrize.is_parametrized(sub):
            return "is parametrized (e.g. torch.nn.utils.parametrizations)"
        if isinstance(sub, nn.Linear) and set(sub._parameters) - {"weight", "bias"}:
            return f"has extra parameters {sorted(set(sub._parameters) - {'weight', 'bias'})}"
    return None


def vectorize_reason(model: nn.Module, callbacks: Sequence[Callback] = ()) -> str | None:
    """None if ``model`` can be trained as a stacked K-seed model, else the reason why not."""
    if callbacks:
        return f"callbacks ({', '.join(type(c).__name__ for c in callbacks)}) act on one model at a time"
    if not isinstance(model, nn.Sequential):
        return f"{type(model).__name__} is not an nn.Sequential"
    for i, m in enumerate(model):
        if isinstance(m, nn.Flatten):
            if i != 0 or m.start_dim != 1 or m.end_dim != -1:
                return "only a leading Flatten(1, -1) is supported"
        elif isinstance(m, (nn.Linear, LowRankLinear)):
            if (why := _plain_linear(m)) is not None:
                return f"layer {i} ({type(m).__name__}) {why}"
        elif _dropout_spec(m) is not None:
            continue
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            return f"layer {i} ({type(m).__name__}) keeps running statistics per model"
        elif not _is_elementwise(m):
            return f"layer {i} ({type(m).__name__}) is not a Linear, dropout or parameter-free elementwise layer"
    return None


_INPLACE = {nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}


def _stacked_affine(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``x·Wᵀ + b`` for ``x (K, B, in)``, ``W (K, out, in)``, ``b (K, out)`` or None."""
    if b is None:
        return torch.bmm(x, w.transpose(1, 2))
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))


class _StackedLinear(torch.autograd.Function):
    """``x·Wᵀ + b`` for stacked ``x (K, B, in)``, ``W (K, out, in)``, ``b (K, out)``, with a
    backward that produces ∂L/∂W directly in W's layout (``gᵀ·x``), so no transposed copy is
    made when it is accumulated; skips ∂L/∂x for the input data. ≈8% faster training steps
    than autograd through ``baddbmm`` here (16 copies of a 40-100-100-10 MLP, 1 thread)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return _stacked_affine(x, w, b)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, w = ctx.saved_tensors
        gx = torch.bmm(g, w) if ctx.needs_input_grad[0] else None
        gw = torch.bmm(g.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        gb = g.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


class StackedSequential(nn.Module):
    """K copies of a vectorizable ``Sequential`` with stacked weights ``(K, out, in)``.

    ``forward(x)`` takes ``(K, B, *input_shape)`` (``x.expand(K, ...)`` shares one batch)
    and returns ``(K, B, outputs)``; in training mode each dropout layer draws copy ``k``'s
    mask from ``generators[k]``.
    """

    def __init__(self, models: Sequence[nn.Sequential]):
        super().__init__()
        if not models:
            raise ConfigError("StackedSequential needs at least one model; got an empty list")
        self.k = len(models)
        self.ops: list[tuple[str, Any]] = []
        self.weights = nn.ParameterList()
        self.generators: list[torch.Generator] | None = None

        def stack(get) -> int:
            self.weights.append(nn.Parameter(torch.stack([get(m).detach().clone() for m in models])))
            return len(self.weights) - 1

        ref = models[0]
        for i, m in enumerate(ref):
            if isinstance(m, nn.Flatten):
                self.ops.append(("flatten", None))
            elif isinstance(m, nn.Linear):
                w = stack(lambda mm, i=i: mm[i].weight)
                b = stack(lambda mm, i=i: mm[i].bias) if m.bias is not None else None
                self.ops.append(("linear", (w, b)))
            elif isinstance(m, LowRankLinear):
                w1 = stack(lambda mm, i=i: mm[i].down.weight)
                self.ops.append(("linear", (w1, None)))
                w2 = stack(lambda mm, i=i: mm[i].up.weight)
                b = stack(lambda mm, i=i: mm[i].up.bias) if m.up.bias is not None else None
                self.ops.append(("linear", (w2, b)))
            elif (spec := _dropout_spec(m)) is not None:
                self.ops.append(("dropout", spec))
            else:
                self.ops.append(("act", m))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = not torch.is_autocast_enabled(x.device.type)
        fresh = False  # does x hold a tensor this forward made (safe to overwrite in place)?
        for kind, arg in self.ops:
            if kind == "flatten":
                x = x.flatten(2)
            elif kind == "linear":
                w = self.weights[arg[0]]
                b = self.weights[arg[1]] if arg[1] is not None else None
                x = _StackedLinear.apply(x, w, b) if fast else _stacked_affine(x, w, b)  # autocast: torch's autograd
                fresh = True
            elif kind == "dropout":
                p, mode = arg
                if p == 0:
                    continue
                keep = 1.0 - p
                if not self.training:
                    if mode != "inverted":
                        x, fresh = x * keep, True
                    continue
                if self.generators is None:
                    raise RuntimeError("StackedSequential in training mode needs .generators (one per copy)")
                mask = torch.stack([torch.empty(x.shape[1:], dtype=x.dtype, device=x.device).bernoulli_(keep, generator=g)
                                    for g in self.generators])
                x, fresh = (x * mask / keep if mode == "inverted" else x * mask), True
            else:
                inplace = _INPLACE.get(type(arg)) if fresh else None
                # relu_/tanh_/sigmoid_ on the matmul's own output: their backward needs only their
                # result, the matmul's backward not its output — one tensor and one pass less
                x = inplace(x) if inplace is not None else arg(x)
                fresh = inplace is not None
        return x

    @torch.no_grad()
    def write_back(self, models: Sequence[nn.Sequential]) -> None:
        """Copy copy ``k``'s weights into ``models[k]``."""
        it = iter(self.weights)
        for i, m in enumerate(models[0]):
            params: list[Callable[[nn.Module], torch.Tensor]] = []
            if isinstance(m, nn.Linear):
                params = [lambda mm, i=i: mm[i].weight] + ([lambda mm, i=i: mm[i].bias] if m.bias is not None else [])
            elif isinstance(m, LowRankLinear):
                params = [lambda mm, i=i: mm[i].down.weight, lambda mm, i=i: mm[i].up.weight]
                params += [lambda mm, i=i: mm[i].up.bias] if m.up.bias is not None else []
            for get in params:
                w = next(it)
                for k, mm in enumerate(models):
                    get(mm).copy_(w[k])


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
    norms = torch.sqrt(sum((g.reshape(k, -1).double() ** 2).sum(1) for g in grads)).float()
    coef = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.ndim - 1))))


def fit_seeds(models: nn.Module | Sequence[nn.Module], data: Splits, config: TrainConfig | Mapping[str, Any] | None = None,
              *, seeds: Sequence[int] | None = None,
              callbacks: Sequence[Callback] | Callable[[int], Sequence[Callback]] = ()) -> SeedsResult:
    """Train K models (K = ``len(models)``) with train seeds ``seeds`` (default
    ``config.seed + k``); vectorized if `vectorize_reason` allows, else one `fit` each.

    ``callbacks`` may be a factory ``k -> callbacks`` so each sequential run gets fresh ones.
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
    cb_for = callbacks if callable(callbacks) else (lambda k: callbacks)
    reason = vectorize_reason(models[0], cb_for(0))
    if reason is None and len({_signature(m) for m in models}) > 1:
        reason = "the models differ in architecture"
    res = SeedsResult()
    if reason is not None or len(models) == 1:
        if reason is not None and len(models) > 1:
            warnings.warn(f"training {len(models)} seeds sequentially: {reason}", stacklevel=2)
        for k, (m, s) in enumerate(zip(models, seeds)):
            res.append(fit(m, data, one.model_copy(update={"seed": s}), callbacks=cb_for(k)))
        res.vectorized, res.reason = False, reason or "one seed"
        return res

    dev = resolve_device(cfg.device)
    if data.x_train.device != dev:
        data = data.to(dev)
    K = len(models)
    net = StackedSequential(models).to(dev)
    gens = [stream(s, DATA_ORDER) for s in seeds]  # shuffling (CPU, like fit)
    dgens = [stream(s, MODEL_NOISE, device=dev) for s in seeds]  # dropout masks (fit: the global RNG, same seed)
    net.generators = dgens
    x, y = data.x_train, data.y_train
    plan = LoopPlan.of(one, len(x))
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

    def per_copy_eval(xe: torch.Tensor, ye: torch.Tensor) -> list[dict[str, float]]:
        if len(xe) == 0:
            return [{} for _ in range(K)]
        net.eval()
        try:
            with torch.no_grad():
                chunks = [xe[i:i + one.eval_batch_size] for i in range(0, len(xe), one.eval_batch_size)]
                out = torch.cat([net(c.unsqueeze(0).expand(K, *c.shape)) for c in chunks], 1)
        finally:
            net.train()
        res_k: list[dict[str, float]] = []
        for k in range(K):
            if not active[k]:  # diverged: its weights are meaningless now
                res_k.append({})
                continue
            r = {"loss": float(loss_fn(out[k], ye))}
            if data.task == "classification":
                r["acc"] = accuracy(out[k], ye)
                r["ece"] = expected_calibration_error(F.softmax(out[k].float(), dim=1), ye)
            res_k.append(r)
        return res_k

    def do_eval() -> None:
        nonlocal run_loss, run_correct, run_count
        base = {"epoch": epoch, "step": step}
        tr = per_copy_eval(x, y) if one.eval_train else None
        va = per_copy_eval(data.x_val, data.y_val)
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
                xb, yb = x[idx], y[idx]
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
    net.write_back(models)
    secs = time.perf_counter() - t0
    for h in hists:
        if not h.diverged:
            h.steps, h.epochs = step, epoch
        h.seconds = secs
    if one.evaluate_test:
        for k, r in enumerate(per_copy_eval(data.x_test, data.y_test)):
            if not hists[k].diverged:
                hists[k].test = r
    res.extend(hists)
    res.vectorized, res.reason = True, None
    return res


def _signature(m: nn.Module) -> tuple:
    """Parameter shapes and each layer's repr (dropout p, activation settings, ...): copies
    with equal signatures are the same function up to their weights."""
    return tuple((n, tuple(p.shape)) for n, p in m.named_parameters()) + tuple(repr(c) for c in m)


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
