"""R5 (lecture R5): dropout is usually not put on the last layer — dropping the output layer's
units (the logits) hurts rather than regularizes.

Set-up (the shared overfitting set-up of the regularizer claims): MNIST-1D with
``train_size`` train examples, a 40-256-256-10 ReLU MLP with dropout p after each hidden
layer, Adam 1e-3, batch 64, ``epochs`` epochs. The twin adds the same dropout on the output
layer (inverted, so evaluation is unchanged): same initial weights and batch order per seed.
One data split (``data_seed``) serves every seed, so the seeds vary init, batch order and
masks, and each arm's seeds train as one stacked model.
"""

from __future__ import annotations

from initreg.lab import Context, Outcome, experiment
from initreg.lab.experiment import stacked_note
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.nn import Dropout
from initreg.train.multiseed import fit_seeds

from . import _overfit

SETTINGS = {"quick": {"train_size": 1000, "epochs": 60, "p": 0.3, "data_seed": 0},
            "full": {"train_size": 1000, "epochs": 60, "p": 0.3, "data_seed": 0}}
CRITERIA = (
    Criterion("last_layer_dropout_hurts", metric="test error with dropout on the output layer too − hidden layers "
              "only", unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: same data, init and batch order"),
)
NOTES = (
    "MNIST-1D, {settings[train_size]} train examples, dropout {settings[p]} after each hidden layer: test error "
    "{err_hidden[mean]:.1f}% (test loss {loss_hidden[mean]:.3f}); with the same dropout on the output layer as well "
    "{err_last[mean]:.1f}% (test loss {loss_last[mean]:.3f}), a change of {diff[mean]:+.1f} pp (CI {diff[lo]:+.1f} … "
    "{diff[hi]:+.1f}). {stacked}. {words[reading]}"
)


@experiment("R5", title="Dropout on the last layer", lecture=("R5",),
            statement=("Dropout is usually not applied to the last layer: dropping the output units hurts the model "
                       "rather than regularizing it."),
            criteria=CRITERIA, notes=NOTES, headline="last_layer_dropout_hurts", settings=SETTINGS, order=18.7)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = _overfit.data(st["data_seed"], st["train_size"])
    res: dict[str, list[dict[str, float]]] = {}
    note = ""
    for arm in ("hidden", "last"):
        models = [build_model({**_overfit.MODEL, "dropout": st["p"]}, d.input_shape, d.num_outputs, seed=s)
                  for s in ctx.seeds]
        if arm == "last":
            for m in models:
                m.append(Dropout(st["p"]))
        hs = fit_seeds(models, d, _overfit.train_config(ctx.seeds[0], st["epochs"]), seeds=list(ctx.seeds))
        res[arm] = [_overfit.scores(m, d) for m in models]
        note = stacked_note(hs, f"{arm}-dropout models")
        ctx.log(f"{arm}: {res[arm]}")
    S = ctx.summarize
    diff = [b["test_err"] - a["test_err"] for a, b in zip(res["hidden"], res["last"])]
    numbers = {"err_hidden": S([r["test_err"] for r in res["hidden"]]), "err_last": S([r["test_err"] for r in res["last"]]),
               "loss_hidden": S([r["test_loss"] for r in res["hidden"]]), "loss_last": S([r["test_loss"] for r in res["last"]]),
               "diff": S(diff), "stacked": note[:1].upper() + note[1:]}
    lo, hi = numbers["diff"]["lo"], numbers["diff"]["hi"]
    numbers["words"] = {"reading": ("Dropping the logits costs accuracy." if lo > 0 else
                                    "Dropping the logits helps here." if hi < 0 else
                                    "The difference is within the seed-to-seed spread.")}
    return Outcome(measurements={"last_layer_dropout_hurts": diff}, numbers=numbers)
