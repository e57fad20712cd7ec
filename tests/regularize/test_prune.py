"""Pruning: exact sparsity per criterion, agreement with torch's global L1 pruning, masks that
hold through optimizer steps, make_permanent, schedules, the callback, sizes and errors."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as tprune

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.regularize import build_regularizers
from initreg.regularize.prune import (
    Prune,
    compute_masks,
    make_permanent,
    prunable,
    prune_,
    pruning_criteria,
    round_sparsities,
    saved_bytes,
    sparsity_report,
)
from initreg.regularize.prune_recipes import iterative, lottery_ticket, one_shot
from initreg.train import fit


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(13, 30), nn.ReLU(), nn.Linear(30, 17), nn.ReLU(), nn.Linear(17, 5))


def _cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 8, 4))


@pytest.mark.parametrize("crit", ["magnitude", "global_magnitude", "random"])
@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9, 0.97])
def test_unstructured_sparsity_is_exact(crit, s):
    m = _mlp()
    prune_(m, s, crit, generator=torch.Generator().manual_seed(0))
    rep = sparsity_report(m)
    n = sum(r["params"] for r in rep[:-1])
    if crit == "global_magnitude":
        assert rep[-1]["zeros"] == round(s * n)
    else:  # layer-wise: each layer exactly
        for r in rep[:-1]:
            assert r["zeros"] == round(s * r["params"])


def test_global_magnitude_agrees_with_torch():
    m1, m2 = _mlp(1), _mlp(1)
    prune_(m1, 0.8, "global_magnitude")
    tprune.global_unstructured([(layer, "weight") for layer in prunable(m2)], pruning_method=tprune.L1Unstructured,
                               amount=0.8)
    for a, b in zip(prunable(m1), prunable(m2)):
        assert torch.equal(a.weight_mask, b.weight_mask)


def test_layerwise_magnitude_agrees_with_torch():
    m1, m2 = _cnn(), _cnn()
    prune_(m1, 0.6, "magnitude")
    for layer in prunable(m2):
        tprune.l1_unstructured(layer, "weight", amount=0.6)
    for a, b in zip(prunable(m1), prunable(m2)):
        assert torch.equal(a.weight_mask, b.weight_mask)


def test_magnitude_keeps_the_largest():
    m = _mlp()
    w = [layer.weight.detach().abs().clone() for layer in prunable(m)]
    prune_(m, 0.7, "global_magnitude")
    kept = torch.cat([x[layer.weight_mask.bool()] for x, layer in zip(w, prunable(m))])
    dropped = torch.cat([x[~layer.weight_mask.bool()] for x, layer in zip(w, prunable(m))])
    assert kept.min() >= dropped.max()


def test_structured_removes_whole_rows_and_biases_not_outputs():
    m = _cnn()
    prune_(m, 0.5, "structured")
    conv, out = prunable(m)
    rows = conv.weight.detach().flatten(1)
    dead = (rows == 0).all(dim=1)
    assert int(dead.sum()) == 3  # round(0.5 * 6) channels
    assert (rows[~dead] != 0).all()
    assert torch.equal(conv.bias.detach() == 0, dead)
    assert not hasattr(out, "weight_mask")  # the output layer keeps every class
    # the removed channels are the ones with the smallest L2 norm
    m0 = _cnn()
    norms = m0[0].weight.detach().flatten(1).norm(dim=1)
    assert set(torch.argsort(norms)[:3].tolist()) == set(torch.nonzero(dead).flatten().tolist())


def test_random_is_seeded_and_differs_from_magnitude():
    a, b, c = _mlp(), _mlp(), _mlp()
    prune_(a, 0.5, "random", generator=torch.Generator().manual_seed(3))
    prune_(b, 0.5, "random", generator=torch.Generator().manual_seed(3))
    prune_(c, 0.5, "magnitude")
    assert all(torch.equal(x.weight_mask, y.weight_mask) for x, y in zip(prunable(a), prunable(b)))
    assert not all(torch.equal(x.weight_mask, y.weight_mask) for x, y in zip(prunable(a), prunable(c)))


def test_masks_hold_through_optimizer_steps():
    m = _mlp()
    opt = torch.optim.Adam(m.parameters(), lr=0.1, weight_decay=0.1)  # built before pruning
    prune_(m, 0.8, "global_magnitude")
    masks = [layer.weight_mask.clone() for layer in prunable(m)]
    x, y = torch.randn(32, 13), torch.randint(0, 5, (32,))
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    m(x)  # the forward pre-hook recomputes weight = weight_orig * weight_mask
    for layer, mask in zip(prunable(m), masks):
        assert (layer.weight[mask == 0] == 0).all()
        assert (layer.weight[mask == 1] != 0).any()
    assert sparsity_report(m)[-1]["sparsity"] == pytest.approx(0.8, abs=1 / 600)


def test_pruning_is_cumulative_and_make_permanent():
    m = _mlp()
    prune_(m, 0.5, "global_magnitude")
    first = [layer.weight_mask.clone() for layer in prunable(m)]
    prune_(m, 0.8, "global_magnitude")
    for layer, f in zip(prunable(m), first):
        assert (layer.weight_mask[f == 0] == 0).all()  # old zeros stay zero
    before = [layer.weight.detach().clone() for layer in prunable(m)]
    make_permanent(m)
    for layer, b in zip(prunable(m), before):
        assert not hasattr(layer, "weight_mask") and isinstance(layer.weight, nn.Parameter)
        assert torch.equal(layer.weight.detach(), b)
    assert set(m.state_dict()) == set(_mlp().state_dict())


def test_saved_bytes_shrink_with_sparse_storage():
    m = nn.Sequential(nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 10))
    dense = saved_bytes(m, sparse=False)
    assert saved_bytes(m, sparse=True) == pytest.approx(dense, rel=0.02)  # dense beats CSR at 0% sparsity
    prune_(m, 0.9, "global_magnitude")
    sparse = saved_bytes(m, sparse=True)
    # CSR: 4 B value + 4 B column index per kept weight (+ row pointers) instead of 4 B per weight
    assert sparse < 0.3 * dense
    assert saved_bytes(m, sparse=False) == pytest.approx(dense, rel=0.01)
    assert hasattr(m[0], "weight_mask")  # measuring did not change the model


def test_round_sparsities():
    assert round_sparsities(0.9, 1) == [0.9]
    r = round_sparsities(0.9, 3)
    assert r[-1] == pytest.approx(0.9)
    assert [1 - x for x in r] == pytest.approx([0.1 ** (1 / 3), 0.1 ** (2 / 3), 0.1])


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 200})


def test_schedules(digits):
    d = digits
    ft = {"epochs": 1, "progress": "none"}
    m = build_model({"name": "mlp", "depth": 1, "width": 32}, d.input_shape, 10, seed=0)
    init = copy.deepcopy(m.state_dict())
    fit(m, d, ft)
    a = copy.deepcopy(m)
    h = one_shot(a, d, 0.9, finetune=ft)
    assert h is not None and sparsity_report(a)[-1]["sparsity"] == pytest.approx(0.9, abs=1e-3)
    b = copy.deepcopy(m)
    hs = iterative(b, d, 0.9, rounds=3, finetune=ft)
    assert len(hs) == 3 and sparsity_report(b)[-1]["sparsity"] == pytest.approx(0.9, abs=1e-3)
    c = copy.deepcopy(m)
    mask_src = copy.deepcopy(m)
    prune_(mask_src, 0.9, "global_magnitude")
    lottery_ticket(c, d, 0.9, init_state=init, train={"epochs": 1, "lr": 1e-12, "progress": "none"})
    # a vanishing learning rate: after rewinding, the survivors sit at their initial values
    for layer, src, w0 in zip(prunable(c), prunable(mask_src), (init["1.weight"], init["3.weight"])):
        assert torch.equal(layer.weight_mask, src.weight_mask)
        keep = layer.weight_mask.bool()
        assert torch.allclose(layer.weight_orig.detach()[keep], w0[keep], atol=1e-6)


def test_callback_prunes_during_fit_and_folds_masks(digits):
    d = digits
    (cb,) = build_regularizers([{"name": "prune", "sparsity": 0.75, "start_epoch": 1, "rounds": 2}])
    assert isinstance(cb, Prune)
    m = build_model({"name": "mlp", "depth": 1, "width": 32}, d.input_shape, 10, seed=0)
    h = fit(m, d, {"epochs": 4, "progress": "none"}, callbacks=[cb])
    sp = h.column("sparsity")
    assert sp[0] == 0 and sp[1] == pytest.approx(0.5, abs=1e-3) and sp[-1] == pytest.approx(0.75, abs=1e-3)
    assert not any(hasattr(layer, "weight_mask") for layer in prunable(m))  # permanent at the end
    assert sparsity_report(m)[-1]["sparsity"] == pytest.approx(0.75, abs=1e-3)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_outside_range_fails(bad):
    with pytest.raises(ConfigError, match=r"sparsity must be in \[0, 1\)"):
        prune_(_mlp(), bad)


def test_unknown_criterion_lists_known():
    with pytest.raises(ConfigError, match="unknown pruning criterion 'magnitud'.*did you mean 'magnitude'"):
        compute_masks(_mlp(), 0.5, "magnitud")
    assert pruning_criteria.names() == ["global_magnitude", "magnitude", "random", "structured"]
    with pytest.raises(ConfigError, match="no Linear/Conv layer"):
        prune_(nn.Sequential(nn.ReLU()), 0.5)


def test_c14_effects_are_paired_per_seed():
    from initreg.lab.claims.c14_pruning import effects

    def row(ft, noft, rnd, dense=0.94):
        return {"dense": dense, "curve": {0.9: {"magnitude + fine-tune": ft, "magnitude, no fine-tune": noft,
                                                "random + fine-tune": rnd}, 0.5: {}}}

    e = effects([row(0.9306, 0.92, 0.85), row(0.95, 0.96, 0.90, dense=0.95)], 0.9)
    assert e["finetuned_keeps_accuracy"] == pytest.approx([1.0, 0.0])  # % of the dense accuracy lost
    assert e["no_finetune_falls_behind"] == pytest.approx([1.06, -1.0])
    assert e["random_falls_behind"] == pytest.approx([8.06, 5.0])
