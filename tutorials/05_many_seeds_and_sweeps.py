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
# # Many seeds and sweeps
#
# One training run is one sample: a different seed gives a different init, a different batch
# order, and a different test accuracy. This tutorial trains 16 seeds of a small network at
# once (stacked into one set of batched matrix multiplies), reports a mean with a 95%
# interval, compares two inits the way the lab does (paired by seed), and then runs a small
# sweep — learning rate × init × seeds — into a database and draws its figure.
#
# Runs on a laptop CPU in well under a minute. Needs `pip install 'initreg[plot,data]'`.

# %%
from initreg.data import load_data
from initreg.plot import new_figure
from initreg.sweep import open_store, plot_sweep, run_sweep
from initreg.train.multiseed import train_seeds
from initreg.utils.stats import mean_ci

data = load_data({"name": "digits", "train_size": 300})
MODEL = {"name": "mlp", "depth": 4, "width": 64}
TRAIN = {"epochs": 10, "optimizer": "sgd", "lr": 0.05, "progress": "none"}

# %% [markdown]
# ## 16 seeds at once
#
# `train_seeds` builds one model per seed (`build_model(..., seed=s)`) and trains copy `k`
# with train seed `s` — its own init, batch order and dropout masks, exactly as 16 separate
# `fit` runs would. A plain MLP without callbacks is *stacked*: the 16 copies' weights become
# one `(16, out, in)` tensor per layer and each step is one batched matrix multiply per
# layer. `vectorized` says whether that happened (and `reason` why not, when it did not).

# %%
seeds = list(range(16))
acc = {}
for init in ("xavier_normal", "kaiming_normal"):
    models, histories = train_seeds({**MODEL, "init": init}, data, TRAIN, seeds)
    acc[init] = [h.test["acc"] for h in histories]
    ci = mean_ci(acc[init])
    print(f"{init:<15} stacked: {histories.vectorized}; test accuracy {ci['mean']:.1%} "
          f"± {ci['ci']:.1%} (95% interval, {ci['n']} seeds; min {ci['min']:.1%}, max {ci['max']:.1%})")

# %% [markdown]
# ## Comparing two settings: pair by seed
#
# Both inits saw the same data split and, seed by seed, the same batch order; only the init
# differs. The difference *per seed* removes what the two runs of a seed share, so its
# interval is narrower than the two intervals above suggest. This is how the lab judges a
# claim: it holds when the whole 95% interval lies on the claim's side of its threshold.

# %%
diff = mean_ci([k - x for x, k in zip(acc["xavier_normal"], acc["kaiming_normal"])])
print(f"Kaiming − Xavier: {diff['mean']:+.1%}, 95% interval [{diff['lo']:+.1%}, {diff['hi']:+.1%}]")

# %%
fig, (left, right) = new_figure(2, size=(4.4, 3.4))
for i, values in enumerate(acc.values()):
    ci = mean_ci(values)
    left.plot([i] * len(values), values, "o", alpha=0.35, color=f"C{i}")
    left.errorbar(i + 0.15, ci["mean"], yerr=ci["ci"], fmt="s", color="k", capsize=4)
left.set_xticks([0, 1], list(acc))
left.set(ylabel="test accuracy", title="16 seeds each (mean, 95% interval)", xlim=(-0.5, 1.5))
paired = [k - x for x, k in zip(acc["xavier_normal"], acc["kaiming_normal"])]
right.plot(seeds, paired, "o", color="C2")
right.axhline(0, color="k", lw=0.8)
right.axhspan(diff["lo"], diff["hi"], color="C2", alpha=0.2, label="95% interval of the mean")
right.set(xlabel="seed", ylabel="Kaiming − Xavier accuracy", title="paired by seed")
right.legend(fontsize=8)
fig

# %% [markdown]
# ## A sweep
#
# A sweep is a base run config, the keys to vary and the seeds. `run_sweep` expands the grid
# (here 4 learning rates × 2 inits × 3 seeds = 24 runs), runs them — `workers: 1` in this
# process; more workers start a process pool, `executor: ray` a Ray cluster — and commits
# each result to `sweeps/<name>/sweep.db` (SQLite) as it arrives. Run it again and finished
# runs are skipped: a killed sweep resumes where it stopped. The same spec as a YAML file runs
# with `initreg sweep spec.yaml`.

# %%
spec = {
    "name": "lr-x-init",
    "base": {"data": {"name": "digits", "train_size": 300}, "model": MODEL,
             "train": {**TRAIN, "lr": 0.05}},
    "method": "grid",
    "params": {"train.lr": [0.01, 0.03, 0.1, 0.3], "model.init": ["xavier_normal", "kaiming_normal"]},
    "seeds": 3,
    "metric": "val_loss",
    "workers": 1,
}
result = run_sweep(spec)
{k: result[k] for k in ("total", "ran", "skipped", "status")}

# %% [markdown]
# Every run is a row: its parameters, seed, the resolved config and its final metrics.

# %%
store = open_store(result["dir"])
rows = store.rows()
store.close()
for r in rows[:6]:
    print(r["params"], "seed", r["seed"], f"val_loss {r['metrics']['val_loss']:.3f}")

# %% [markdown]
# ## The sweep's figure
#
# The metric against each swept parameter: the mean over seeds with its 95% interval,
# settings that share the other parameters joined by a line. `run_sweep` also saves it as
# `sweeps/lr-x-init/sweep.png`; `plot_sweep` draws it from any list of rows.

# %%
plot_sweep(rows, "val_loss")

# %% [markdown]
# From the command line: `initreg sweep spec.yaml`, then `initreg results sweeps/lr-x-init`
# prints the table of runs with mean ± 95% interval per setting (`--csv out.csv` exports it).
#
# More: [speed and scale](../speed.md) (how stacking works and when it falls back, precision
# and device, sweeps on a Ray cluster) and the lab's [criteria changelog](../criteria-changelog.md)
# (how a claim's interval becomes a verdict).
