"""R1 (lecture R1): an L2 penalty on the activations or on the outputs is a regularizer — it
keeps the activations small and, on a set-up that overfits, lowers the test loss.

Set-up (the shared overfitting set-up of the regularizer claims): MNIST-1D with
``train_size`` train examples (one data split for every seed), a 40-256-256-10 ReLU MLP,
Adam 1e-3, batch 64, ``epochs`` epochs. Three arms per seed with the same initial weights and
batch order: plain; ``(λ/2)·‖h‖²`` per example on both hidden ReLU outputs
(`initreg.regularize.penalties.ActivityPenalty`); the same on the output layer's logits. λ is
the lecture's usual L2 strength 1e-3 for both, fixed before the run (not tuned). Judged in
eval mode: the hidden activations' mean square on the test inputs, and the test cross-entropy.
The plain arm trains its seeds as one stacked model; the penalized arms (callbacks) one seed
at a time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize.penalties import ActivityPenalty
from initreg.train.multiseed import fit_seeds

from . import _overfit

SETTINGS = {"quick": {"train_size": 500, "epochs": 80, "l2_activations": 1e-3, "l2_outputs": 1e-3, "data_seed": 0},
            "full": {"train_size": 500, "epochs": 80, "l2_activations": 1e-3, "l2_outputs": 1e-3, "data_seed": 0}}
_PAIR = "paired by seed: same data, init and batch order"
CRITERIA = (
    Criterion("activation_l2_shrinks_activations", metric="log10 of the hidden activations' mean square on test "
              "inputs, with activation L2 / plain", unit="log10", direction="<", threshold=0.0, changed="2026-12-06",
              text=_PAIR),
    Criterion("activation_l2_lowers_test_loss", metric="test loss plain − with activation L2", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("output_l2_lowers_test_loss", metric="test loss plain − with output L2", unit="nats", direction=">",
              threshold=0.0, changed="2026-12-06", text=_PAIR),
)
NOTES = (
    "MNIST-1D, {settings[train_size]} train examples, {settings[epochs]} epochs. Plain: test loss "
    "{plain[test_loss][mean]:.2f}, test error {plain[test_err][mean]:.1f}%, hidden activations' mean square "
    "{plain[act_ms][mean]:.2f}. L2 λ = {settings[l2_activations]} on the hidden activations: mean square "
    "{act[act_ms][mean]:.3f} ({shrink[mean]:+.2f} in log10), test loss {act[test_loss][mean]:.2f} (lower by "
    "{d_act[mean]:.2f}, CI {d_act[lo]:.2f} … {d_act[hi]:.2f}), test error {act[test_err][mean]:.1f}%. L2 λ = "
    "{settings[l2_outputs]} on the logits: test loss {out[test_loss][mean]:.2f} (lower by {d_out[mean]:.2f}, CI "
    "{d_out[lo]:.2f} … {d_out[hi]:.2f}), test error {out[test_err][mean]:.1f}%."
)


def hidden_mean_square(model: nn.Sequential, x: torch.Tensor) -> float:
    """Mean of h² over every hidden ReLU output (eval mode)."""
    acts: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: acts.append(o)) for m in model if isinstance(m, nn.ReLU)]
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return float(torch.cat([a.reshape(-1) for a in acts]).pow(2).mean())


@experiment("R1", title="L2 on activations and on outputs against overfitting", lecture=("R1",),
            statement=("Loss penalties on activations or outputs regularize: L2 on the activations keeps them small, "
                       "and on an overfitting set-up L2 on the activations or on the outputs lowers the test loss."),
            criteria=CRITERIA, notes=NOTES, headline="activation_l2_lowers_test_loss", settings=SETTINGS, order=18.5)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = _overfit.data(st["data_seed"], st["train_size"])
    seeds = list(ctx.seeds)
    res: dict[str, list[dict[str, float]]] = {"plain": [], "act": [], "out": []}
    plain, cache = _overfit.plain_models(ctx.artefacts, st["data_seed"], st["train_size"], st["epochs"], seeds)
    res["plain"] = [{**_overfit.scores(m, d), "act_ms": hidden_mean_square(m, d.x_test)} for m in plain]
    for arm in ("act", "out"):  # one penalty per copy: the arm's seeds stack (`fit_seeds`)
        ms = [build_model(_overfit.MODEL, d.input_shape, d.num_outputs, seed=s) for s in seeds]
        last = str(len(ms[0]) - 1)  # the output Linear's name in the Sequential

        def pen(k: int, arm: str = arm, last: str = last) -> list[ActivityPenalty]:
            return [ActivityPenalty(l2=st["l2_activations"]) if arm == "act"
                    else ActivityPenalty(l2=st["l2_outputs"], modules=[last])]

        fit_seeds(ms, d, _overfit.train_config(seeds[0], st["epochs"]), seeds=seeds, callbacks=pen)
        res[arm] = [{**_overfit.scores(m, d), "act_ms": hidden_mean_square(m, d.x_test)} for m in ms]
    ctx.log(str(res))
    S = ctx.summarize
    shrink = [math.log10(b["act_ms"] / a["act_ms"]) for a, b in zip(res["plain"], res["act"])]
    d_act = [a["test_loss"] - b["test_loss"] for a, b in zip(res["plain"], res["act"])]
    d_out = [a["test_loss"] - b["test_loss"] for a, b in zip(res["plain"], res["out"])]
    numbers = {arm: {k: S([r[k] for r in rows]) for k in rows[0]} for arm, rows in res.items()}
    numbers.update(shrink=S(shrink), d_act=S(d_act), d_out=S(d_out), plain_models=cache)
    return Outcome(measurements={"activation_l2_shrinks_activations": shrink, "activation_l2_lowers_test_loss": d_act,
                                 "output_l2_lowers_test_loss": d_out}, numbers=numbers)
