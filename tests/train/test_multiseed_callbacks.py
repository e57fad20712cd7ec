"""Callbacks in stacked training: K seeds with per-copy callbacks equal K separate `fit` runs
with the same seeds and callbacks (to float rounding), callback by callback; callbacks that
cannot stack fall back to sequential runs and say why."""

from __future__ import annotations

import math

import pytest
import torch
from seed_runs import assert_same_histories, close

from initreg.data import load_data
from initreg.models import build_model
from initreg.regularize.corrupt import Corrupt
from initreg.regularize.distill import Distill
from initreg.regularize.early_stopping import EarlyStopping
from initreg.regularize.mixup import CutMix, LabelSmoothing, Mixup
from initreg.regularize.penalties import ActivityPenalty, WeightPenalty
from initreg.regularize.prune import Prune, prune_, sparsity_report
from initreg.regularize.weight_decay import WeightDecay
from initreg.train import Callback, fit
from initreg.train.multiseed import fit_seeds
from initreg.train.stacked import StackedSequential
from initreg.train.stacked_callbacks import CopyView

torch.set_num_threads(1)

MC = {"name": "mlp", "depth": 2, "width": 16, "init": "torch"}
SEEDS = [3, 4, 5]


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 200})


def _models(d, k=len(SEEDS), mc=MC):
    return [build_model(mc, d.input_shape, d.num_outputs, seed=s) for s in range(k)]


def _same(seq, vec, ms_seq, ms_vec, rel=1e-4):
    assert_same_histories(seq, vec, rel, 1e-5, stop_reason=True)
    for a, b in zip(ms_seq, ms_vec):
        sa, sb = a.state_dict(), b.state_dict()
        assert set(sa) == set(sb)
        for key in sa:
            torch.testing.assert_close(sa[key], sb[key], rtol=1e-3, atol=1e-4)


def _both(d, make, tc, mc=MC, prepare=None):
    """Separate `fit` runs and one `fit_seeds` run with callbacks ``make(k)`` per copy."""
    tc = {"progress": "none", **tc}
    ref, ms = _models(d, mc=mc), _models(d, mc=mc)
    if prepare is not None:
        for k, (a, b) in enumerate(zip(ref, ms)):
            prepare(k, a)
            prepare(k, b)
    seq_cbs = [make(k) for k in range(len(SEEDS))]
    seq = [fit(m, d, {**tc, "seed": s}, callbacks=c) for m, s, c in zip(ref, SEEDS, seq_cbs)]
    res = fit_seeds(ms, d, tc, seeds=SEEDS, callbacks=make)
    assert res.vectorized, res.reason
    _same(seq, res, ref, ms)
    return seq_cbs, res


TC = {"epochs": 3, "batch_size": 32, "lr": 3e-3}


@pytest.mark.parametrize("make", [
    lambda k: [WeightPenalty(l1=1e-3, l2=1e-2)],
    lambda k: [WeightPenalty(l2=5e-2, include_bias=True, schedule="linear", warmup=0.5)],
    lambda k: [WeightDecay(0.05, "decoupled")],
    lambda k: [WeightDecay(1e-2, "coupled", include_bias=True)],
    lambda k: [WeightDecay(1e-3, "lecture")],
    lambda k: [ActivityPenalty(l1=1e-3, l2=1e-3)],
    lambda k: [Mixup(alpha=0.4)],
    lambda k: [Mixup(alpha=1.0, p=0.5, per_example=True), LabelSmoothing(0.1)],
    lambda k: [LabelSmoothing(0.2)],
    lambda k: [Corrupt(1.5, p=0.7)],
], ids=["l1+l2", "l2-scheduled", "decay-decoupled", "decay-coupled", "decay-lecture", "activity", "mixup",
        "mixup-p-smoothing", "label-smoothing", "corrupt"])
def test_per_step_callbacks_stacked_equal_separate_runs(digits, make):
    _both(digits, make, TC)


def test_penalties_with_dropout_sgd_clipping_and_eval_every(digits):
    mc = {**MC, "dropout": 0.2}
    tc = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "steps": 14, "eval_every": 5, "grad_clip": 0.5,
          "label_smoothing": 0.1, "batch_size": 40}
    _both(digits, lambda k: [WeightPenalty(l1=1e-3), ActivityPenalty(l2=1e-2), WeightDecay(0.01, "decoupled")],
          tc, mc=mc)


@pytest.mark.parametrize("es", [
    dict(patience=1), dict(criterion="GL", alpha=1.0), dict(criterion="UP", strip=1, s=1),
    dict(patience=2, restore_best=False), dict(monitor="val_acc", patience=1)])
def test_early_stopping_per_copy(es, digits):
    tc = {"epochs": 25, "batch_size": 50, "lr": 0.05}
    seq_cbs, res = _both(digits, lambda k: [EarlyStopping(**es)], tc)
    stopped = [h.epochs for h in res]
    assert min(stopped) < 25  # at least one copy stopped early ...
    for a, b in zip(seq_cbs, res.callbacks):  # ... with each copy's own report
        ra, rb = a[0].report, b[0].report
        assert close(ra.pop("best_value"), rb.pop("best_value"), 1e-4, 1e-5)
        assert ra == rb


def test_early_stopping_copies_stop_at_different_epochs(digits):
    tc = {"epochs": 30, "batch_size": 50, "lr": 0.05}
    _, res = _both(digits, lambda k: [EarlyStopping(criterion="GL", alpha=1.0)], tc)
    assert len({h.epochs for h in res}) > 1, [h.epochs for h in res]


def test_early_stopping_with_eval_every_steps(digits):
    tc = {"steps": 60, "eval_every": 3, "batch_size": 50, "lr": 0.05}
    _, res = _both(digits, lambda k: [EarlyStopping(patience=1)], tc)
    assert min(h.steps for h in res) < 60


@pytest.mark.parametrize("criterion", ["magnitude", "random", "global_magnitude", "structured"])
def test_pruning_per_copy(criterion, digits):
    _, res = _both(digits, lambda k: [Prune(0.75, criterion, start_epoch=1, rounds=2)], {**TC, "epochs": 4})
    assert [cb[0].done for cb in res.callbacks] == [2] * len(SEEDS)
    assert all(r["sparsity"] >= 0.5 for h in res for r in h.records[2:])


def test_pruned_models_fine_tune_stacked_with_their_masks(digits):
    # models pruned before training (each with its own random mask) fine-tune stacked, the masks kept
    def prepare(k, m):
        prune_(m, 0.8, "random", generator=torch.Generator().manual_seed(100 + k))

    seq_cbs, res = _both(digits, lambda k: [], TC, prepare=prepare)
    assert res.vectorized


def test_pruned_models_keep_exactly_their_zeros(digits):
    ms = _models(digits)
    for k, m in enumerate(ms):
        prune_(m, 0.8, "random", generator=torch.Generator().manual_seed(k))
    masks = [[mm.weight_mask.clone() for mm in m if hasattr(mm, "weight_mask")] for m in ms]
    assert not torch.equal(masks[0][0], masks[1][0])  # each copy its own mask
    res = fit_seeds(ms, digits, {**TC, "progress": "none"}, seeds=SEEDS)
    assert res.vectorized
    for m, mk in zip(ms, masks):
        ws = [mm.weight for mm in m if hasattr(mm, "weight_mask")]
        for w, msk in zip(ws, mk):
            assert bool((w[msk == 0] == 0).all()) and bool((w[msk == 1] != 0).all())
        assert math.isclose(sparsity_report(m)[-1]["sparsity"], 0.8, abs_tol=0.01)


def test_distillation_students_per_copy(digits):
    teachers = _models(digits, mc={"name": "mlp", "depth": 1, "width": 32, "init": "torch"})
    for t, s in zip(teachers, SEEDS):
        fit(t, digits, {"epochs": 2, "progress": "none", "seed": s})
    small = {"name": "mlp", "depth": 1, "width": 8, "init": "torch"}
    seq_cbs, res = _both(digits, lambda k: [Distill(teachers[k], temperature=3.0, alpha=0.7)], TC, mc=small)
    assert [c[0].hits for c in res.callbacks] == [c[0].hits for c in seq_cbs] and res.callbacks[0][0].misses == 0
    # with mixup first, the batches are no slices of the train split: live teacher forwards, per copy
    _both(digits, lambda k: [Mixup(0.4), Distill(teachers[k], alpha=0.5)], TC, mc=small)


def test_a_shared_callback_list_is_copied_per_copy(digits):
    es = EarlyStopping(patience=1)
    ms = _models(digits)
    res = fit_seeds(ms, digits, {"epochs": 20, "lr": 0.05, "batch_size": 50, "progress": "none"}, seeds=SEEDS,
                    callbacks=[es])
    assert res.vectorized and res.callbacks[0] == [es]
    assert len({id(c[0]) for c in res.callbacks}) == len(SEEDS)
    assert [c[0].report["evaluations"] for c in res.callbacks] == [len(h.records) for h in res]


def test_an_instance_the_factory_shares_is_copied_per_copy(digits):
    es = EarlyStopping(patience=1)
    res = fit_seeds(_models(digits), digits, {"epochs": 20, "lr": 0.05, "batch_size": 50, "progress": "none"},
                    seeds=SEEDS, callbacks=lambda k: [Mixup(0.2), es])
    assert res.vectorized and res.callbacks[0][1] is es
    assert len({id(c[1]) for c in res.callbacks}) == len(SEEDS)
    assert [c[1].report["evaluations"] for c in res.callbacks] == [len(h.records) for h in res]


def test_a_callback_that_cannot_stack_falls_back_and_says_why(digits):
    class Probe(Callback):
        def on_step_end(self, state):
            pass

    with pytest.warns(UserWarning, match="sequentially: callbacks \\(Probe\\) act on one model at a time"):
        res = fit_seeds(_models(digits), digits, {"epochs": 1, "progress": "none"}, seeds=SEEDS,
                        callbacks=lambda k: [Probe(), Mixup()])
    assert not res.vectorized and "Probe" in res.reason and "Mixup" not in res.reason


def test_cutmix_on_flat_inputs_stacks(digits):
    _both(digits, lambda k: [CutMix(alpha=1.0, image_shape=[1, 8, 8])], TC)


def test_copy_view_reaches_the_copy_slices():
    ms = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)) for _ in range(3)]
    net = StackedSequential(ms)
    v = CopyView(net, 2)
    assert torch.equal(v.parameter("2.bias"), ms[2][2].bias)
    seen = []
    h = v.watch("1", seen.append)
    x = torch.randn(3, 5, 3)
    net.train()(x)
    assert len(seen) == 1 and torch.equal(seen[0], ms[2][1](ms[2][0](x[2])))
    with torch.no_grad():
        net(x)  # no gradients: not a training forward
    assert len(seen) == 1
    h.remove()
    net(x)
    assert len(seen) == 1
    with pytest.raises(KeyError, match="parameters: 0.weight, 0.bias, 2.weight, 2.bias"):
        v.parameter("5.weight")


def test_callbacks_with_a_data_split_per_copy(digits):
    # each copy its own split (the lab's per-seed splits) and its own mixup + early stopping
    datas = [load_data({"name": "digits", "train_size": 200, "seed": s}) for s in SEEDS]
    tc = {"epochs": 12, "batch_size": 50, "lr": 0.05, "progress": "none"}
    make = lambda k: [Mixup(0.3), EarlyStopping(patience=1)]  # noqa: E731
    ref, ms = _models(digits), _models(digits)
    seq = [fit(m, d, {**tc, "seed": s}, callbacks=make(k)) for k, (m, d, s) in enumerate(zip(ref, datas, SEEDS))]
    res = fit_seeds(ms, datas, tc, seeds=SEEDS, callbacks=make)
    assert res.vectorized
    _same(seq, res, ref, ms)
