"""K2 (lecture K2): train / validation / test — the test set is touched once: choosing a model
by its test score makes that score an optimistic estimate of how the model does on new data.

Set-up: MNIST-1D, a small train split (``train_size``), the validation split and a held-out
pool (the data set's test split). Sixteen candidate 40-64-64-10 ReLU MLPs (Adam, the same
budget) differ in their initialisation and batch order — the situation of any search over
configurations whose true accuracies are close, where picking the top score picks noise.
They train as one stacked model. Then, for each of ``resplits`` random partitions of the pool
into a *test* set (``test_size`` examples) and a *fresh* set (the rest, standing in for new
data):

* **chosen on test** (the mistake): the candidate with the best test accuracy; its reported
  estimate is that test accuracy;
* **chosen on validation** (the lecture's protocol): the candidate with the best validation
  accuracy; its reported estimate is its test accuracy (the test set touched once).

Each arm's bias is reported − fresh accuracy of the chosen model, averaged over the
partitions. Paired by seed: the same data, the same sixteen trained candidates and the same
partitions serve both arms.
"""

from __future__ import annotations

import torch

from initreg.data import load_data
from initreg.lab import Context, Outcome, experiment
from initreg.lab.experiment import stacked_note
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.train.multiseed import fit_seeds

SETTINGS = {
    "quick": {"train_size": 500, "epochs": 15, "candidates": 16, "test_size": 300, "resplits": 200},
    "full": {"train_size": 500, "epochs": 15, "candidates": 16, "test_size": 300, "resplits": 200},
}
CRITERIA = (
    Criterion("test_selection_inflates", metric="bias of the test-chosen estimate − bias of the validation-chosen "
              "estimate (bias = reported − fresh accuracy)", unit="pp", direction=">", threshold=0.0,
              changed="2026-12-06", text="paired by seed: same data, candidates and test/fresh partitions"),
    Criterion("test_chosen_is_optimistic", metric="reported test accuracy − fresh accuracy of the model chosen on "
              "the test set", unit="pp", direction=">", threshold=0.0, changed="2026-12-06"),
)
NOTES = (
    "Sixteen MLP candidates on MNIST-1D ({settings[train_size]} train examples), {stacked}. Picking the best by "
    "its score on a {settings[test_size]}-example test set and reporting that score overstates the accuracy on "
    "fresh data by {bias_test[mean]:+.1f} pp (CI {bias_test[lo]:+.1f} … {bias_test[hi]:+.1f}); picking on the "
    "validation split and touching the test set once misstates it by {bias_val[mean]:+.1f} pp "
    "({bias_val[lo]:+.1f} … {bias_val[hi]:+.1f}). The candidates' fresh accuracies span {spread[mean]:.1f} pp on "
    "average; on fresh data the test-chosen model scores {fresh_test[mean]:.1%} and the validation-chosen one "
    "{fresh_val[mean]:.1%}. Averaged over {settings[resplits]} random "
    "test/fresh partitions of the held-out pool per seed. {words[verdict]}"
)


def selection_bias(val_correct: torch.Tensor, pool_correct: torch.Tensor, test_size: int, resplits: int,
                   generator: torch.Generator) -> dict[str, float]:
    """Per candidate ``val_correct (K, n_val)`` and ``pool_correct (K, n_pool)`` (1 = right):
    the mean over ``resplits`` random test/fresh partitions of the pool of each arm's reported
    accuracy, fresh accuracy and bias (in pp).

    >>> v = torch.tensor([[1, 0], [0, 1]]).float()
    >>> p = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 1]]).float()  # candidate 0 right on the first half
    >>> r = selection_bias(v, p, 2, 50, torch.Generator().manual_seed(0))
    >>> r["bias_test"] >= 0
    True
    """
    k, n = pool_correct.shape
    val_acc = val_correct.mean(1)
    best_val = int(torch.argmax(val_acc))  # ties: the first candidate, as argmax gives
    sums = {"reported_test": 0.0, "fresh_test": 0.0, "reported_val": 0.0, "fresh_val": 0.0}
    for _ in range(resplits):
        perm = torch.randperm(n, generator=generator)
        te, fr = perm[:test_size], perm[test_size:]
        test_acc = pool_correct[:, te].mean(1)
        fresh_acc = pool_correct[:, fr].mean(1)
        best_test = int(torch.argmax(test_acc))
        sums["reported_test"] += float(test_acc[best_test])
        sums["fresh_test"] += float(fresh_acc[best_test])
        sums["reported_val"] += float(test_acc[best_val])
        sums["fresh_val"] += float(fresh_acc[best_val])
    out = {key: 100 * v / resplits for key, v in sums.items()}
    out["bias_test"] = out["reported_test"] - out["fresh_test"]
    out["bias_val"] = out["reported_val"] - out["fresh_val"]
    return out


@experiment("K2", title="Choosing on the test set inflates the test estimate", lecture=("K2",),
            statement=("Train / validation / test: the test set is touched once. Choosing among models by their "
                       "test score makes that score an optimistic estimate of accuracy on new data; choosing on "
                       "the validation split and touching the test set once does not."),
            criteria=CRITERIA, notes=NOTES, headline="test_selection_inflates", settings=SETTINGS, order=18.2)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    rows, spreads = [], []
    datas = [load_data({"name": "mnist1d", "train_size": st["train_size"], "seed": seed}) for seed in ctx.seeds]
    cands = [[1000 * seed + j for j in range(st["candidates"])] for seed in ctx.seeds]
    # every seed's candidates as one stacked model: copy (seed, j) trains on its seed's split
    mc = {"name": "mlp", "depth": 2, "width": 64, "activation": "relu"}
    flat = [(d, c) for d, cs in zip(datas, cands) for c in cs]
    all_models = [build_model(mc, d.input_shape, d.num_outputs, seed=c) for d, c in flat]
    hs = fit_seeds(all_models, [d for d, _ in flat], {"optimizer": "adam", "lr": 1e-3, "epochs": st["epochs"],
                                                       "batch_size": 64, "progress": "none", "evaluate_test": False},
                   seeds=[c for _, c in flat])
    note = stacked_note(hs, "candidates")
    for i, (seed, data) in enumerate(zip(ctx.seeds, datas)):
        models = all_models[i * st["candidates"]:(i + 1) * st["candidates"]]
        with torch.no_grad():
            val_c = torch.stack([(m.eval()(data.x_val).argmax(1) == data.y_val).float() for m in models])
            pool_c = torch.stack([(m(data.x_test).argmax(1) == data.y_test).float() for m in models])
        r = selection_bias(val_c, pool_c, st["test_size"], st["resplits"], torch.Generator().manual_seed(seed))
        rows.append(r)
        spreads.append(100 * float(pool_c.mean(1).max() - pool_c.mean(1).min()))
        ctx.log(f"seed {seed}: {r}")
    S = ctx.summarize
    inflates = [r["bias_test"] - r["bias_val"] for r in rows]
    numbers = {key: S([r[key] for r in rows]) for key in rows[0]}
    numbers.update(inflation_pp=S(inflates), spread=S(spreads), stacked=note, fresh_test=S([r["fresh_test"] / 100 for r in rows]),
                   fresh_val=S([r["fresh_val"] / 100 for r in rows]))
    lo = numbers["inflation_pp"]["lo"]
    numbers["words"] = {"verdict": ("The optimism is larger than its seed-to-seed spread." if lo == lo and lo > 0 else
                                    "Over these seeds the optimism is not distinguishable from zero.")}
    return Outcome(measurements={"test_selection_inflates": inflates,
                                 "test_chosen_is_optimistic": [r["bias_test"] for r in rows]}, numbers=numbers)
