"""Precision (autocast) and device choice in `fit`: same results within a tolerance, clear errors."""

from __future__ import annotations

import importlib

import pytest
import torch

from initreg.data import load_data
from initreg.errors import ConfigError
from initreg.models import build_model
from initreg.train import fit
from initreg.train.device import autocast, resolve_device

torch.set_num_threads(1)
fit_mod = importlib.import_module("initreg.train.fit")  # the module, not the function re-exported by initreg.train

MC = {"name": "mlp", "depth": 2, "width": 32, "init": "torch"}
pytestmark = pytest.mark.filterwarnings("ignore:precision=.*is emulated")


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "train_size": 400})


def _fit(d, **tc):
    m = build_model(MC, d.input_shape, d.num_outputs, seed=0)
    return fit(m, d, {"epochs": 2, "lr": 3e-3, "progress": "none", **tc})


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_matches_fp32_within_tolerance(digits, precision):
    # Documented tolerance (docs/speed.md): after a short run the validation loss is within
    # 0.05 and the test accuracy within 3 points of fp32. bf16 keeps 8 mantissa bits
    # (relative rounding 2^-9 ≈ 0.002 per matmul); the run is short, so errors stay small.
    ref, low = _fit(digits), _fit(digits, precision=precision)
    assert not low.diverged
    assert abs(low.records[-1]["val_loss"] - ref.records[-1]["val_loss"]) < 0.05
    assert abs(low.test["acc"] - ref.test["acc"]) < 0.03
    assert low.records[-1]["val_loss"] != ref.records[-1]["val_loss"]  # it really ran in low precision


def test_autocast_runs_matmuls_in_bf16():
    with autocast("bf16", torch.device("cpu")):
        assert (torch.ones(3, 3) @ torch.ones(3, 3)).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert (torch.ones(3, 3) @ torch.ones(3, 3)).dtype == torch.float32


def test_device_errors():
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"device='cuda' is not available here .*available: cpu"):
            resolve_device("cuda")
        with pytest.raises(ConfigError, match=r"device='cuda' is not available here"):
            _fit(load_data({"name": "digits", "train_size": 50}), device="cuda")
    with pytest.raises(ConfigError, match=r"device must be one of auto, cpu, cuda, cuda:N, mps; got device='tpu'"):
        _fit(load_data({"name": "digits", "train_size": 50}), device="tpu")
    with pytest.raises(ConfigError, match=r"precision"):
        _fit(load_data({"name": "digits", "train_size": 50}), precision="fp8")


def test_device_sync_free_path_gives_the_same_history(digits, monkeypatch):
    # Off the CPU, fit keeps running sums on the device and checks divergence at evaluations;
    # forced on the CPU here, it must give the same records as the per-step path.
    ref = _fit(digits, eval_every=5)
    monkeypatch.setattr(fit_mod, "_FORCE_LAZY_SYNC", True)
    lazy = _fit(digits, eval_every=5)
    assert len(ref.records) == len(lazy.records)
    for a, b in zip(ref.records, lazy.records):
        for k in a:
            if k != "seconds":
                assert a[k] == pytest.approx(b[k], rel=1e-6), k
    bad = _fit(digits, optimizer="sgd", lr=1e4)
    monkeypatch.setattr(fit_mod, "_FORCE_LAZY_SYNC", False)
    bad_ref = _fit(digits, optimizer="sgd", lr=1e4)
    assert bad_ref.diverged and bad.diverged
    assert bad.diverged_step == bad_ref.diverged_step and bad.test is None
