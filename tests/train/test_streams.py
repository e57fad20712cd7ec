"""Separate random streams: a stochastic callback moves neither the batch order nor another
callback's draws; runs stay bit-reproducible (initreg.train.streams)."""

from __future__ import annotations

import pytest
import torch

from initreg.data import load_data
from initreg.models import build_model
from initreg.regularize.augment import ImageAugment
from initreg.regularize.mixup import Mixup
from initreg.regularize.prune import Prune
from initreg.train import Callback, fit
from initreg.train.multiseed import fit_seeds
from initreg.train.streams import stream, stream_seed

TRAIN = {"epochs": 3, "batch_size": 32, "progress": "none", "seed": 7}


class RecordBatches(Callback):
    """Records the raw batch `fit` sliced (it runs first, before any batch-changing callback)."""

    def __init__(self, x_train: torch.Tensor):
        self.x_train = x_train
        self.rows: list[torch.Tensor] = []
        self.indices: list[torch.Tensor] = []

    def on_batch(self, state, x, y):
        # which train rows this batch holds, found from the data itself (not from what fit reports)
        d = torch.cdist(x.flatten(1).double(), self.x_train.flatten(1).double())
        self.rows.append(d.argmin(1))
        self.indices.append(state.batch_index.clone())
        return x, y


class Draws(Callback):
    """Draws from its own stream every step, as a stochastic regularizer does."""

    def __init__(self):
        self.seen: list[float] = []

    def on_batch(self, state, x, y):
        self.seen.append(float(torch.rand((), generator=state.generator_for(self))))
        return x, y


@pytest.fixture(scope="module")
def data():
    return load_data({"name": "digits", "train_size": 160})


def _model(data, seed=0, **kw):
    return build_model({"name": "mlp", "depth": 1, "width": 16, **kw}, data.input_shape, data.num_outputs, seed=seed)


def _batches(data, *extra):
    rec = RecordBatches(data.x_train)
    fit(_model(data), data, TRAIN, callbacks=[rec, *extra])
    return rec


@pytest.mark.parametrize("extra", [
    lambda: [Mixup(alpha=0.4)],
    lambda: [ImageAugment(hflip=0.5, translate=0.1)],
    lambda: [Prune(0.5, criterion="random", start_epoch=1)],
    lambda: [Mixup(alpha=0.4), Draws(), Draws()],
], ids=["mixup", "augment", "random-pruning", "three-stochastic"])
def test_stochastic_callback_leaves_batch_order_unchanged(data, extra):
    plain = _batches(data)
    with_cb = _batches(data, *extra())
    assert len(plain.rows) == len(with_cb.rows) == 3 * 5
    for a, b in zip(plain.rows, with_cb.rows):
        assert torch.equal(a, b)
    # what fit reports as the batch's rows is what it trained on
    for found, told in zip(with_cb.rows, with_cb.indices):
        assert torch.equal(found, told)


def test_batch_order_depends_on_the_seed(data):
    a = _batches(data)
    rec = RecordBatches(data.x_train)
    fit(_model(data), data, {**TRAIN, "seed": 8}, callbacks=[rec])
    assert not all(torch.equal(x, y) for x, y in zip(a.rows, rec.rows))


def test_each_callback_has_its_own_stream(data):
    """A callback's draws do not depend on other stochastic callbacks of other classes."""
    alone = Draws()
    fit(_model(data), data, TRAIN, callbacks=[alone])
    beside = Draws()
    fit(_model(data), data, TRAIN, callbacks=[Mixup(alpha=0.4), beside, ImageAugment(hflip=0.5)])
    assert alone.seen == beside.seen
    # two callbacks of one class get two different streams
    d0, d1 = Draws(), Draws()
    fit(_model(data), data, TRAIN, callbacks=[d0, d1])
    assert d0.seen == alone.seen and d1.seen != d0.seen
    # and none of them is the batch order's stream or torch's global RNG seeded with the seed
    perm_stream = torch.rand(len(alone.seen), generator=stream(7, "data-order")).tolist()
    assert alone.seen != perm_stream
    assert alone.seen != torch.rand(len(alone.seen), generator=torch.Generator().manual_seed(7)).tolist()


def test_state_generator_is_not_the_batch_order(data):
    """A callback that draws from the shared ``state.generator`` does not move the batch order."""

    class Shared(Callback):
        def on_batch(self, state, x, y):
            torch.rand(100, generator=state.generator)
            return x, y

    plain = _batches(data)
    shared = _batches(data, Shared())
    assert all(torch.equal(a, b) for a, b in zip(plain.rows, shared.rows))


def test_runs_with_stochastic_callbacks_are_bit_reproducible(data):
    def once():
        m = _model(data, dropout=0.3)
        h = fit(m, data, TRAIN, callbacks=[Mixup(alpha=0.4), ImageAugment(hflip=0.5, translate=0.1)])
        return h, m

    (h1, m1), (h2, m2) = once(), once()
    assert h1.records == [{**r, "seconds": s["seconds"]} for r, s in zip(h2.records, h1.records)]
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_dropout_stream_is_not_the_batch_order(data):
    """The model's dropout draws from the "model-noise" stream, not from a generator seeded
    like the batch order: with and without dropout, the same batches in the same order."""
    plain = _batches(data)
    rec = RecordBatches(data.x_train)
    fit(_model(data, dropout=0.5), data, TRAIN, callbacks=[rec])
    assert all(torch.equal(a, b) for a, b in zip(plain.rows, rec.rows))
    assert stream_seed(7, "model-noise") not in (7, stream_seed(7, "data-order"))


def test_fit_seeds_uses_the_same_streams_as_fit(data):
    """Vectorized copies shuffle and drop out with the same streams as separate `fit` runs."""
    cfg = {"epochs": 2, "batch_size": 32, "progress": "none"}
    ms = [_model(data, seed=s, dropout=0.3) for s in (3, 4)]
    refs = [_model(data, seed=s, dropout=0.3) for s in (3, 4)]
    hs = fit_seeds(ms, data, cfg, seeds=[3, 4])
    assert hs.vectorized
    for m, r, s in zip(ms, refs, (3, 4)):
        fit(r, data, {**cfg, "seed": s})
        for a, b in zip(m.parameters(), r.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
