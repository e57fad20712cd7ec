"""R9 (lecture R9) as a regularizer: pruning the least important weights and fine-tuning keeps
the "important" features and drops the "noisy" ones — on a set-up that overfits, it lowers the
test loss and the train–test gap against the same training budget without pruning.

Set-up (the shared overfitting set-up of the regularizer claims): MNIST-1D with
``train_size`` train examples (one data split for every seed), a 40-256-256-10 ReLU MLP,
Adam 1e-3, batch 64. Each seed's model trains ``epochs_before`` epochs (the seeds as one
stacked model); then two arms continue from the same weights with a fresh Adam for
``epochs_after`` epochs and the same batch order: plain, and pruned — global magnitude pruning
to ``sparsity`` (`initreg.regularize.prune.prune_`, masks kept while fine-tuning). Judged in
eval mode with plain cross-entropy.
"""

from __future__ import annotations

import copy

from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize.prune import prune_, sparsity_report
from initreg.train.multiseed import fit_seeds

from . import _overfit

SETTINGS = {"quick": {"train_size": 500, "epochs_before": 40, "epochs_after": 40, "sparsity": 0.8, "data_seed": 0},
            "full": {"train_size": 500, "epochs_before": 40, "epochs_after": 40, "sparsity": 0.8, "data_seed": 0}}
_PAIR = "paired by seed: same data, weights before pruning and batch order"
CRITERIA = (
    Criterion("pruning_lowers_test_loss", metric="test loss plain − pruned and fine-tuned, same budget", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("pruning_shrinks_gap", metric="train–test loss gap plain − pruned and fine-tuned", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
)
NOTES = (
    "MNIST-1D, {settings[train_size]} train examples; {settings[epochs_before]} epochs, then {settings[epochs_after]} "
    "more. Plain: test loss {plain[test_loss][mean]:.2f}, gap {plain[gap][mean]:.2f}, test error "
    "{plain[test_err][mean]:.1f}%. Pruned to {sparsity[mean]:.0%} of the weights zero (global magnitude) and "
    "fine-tuned: test loss {pruned[test_loss][mean]:.2f} (lower by {d_loss[mean]:.2f}, CI {d_loss[lo]:.2f} … "
    "{d_loss[hi]:.2f}), gap {pruned[gap][mean]:.2f} (smaller by {d_gap[mean]:.2f}, CI {d_gap[lo]:.2f} … "
    "{d_gap[hi]:.2f}), test error {pruned[test_err][mean]:.1f}%."
)


@experiment("R9", title="Pruning and fine-tuning as a regularizer", lecture=("R9",),
            statement=("Pruning the least important weights and fine-tuning keeps the important features and ignores "
                       "the noisy ones: on an overfitting set-up it lowers the test loss and the train–test gap against "
                       "the same budget without pruning."),
            criteria=CRITERIA, notes=NOTES, headline="pruning_lowers_test_loss", settings=SETTINGS, order=18.8)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = _overfit.data(st["data_seed"], st["train_size"])
    seeds = list(ctx.seeds)
    base = [build_model(_overfit.MODEL, d.input_shape, d.num_outputs, seed=s) for s in seeds]
    fit_seeds(base, d, _overfit.train_config(seeds[0], st["epochs_before"]), seeds=seeds)
    pruned = [copy.deepcopy(m) for m in base]
    fit_seeds(base, d, _overfit.train_config(seeds[0], st["epochs_after"]), seeds=seeds)  # plain: the same budget
    res = {"plain": [_overfit.scores(m, d) for m in base], "pruned": []}
    sparsity = []
    for m in pruned:
        prune_(m, st["sparsity"], "global_magnitude")
    fit_seeds(pruned, d, _overfit.train_config(seeds[0], st["epochs_after"]), seeds=seeds)  # masks per copy
    for m in pruned:
        res["pruned"].append(_overfit.scores(m, d))
        sparsity.append(sparsity_report(m)[-1]["sparsity"])
    ctx.log(str(res))
    S = ctx.summarize
    d_loss = [a["test_loss"] - b["test_loss"] for a, b in zip(res["plain"], res["pruned"])]
    d_gap = [a["gap"] - b["gap"] for a, b in zip(res["plain"], res["pruned"])]
    numbers = {arm: {k: S([r[k] for r in rows]) for k in rows[0]} for arm, rows in res.items()}
    numbers.update(d_loss=S(d_loss), d_gap=S(d_gap), sparsity=S(sparsity))
    return Outcome(measurements={"pruning_lowers_test_loss": d_loss, "pruning_shrinks_gap": d_gap}, numbers=numbers)
