"""Claims whose seeds share their data train those seeds as one stacked model (C12's
teachers, C13's fp32 models, C14's dense baselines): the stacked path is taken, the claim
says so, and it gives what the per-seed `fit` gave, up to float rounding. Tiny settings."""

import pytest
import torch

from initreg.data import load_data
from initreg.lab import Context
from initreg.lab.claims import c12_distillation as c12
from initreg.lab.claims import c13_quantization as c13
from initreg.lab.claims import c14_pruning as c14
from initreg.lab.experiment import stacked_note
from initreg.train import multiseed
from initreg.train.multiseed import SeedsResult

DIGITS = {"name": "digits", "train_size": 300}


def _ctx(tmp_path, settings, seeds=(0, 1)):
    return Context(quick=True, seeds=list(seeds), settings=settings, dir=tmp_path, log=lambda m: None)


@pytest.fixture
def calls(monkeypatch):
    """Each `fit_seeds` call's number of models and whether it ran stacked."""
    seen: list[tuple[int, bool]] = []
    real = multiseed.fit_seeds

    def spy(models, *a, **k):
        res = real(models, *a, **k)
        seen.append((len(res), res.vectorized))
        return res

    monkeypatch.setattr(multiseed, "fit_seeds", spy)
    return seen


def test_c14_dense_seeds_train_stacked_and_match_per_seed_fit(tmp_path, calls):
    s = {**c14.SETTINGS["quick"], "data": DIGITS, "model": {"name": "mlp", "widths": [32, 16], "init": "torch"},
         "epochs": 2, "finetune_epochs": 1, "curve": [0.5]}
    out = c14.c14(_ctx(tmp_path, s))
    assert calls == [(2, True)]
    assert out.numbers["vectorized"] is True
    assert "the 2 seeds' dense models trained as one stacked model (2 copies)" in out.notes
    data = load_data(DIGITS)
    denses, hists = c14.train_dense(s, [0, 1], data)
    per_seed = c14.run_seed(s, 1, data)  # the dense model trained by its own fit
    stacked = c14.run_seed(s, 1, data, denses[1])
    assert stacked["dense"] == pytest.approx(per_seed["dense"], abs=2 / len(data.y_test))


def test_c12_teachers_train_stacked(tmp_path, calls):
    s = {**c12.SETTINGS["quick"], "data": DIGITS, "teacher": {"name": "mlp", "widths": [32], "dropout": 0.3, "init": "torch"},
         "student": {"name": "mlp", "widths": [8], "init": "torch"}, "labeled": 60, "teacher_epochs": 2,
         "student_epochs": 1}
    out = c12.c12(_ctx(tmp_path, s))
    assert calls == [(2, True)]  # the students train one at a time (callbacks, a different subset each)
    assert out.numbers["vectorized"] is True
    assert "the 2 seeds' teachers trained as one stacked model (2 copies)" in out.notes


def test_c13_mlp_stacked_conv_one_at_a_time():
    s = {**c13.SETTINGS["quick"], "epochs": {"mlp": 1, "conv": 1}, "models": {
        "mlp": {"data": DIGITS, "model": {"name": "mlp", "widths": [16], "init": "torch"}},
        "conv": {"data": {**DIGITS, "flatten": False},
                 "model": {"name": "cnn", "channels": [2], "kernel_size": 3, "hidden": 8, "init": "torch"}}}}
    data, models, hists = c13.train_models(s, "mlp", [0, 1])
    assert hists.vectorized and len(models) == 2
    alone = c13.build_model(s["models"]["mlp"]["model"], data.input_shape, data.num_outputs, seed=1)
    c13.fit(alone, data, c13._cfg(s, 1, 1))
    for a, b in zip(alone.parameters(), models[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="sequentially"):
        _, _, conv = c13.train_models(s, "conv", [0, 1])
    assert not conv.vectorized and "Conv" in conv.reason
    assert stacked_note(conv, "models").startswith("the 2 seeds' models trained one at a time: ")


def test_stacked_note_one_seed():
    r = SeedsResult([None])
    r.vectorized, r.reason = False, "one seed"
    assert stacked_note(r, "teachers") == "one seed's teachers: nothing to stack"
