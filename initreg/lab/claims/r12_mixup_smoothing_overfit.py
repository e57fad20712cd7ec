"""R12, R13 (lecture R12, R13): mixup and label smoothing are regularizers — on a set-up that
overfits they lower the test loss and the train–test gap.

Set-up (the shared overfitting set-up of the regularizer claims): MNIST-1D with
``train_size`` train examples (one data split for every seed), a 40-256-256-10 ReLU MLP,
Adam 1e-3, batch 64, ``epochs`` epochs — long enough for the plain model to overfit (its test
loss rises while its train loss falls). Three arms per seed, with the same initial weights and
batch order: plain; label smoothing ε (Szegedy et al.'s 0.1); mixup α (the library's default
0.2, within the paper's 0.1–0.4). Judged in eval mode with plain cross-entropy: test loss and
gap = test − train loss. The plain and label-smoothing arms train their seeds as one stacked
model; mixup (a callback) trains one seed at a time.
"""

from __future__ import annotations

from initreg.lab import Context, Outcome, experiment
from initreg.lab.verdict import Criterion
from initreg.models import build_model
from initreg.regularize.mixup import Mixup
from initreg.train.multiseed import fit_seeds

from . import _overfit

SETTINGS = {"quick": {"train_size": 500, "epochs": 80, "eps": 0.1, "alpha": 0.2, "data_seed": 0},
            "full": {"train_size": 500, "epochs": 80, "eps": 0.1, "alpha": 0.2, "data_seed": 0}}
_PAIR = "paired by seed: same data, init and batch order"
CRITERIA = (
    Criterion("mixup_lowers_test_loss", metric="test loss plain − with mixup", unit="nats", direction=">",
              threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("smoothing_lowers_test_loss", metric="test loss plain − with label smoothing", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("mixup_shrinks_gap", metric="train–test loss gap plain − with mixup", unit="nats", direction=">",
              threshold=0.0, changed="2026-12-06", text=_PAIR),
    Criterion("smoothing_shrinks_gap", metric="train–test loss gap plain − with label smoothing", unit="nats",
              direction=">", threshold=0.0, changed="2026-12-06", text=_PAIR),
)
NOTES = (
    "MNIST-1D, {settings[train_size]} train examples, {settings[epochs]} epochs. Plain: test loss "
    "{plain[test_loss][mean]:.2f}, train loss {plain[train_loss][mean]:.3f}, test error {plain[test_err][mean]:.1f}%. "
    "Mixup α = {settings[alpha]}: test loss {mixup[test_loss][mean]:.2f} (lower by {d_mix_loss[mean]:.2f}, CI "
    "{d_mix_loss[lo]:.2f} … {d_mix_loss[hi]:.2f}), gap smaller by {d_mix_gap[mean]:.2f}, test error "
    "{mixup[test_err][mean]:.1f}%. Label smoothing ε = {settings[eps]}: test loss {smooth[test_loss][mean]:.2f} "
    "(lower by {d_ls_loss[mean]:.2f}, CI {d_ls_loss[lo]:.2f} … {d_ls_loss[hi]:.2f}), gap smaller by "
    "{d_ls_gap[mean]:.2f}, test error {smooth[test_err][mean]:.1f}%. Losses are plain cross-entropy in eval mode."
)


@experiment("R12", title="Mixup and label smoothing against overfitting", lecture=("R12", "R13"),
            statement=("Mixup (new examples as mixtures of inputs and labels) and label smoothing (soft targets) "
                       "regularize: on an overfitting set-up they lower the test loss and the train–test gap."),
            criteria=CRITERIA, notes=NOTES, headline="mixup_lowers_test_loss", settings=SETTINGS, order=18.95)
def run(ctx: Context) -> Outcome:
    st = ctx.settings
    d = _overfit.data(st["data_seed"], st["train_size"])
    seeds = list(ctx.seeds)

    def models():
        return [build_model(_overfit.MODEL, d.input_shape, d.num_outputs, seed=s) for s in seeds]

    res: dict[str, list[dict[str, float]]] = {}
    plain, cache = _overfit.plain_models(ctx.artefacts, st["data_seed"], st["train_size"], st["epochs"], seeds)
    res["plain"] = [_overfit.scores(m, d) for m in plain]
    ms = models()
    fit_seeds(ms, d, _overfit.train_config(seeds[0], st["epochs"], label_smoothing=st["eps"]), seeds=seeds)
    res["smooth"] = [_overfit.scores(m, d) for m in ms]
    ms = models()  # one Mixup per copy: the seeds stack (`fit_seeds`)
    fit_seeds(ms, d, _overfit.train_config(seeds[0], st["epochs"]), seeds=seeds,
              callbacks=lambda k: [Mixup(alpha=st["alpha"])])
    res["mixup"] = [_overfit.scores(m, d) for m in ms]
    ctx.log(str(res))
    S = ctx.summarize

    def delta(arm: str, key: str) -> list[float]:
        return [a[key] - b[key] for a, b in zip(res["plain"], res[arm])]

    meas = {"mixup_lowers_test_loss": delta("mixup", "test_loss"), "smoothing_lowers_test_loss": delta("smooth", "test_loss"),
            "mixup_shrinks_gap": delta("mixup", "gap"), "smoothing_shrinks_gap": delta("smooth", "gap")}
    numbers = {arm: {k: S([r[k] for r in rows]) for k in rows[0]} for arm, rows in res.items()}
    numbers.update(d_mix_loss=S(meas["mixup_lowers_test_loss"]), d_ls_loss=S(meas["smoothing_lowers_test_loss"]),
                   d_mix_gap=S(meas["mixup_shrinks_gap"]), d_ls_gap=S(meas["smoothing_shrinks_gap"]),
                   d_mix_err=S(delta("mixup", "test_err")), d_ls_err=S(delta("smooth", "test_err")),
                   plain_models=cache)
    return Outcome(measurements=meas, numbers=numbers)
