"""Claims C15–C17: criterion logic on hand-made numbers, and each experiment run end to end on
a tiny setting (the verdict is not asserted there: tiny budgets need not reproduce the claim)."""

from pathlib import Path

import torch

from initreg.lab.claims import c15_early_stopping as c15
from initreg.lab.claims import c16_augmentation as c16
from initreg.lab.claims import c17_calibration as c17
from initreg.lab.experiment import Context


def _ctx(tmp_path: Path, settings: dict) -> Context:
    return Context(quick=True, seeds=[0], settings=settings, dir=tmp_path, log=lambda m: None)


def _r15(best=5, es_best=5, es=0.40, curve=0.40, end=0.50):
    return {"best_epoch": best, "es_best_epoch": es_best, "es_test_loss": es, "curve_test_at_best": curve,
            "end_test_loss": end}


def test_c15_verdict_logic():
    assert all(c15.verdict([_r15(), _r15(best=7, es_best=7)]).values())
    parts = c15.verdict([_r15(), _r15(es_best=4)])
    assert not parts["stops at the best-validation epoch"] and parts["restored model = that epoch's model"]
    assert not c15.verdict([_r15(curve=0.41)])["restored model = that epoch's model"]
    assert not c15.verdict([_r15(end=0.44)])[f"test loss there >= {c15.MARGIN} lower than at the end"]


def _arm(clean, rotated):
    return {"clean": clean, "rotated": rotated, "flipped": 50.0}


def _r16(base=(92, 68), rot=(91.5, 86), flip=(90, 67)):
    return {"baseline": _arm(*base), "rotations": _arm(*rot), "horizontal flips": _arm(*flip)}


def test_c16_verdict_logic():
    assert all(c16.verdict({"mlp": [_r16(), _r16()], "cnn": [_r16()]}).values())
    parts = c16.verdict({"mlp": [_r16(), _r16(rot=(91.5, 70))]})  # gain 2 pp < 8
    assert not parts[f"rotations add >= {c16.MIN_ROT_GAIN:g} pp on rotated digits"]
    assert not c16.verdict({"mlp": [_r16(rot=(89.5, 86))]})[f"rotations cost <= {c16.MAX_CLEAN_COST:g} pp clean"]
    assert not c16.verdict({"mlp": [_r16(flip=(92.5, 67))]})["flips cost clean accuracy"]


def _e(ece, acc, conf=0.9):
    return {"ece": ece, "acc": acc, "conf": conf}


def test_c17_verdict_logic():
    res = {"baseline": [_e(0.24, 64)], "label smoothing 0.1": [_e(0.04, 64)], "mixup α=0.2": [_e(0.07, 63.8)],
           "mixup α=1": [_e(0.05, 63)]}
    mn = {"baseline": [_e(0.05, 91, 0.95)], "label smoothing 0.1": [_e(0.12, 92, 0.80)]}
    assert all(c17.verdict(res, mn).values())
    res["mixup α=1"] = [_e(0.13, 63)]  # only 46% lower
    assert not c17.verdict(res, mn)["mixup α=1 cuts ECE >= 50%"]
    res["label smoothing 0.1"] = [_e(0.04, 60.5)]  # 3.5 pp worse
    assert not c17.verdict(res, mn)["label smoothing 0.1 costs <= 3 pp"]
    mn["label smoothing 0.1"] = [_e(0.04, 92, 0.95)]
    parts = c17.verdict(res, mn)
    assert not parts["MNIST 5k: label smoothing raises ECE"] and not parts["MNIST 5k: label smoothing is underconfident"]


def test_c15_runs_tiny(tmp_path):
    torch.set_num_threads(1)
    s = {**c15.c15.mode_settings(True), "epochs": 4, "patience": 1}
    s["data"] = {**s["data"], "train_size": 100}
    o = c15.c15(_ctx(tmp_path, s))
    assert (tmp_path / "early_stopping.png").exists() and "best_epoch" in o.numbers
    assert o.numbers["criterion: restored model = that epoch's model"]  # exact, whatever the budget


def test_c16_runs_tiny(tmp_path):
    s = {**c16.c16.mode_settings(True), "epochs": 1, "train_size": 100}
    o = c16.c16(_ctx(tmp_path, s))
    assert (tmp_path / "augmentation.png").exists() and "mlp: rotated-test gain pp" in o.numbers


def test_c17_runs_tiny(tmp_path):
    s = {"epochs": 1, "train_size": 200, "mnist_epochs": 1, "mnist_train_size": 200}
    o = c17.c17(_ctx(tmp_path, s))
    assert (tmp_path / "reliability.png").exists() and "ece baseline" in o.numbers
