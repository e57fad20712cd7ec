# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Regularize an overfitting model
#
# Few examples, some of them mislabelled, and a network with far more weights than
# examples: the training loss goes to zero while the validation loss turns round and climbs.
# This tutorial puts five regularizers on the *same* set-up — L2, L1, dropout, early
# stopping and mixup — picks each one's strength on the validation split, and compares them
# on the test split, once, in one figure.
#
# Runs on a laptop CPU in well under a minute. Needs `pip install 'initreg[plot,data]'`.

# %%
import torch
import torch.nn.functional as F

from initreg.data import load_data
from initreg.models import build_model
from initreg.plot import new_figure
from initreg.regularize import build_regularizers
from initreg.regularize.early_stopping import EarlyStopping
from initreg.train import evaluate, fit

torch.manual_seed(0)
# 200 training digits (20 per class), a fifth of their labels replaced by a wrong class;
# validation and test labels are clean.
data = load_data({"name": "digits", "train_size": 200, "label_noise": 0.2})
data.sizes()

# %% [markdown]
# ## The set-up
#
# One architecture (64-256-256-10, ReLU, ~85k weights for 200 examples), one optimizer (Adam,
# learning rate 1e-3, batches of 32, 100 epochs) and one seed for every arm: the model's
# init and the batch order are the same everywhere, so the arms differ only in the
# regularizer. `run` trains one arm and returns its `History` (one record per epoch, and the
# test metrics of the final model) and the final model's validation loss.

# %%
TRAIN = {"epochs": 100, "batch_size": 32, "lr": 1e-3, "progress": "none"}


def run(regularize=(), dropout=0.0, callbacks=()):
    model = build_model({"name": "mlp", "depth": 2, "width": 256, "dropout": dropout},
                        data.input_shape, data.num_outputs, seed=0)
    history = fit(model, data, TRAIN, callbacks=[*build_regularizers(regularize), *callbacks])
    return history, evaluate(model, data.x_val, data.y_val, F.cross_entropy)["loss"]


plain, _ = run()
val = plain.column("val_loss")
best = min(range(len(val)), key=val.__getitem__)
print(f"train loss {plain.column('train_loss')[-1]:.3f}; validation loss {val[best]:.3f} at epoch {best + 1}, "
      f"{val[-1]:.3f} at the end")

# %% [markdown]
# ## Five regularizers, each tuned on validation
#
# Each regularizer is a callback; by name they are what a run config's `regularize:` list
# takes (`{name: l2, strength: 0.01}`), so the same arms run from the command line. For each
# method we try two or three strengths and keep the one whose final model — the one we would
# ship; for early stopping, the restored best epoch — has the lowest validation loss. The
# test split plays no part in any choice.
#
# | method | what it does | tried |
# |---|---|---|
# | L2 | adds (λ/2)·Σw² to the loss | λ ∈ {1e-2, 3e-2, 1e-1} |
# | L1 | adds λ·Σ\|w\| to the loss | λ ∈ {3e-4, 1e-3, 3e-3} |
# | dropout | zeroes each hidden unit with probability p while training | p ∈ {0.2, 0.5} |
# | early stopping | stops after 20 epochs without a better validation loss, restores the best weights | — |
# | mixup | trains on convex mixtures of pairs of examples and their labels, λ ~ Beta(α, α) | α ∈ {0.2, 1.0} |

# %%
candidates = {
    "L2": [(f"λ={s:g}", dict(regularize=[{"name": "l2", "strength": s}])) for s in (1e-2, 3e-2, 1e-1)],
    "L1": [(f"λ={s:g}", dict(regularize=[{"name": "l1", "strength": s}])) for s in (3e-4, 1e-3, 3e-3)],
    "dropout": [(f"p={p:g}", dict(dropout=p)) for p in (0.2, 0.5)],
    "early stopping": [("patience 20", dict(callbacks=[EarlyStopping(monitor="val_loss", patience=20)]))],
    "mixup": [(f"α={a:g}", dict(regularize=[{"name": "mixup", "alpha": a}])) for a in (0.2, 1.0)],
}
chosen = {"none": ("", plain)}
for method, options in candidates.items():
    tried = {setting: run(**kw) for setting, kw in options}  # setting -> (history, validation loss)
    setting = min(tried, key=lambda s: tried[s][1])
    chosen[method] = (setting, tried[setting][0])
    print(f"{method:<15}", ", ".join(f"{s}: {v:.3f}" for s, (_, v) in tried.items()), f"→ {setting}")

# %% [markdown]
# ## One figure
#
# Left: the validation loss of each chosen arm, epoch by epoch (early stopping's curve ends
# where it stopped; its model is the one at the marked epoch). Right: the test loss and
# accuracy of each arm's final model, measured once.

# %%
fig, (curves, bars) = new_figure(2, size=(5.6, 3.8))
for i, (method, (setting, h)) in enumerate(chosen.items()):
    label = f"{method} ({setting})" if setting else method
    curves.plot(h.column("epoch"), h.column("val_loss"), color=f"C{i}", label=label, lw=1.3)
    if method == "early stopping":
        v = h.column("val_loss")
        b = min(range(len(v)), key=v.__getitem__)
        curves.plot(h.column("epoch")[b], v[b], "o", color=f"C{i}")
    bars.bar(i, h.test["loss"], color=f"C{i}")
    bars.text(i, h.test["loss"], f"{h.test['acc']:.0%}", ha="center", va="bottom", fontsize=8)
curves.set(xlabel="epoch", ylabel="validation loss", title="validation loss while training")
curves.legend(fontsize=7)
bars.set_xticks(range(len(chosen)), list(chosen), rotation=30, ha="right")
bars.set(ylabel="test loss (accuracy above the bar)", title="final models on the test split")
fig

# %%
for method, (setting, h) in chosen.items():
    print(f"{method:<15}{setting:<13} test loss {h.test['loss']:.3f}   test accuracy {h.test['acc']:.1%}")

# %% [markdown]
# **Reading it.** Without a regularizer the validation loss is lowest after a few epochs and
# then climbs for the rest of training while the model memorizes the wrong labels. Each
# regularizer changes that curve in its own way: the penalties and dropout slow the climb,
# early stopping simply keeps the best epoch's weights, mixup makes memorizing single
# examples harder. This is **one seed** of **one** small set-up: differences of a point or two
# of accuracy are within what another seed would change (the
# [seeds tutorial](05_many_seeds_and_sweeps.ipynb) shows how to measure that, and the lab's
# claims C9, C11, C15 and R12 test these regularizers over several seeds with declared
# criteria).
#
# More: [regularization](../regularize.md) (every regularizer, its formula and its options).
