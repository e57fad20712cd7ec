"""`ProbeCallback` inside `fit`: recording schedule, identical training, update ratios, divergence."""

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.probe import ProbeCallback
from initreg.train import fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 256})


def net(d, depth=3, seed=0):
    return build_model({"name": "mlp", "depth": depth, "width": 32, "dropout": 0.1}, d.input_shape, d.num_outputs, seed=seed)


def hooks(model):
    n = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return n + sum(len(p._backward_hooks or {}) for p in model.parameters())


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("momentum", [0.0, 0.9])  # update ratios read off the gradient / from a weight copy
def test_training_is_bitwise_identical_and_hooks_are_removed(digits, every, momentum):
    cfg = {"optimizer": "sgd", "lr": 0.05, "momentum": momentum, "steps": 9, "batch_size": 64, "progress": "none"}
    a, b = net(digits), net(digits)
    ha = fit(a, digits, cfg)
    cb = ProbeCallback(every=every)
    hb = fit(b, digits, cfg, callbacks=[cb])
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert ha.column("train_loss") == hb.column("train_loss")
    assert hooks(b) == 0
    assert [r.step for r in cb.reports] == list(range(1, 10, every))


@pytest.mark.parametrize("updates", [True, "copy"])
def test_update_ratio_of_plain_sgd_is_lr_times_grad_to_weight(digits, updates):
    lr = 0.05
    cb = ProbeCallback(every=1, updates=updates)
    fit(net(digits), digits, {"optimizer": "sgd", "lr": lr, "steps": 3, "batch_size": 64, "progress": "none"},
        callbacks=[cb])
    for rep in cb.reports:
        for row in rep.layers:  # ΔW = −lr·∇W exactly
            assert row.update_ratio == pytest.approx(lr * row.grad_to_weight, rel=1e-4)


@pytest.mark.parametrize("extra,from_gradient", [({}, True), ({"grad_clip": 0.05}, True), ({"momentum": 0.9}, False),
                                                 ({"weight_decay": 0.01}, False)])
def test_update_ratios_read_off_the_gradient_equal_those_of_the_weight_copy(digits, extra, from_gradient):
    # Plain SGD reads ‖ΔW‖ = lr·‖∂L/∂W‖ off the gradient; clipping changes .grad in place after the
    # gradient hook, which the version counter must catch. Anything else copies the weights.
    cfg = {"optimizer": "sgd", "lr": 0.05, "steps": 3, "batch_size": 64, "progress": "none", **extra}
    auto, copy = ProbeCallback(every=1), ProbeCallback(every=1, updates="copy")
    fit(net(digits), digits, cfg, callbacks=[auto])
    fit(net(digits), digits, cfg, callbacks=[copy])
    assert (auto._sgd_groups is not None) is from_gradient and copy._sgd_groups is None
    for ra, rb in zip(auto.reports, copy.reports, strict=True):
        for x, y in zip(ra.layers, rb.layers, strict=True):
            assert x.update_ratio == pytest.approx(y.update_ratio, rel=1e-4)
            if "grad_clip" in extra:  # the gradient was clipped: the step is shorter than lr·‖∂L/∂W‖
                assert x.update_ratio < 0.99 * 0.05 * x.grad_to_weight


def test_a_callback_that_changes_the_gradient_is_included_in_the_update_ratio(digits):
    # Coupled weight decay adds λW to .grad in on_after_backward (after the probe's gradient hook):
    # the gradient's version counter changes, so plain SGD's ‖ΔW‖ is taken from the new .grad.
    from initreg.regularize.weight_decay import WeightDecay

    cfg = {"optimizer": "sgd", "lr": 0.05, "steps": 3, "batch_size": 64, "progress": "none"}
    auto, copy = ProbeCallback(every=1), ProbeCallback(every=1, updates="copy")
    fit(net(digits), digits, cfg, callbacks=[WeightDecay(0.5, "coupled"), auto])
    fit(net(digits), digits, cfg, callbacks=[WeightDecay(0.5, "coupled"), copy])
    assert auto._sgd_groups is not None
    for ra, rb in zip(auto.reports, copy.reports, strict=True):
        for x, y in zip(ra.layers, rb.layers, strict=True):
            assert x.update_ratio == pytest.approx(y.update_ratio, rel=1e-4)
            assert abs(x.update_ratio - 0.05 * x.grad_to_weight) > 1e-3 * x.update_ratio  # the decay shows


@pytest.mark.filterwarnings("ignore:precision='fp16'")  # emulated on CPUs without fp16 instructions
def test_fp16_loss_scaling_is_divided_out_of_the_gradient_statistics(digits):
    # GradScaler multiplies the loss by 2^16 before backward, so the hooks see scaled gradients;
    # the report divides the scale out. (unscale_ does not bump .grad's version: copy path there.)
    cfg = {"optimizer": "sgd", "lr": 0.05, "steps": 2, "batch_size": 64, "progress": "none"}
    runs = {}
    for prec in ("fp32", "fp16"):
        cb = ProbeCallback(every=1)
        fit(net(digits), digits, {**cfg, "precision": prec}, callbacks=[cb])
        runs[prec] = cb
    assert runs["fp16"]._sgd_groups is None
    for a, b in zip(runs["fp32"].reports[0].layers, runs["fp16"].reports[0].layers, strict=True):
        assert b.grad_rms == pytest.approx(a.grad_rms, rel=0.05)
        assert b.weight_grad_norm == pytest.approx(a.weight_grad_norm, rel=0.05)
        assert b.update_ratio == pytest.approx(0.05 * b.grad_to_weight, rel=0.01)


def test_divergence_is_recorded_and_flagged_first(digits):
    cb = ProbeCallback(every=1)
    h = fit(net(digits, depth=4), digits, {"optimizer": "sgd", "lr": 50.0, "steps": 50, "batch_size": 64,
                                           "progress": "none"}, callbacks=[cb])
    assert h.diverged
    rows = cb.rows()
    assert rows[-1]["diverged"] and rows[-1]["step"] == h.diverged_step  # the forward-only last report
    flagged = [r["step"] for r in rows if r["label"] != "healthy"]
    assert flagged and flagged[0] <= h.diverged_step
    assert hooks(cb.probe.model) == 0


def test_hooks_are_removed_when_training_stops_on_an_exception(digits):
    from initreg.train.callbacks import Callback

    class Interrupt(Callback):
        def on_step_end(self, state):
            if state.step == 2:
                raise KeyboardInterrupt

    for updates in (True, "copy"):
        m, cb = net(digits), ProbeCallback(every=1, updates=updates)
        with pytest.raises(KeyboardInterrupt):
            fit(m, digits, {"optimizer": "sgd", "lr": 0.05, "steps": 5, "batch_size": 64, "progress": "none"},
                callbacks=[cb, Interrupt()])
        assert hooks(m) == 0 and cb._opt_hook is None
        assert [r.step for r in cb.reports] == [1, 2]


def test_stop_on_stops_training(digits):
    seen = []
    cb = ProbeCallback(every=1, stop_on=["exploding"], on_report=seen.append)
    h = fit(net(digits, depth=4), digits, {"optimizer": "sgd", "lr": 50.0, "steps": 50, "batch_size": 64,
                                           "progress": "none"}, callbacks=[cb])
    assert h.stop_reason.startswith("probe: exploding") and not h.diverged
    assert seen and seen[-1].label == "exploding"


def test_errors():
    with pytest.raises(ConfigError, match="every must be an integer >= 1"):
        ProbeCallback(every=0)
    with pytest.raises(ConfigError, match="stop_on must be verdict labels"):
        ProbeCallback(stop_on=["broken"])
    with pytest.raises(ConfigError, match="updates must be True, False or 'copy'; got updates='always'"):
        ProbeCallback(updates="always")


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e4])
def test_callback_statistics_match_a_float64_two_pass_even_for_a_collapsed_signal(offset):
    # The callback's one-pass sums (Σo² − B‖mean‖²) must fall back to two passes when the batch
    # mean dominates — here up to 1e4 × the spread across the batch, where one float32 pass
    # would lose every digit of the signal variance.
    from initreg.probe.stats import Scratch, batch_sums_fast

    g = torch.Generator().manual_seed(0)
    o = torch.randn(128, 64, generator=g) * 0.5 + offset + torch.randn(64, generator=g)
    col, ss = batch_sums_fast(o, Scratch())
    d = o.double()
    exact = float(((d - d.mean(0)) ** 2).sum())
    assert float(ss) == pytest.approx(exact, rel=1e-4)
    torch.testing.assert_close(col.double(), d.mean(0), rtol=1e-6, atol=1e-6 * (1 + offset))


def test_update_ratios_of_tied_weights_are_reported_for_every_layer_using_them(digits):
    torch.manual_seed(0)
    a, b = torch.nn.Linear(64, 64), torch.nn.Linear(64, 64)
    b.weight = a.weight  # tied
    model = torch.nn.Sequential(torch.nn.Flatten(), a, torch.nn.ReLU(), b, torch.nn.ReLU(), torch.nn.Linear(64, 10))
    cb = ProbeCallback(every=1)
    fit(model, digits, {"optimizer": "sgd", "lr": 0.05, "steps": 2, "batch_size": 64, "progress": "none"}, callbacks=[cb])
    rows = {r.name: r for r in cb.reports[-1].layers}
    assert rows["1"].update_ratio == rows["3"].update_ratio > 0


def test_a_frozen_layer_gets_a_zero_update_ratio_and_no_weight_gradient(digits):
    m = net(digits)
    name = [n for n, mod in m.named_modules() if isinstance(mod, torch.nn.Linear)][1]
    m.get_submodule(name).weight.requires_grad_(False)
    cb = ProbeCallback(every=1)
    fit(m, digits, {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "steps": 3, "batch_size": 64, "progress": "none"},
        callbacks=[cb])
    for rep in cb.reports:
        rows = {r.name: r for r in rep.layers}
        assert rows[name].update_ratio == 0.0 and rows[name].weight_grad_norm is None
        assert all(r.update_ratio > 0 and r.weight_grad_norm > 0 for n, r in rows.items() if n != name)
