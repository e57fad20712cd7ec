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
# # Pick an init for any activation
#
# PyTorch's `calculate_gain` is a table of five hand-picked numbers. This tutorial computes
# the gain for *any* activation — even one you write yourself — then goes past gains: the
# critical (edge-of-chaos) init that keeps both the signal and the gradient alive in a deep
# tanh net, LSUV for when you would rather measure than compute, and `initialize(model,
# "auto")` on a model with a residual block, where it tells you what it could not work out.
#
# Runs on a laptop CPU in well under a minute. Needs `pip install 'initreg[plot,data]'`.

# %%
import numpy as np
import torch
from torch import nn

from initreg.data import load_data
from initreg.init import calculate_gain, critical_point, gain, initialize, lsuv_, zeros_
from initreg.plot import new_figure
from initreg.probe import plot_profile, probe

data = load_data({"name": "digits"})
x, y = data.x_train[:256], data.y_train[:256]

# %% [markdown]
# ## Computed gains
#
# A layer `h = W x` with `fan_in` inputs keeps a unit-variance pre-activation at unit variance
# when `fan_in · Var(w) = g²` with the **forward gain** `g = 1/√E[f(z)²]`, `z ~ N(0, 1)`; the
# gradient keeps its variance with the **backward gain** `1/√E[f′(z)²]`. `gain` evaluates
# both by quadrature (split at the kinks of ReLU-like functions), for any activation:

# %%
def torch_table(name):
    try:
        return f"{calculate_gain(name):.4f}"
    except ValueError:
        return "—"


print(f"{'activation':<11}{'forward':>9}{'backward':>10}{'torch':>9}")
for name in ["relu", "tanh", "sigmoid", "selu", "elu", "gelu", "silu", "softplus"]:
    print(f"{name:<11}{gain(name):>9.4f}{gain(name, mode='backward'):>10.4f}{torch_table(name):>9}")

# %% [markdown]
# ReLU's √2 is exact in both directions. For tanh torch's 5/3 is a heuristic; the forward
# and backward gains differ (1.5925 and 1.4674), so no single Gaussian scale keeps both the
# signal and the gradient at exactly 1 — keep that in mind for the next section. A module
# with parameters, or any function of a tensor, works the same way (its derivative comes
# from autograd):

# %%
print("LeakyReLU(0.2):", round(gain(nn.LeakyReLU(0.2)), 4), " torch:", round(calculate_gain("leaky_relu", 0.2), 4))
print("x·sigmoid(1.702x), written by hand:", round(gain(lambda t: t * torch.sigmoid(1.702 * t)), 4))

# %% [markdown]
# ## A 30-layer tanh net, three ways
#
# - torch's `xavier_normal` (gain 1): the forward signal shrinks a little at every layer;
# - `xavier_normal` with `gain: auto` (the forward gain above): the signal's variance stays
#   at 1 — but the gradient now *grows* toward the input, by χ₁ = σ_w² E[tanh′(h)²] ≈ 1.18
#   per layer (the chaotic phase);
# - `critical`: the (σ_w, σ_b) where χ₁ = 1 exactly, at the variance q* the signal settles
#   to — the edge of chaos (Poole et al. 2016; Schoenholz et al. 2017).

# %%
cp = critical_point("tanh")
cp

# %%
def deep(activation, depth, width=128):
    """`depth` hidden Linear + activation pairs and a Linear output layer."""
    layers, d = [], data.input_shape[0]
    for _ in range(depth):
        layers += [nn.Linear(d, width), activation()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, data.num_outputs))


schemes = {"Xavier (gain 1)": "xavier_normal",
           "Xavier, gain: auto": {"name": "xavier_normal", "gain": "auto"},
           "critical": "critical"}
net = deep(nn.Tanh, depth=30)
reports = {}
for label, scheme in schemes.items():
    init = initialize(net, scheme, generator=torch.Generator().manual_seed(0))
    reports[label] = probe(net, x, y, jacobian=8)  # + singular values of the input-output Jacobian
    print(f"{label:<20}{init.describe_gains()}")

# %% [markdown]
# The probe calls all three *healthy* — no layer crosses its 100× / 0.01× thresholds at
# depth 30. The profiles (dashed: mean-field theory) show the difference: with gain 1 the
# signal drifts down, with the forward gain the gradient grows toward the input, and at the
# critical point both stay flat.

# %%
plot_profile(list(reports.values()), labels=list(reports))

# %% [markdown]
# The singular values of the input–output Jacobian tell the same story in one number each: a
# net is easy to train when they sit near 1 (*dynamical isometry*, Saxe et al. 2014).

# %%
fig, ax = new_figure(size=(6.0, 3.4))
for label, rep in reports.items():
    sv = np.ravel(rep.jacobian["singular_values"])
    ax.hist(np.log10(sv), bins=30, range=(-2.5, 2), alpha=0.55, label=f"{label}: mean σ² {rep.jacobian['mean_sq']:.2g}")
ax.axvline(0, color="k", lw=0.8)
ax.set_xlabel("log10 singular value of ∂f(x)/∂x")
ax.set_ylabel("count (8 inputs × 10)")
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## LSUV: measure instead of compute
#
# Layer-sequential unit-variance init (Mishkin & Matas 2015) starts from orthonormal weights
# and rescales each layer, in order, until its output variance on a batch of real inputs is
# 1. It needs no formula for the activation — here a 20-layer GELU net:

# %%
gelu_net = deep(nn.GELU, depth=20)
print(lsuv_(gelu_net, x, generator=torch.Generator().manual_seed(0)))
print(probe(gelu_net, x, y).summary())

# %% [markdown]
# ## `initialize(model, "auto")` on a model with a residual block
#
# `auto` gives each Linear/Conv the Kaiming scale for the activation found after it. In a
# `Sequential` the order of the modules says which one that is; in any other model
# `initialize` traces the forward pass with `torch.fx` and follows each layer's output. A
# layer whose output goes into a residual add is followed through the add to whatever uses
# the sum (He et al. 2016 give a residual branch the gain of the activation after the add).
# Here each block's sum goes on to the next block's first Linear and, at the end, to the
# head: linear uses, so `fc2` gets gain 1 ("identity"), and nothing is left *unresolved*.

# %%
class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, h):
        return h + self.fc2(torch.relu(self.fc1(h)))


class ResMLP(nn.Module):
    def __init__(self, inputs=64, width=128, blocks=4, classes=10):
        super().__init__()
        self.stem = nn.Linear(inputs, width)
        self.blocks = nn.Sequential(*[Block(width) for _ in range(blocks)])
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.blocks(torch.relu(self.stem(x))))


model = ResMLP()
report = initialize(model, "auto", generator=torch.Generator().manual_seed(0))
report

# %%
report.unresolved  # a layer fx could not follow would be listed here, with the reason

# %% [markdown]
# Gain 1 for the branch's last layer is a choice, not the only one: every block then adds
# about as much variance as the stream already carries, so the signal grows along the
# residual stream. A common fix (Goyal et al. 2017; Zhang et al. 2019, "Fixup") is to start
# each branch at zero, so every block begins as the identity. The stream's RMS after the
# stem and after each block, both ways:

# %%
@torch.no_grad()
def stream_rms(model, x):
    h = torch.relu(model.stem(x))
    rms = [h.pow(2).mean().sqrt().item()]
    for block in model.blocks:
        h = block(h)
        rms.append(h.pow(2).mean().sqrt().item())
    return " ".join(f"{r:.2f}" for r in rms)


print("gain 1 on fc2:", stream_rms(model, x))
for block in model.blocks:
    zeros_(block.fc2.weight)
print("fc2 = 0:      ", stream_rms(model, x))

# %% [markdown]
# More: [initialization](../init.md) (every scheme, the fan convention, how `initialize`
# finds activations, the mean-field formulas).
