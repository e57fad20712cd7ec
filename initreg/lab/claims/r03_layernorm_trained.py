"""R3, R4 (lecture R3, R4): normalization layers in training — a LayerNorm's γ and β are learned
by gradient descent, and learning them (rather than keeping the plain normalization
γ = 1, β = 0) changes the model the training finds.

Set-up: MNIST-1D with ``train_size`` train examples (one data split for every seed), a
40-256-256-10 ReLU MLP with a LayerNorm before each hidden activation (the normalization
that applies per example in an MLP), Adam 1e-3, batch 64, ``epochs`` epochs. Two arms per seed
with the same initial weights and batch order: γ, β learned, and γ, β frozen at (1, 0).
Judged: how far γ and β moved in the learned arm, and the test cross-entropy (eval mode) of
the frozen arm against the learned one.
"""

from __future__ import annotations

import torch
from torch import nn

from initreg.lab import Context, Outcome, experiment
from initreg.lab.experiment import stacked_note
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.train.multiseed import fit_seeds

from . import _overfit

SETTINGS = {"quick": {"train_size": 1000, "epochs": 30, "data_seed": 0},
            "full": {"train_size": 1000, "epochs": 30, "data_seed": 0}}
CRITERIA = (
    Criterion("gamma_beta_move", metric="mean |γ − 1| + mean |β| over the LayerNorms after training, learned arm",
              unit="", direction=">", threshold=0.01, kind="exact", changed="2026-12-06",
              text="0.01 = one hundredth of γ's initial value: a move no rounding makes"),
    Criterion("learning_affine_helps", metric="test loss with γ, β frozen − learned", unit="nats", direction=">",
              threshold=0.0, changed="2026-12-06", text="paired by seed: same data, init and batch order"),
)
NOTES = (
    "MNIST-1D, {settings[train_size]} train examples, LayerNorm MLP, {settings[epochs]} epochs. Learned γ, β move "
    "by {moved[mean]:.3f} on average (mean distance of γ from its start plus mean |β|, smallest seed {moved[min]:.3f}). Test loss with "
    "them learned {learned[test_loss][mean]:.3f} (error {learned[test_err][mean]:.1f}%), frozen at their initial values "
    "{frozen[test_loss][mean]:.3f} (error {frozen[test_err][mean]:.1f}%): frozen − learned = {diff[mean]:+.3f} "
    "(CI {diff[lo]:+.3f} … {diff[hi]:+.3f}). {words[reading]} Training: {stacked[learned]}; {stacked[frozen]}."
)


def affine_moved(model: nn.Module) -> float:
    """Mean |γ − 1| + mean |β| over every LayerNorm of ``model``."""
    lns = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    g = torch.cat([m.weight.detach().reshape(-1) for m in lns])
    b = torch.cat([m.bias.detach().reshape(-1) for m in lns])
    return float((g - 1).abs().mean() + b.abs().mean())


@experiment("R3", title="LayerNorm in training: γ, β learned by gradient descent", lecture=("R3", "R4"),
            statement=("Normalization layers train with the network: their γ and β are learned by gradient descent, "
                       "and learning them (rather than fixing γ = 1, β = 0) gives a better model."),
            criteria=CRITERIA, notes=NOTES, headline="learning_affine_helps", settings=SETTINGS, order=18.6)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = _overfit.data(st["data_seed"], st["train_size"])
    res: dict[str, list[dict[str, float]]] = {"learned": [], "frozen": []}
    moved: list[float] = []
    notes: dict[str, str] = {}
    seeds = list(ctx.seeds)
    for arm in ("learned", "frozen"):  # each arm's seeds through `fit_seeds` (stacked where LayerNorm stacks)
        ms = [build_model({**_overfit.MODEL, "norm": "layer"}, d.input_shape, d.num_outputs, seed=s) for s in seeds]
        if arm == "frozen":
            for m in ms:
                for ln in (x for x in m.modules() if isinstance(x, nn.LayerNorm)):
                    ln.weight.requires_grad_(False)
                    ln.bias.requires_grad_(False)
        hs = fit_seeds(ms, d, _overfit.train_config(seeds[0], st["epochs"]), seeds=seeds)
        res[arm] = [_overfit.scores(m, d) for m in ms]
        if arm == "learned":
            moved = [affine_moved(m) for m in ms]
        notes[arm] = stacked_note(hs, f"{arm}-γ/β models")
    for i, s in enumerate(seeds):
        ctx.log(f"seed {s}: {res['learned'][i]} / {res['frozen'][i]} moved {moved[i]}")
    S = ctx.summarize
    diff = [b["test_loss"] - a["test_loss"] for a, b in zip(res["learned"], res["frozen"])]
    numbers = {arm: {k: S([r[k] for r in rows]) for k in rows[0]} for arm, rows in res.items()}
    numbers.update(moved=S(moved), diff=S(diff), stacked=notes)
    lo, hi = numbers["diff"]["lo"], numbers["diff"]["hi"]
    numbers["words"] = {"reading": (
        "Learning γ and β lowers the test loss here." if lo > 0 else
        "γ and β are learned — they move — but on this set-up the freedom they add fits the train set more "
        "closely: the twin with them frozen has the lower test loss, so 'learning them gives a better model' "
        "does not hold here." if hi < 0 else
        "Whether learning them helps is within the seed-to-seed spread here.")}
    return Outcome(measurements={"gamma_beta_move": moved, "learning_affine_helps": diff}, numbers=numbers)
