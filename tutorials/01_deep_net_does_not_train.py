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
# # My deep net does not train
#
# A 30-layer ReLU network on a small digits data set: the loss sits at ln 10 ≈ 2.303 — a
# uniform guess over 10 classes — and never moves. This tutorial finds out why with the
# signal-propagation probe, reads its verdict, fixes the initialization and watches the
# signal (and the training) recover, with the mean-field theory drawn next to the
# measurements.
#
# Runs on a laptop CPU in well under a minute. Needs `pip install 'initreg[plot,data]'`.

# %%
import torch

from initreg.data import load_data
from initreg.init import initialize
from initreg.models import build_model
from initreg.plot import plot_history
from initreg.probe import ProbeCallback, plot_profile, probe
from initreg.train import fit

torch.manual_seed(0)
data = load_data({"name": "digits"})  # scikit-learn's 8x8 digits: 64 inputs, 10 classes
data.sizes()

# %% [markdown]
# ## The symptom
#
# 30 hidden layers of 128 ReLU units, initialized with Glorot's `xavier_normal` — PyTorch's
# `nn.init.xavier_normal_`, gain 1 — and trained with SGD and momentum.

# %%
arch = {"name": "mlp", "depth": 30, "width": 128, "activation": "relu"}
train = {"epochs": 15, "optimizer": "sgd", "lr": 0.005, "momentum": 0.9, "progress": "none"}

net = build_model({**arch, "init": "xavier_normal"}, data.input_shape, data.num_outputs, seed=0)
history = fit(net, data, train)
history

# %% [markdown]
# Fifteen epochs and the validation loss has not left 2.303: the network predicts the same
# distribution for every digit.
#
# ## Probe it
#
# `probe` runs one forward and backward pass on a batch with hooks on every layer and
# returns a `ProbeReport`: per layer, how the output's RMS compares with the input's
# (`fwd ×`), how much the output still depends on *which* example went in (`signal ×`), the
# share of dead ReLU units, the gradient's RMS relative to the last layer's (`bwd ×`) — and,
# next to the measurements, the mean-field theory's prediction for the same weights.
# We probe a freshly initialized copy: this is the state training started from.

# %%
x, y = data.x_train[:256], data.y_train[:256]
net = build_model({**arch, "init": "xavier_normal"}, data.input_shape, data.num_outputs, seed=0)
before = probe(net, x, y)
before

# %% [markdown]
# The verdict, in one line:

# %%
print(before.summary())

# %% [markdown]
# **Reading it.** Every layer multiplies the signal's second moment by
# σ_w² · E[relu(h)²]/E[h²] = 1 · ½ (Xavier's σ_w² = 2/(fan_in + fan_out) = 1/128 per weight,
# times 128 inputs, is 1; ReLU keeps half of a symmetric signal's energy). Thirty layers of
# ½ leave 2⁻³⁰ of it: the output RMS is ~3·10⁻⁵ of the input's, and what is left barely
# depends on the input. The gradient reaching the first layer is ~10⁻⁵ of the last
# layer's, so SGD's steps there are ~10⁵ times too small. The measured columns follow the
# theory's prediction layer by layer; the figure shows the same on a log scale.

# %%
plot_profile(before, title="torch's Xavier (gain 1) with ReLU")

# %% [markdown]
# ## Fix the init
#
# Kaiming (He) initialization doubles the weights' variance (σ_w² = 2/fan_in) to make up for
# the half that ReLU removes, so the forward factor per layer is exactly 1. `initialize`
# applies a scheme to any model and reports, per layer, the activation it found after the
# layer and the gain it used:

# %%
report = initialize(net, "kaiming_normal", generator=torch.Generator().manual_seed(0))
print(report)

# %%
after = probe(net, x, y)
print(after.summary())

# %% [markdown]
# ## Watch the signal recover
#
# Both profiles in one figure: solid lines are measured, dashed lines are the mean-field
# theory. With Xavier the forward signal falls by a factor 2 per layer and the gradient
# shrinks toward the input; with Kaiming both stay within the healthy band.

# %%
plot_profile([before, after], labels=["Xavier (gain 1)", "Kaiming"])

# %% [markdown]
# ## ... and the training
#
# The same architecture, seed and optimizer, now with `init: kaiming_normal`. A
# `ProbeCallback` records the verdict every 20 steps while it trains.

# %%
net = build_model({**arch, "init": "kaiming_normal"}, data.input_shape, data.num_outputs, seed=0)
watch = ProbeCallback(every=20)
fixed = fit(net, data, train, callbacks=[watch])
for row in watch.rows()[:5]:
    print(f"step {row['step']:>3}: loss {row['loss']:.3f}, {row['label']}")

# %%
plot_history(fixed, title="Kaiming")

# %%
print(f"test accuracy — Xavier (gain 1): {history.test['acc']:.1%}, Kaiming: {fixed.test['acc']:.1%}")

# %% [markdown]
# ## The same from the command line
#
# ```
# initreg probe --model mlp --depth 30 --activation relu --init xavier_normal --data digits
# initreg probe --model mlp --depth 30 --activation relu --init kaiming_normal --data digits
# ```
#
# More: [the probe](../probe.md) (every statistic, the thresholds behind each verdict, the
# theory overlay) and [initialization](../init.md).
