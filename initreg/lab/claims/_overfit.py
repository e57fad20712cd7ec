"""The lab's shared overfitting set-up for the regularizer claims (R1, R5, R12): MNIST-1D with
few train examples and an MLP big enough to memorize them, and the two numbers each arm is
judged by (test cross-entropy and the train–test gap, both in eval mode). `plain_models` is
the unregularized baseline R1 and R12 share: trained once per seed (stacked), cached by
`initreg.lab.artefacts`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from initreg.data import Splits, load_data
from initreg.lab.artefacts import shared_models
from initreg.models import build_model
from initreg.train.multiseed import fit_seeds

MODEL = {"name": "mlp", "depth": 2, "width": 256, "activation": "relu"}


def data(seed: int, train_size: int) -> Splits:
    """MNIST-1D with ``train_size`` train examples, split and subsampled by ``seed``."""
    return load_data({"name": "mnist1d", "train_size": train_size, "seed": seed})


def train_config(seed: int, epochs: int, **extra: Any) -> dict[str, Any]:
    """Adam 1e-3, batch 64, ``epochs`` epochs, train seed ``seed`` (the same batch order in every arm)."""
    return {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": epochs, "seed": seed, "progress": "none",
            "evaluate_test": False, **extra}


def scores(model: nn.Module, d: Splits) -> dict[str, float]:
    """Eval-mode cross-entropy on the train and test splits, their gap, and the test error (%)."""
    model.eval()
    with torch.no_grad():
        zt, ztr = model(d.x_test), model(d.x_train)
    test_loss, train_loss = float(F.cross_entropy(zt, d.y_test)), float(F.cross_entropy(ztr, d.y_train))
    return {"test_loss": test_loss, "train_loss": train_loss, "gap": test_loss - train_loss,
            "test_err": 100 * float((zt.argmax(1) != d.y_test).float().mean())}


def plain_models(artefacts: Path | None, data_seed: int, train_size: int, epochs: int,
                 seeds: list[int]) -> tuple[list[nn.Module], dict[str, int]]:
    """The plain `MODEL` of each seed (init seed = train seed = ``seed``) trained on
    ``data(data_seed, train_size)`` with ``train_config(seed, epochs)``; every claim asking
    for the same settings gets the same weights, trained once per seed (``artefacts``: the
    lab's cache folder, None to train every time). Returns the models and the cache counts."""
    d = data(data_seed, train_size)
    spec = {"model": MODEL, "data": {"name": "mnist1d", "train_size": train_size, "seed": data_seed},
            "train": {k: v for k, v in train_config(0, epochs).items() if k != "seed"}}

    def build(seed: int) -> nn.Module:
        return build_model(MODEL, d.input_shape, d.num_outputs, seed=seed)

    def train(models: list[nn.Module], todo: list[int]) -> None:
        fit_seeds(models, d, train_config(todo[0], epochs), seeds=todo)

    return shared_models(artefacts, "overfit-plain", spec, seeds, build, train)
