"""`fit` vs Lightning's Trainer on the same model, data and optimizer.

Lightning's usual set-up: a ``LightningModule`` with ``training_step`` /
``validation_step`` / ``configure_optimizers`` and ``DataLoader(TensorDataset,
batch_size=128, shuffle=True)`` for train (a plain one for validation), run by
``Trainer(max_epochs=2)`` on the CPU. We switch off the logger, checkpointing, the model
summary and the progress bar (they write files and print) — all of which *favour*
Lightning, so the measured speed-up is a lower bound. Chunks alternate; the ratio is
Lightning's time over `fit`'s, median over rounds. Target: ≥ 1.5.

Lightning is optional (``pip install 'initreg[bench]'``); without it this benchmark is
skipped with a message.

    python -m bench.bench_lightning
"""

from __future__ import annotations

import copy
import logging
import warnings

import torch
import torch.nn.functional as F

from bench._common import interleave, median_ratio, mlp, mnist_like, ratio_row, setup_threads

__all__ = ["run"]


def run(quick: bool = False) -> list[dict]:
    try:
        import lightning as L
    except ImportError:
        return [ratio_row("Lightning Trainer / fit", float("nan"), "≥ 1.5", None,
                          "skipped: lightning is not installed (pip install 'initreg[bench]')")]
    from torch.utils.data import DataLoader, TensorDataset

    from initreg.train import fit

    setup_threads(1)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    _, _, splits = mnist_like()
    x, y, xv, yv = splits.x_train, splits.y_train, splits.x_val, splits.y_val
    base = mlp([784, 300, 100, 10])
    init = copy.deepcopy(base.state_dict())
    epochs, bs = 2, 128

    class Module(L.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def training_step(self, batch, _):
            xb, yb = batch
            loss = F.cross_entropy(self.net(xb), yb)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            xb, yb = batch
            out = self.net(xb)
            self.log("val_loss", F.cross_entropy(out, yb))
            self.log("val_acc", (out.argmax(1) == yb).float().mean())

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    train_dl = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True, generator=torch.Generator().manual_seed(0))
    val_dl = DataLoader(TensorDataset(xv, yv), batch_size=2048)

    def v_lightning():
        base.load_state_dict(init)
        tr = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                       enable_progress_bar=False, enable_model_summary=False)
        tr.fit(Module(base), train_dl, val_dl)

    cfg = {"epochs": epochs, "batch_size": bs, "lr": 1e-3, "progress": "none", "evaluate_test": False}

    def v_fit():
        base.load_state_dict(init)
        fit(base, splits, cfg)

    rounds = 5 if quick else 15
    t = interleave({"fit": v_fit, "lightning": v_lightning}, rounds=rounds)
    torch.set_num_threads(1)  # Lightning may change it
    r = median_ratio(t["lightning"], t["fit"])
    detail = (f"MLP 784-300-100-10, mnist5k train {len(x)}, batch {bs}, Adam, {epochs} epochs per call incl. validation; "
              f"lightning {L.__version__}; {rounds} interleaved rounds; time(Lightning) / time(fit); the LightningModule "
              "returns torch.optim.Adam(params) as most do (the per-parameter loop on the CPU), fit uses fused Adam")
    return [ratio_row("Lightning Trainer / fit (fit's speed-up)", r, "≥ 1.5", r >= 1.5, detail)]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
