"""K seeds at once equal K separate `fit` runs (to float rounding), or fall back and say why."""

from __future__ import annotations

import pytest
import torch
from seed_runs import assert_same_histories, close, models_for

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.train import fit, load_config, run
from initreg.train.multiseed import StackedSequential, fit_seeds, vectorize_reason

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 240})


@pytest.mark.parametrize("mc,tc", [
    # dropout (own masks per copy) + input dropout, Adam, clipping (per copy), label smoothing, a last partial batch
    ({"name": "mlp", "depth": 2, "width": 24, "dropout": 0.3, "input_dropout": 0.1, "init": "torch"},
     {"epochs": 3, "batch_size": 50, "grad_clip": 0.5, "label_smoothing": 0.1}),
    # a LowRankLinear bottleneck, tanh, SGD + Nesterov + cosine schedule, eval every 7 steps, classic dropout
    ({"name": "mlp", "depth": 2, "width": 16, "activation": "tanh", "bottleneck": 4, "dropout": 0.2,
      "dropout_mode": "classic", "init": "torch"},
     {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "schedule": "cosine", "steps": 20,
      "eval_every": 7, "eval_train": True}),
])
def test_vectorized_equals_separate_runs(digits, mc, tc):
    k, seeds = 3, [11, 12, 13]
    tc = {**tc, "progress": "none"}
    ref = models_for(digits, mc, k)
    seq = [fit(m, digits, {**tc, "seed": s}) for m, s in zip(ref, seeds)]
    models = models_for(digits, mc, k)
    vec = fit_seeds(models, digits, tc, seeds=seeds)
    assert vec.vectorized and vec.reason is None
    assert_same_histories(seq, vec)
    # the trained weights are written back into the caller's models
    for m, r in zip(models, ref):
        for p, q in zip(m.parameters(), r.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_copies_are_independent(digits):
    # different seeds give different dropout masks and shuffles: the copies' losses differ
    hs = fit_seeds(models_for(digits, {"name": "mlp", "depth": 1, "width": 8, "dropout": 0.5}, 2, base=5) * 1, digits,
                   {"epochs": 1, "progress": "none"}, seeds=[0, 1])
    assert hs[0].records[-1]["train_loss"] != hs[1].records[-1]["train_loss"]


def test_one_copy_diverging_leaves_the_others_alone(digits):
    mc = {"name": "mlp", "depth": 1, "width": 8}
    models = models_for(digits, mc, 3)
    with torch.no_grad():
        models[1][1].weight.fill_(float("inf"))
    tc = {"epochs": 2, "progress": "none"}
    vec = fit_seeds(models, digits, tc, seeds=[0, 1, 2])
    assert vec.vectorized
    assert vec[1].diverged and vec[1].diverged_step == 0 and vec[1].test is None
    bad = models_for(digits, mc, 3)
    with torch.no_grad():
        bad[1][1].weight.fill_(float("inf"))
    seq = [fit(m, digits, {**tc, "seed": s}) for m, s in zip(bad, [0, 1, 2])]
    assert_same_histories(seq, vec)


def test_unstackable_layers_fall_back_to_sequential_and_say_why(digits):
    def net(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.PReLU(), torch.nn.Linear(8, 10))

    assert "PReLU" in vectorize_reason(net(0))
    tc = {"epochs": 1, "progress": "none"}
    with pytest.warns(UserWarning, match="sequentially: layer 1 \\(PReLU\\) is not a Linear"):
        vec = fit_seeds([net(3), net(4)], digits, tc, seeds=[3, 4])
    assert not vec.vectorized and "PReLU" in vec.reason
    seq = [fit(net(s), digits, {**tc, "seed": s}) for s in [3, 4]]
    for a, b in zip(seq, vec):  # the fallback *is* separate runs: identical
        assert [r["val_loss"] for r in a.records] == [r["val_loss"] for r in b.records]


def test_vectorize_reason_names_the_layer():
    assert vectorize_reason(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Softmax(dim=1))).startswith("layer 1 (Softmax)")
    assert vectorize_reason(torch.nn.Linear(3, 3)) == "Linear is not an nn.Sequential"
    assert vectorize_reason(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.GELU())) is None


def test_hooked_or_reparametrized_linears_are_not_stacked(digits):
    # The stacked copy holds plain (or pruning-masked) weights: another hook or a
    # parametrization would be dropped silently, so such models train sequentially.
    # (Pruned models stack, masks per copy: tests/train/test_multiseed_callbacks.py.)
    from torch.nn.utils import parametrizations

    def net():
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))

    hooked = net()
    hooked[0].register_forward_hook(lambda mod, inp, out: out * 2)
    assert vectorize_reason(hooked).startswith("layer 0 (Linear) has hooks")
    sn = net()
    parametrizations.spectral_norm(sn[2])
    assert vectorize_reason(sn) == "layer 2 (ParametrizedLinear) is parametrized (e.g. torch.nn.utils.parametrizations)"
    ms = models_for(digits, {"name": "mlp", "depth": 1, "width": 8}, 2)
    for m in ms:
        m[1].register_forward_pre_hook(lambda mod, inp: None)
    with pytest.warns(UserWarning, match="sequentially: layer 1 \\(Linear\\) has hooks"):
        res = fit_seeds(ms, digits, {"epochs": 1, "progress": "none"}, seeds=[0, 1])
    assert not res.vectorized


def test_models_differing_in_dropout_or_activation_settings_are_not_stacked(digits):
    a = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Dropout(0.1), torch.nn.LeakyReLU(0.1), torch.nn.Linear(8, 10))
    b = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Dropout(0.5), torch.nn.LeakyReLU(0.1), torch.nn.Linear(8, 10))
    c = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Dropout(0.1), torch.nn.LeakyReLU(0.3), torch.nn.Linear(8, 10))
    for other in (b, c):
        with pytest.warns(UserWarning, match="the models differ in architecture"):
            res = fit_seeds([a, other], digits, {"steps": 1, "progress": "none"}, seeds=[0, 1])
        assert not res.vectorized


def test_stacked_forward_matches_each_model():
    ms = [torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
          for _ in range(3)]
    x = torch.randn(4, 2, 3)
    out = StackedSequential(ms).eval()(x.unsqueeze(0).expand(3, *x.shape))
    for k, m in enumerate(ms):
        torch.testing.assert_close(out[k], m(x), rtol=1e-5, atol=1e-6)


def test_errors(digits):
    m = models_for(digits, {"name": "mlp", "depth": 1, "width": 8}, 2)
    with pytest.raises(ConfigError, match="train.seeds=3 needs 3 independently built models; got one model"):
        fit_seeds(m[0], digits, {"seeds": 3, "progress": "none"})
    with pytest.raises(ConfigError, match="train.seeds=3 but 2 models were given"):
        fit_seeds(m, digits, {"seeds": 3, "progress": "none"})
    # fit trains one model: a list, or seeds > 1, points to fit_seeds
    with pytest.raises(ConfigError, match=r"^fit trains one nn.Module; got a list of 2 models\. .*fit_seeds\(models"):
        fit(m, digits, {"progress": "none"})
    with pytest.raises(ConfigError, match=r"^fit trains one model; got train.seeds=3\. .*fit_seeds"):
        fit(m[0], digits, {"seeds": 3, "progress": "none"})
    with pytest.raises(ConfigError, match="seeds has 1 entries but 2 models"):
        fit_seeds(m, digits, {"progress": "none"}, seeds=[0])


def test_fit_seeds_with_a_list_and_run_with_seeds(digits, tmp_path):
    hs = fit_seeds(models_for(digits, {"name": "mlp", "depth": 1, "width": 8}, 2), digits, {"epochs": 1, "progress": "none"})
    assert len(hs) == 2 and hs.vectorized
    cfg = load_config({"data": {"name": "digits", "train_size": 240}, "model": {"name": "mlp", "depth": 1, "width": 8},
                       "train": {"epochs": 1, "seeds": 3, "seed": 7, "progress": "none"}, "seed": 2})
    res = run(cfg, tmp_path)
    assert len(res.histories) == 3 and (res.dir / "seed-2" / "model.pt").exists()
    # seed k of the run = model seed 2 + k, train seed 7 + k
    one = fit(build_model(cfg.model, digits.input_shape, 10, seed=3), digits, {"epochs": 1, "seed": 8, "progress": "none"})
    assert close(one.records[-1]["val_loss"], res.histories[1].records[-1]["val_loss"])


def test_stacked_linear_gradients_match_autograd_through_baddbmm():
    from initreg.train.stacked import StackedLinear as _StackedLinear

    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_StackedLinear.apply, (x, w, b))
    assert torch.autograd.gradcheck(_StackedLinear.apply, (x, w, None))
    out = _StackedLinear.apply(x, w, b)
    torch.testing.assert_close(out, torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2)))


def test_per_copy_data_equals_separate_runs_on_each_split():
    # each copy trains, validates and tests on its own split: a different split seed, label noise and a
    # different subset per copy; uneven validation sets (padded when stacked) included
    seeds = [21, 22, 23]
    datas = [load_data({"name": "digits", "train_size": 200, "seed": s, "label_noise": 0.2 * (k % 2)})
             for k, s in enumerate(seeds)]
    datas[2] = type(datas[2])(**{**datas[2].__dict__, "x_val": datas[2].x_val[:37], "y_val": datas[2].y_val[:37]})
    mc = {"name": "mlp", "depth": 2, "width": 16, "dropout": 0.2, "init": "torch"}
    tc = {"epochs": 2, "batch_size": 64, "eval_every": 3, "eval_train": True, "progress": "none"}
    seq = [fit(m, d, {**tc, "seed": s}) for m, d, s in zip(models_for(datas[0], mc, 3), datas, seeds)]
    vec = fit_seeds(models_for(datas[0], mc, 3), datas, tc, seeds=seeds)
    assert vec.vectorized and vec.reason is None
    assert_same_histories(seq, vec)
    # the splits really differ: one data set for all copies gives other numbers
    shared = fit_seeds(models_for(datas[0], mc, 3), datas[0], tc, seeds=seeds)
    assert shared[1].test["loss"] != vec[1].test["loss"]


def test_per_copy_data_that_cannot_stack_trains_sequentially_and_says_why(digits):
    mc = {"name": "mlp", "depth": 1, "width": 8}
    small = load_data({"name": "digits", "train_size": 120})
    tc = {"epochs": 1, "progress": "none"}
    with pytest.warns(UserWarning, match=r"sequentially: the copies' data differ in training-set size \(240, 120\)"):
        res = fit_seeds(models_for(digits, mc, 2), [digits, small], tc, seeds=[0, 1])
    assert not res.vectorized
    one = fit(models_for(digits, mc, 2)[1], small, {**tc, "seed": 1})
    assert [r["val_loss"] for r in one.records] == [r["val_loss"] for r in res[1].records]
    with pytest.raises(ConfigError, match=r"^data must be one Splits or a sequence of 2 Splits \(one per model\); got list of 3"):
        fit_seeds(models_for(digits, mc, 2), [digits] * 3, tc, seeds=[0, 1])


def test_frozen_parameters_are_not_stacked(digits):
    # fit's optimizer leaves requires_grad=False parameters alone; a stacked copy would train them
    mc = {"name": "mlp", "depth": 1, "width": 8}
    ms = models_for(digits, mc, 2)
    for m in ms:
        m[1].bias.requires_grad_(False)
    before = [m[1].bias.detach().clone() for m in ms]
    with pytest.warns(UserWarning, match=r"sequentially: parameters 1.bias are frozen \(requires_grad=False\)"):
        res = fit_seeds(ms, digits, {"epochs": 1, "progress": "none"}, seeds=[0, 1])
    assert not res.vectorized
    assert all(torch.equal(m[1].bias, b) for m, b in zip(ms, before))
