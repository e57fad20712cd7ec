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
# # Compress as a regularizer
#
# Pruning, quantization and distillation make a model smaller; each also limits what the
# model can memorize, so on scarce, noisy data a compressed model can *generalize better*
# than the dense one it came from. This tutorial compresses one overfitted network three
# ways and measures, on the test split, what each costs and what it gives back.
#
# Runs on a laptop CPU in well under a minute. Needs `pip install 'initreg[plot,data]'`.

# %%
import copy

import torch
import torch.nn.functional as F

from initreg.data import load_data
from initreg.models import build_model
from initreg.plot import new_figure
from initreg.regularize.distill import distill
from initreg.regularize.prune import saved_bytes, sparsity_report
from initreg.regularize.prune_recipes import one_shot
from initreg.regularize.quantize import model_sqnr, quantize_weights_, weight_bytes
from initreg.train import evaluate, fit

torch.manual_seed(0)
# the set-up of the regularization tutorial: 200 training digits, 20% of their labels wrong
data = load_data({"name": "digits", "train_size": 200, "label_noise": 0.2})
TRAIN = {"epochs": 60, "batch_size": 32, "lr": 1e-3, "progress": "none"}


def test(model):
    """Loss and accuracy of ``model`` on the test split."""
    return evaluate(model, data.x_test, data.y_test, F.cross_entropy)


dense = build_model({"name": "mlp", "depth": 2, "width": 256}, data.input_shape, data.num_outputs, seed=0)
fit(dense, data, TRAIN)
base = test(dense)
print(f"dense 64-256-256-10: test loss {base['loss']:.3f}, accuracy {base['acc']:.1%}, "
      f"{saved_bytes(dense, sparse=False) / 1e3:.0f} kB saved")

# %% [markdown]
# ## Pruning + fine-tuning
#
# `one_shot` zeroes the given fraction of the weights with the smallest magnitude, across all
# layers at once (`global_magnitude`; biases are kept), then fine-tunes with the masks held
# fixed, so pruned weights stay zero. Each sparsity starts from a copy of the same trained
# dense model.

# %%
FINETUNE = {"epochs": 20, "batch_size": 32, "lr": 1e-3, "progress": "none"}
pruned = {}
for sparsity in (0.5, 0.8, 0.9, 0.95):
    model = copy.deepcopy(dense)
    one_shot(model, data, sparsity, criterion="global_magnitude", finetune=FINETUNE)
    pruned[sparsity] = test(model)
    total = sparsity_report(model)[-1]
    print(f"sparsity {total['sparsity']:.0%} ({total['zeros']} of {total['params']} weights zero): "
          f"test loss {pruned[sparsity]['loss']:.3f}, accuracy {pruned[sparsity]['acc']:.1%}, "
          f"{saved_bytes(model, sparse=True) / 1e3:.0f} kB saved as sparse tensors")

# %% [markdown]
# ## Quantization formats
#
# `quantize_weights_` rounds every Linear weight to a format and back (post-training
# quantization; scales per output channel). The signal-to-quantization-noise ratio (SQNR) of
# the weights says how much of them each format keeps; the test metrics say what that does
# to the model.

# %%
quantized = {"fp32": (None, weight_bytes(dense), base)}
for fmt in ("fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "int4", "fp4_e2m1"):
    model = copy.deepcopy(dense)
    sqnr = model_sqnr(model, fmt)
    quantize_weights_(model, fmt)
    quantized[fmt] = (sqnr, weight_bytes(dense, fmt), test(model))
print(f"{'format':<10}{'SQNR dB':>8}{'kB':>7}{'test loss':>11}{'accuracy':>10}")
for fmt, (sqnr, size, m) in quantized.items():
    print(f"{fmt:<10}{'' if sqnr is None else f'{sqnr:.1f}':>8}{size / 1e3:>7.0f}{m['loss']:>11.3f}{m['acc']:>10.1%}")

# %% [markdown]
# ## Distillation
#
# A one-hidden-layer student (64 units) trained twice from the same init: once on the
# (noisy) labels, once on a teacher's softened predictions mixed with the labels (Hinton et
# al. 2015: temperature 4, 90% weight on the teacher). The teacher is the dense architecture
# with dropout 0.5, which memorizes the wrong labels less.

# %%
teacher = build_model({"name": "mlp", "depth": 2, "width": 256, "dropout": 0.5},
                      data.input_shape, data.num_outputs, seed=0)
fit(teacher, data, TRAIN)
student = build_model({"name": "mlp", "depth": 1, "width": 64}, data.input_shape, data.num_outputs, seed=1)
on_labels, on_teacher = copy.deepcopy(student), copy.deepcopy(student)
fit(on_labels, data, TRAIN)
distill(teacher, on_teacher, data, TRAIN, temperature=4.0, alpha=0.9)
distilled = {"teacher (dropout)": test(teacher), "student, labels": test(on_labels),
             "student, distilled": test(on_teacher)}
for name, m in distilled.items():
    print(f"{name:<20} test loss {m['loss']:.3f}, accuracy {m['acc']:.1%}")

# %% [markdown]
# ## All three, against the dense model
#
# Test accuracy of every compressed model; the dashed line is the dense model's.

# %%
fig, axes = new_figure(3, size=(3.8, 3.4), sharey=True)
axes[0].plot([f"{s:.0%}" for s in pruned], [m["acc"] for m in pruned.values()], "o-")
axes[0].set(title="pruning + fine-tuning", xlabel="weights pruned", ylabel="test accuracy")
axes[1].bar(list(quantized), [m["acc"] for _, _, m in quantized.values()], color="C1")
axes[1].set(title="post-training quantization", xlabel="weight format")
axes[1].tick_params(axis="x", rotation=45)
axes[2].bar(range(3), [m["acc"] for m in distilled.values()], color=["C7", "C2", "C3"])
axes[2].set_xticks(range(3), ["teacher", "student\nlabels", "student\ndistilled"])
axes[2].set(title="distillation")
for ax in axes:
    ax.axhline(base["acc"], color="k", ls="--", lw=0.8)
fig

# %% [markdown]
# **Reading it.** Removing most of the weights and fine-tuning can *raise* the test accuracy
# of this overfitted model: fewer free weights, less room to memorize wrong labels — up to
# the point where too few are left to fit the clean ones. Quantization down to 8 bits leaves the
# model as it was (it rounds, but keeps every weight); 4-bit formats start to move it. The
# distilled student learns the teacher's smoothed view of the noisy labels rather than the
# labels themselves. One seed, one small data set: the lab's claims C12 (distillation), C13
# (quantization), C14 and R9 (pruning) measure these effects over several seeds with declared
# criteria (`initreg lab --only C12,C13,C14,R9`).
#
# More: [compression](../compression.md) (criteria, schedules such as iterative pruning and
# the lottery ticket, quantization-aware training, real int8 inference with torchao).
