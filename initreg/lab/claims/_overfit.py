"""The lab's shared overfitting set-up for the regularizer claims (R1, R5, R12): MNIST-1D with
few train examples and an MLP big enough to memorize them, and the two numbers each arm is
judged by (test cross-entropy and the train–test gap, both in eval mode)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from initreg.data import Splits, load_data

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
