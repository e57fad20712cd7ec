"""C12 (lecture R7): a student trained on a big teacher's soft targets beats the same student
trained on the labels alone; its limited capacity keeps it from overfitting as the teacher does.

Set-up (Hinton, Vinyals & Dean 2015, section 3: a large, strongly regularized teacher; a small
student trained on the same labelled data): MNIST-1D's own split, 4000 train / 1000 test, no
validation set (nothing is tuned). The teacher is an MLP 40-512-512-10 with dropout 0.3
(model and train seed ``1000 + seed``); the student an MLP 40-256-10. Both student arms of a
seed start from the same init and see the same batches in the same order (fit seed = the
seed): the **distilled** student is trained on ``α·T²·KL(teacher‖student at T) + (1−α)·CE``
with the teacher's logits on the same 4000 train inputs and the same labels, its
**hard-label twin** on ``CE`` alone, long enough for the twin to overfit (its train accuracy
far above its test accuracy). The teachers of all seeds train as one stacked model, and so
do the hard-label twins (the distilled students need a callback: one at a time).

Judged: (1) the distilled student's test accuracy minus its twin's; (2) the lecture's reason —
the distilled student's train–test accuracy gap is smaller than its teacher's.

Reported, not judged (full mode): T = 2 beside the judged T = 4, and the **transfer-set**
form (section 2 of the paper): a student that has the labels of only ``labeled`` train
examples but the teacher's soft targets on all train inputs, against a twin trained on the
labelled examples alone (same init and number of steps), and a student trained on the
teacher's argmax labels for the unlabelled inputs (hard pseudo-labels). That form gives the
two arms unequal information, so it is not the lecture's comparison.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F

from ...data import Splits, load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.distill import Distill, distillation_loss
from ...train import evaluate, fit
from ...train.callbacks import TrainState
from ...train.fit import as_train_config, loss_function
from ...train.multiseed import SeedsResult, fit_seeds, train_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

__all__ = ["CRITERIA", "SETTINGS", "TransferSetDistill", "distilled_student", "effects", "train_hard_students",
           "train_teachers", "transfer_set"]

_COMMON = {
    "data": {"name": "mnist1d", "seed": 0, "val_fraction": 0.0},  # 4000 train / 1000 test
    "teacher": {"name": "mlp", "widths": [512, 512], "dropout": 0.3, "init": "torch"},
    "student": {"name": "mlp", "widths": [256], "init": "torch"},
    "alpha": 0.9,
    "temperature": 4.0,  # the judged temperature
    "lr": 1e-3,
    "teacher_batch_size": 128,
    "batch_size": 64,
    "labeled": 500,  # transfer-set extra: labels the student may use
    "transfer_epochs": 15,  # transfer-set extra: epochs over all train inputs
}

SETTINGS = {
    # quick: the same models, data, loss and teacher budget, but one teacher shared by every seed (a teacher
    # trained for fewer epochs fell below its own student) and half the students' epochs (the hard-label twin
    # still overfits: its train-test gap is reported); no extras
    "quick": {**_COMMON, "teacher_epochs": 30, "shared_teacher": True, "student_epochs": 50, "temperatures": [4.0],
              "transfer_set": False},
    "full": {**_COMMON, "teacher_epochs": 30, "shared_teacher": False, "student_epochs": 100,
             "temperatures": [2.0, 4.0], "transfer_set": True},
}

CRITERIA = (
    Criterion("soft_targets_beat_labels", metric="student test accuracy, soft targets + labels (T = 4, α = 0.9) "
              "− labels alone", unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: the same student init, labelled data and batch order"),
    Criterion("student_overfits_less_than_teacher", metric="train − test accuracy gap, teacher − distilled student",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="the lecture's reason: the small student's capacity keeps it from overfitting as the teacher does; "
                   "accuracies in eval mode on all train inputs and the test split"),
)

NOTES = (
    "MNIST-1D ({n_train} train / {n_test} test), {n_seeds} seeds. Teacher MLP {arch[teacher]}, dropout "
    "{settings[teacher][dropout]}, Adam {settings[lr]}, {settings[teacher_epochs]} epochs ({words[stacked]}): "
    "test accuracy {teacher_acc[mean]:.1%} (train {teacher_train_acc[mean]:.1%}). Student MLP {arch[student]}, Adam "
    "{settings[lr]}, batch {settings[batch_size]}, {settings[student_epochs]} epochs; the hard-label twin "
    "({words[stacked_hard]}) reaches {hard_train_acc[mean]:.1%} train and {hard_acc[mean]:.1%} test accuracy "
    "(gap {hard_gap_pp[mean]:.1f} pp: it overfits); the teacher is {teacher_lead_pp[mean]:+.1f} pp ahead of it on test. "
    "**Soft targets** (T = {settings[temperature]:g}, "
    "α = {settings[alpha]}; {words[stacked_kd]}) give {distilled_acc[mean]:.1%}: {gain_pp[mean]:+.1f} pp over labels alone "
    "(interval {gain_pp[lo]:+.1f} to {gain_pp[hi]:+.1f}; per seed {gain_pp[min]:+.1f} to {gain_pp[max]:+.1f}), "
    "closing {gap_closed[mean]:.0%} of the teacher–student gap on average (undefined where the teacher is not ahead): "
    "{parts[soft_targets_beat_labels][verdict]}. **The lecture's reason:** the distilled student's train–test gap "
    "is {distilled_gap_pp[mean]:.1f} pp against the teacher's {teacher_gap_pp[mean]:.1f} pp (difference "
    "{gap_diff_pp[mean]:+.1f}, interval {gap_diff_pp[lo]:+.1f} to {gap_diff_pp[hi]:+.1f}): "
    "{parts[student_overfits_less_than_teacher][verdict]}; the hard-label twin's gap is {hard_gap_pp[mean]:.1f} pp, "
    "so soft targets shrink the same student's gap by {hard_minus_distilled_gap_pp[mean]:.1f} pp. "
    "{words[temperatures]} {words[transfer]}"
)


class TransferSetDistill(Distill):
    """`Distill` where only the train examples flagged in ``labeled`` contribute the hard term.

    Loss per batch: ``α·T²·KL(softmax(t/T) ‖ softmax(s/T))`` over the whole batch plus
    ``(1−α)·CE(s, y)`` averaged over its labelled examples (zero when it has none). Needs the
    precomputed teacher logits and untouched batches (no augmentation), to know which
    train examples a batch holds.
    """

    def __init__(self, teacher: torch.nn.Module, labeled: torch.Tensor, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__(teacher, temperature, alpha, precompute=True)
        self.labeled = labeled

    def on_loss(self, state: TrainState, loss: torch.Tensor, output: torch.Tensor, x: torch.Tensor,
                y: torch.Tensor) -> torch.Tensor:
        assert self._all is not None
        idx = state.batch_index  # the rows of x_train `fit` sliced this batch from
        if idx is None or len(idx) != len(x) or not torch.equal(state.data.x_train[idx], x):
            raise RuntimeError("TransferSetDistill needs untouched train batches (no augmentation or mixup)")
        soft = distillation_loss(output, self._all[idx], temperature=self.temperature, alpha=1.0)
        m = self.labeled[idx]
        hard = F.cross_entropy(output[m], y[m]) if bool(m.any()) else output.sum() * 0.0
        return self.alpha * soft + (1.0 - self.alpha) * hard


def _train_cfg(s: dict[str, Any], epochs: int, seed: int, batch_size: int) -> dict[str, Any]:
    return {"optimizer": "adam", "lr": s["lr"], "batch_size": batch_size, "epochs": epochs, "seed": seed,
            "progress": "none"}


def _acc(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return evaluate(model, x, y, loss_function(as_train_config(None), "classification"))["acc"]


def accuracies(model: torch.nn.Module, data: Splits) -> tuple[float, float]:
    """``(train accuracy, test accuracy)`` in eval mode (dropout off)."""
    return _acc(model, data.x_train, data.y_train), _acc(model, data.x_test, data.y_test)


def train_teachers(s: dict[str, Any], seeds: list[int], data: Splits) -> tuple[list[torch.nn.Module], SeedsResult]:
    """The teachers of all seeds (model and train seed ``1000 + seed``): they share the data,
    so they train as one stacked model where the model allows it (`train_seeds`). With
    ``shared_teacher`` the first seed's teacher serves every seed."""
    tseeds = [1000 + seed for seed in (seeds[:1] if s.get("shared_teacher") else seeds)]
    teachers, hists = train_seeds(s["teacher"], data, _train_cfg(s, s["teacher_epochs"], tseeds[0],
                                                                  s["teacher_batch_size"]), tseeds)
    if len(teachers) < len(seeds):
        teachers, hists[:] = teachers * len(seeds), list(hists) * len(seeds)
    return teachers, hists


def train_hard_students(s: dict[str, Any], seeds: list[int], data: Splits) -> tuple[list[torch.nn.Module], SeedsResult]:
    """The hard-label twins of all seeds (model and fit seed ``seed``, as the distilled students):
    one stacked model, which trains each copy as its own `fit` would (same init, same batches)."""
    return train_seeds(s["student"], data, _train_cfg(s, s["student_epochs"], seeds[0], s["batch_size"]), seeds)


def distilled_student(s: dict[str, Any], seed: int, data: Splits, teacher: torch.nn.Module,
                      temperature: float) -> torch.nn.Module:
    """Seed ``seed``'s student (the init of its hard-label twin) trained on ``teacher``'s soft
    targets and the labels, with fit seed ``seed`` (its twin's batch order)."""
    student = build_model(s["student"], data.input_shape, data.num_outputs, seed=seed)
    fit(student, data, _train_cfg(s, s["student_epochs"], seed, s["batch_size"]),
        callbacks=[Distill(teacher, temperature, s["alpha"])])
    return student


def distilled_students(s: dict[str, Any], seeds: list[int], data: Splits, teachers: list[torch.nn.Module],
                       temperature: float) -> tuple[list[torch.nn.Module], SeedsResult]:
    """`distilled_student` for every seed at once: copy k (seed ``seeds[k]``'s init and batch
    order) learns from ``teachers[k]``; one stacked model where `Distill` runs per copy."""
    students = [build_model(s["student"], data.input_shape, data.num_outputs, seed=seed) for seed in seeds]
    hists = fit_seeds(students, data, _train_cfg(s, s["student_epochs"], seeds[0], s["batch_size"]), seeds=seeds,
                      callbacks=lambda k: [Distill(teachers[k], temperature, s["alpha"])])
    return students, hists


def transfer_set(s: dict[str, Any], seed: int, data: Splits, teacher: torch.nn.Module) -> dict[str, float]:
    """The transfer-set extra for one seed (not judged): test accuracies of a student with
    ``labeled`` labels plus the teacher's soft targets on every train input, its twin on the
    labelled examples alone (same init, same number of steps), and a student on the labels
    plus the teacher's argmax for the other inputs."""
    n, bs = len(data.x_train), s["batch_size"]
    sub = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:s["labeled"]]
    labeled = torch.zeros(n, dtype=torch.bool)
    labeled[sub] = True
    small = dataclasses.replace(data, x_train=data.x_train[sub], y_train=data.y_train[sub])
    steps = s["transfer_epochs"] * -(-n // bs)
    hard_epochs = max(1, round(steps / -(-len(sub) // bs)))

    def student() -> torch.nn.Module:
        return build_model(s["student"], data.input_shape, data.num_outputs, seed=seed)

    cfg = _train_cfg(s, s["transfer_epochs"], seed, bs)
    twin = student()
    fit(twin, small, _train_cfg(s, hard_epochs, seed, bs))
    kd = student()
    fit(kd, data, cfg, callbacks=[TransferSetDistill(teacher, labeled, s["temperature"], s["alpha"])])
    with torch.no_grad():
        y = torch.cat([teacher(data.x_train[i:i + 1024]).argmax(1) for i in range(0, n, 1024)])
    y[sub] = data.y_train[sub]
    pseudo = student()
    fit(pseudo, dataclasses.replace(data, y_train=y), cfg)
    return {"hard": _acc(twin, data.x_test, data.y_test), "kd": _acc(kd, data.x_test, data.y_test),
            "pseudo": _acc(pseudo, data.x_test, data.y_test)}


def effects(rows: list[dict[str, Any]], temperature: float) -> dict[str, list[float]]:
    """Per seed (``rows``: accuracies as fractions), the value of each declared part (see `CRITERIA`)."""
    return {
        "soft_targets_beat_labels": [100 * (r["kd"][temperature]["test"] - r["hard"]["test"]) for r in rows],
        "student_overfits_less_than_teacher": [
            100 * ((r["teacher"]["train"] - r["teacher"]["test"])
                   - (r["kd"][temperature]["train"] - r["kd"][temperature]["test"])) for r in rows],
    }


def _figure(path, rows: list[dict[str, Any]], T: float, temps: list[float]) -> None:
    fig, (a1, a2) = new_figure(2)
    for r in rows:
        a1.plot([0, 1], [100 * r["hard"]["test"], 100 * r["kd"][T]["test"]], "o-", color="C0", alpha=0.6)
        a1.plot([2], [100 * r["teacher"]["test"]], "s", color="C2", alpha=0.6)
    a1.set_xticks([0, 1, 2], ["labels\nalone", f"soft targets\nT = {T:g}", "teacher"])
    a1.set_ylabel("test accuracy (%)")
    a1.set_title("per seed (lines pair a seed's two students)", fontsize=8)
    gaps = {"teacher": [100 * (r["teacher"]["train"] - r["teacher"]["test"]) for r in rows],
            **{f"student, T = {t:g}": [100 * (r["kd"][t]["train"] - r["kd"][t]["test"]) for r in rows] for t in temps},
            "student, labels": [100 * (r["hard"]["train"] - r["hard"]["test"]) for r in rows]}
    for i, g in enumerate(gaps.values()):
        a2.plot([i] * len(g), g, "o", color=f"C{i}", alpha=0.6)
    a2.set_xticks(range(len(gaps)), [n.replace(", ", "\n") for n in gaps], fontsize=7)
    a2.set_ylabel("train − test accuracy (pp)")
    a2.set_title("overfitting", fontsize=8)
    save_figure(fig, path)


def _transfer_figure(path, ts: list[dict[str, float]], labeled: int) -> None:
    fig, ax = new_figure()
    names = {"hard": f"{labeled} labels alone", "pseudo": "labels + teacher's argmax", "kd": "labels + soft targets"}
    for r in ts:
        ax.plot(range(len(names)), [100 * r[k] for k in names], "o-", color="C0", alpha=0.5)
    ax.set_xticks(range(len(names)), [n.replace(" + ", "\n+ ") for n in names.values()], fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("transfer set (extra, not the verdict)", fontsize=9)
    save_figure(fig, path)


@experiment(
    "C12",
    title="Distillation: soft targets from a big teacher beat hard labels for a small student",
    statement=("A student trained on the teacher's soft targets beats the same student trained on labels; "
               "its limited capacity keeps it from overfitting as the big teacher does."),
    criteria=CRITERIA,
    notes=NOTES,
    headline="soft_targets_beat_labels",
    settings=SETTINGS,
    lecture=("R7",),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    torch.set_num_threads(1)
    data = load_data(s["data"])
    T = float(s["temperature"])
    temps = sorted({*map(float, s["temperatures"]), T})
    teachers, t_hists = train_teachers(s, ctx.seeds, data)
    hards, h_hists = train_hard_students(s, ctx.seeds, data)
    for teacher in teachers:
        teacher.eval()
    seeds = list(ctx.seeds)
    kd: dict[float, list[torch.nn.Module]] = {}
    for t in temps:
        kd[t], kd_hists = distilled_students(s, seeds, data, teachers, t)
    rows: list[dict[str, Any]] = []
    for i, (seed, teacher, hard) in enumerate(zip(seeds, teachers, hards)):
        r: dict[str, Any] = {"teacher": dict(zip(("train", "test"), accuracies(teacher, data))),
                             "hard": dict(zip(("train", "test"), accuracies(hard, data))), "kd": {}}
        for t in temps:
            r["kd"][t] = dict(zip(("train", "test"), accuracies(kd[t][i], data)))
        if s["transfer_set"]:
            r["transfer"] = transfer_set(s, seed, data, teacher)
        rows.append(r)
    measured = effects(rows, T)
    _figure(ctx.figure("students.png"), rows, T, temps)
    figures = ["students.png"]

    def summ(f) -> dict[str, float]:
        return ctx.summarize([f(r) for r in rows])

    gap = lambda d: 100 * (d["train"] - d["test"])  # noqa: E731
    numbers: dict[str, Any] = {
        "gain_pp": ctx.summarize(measured["soft_targets_beat_labels"]),
        "gap_diff_pp": ctx.summarize(measured["student_overfits_less_than_teacher"]),
        "teacher_acc": summ(lambda r: r["teacher"]["test"]),
        "teacher_train_acc": summ(lambda r: r["teacher"]["train"]),
        "hard_acc": summ(lambda r: r["hard"]["test"]),
        "hard_train_acc": summ(lambda r: r["hard"]["train"]),
        "distilled_acc": summ(lambda r: r["kd"][T]["test"]),
        "distilled_train_acc": summ(lambda r: r["kd"][T]["train"]),
        "gap_closed": summ(lambda r: (r["kd"][T]["test"] - r["hard"]["test"]) / (r["teacher"]["test"] - r["hard"]["test"])
                           if r["teacher"]["test"] > r["hard"]["test"] else float("nan")),
        "teacher_lead_pp": summ(lambda r: 100 * (r["teacher"]["test"] - r["hard"]["test"])),
        "teacher_gap_pp": summ(lambda r: gap(r["teacher"])),
        "distilled_gap_pp": summ(lambda r: gap(r["kd"][T])),
        "hard_gap_pp": summ(lambda r: gap(r["hard"])),
        "hard_minus_distilled_gap_pp": summ(lambda r: gap(r["hard"]) - gap(r["kd"][T])),
        "gain_pp_by_temperature": {f"{t:g}": summ(lambda r, t=t: 100 * (r["kd"][t]["test"] - r["hard"]["test"]))
                                   for t in temps},
        "per_seed": {"teacher_acc": [r["teacher"]["test"] for r in rows], "hard_acc": [r["hard"]["test"] for r in rows],
                     "distilled_acc": [r["kd"][T]["test"] for r in rows]},
        "arch": {k: "-".join(map(str, [data.input_shape[0], *s[k]["widths"], data.num_outputs]))
                 for k in ("teacher", "student")},
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "vectorized": {"teachers": t_hists.vectorized, "hard_twins": h_hists.vectorized,
                       "distilled": kd_hists.vectorized},
    }
    others = [t for t in temps if t != T]
    words = {"stacked": (f"one teacher (seed {1000 + ctx.seeds[0]}) shared by every seed"
                         if s.get("shared_teacher") else stacked_note(t_hists, "teachers")),
             "stacked_hard": stacked_note(h_hists, "hard-label twins"),
             "stacked_kd": stacked_note(kd_hists, "distilled students"),
             "temperatures": " ".join(
                 f"At T = {t:g} (reported, not judged) the gain is {numbers['gain_pp_by_temperature'][f'{t:g}']['mean']:+.1f} "
                 f"pp (interval {numbers['gain_pp_by_temperature'][f'{t:g}']['lo']:+.1f} to "
                 f"{numbers['gain_pp_by_temperature'][f'{t:g}']['hi']:+.1f})." for t in others),
             "transfer": "The transfer-set extra runs in full mode only."}
    if s["transfer_set"]:
        ts = [r["transfer"] for r in rows]
        numbers["transfer_set"] = {
            "gain_pp": ctx.summarize([100 * (t["kd"] - t["hard"]) for t in ts]),
            "soft_minus_pseudo_pp": ctx.summarize([100 * (t["kd"] - t["pseudo"]) for t in ts]),
            "acc": {k: ctx.summarize([t[k] for t in ts]) for k in ("hard", "pseudo", "kd")},
        }
        g, p = numbers["transfer_set"]["gain_pp"], numbers["transfer_set"]["soft_minus_pseudo_pp"]
        words["transfer"] = (
            f"**Extra finding, not the verdict — the transfer set** (the student has {s['labeled']} labels and the "
            f"teacher's soft targets on all {len(data.x_train)} train inputs, {s['transfer_epochs']} epochs; its twin "
            f"the {s['labeled']} labels alone for as many steps): {g['mean']:+.1f} pp (interval {g['lo']:+.1f} to "
            f"{g['hi']:+.1f}). The arms see unequal information, so this measures the teacher's labelling as much as "
            f"distillation: against a student trained on the teacher's hard argmax labels for the unlabelled inputs, "
            f"soft targets {'win' if p['lo'] > 0 else 'lose' if p['hi'] < 0 else 'are within seed noise'} "
            f"({p['mean']:+.1f} pp, interval {p['lo']:+.1f} to {p['hi']:+.1f}).")
        _transfer_figure(ctx.figure("transfer_set.png"), ts, s["labeled"])
        figures.append("transfer_set.png")
    numbers["words"] = words
    return Outcome(measurements=measured, numbers=numbers, figures=figures)
