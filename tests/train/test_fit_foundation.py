"""`fit`: determinism, divergence, counting of steps and epochs, schedules, optimizers,
callbacks, metrics and progress output."""

import math

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.train import (
    Callback,
    TrainConfig,
    evaluate,
    fit,
    loss_function,
    make_optimizer,
    make_scheduler,
)


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 200})


def _mlp(d, seed=0, **kw):
    return build_model({"name": "mlp", "depth": 1, "width": 32, "init": "torch", **kw}, d.input_shape, d.num_outputs, seed=seed)


def _cfg(**kw):
    return {"epochs": 3, "batch_size": 32, "progress": "none", **kw}


def test_same_config_and_seed_give_identical_history(digits):
    cfg = _cfg(optimizer="sgd", lr=0.05, momentum=0.9, seed=3)
    h1 = fit(_mlp(digits, dropout=0.3), digits, cfg)
    h2 = fit(_mlp(digits, dropout=0.3), digits, cfg)  # dropout draws from the seeded RNG too
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in h1.records]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in h2.records]
    assert h1.test == h2.test
    h3 = fit(_mlp(digits, dropout=0.3), digits, {**cfg, "seed": 4})
    assert h3.records[0]["train_loss"] != h1.records[0]["train_loss"]


def test_fit_leaves_the_global_rng_alone(digits):
    torch.manual_seed(11)
    state = torch.get_rng_state()
    fit(_mlp(digits, dropout=0.5), digits, _cfg(epochs=1))
    assert torch.equal(torch.get_rng_state(), state)


def test_divergence_stops_marks_and_returns():
    # least squares with a step size far above 2/λ_max: the error grows geometrically to inf
    d = load_data({"name": "synthetic", "options": {"n_samples": 200, "in_dim": 20, "out_dim": 3}})
    m = build_model({"name": "linear", "init": "torch"}, d.input_shape, d.num_outputs, seed=0)
    h = fit(m, d, _cfg(optimizer="sgd", lr=50.0, epochs=200, batch_size=1000))
    assert h.diverged and h.diverged_step is not None and 5 < h.diverged_step < 200
    assert h.stop_reason == f"non-finite loss at step {h.diverged_step}"
    assert h.steps == h.diverged_step and h.test is None
    assert len(h.records) == h.diverged_step  # one record per clean epoch, none for the bad one
    assert all(math.isfinite(r["train_loss"]) for r in h.records)


def test_divergence_from_a_penalty_in_on_loss(digits):
    class Poison(Callback):
        def on_loss(self, state, loss, output, x, y):
            return loss + (float("inf") if state.step == 5 else 0.0)

    h = fit(_mlp(digits), digits, _cfg(), callbacks=[Poison()])
    assert h.diverged and h.diverged_step == 5


def test_step_and_epoch_counting(digits):
    h = fit(_mlp(digits), digits, _cfg(epochs=2, batch_size=64))  # 200 / 64 -> 4 steps per epoch
    assert (h.steps, h.epochs) == (8, 2) and [r["step"] for r in h.records] == [4, 8]
    h = fit(_mlp(digits), digits, _cfg(batch_size=64, drop_last=True, epochs=2))
    assert h.steps == 6
    h = fit(_mlp(digits), digits, _cfg(steps=10, batch_size=64))  # steps override epochs; a partial epoch
    assert h.steps == 10 and h.epochs == 2 and h.records[-1]["step"] == 10
    h = fit(_mlp(digits), digits, _cfg(steps=9, batch_size=64, eval_every=4))
    assert [r["step"] for r in h.records] == [4, 8, 9]
    h = fit(_mlp(digits), digits, _cfg(epochs=1, batch_size=10_000))  # full batch
    assert h.steps == 1


def test_metrics_per_evaluation_and_test_once(digits):
    h = fit(_mlp(digits), digits, _cfg(eval_train=True))
    r = h.records[-1]
    for k in ("train_loss", "train_acc", "train_ece", "val_loss", "val_acc", "val_ece", "lr", "seconds", "epoch", "step"):
        assert k in r
    assert 0 <= r["val_ece"] <= 1 and 0 <= r["val_acc"] <= 1
    assert sorted(h.test) == ["acc", "ece", "loss"]
    h = fit(_mlp(digits), digits, _cfg(evaluate_test=False))
    assert h.test is None


def test_eval_train_measures_the_whole_train_split_in_eval_mode(digits):
    m = _mlp(digits, dropout=0.5)
    h = fit(m, digits, _cfg(eval_train=True, epochs=1))
    ref = evaluate(m, digits.x_train, digits.y_train, loss_function(TrainConfig(), "classification"))
    assert h.records[-1]["train_loss"] == pytest.approx(ref["loss"], rel=1e-6)
    assert m.training  # fit leaves the model in train mode, evaluate restores it


def test_training_learns(digits):
    h = fit(_mlp(digits), digits, _cfg(optimizer="adam", lr=3e-3, epochs=8))
    assert h.records[-1]["val_acc"] > 0.8 and h.records[-1]["train_loss"] < h.records[0]["train_loss"]


def test_regression_uses_mse():
    d = load_data({"name": "synthetic", "standardize": False, "options": {"n_samples": 300, "in_dim": 5, "out_dim": 2}})
    m = build_model({"name": "linear", "init": "torch"}, d.input_shape, d.num_outputs, seed=0)
    h = fit(m, d, _cfg(optimizer="adam", lr=0.05, epochs=60, batch_size=300))
    assert "val_acc" not in h.records[-1] and h.test["loss"] < 1e-2  # noise-free linear targets of variance ≈ 1


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_optimizers(digits, opt):
    cfg = TrainConfig(optimizer=opt, lr=0.01, weight_decay=1e-4)
    o = make_optimizer(_mlp(digits), cfg)
    assert type(o).__name__.lower() == opt and o.param_groups[0]["weight_decay"] == 1e-4


@pytest.mark.parametrize("opt", ["adam", "adamw"])
def test_adam_on_cpu_is_fused_and_matches_the_multi_tensor_update(digits, opt):
    # fit uses torch's fused Adam kernel on the CPU (faster, bench/bench_precision.py); it must
    # follow the same trajectory as the foreach implementation up to float rounding.
    cfg = TrainConfig(optimizer=opt, lr=1e-2, weight_decay=1e-3)
    a, b = _mlp(digits), _mlp(digits)
    oa = make_optimizer(a, cfg)
    assert oa.defaults["fused"] is True
    ob = type(oa)(b.parameters(), lr=1e-2, weight_decay=1e-3, foreach=True)
    x, y = digits.x_train[:64], digits.y_train[:64]
    for _ in range(20):
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_nesterov_needs_sgd_with_momentum():
    with pytest.raises(ConfigError, match="^train: nesterov needs optimizer='sgd' and momentum > 0; got optimizer='adam', momentum=0.0$"):
        fit(torch.nn.Linear(1, 1), None, {"nesterov": True})
    assert TrainConfig(optimizer="sgd", momentum=0.9, nesterov=True).nesterov


def test_schedules(digits):
    h = fit(_mlp(digits), digits, _cfg(optimizer="sgd", lr=0.1, schedule="cosine", steps=20, eval_every=5, batch_size=50))
    lrs = [r["lr"] for r in h.records]
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12) and lrs[1] == pytest.approx(0.05, rel=1e-6)  # cos(π/2)
    h = fit(_mlp(digits), digits, _cfg(optimizer="sgd", lr=0.1, schedule="step", step_size=1, gamma=0.5, epochs=3))
    assert [r["lr"] for r in h.records] == pytest.approx([0.05, 0.025, 0.0125])
    opt = make_optimizer(_mlp(digits), TrainConfig())
    assert make_scheduler(opt, TrainConfig(), 10, 2) is None


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"lr": 0}, r"train: lr: Input should be greater than 0 \(got 0\)"),
        ({"batch_size": 0}, r"train: batch_size: Input should be greater than or equal to 1 \(got 0\)"),
        ({"optimizer": "rmsprop"}, r"train: optimizer: Input should be 'sgd', 'adam' or 'adamw' \(got 'rmsprop'\)"),
        ({"epoch": 3}, r"train: epoch: Extra inputs are not permitted"),
    ],
)
def test_train_config_errors(bad, match):
    with pytest.raises(ConfigError, match=match):
        fit(torch.nn.Linear(1, 1), None, bad)


def test_callback_hooks_order_and_stop(digits):
    calls = []

    class Spy(Callback):
        def on_fit_start(self, state):
            calls.append("fit_start")

        def on_epoch_start(self, state):
            calls.append("epoch_start")

        def on_batch(self, state, x, y):
            calls.append("batch")
            return x, y

        def on_after_backward(self, state):
            assert all(p.grad is not None for p in state.model.parameters())
            calls.append("backward")

        def on_step_end(self, state):
            calls.append("step_end")

        def on_evaluate(self, state, record):
            record["extra"] = 1.0
            calls.append("evaluate")

        def on_epoch_end(self, state):
            calls.append("epoch_end")
            if state.epoch == 2:
                state.stop, state.stop_reason = True, "enough"

        def on_fit_end(self, state):
            calls.append("fit_end")

    h = fit(_mlp(digits), digits, _cfg(epochs=5, batch_size=100), callbacks=[Spy()])
    per_epoch = ["epoch_start"] + ["batch", "backward", "step_end"] * 2 + ["evaluate", "epoch_end"]
    assert calls == ["fit_start"] + per_epoch * 2 + ["fit_end"]
    assert h.stop_reason == "enough" and h.epochs == 2 and h.records[-1]["extra"] == 1.0


def test_progress_log_lines_when_not_a_terminal(digits, capsys):
    fit(_mlp(digits), digits, _cfg(epochs=2, progress="auto"))  # captured stderr is not a tty
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("epoch    1  step") and "val_loss=" in err[0]
    fit(_mlp(digits), digits, _cfg(epochs=2, progress="none"))
    assert capsys.readouterr().err == ""


def test_progress_bar_on_a_terminal(digits, monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fit(_mlp(digits), digits, _cfg(epochs=1, progress="auto"))
    assert "epoch    1  step" not in capsys.readouterr().err  # a (transient) rich bar, no log lines
