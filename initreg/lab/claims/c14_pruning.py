"""C14 (lecture R9): magnitude pruning + fine-tuning keeps accuracy at high sparsity, beating no
fine-tuning and random pruning.

Set-up: LeNet-300-100 on MNIST 5k, trained dense with Adam (the seeds' dense baselines train as
one stacked model). Each seed's dense model is pruned to 90% sparsity three ways — global
magnitude (L1) pruning then fine-tuning with the masks kept, the same pruning without
fine-tuning, and random pruning with the same fine-tuning — so every comparison is paired: the
same dense model, and the two fine-tuned arms the same fine-tuning batch order (fit seed =
the seed). "Keeps accuracy" means the pruned model reaches at least 99% of the dense model's
test accuracy (MLPerf's quality target for a compressed model), judged on the mean over seeds.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ...data import Splits, load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.prune import make_permanent, prune_, saved_bytes, sparsity_report
from ...train import evaluate, fit
from ...train.fit import as_train_config, loss_function
from ...train.multiseed import SeedsResult, fit_seeds, train_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

__all__ = ["CRITERIA", "METHODS", "SETTINGS", "effects", "run_seed", "run_seeds", "train_dense"]

_COMMON = {
    "data": {"name": "mnist5k", "seed": 0},
    "model": {"name": "mlp", "widths": [300, 100], "init": "torch"},  # LeNet-300-100
    "lr": 1e-3,
    "finetune_lr": 3e-4,
    "batch_size": 64,
    "sparsity": 0.9,
}

SETTINGS = {
    "quick": {**_COMMON, "epochs": 10, "finetune_epochs": 3, "curve": [0.5, 0.9, 0.97]},
    "full": {**_COMMON, "epochs": 30, "finetune_epochs": 9, "curve": [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99]},
}

METHODS = {  # name -> (criterion, fine-tune?)
    "magnitude + fine-tune": ("global_magnitude", True),
    "magnitude, no fine-tune": ("global_magnitude", False),
    "random + fine-tune": ("random", True),
}

CRITERIA = (
    Criterion("finetuned_keeps_accuracy", metric="test accuracy lost by magnitude pruning + fine-tuning at 90% "
              "sparsity, in % of the dense model's accuracy", unit="%", direction="<", threshold=1.0,
              changed="2026-12-06", text="paired by seed: the same dense model; 'keeps accuracy' = at least 99% of "
              "the dense accuracy (MLPerf's quality target for compressed models)"),
    Criterion("no_finetune_falls_behind", metric="test accuracy, magnitude pruning with − without fine-tuning",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: the same pruned weights before fine-tuning"),
    Criterion("random_falls_behind", metric="test accuracy, magnitude − random pruning, both fine-tuned",
              unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: the same dense model, sparsity and fine-tuning batch order"),
)

NOTES = (
    "LeNet-300-100 on MNIST ({n_train} train / {n_test} test images) over {n_seeds} seeds; dense {settings[epochs]} epochs ({words[stacked]}), dense test "
    "accuracy {dense_acc[mean]:.1%}; fine-tuning {settings[finetune_epochs]} epochs at Adam {settings[finetune_lr]} "
    "(one model at a time: the stacked model does not carry pruning masks). At {settings[sparsity]:.0%} sparsity, "
    "magnitude pruning + fine-tuning loses {lost_pct[mean]:.2f}% of the dense accuracy "
    "(interval {lost_pct[lo]:.2f} to {lost_pct[hi]:.2f}: {parts[finetuned_keeps_accuracy][verdict]}). Without fine-tuning the pruned model "
    "is {no_ft_gap_pp[mean]:.1f} pp behind (interval {no_ft_gap_pp[lo]:.1f} to {no_ft_gap_pp[hi]:.1f}), random "
    "pruning with the same fine-tuning {random_gap_pp[mean]:.1f} pp behind (interval {random_gap_pp[lo]:.1f} to "
    "{random_gap_pp[hi]:.1f}). At {top_sparsity:.0%} sparsity the accuracy without fine-tuning is "
    "{top_no_ft_acc:.1%} on average. Global pruning leaves the layers unevenly sparse ({words[per_layer]}); "
    "saved with CSR storage the pruned model takes {kb_sparse:.0f} kB against {kb_dense:.0f} kB dense. "
    "The lecture's 'important vs noisy features' reading is not measured: magnitude is a cheap proxy for "
    "importance, and the fine-tuning does much of the work at high sparsity."
)


def _cfg(s: dict[str, Any], epochs: int, lr: float, seed: int) -> dict[str, Any]:
    return {"lr": lr, "batch_size": s["batch_size"], "epochs": epochs, "seed": seed, "progress": "none"}


def train_dense(s: dict[str, Any], seeds: list[int], data: Splits) -> tuple[list[torch.nn.Module], SeedsResult]:
    """The dense baselines of all seeds (model and train seed ``seed``): they share the data,
    so they train as one stacked model where the model allows it (`train_seeds`)."""
    return train_seeds(s["model"], data, _cfg(s, s["epochs"], s["lr"], seeds[0]), seeds)


def run_seeds(s: dict[str, Any], seeds: list[int], data: Splits | None = None,
              denses: list[torch.nn.Module] | None = None) -> list[dict[str, Any]]:
    """Dense baselines (``denses`` if given, already trained by `train_dense`), then each method
    at each sparsity of the curve (and the target): every method starts from a copy of the
    seed's dense model, and both fine-tuned methods use fit seed ``seed`` (same batch order);
    the seeds' fine-tunes of one method and sparsity train stacked (`fit_seeds`, masks per copy)."""
    data = data if data is not None else load_data(s["data"])
    loss_fn = loss_function(as_train_config(None), data.task)
    if denses is None:
        denses = [build_model(s["model"], data.input_shape, data.num_outputs, seed=seed) for seed in seeds]
        for dense, seed in zip(denses, seeds):
            fit(dense, data, _cfg(s, s["epochs"], s["lr"], seed))
    acc = lambda m: evaluate(m, data.x_test, data.y_test, loss_fn)["acc"]  # noqa: E731
    outs: list[dict[str, Any]] = [{"dense": acc(d), "bytes_dense": saved_bytes(d, sparse=False), "curve": {}}
                                  for d in denses]
    for sp in sorted(set(s["curve"]) | {s["sparsity"]}):
        rows: list[dict[str, float]] = [{} for _ in seeds]
        for name, (crit, ft) in METHODS.items():
            ms = [copy.deepcopy(d) for d in denses]
            for m, seed in zip(ms, seeds):
                prune_(m, sp, crit, generator=torch.Generator().manual_seed(seed))
            if ft:
                fit_seeds(ms, data, _cfg(s, s["finetune_epochs"], s["finetune_lr"], seeds[0]), seeds=seeds)
            for row, out, m in zip(rows, outs, ms):
                row[name] = acc(m)
                if sp == s["sparsity"] and name == "magnitude + fine-tune":
                    out["report"] = sparsity_report(m)
                    out["bytes_sparse"] = saved_bytes(m, sparse=True)
                    make_permanent(m)
                    out["sparsity_after_permanent"] = sparsity_report(m)[-1]["sparsity"]
        for out, row in zip(outs, rows):
            out["curve"][sp] = row
    return outs


def run_seed(s: dict[str, Any], seed: int, data: Splits | None = None,
             dense: torch.nn.Module | None = None) -> dict[str, Any]:
    """`run_seeds` for one seed."""
    return run_seeds(s, [seed], data, None if dense is None else [dense])[0]


def effects(rows: list[dict[str, Any]], sparsity: float) -> dict[str, list[float]]:
    """Per seed, at ``sparsity``: the measured value of each declared part (see `CRITERIA`)."""
    at = [(r["dense"], r["curve"][sparsity]) for r in rows]
    return {
        "finetuned_keeps_accuracy": [100 * (d - a["magnitude + fine-tune"]) / d for d, a in at],
        "no_finetune_falls_behind": [100 * (a["magnitude + fine-tune"] - a["magnitude, no fine-tune"]) for _, a in at],
        "random_falls_behind": [100 * (a["magnitude + fine-tune"] - a["random + fine-tune"]) for _, a in at],
    }


@experiment(
    "C14",
    title="Pruning: magnitude pruning + fine-tuning keeps accuracy at 90% sparsity",
    statement="Magnitude pruning + fine-tuning keeps accuracy at high sparsity, beating no fine-tuning and random pruning.",
    criteria=CRITERIA,
    notes=NOTES,
    headline="finetuned_keeps_accuracy",
    settings=SETTINGS,
    lecture=("R9",),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    torch.set_num_threads(1)
    data = load_data(s["data"])
    denses, hists = train_dense(s, ctx.seeds, data)
    rows = run_seeds(s, list(ctx.seeds), data, denses)
    sp = s["sparsity"]
    measured = effects(rows, sp)
    sps = sorted(rows[0]["curve"])
    fig, (ax, ax2) = new_figure(2)
    for i, name in enumerate(METHODS):
        for j, r in enumerate(rows):
            ax.plot([100 * x for x in sps], [100 * r["curve"][x][name] for x in sps], "o-", color=f"C{i}", alpha=0.6,
                    label=name if j == 0 else None)
    for j, r in enumerate(rows):
        ax.axhline(100 * r["dense"], color="k", lw=0.8, ls="--", label="dense" if j == 0 else None)
    ax.set_xlabel("sparsity (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("LeNet-300-100, MNIST 5k")
    ax.legend(fontsize=7)
    for i, name in enumerate(METHODS):  # paired: one line per seed from dense to each method at the target sparsity
        for r in rows:
            ax2.plot([0, i + 1], [100 * r["dense"], 100 * r["curve"][sp][name]], "-", color=f"C{i}", alpha=0.5)
    ax2.set_xticks(range(len(METHODS) + 1), ["dense", *[n.replace(", ", ",\n").replace(" + ", "\n+ ") for n in METHODS]],
                   fontsize=7)
    ax2.set_ylabel(f"test accuracy at {sp:.0%} sparsity (%)")
    ax2.set_title("per seed")
    save_figure(fig, ctx.figure("accuracy_vs_sparsity.png"))
    top = max(sps)
    numbers: dict[str, Any] = {
        "lost_pct": ctx.summarize(measured["finetuned_keeps_accuracy"]),
        "no_ft_gap_pp": ctx.summarize(measured["no_finetune_falls_behind"]),
        "random_gap_pp": ctx.summarize(measured["random_falls_behind"]),
        "dense_acc": ctx.summarize([r["dense"] for r in rows]),
        "vs_dense_pp": {name: ctx.summarize([100 * (r["curve"][sp][name] - r["dense"]) for r in rows]) for name in METHODS},
        "curve_mean_acc": {str(x): {n: ctx.summarize([r["curve"][x][n] for r in rows])["mean"] for n in METHODS}
                           for x in sps},
        "top_sparsity": top,
        "top_no_ft_acc": ctx.summarize([r["curve"][top]["magnitude, no fine-tune"] for r in rows])["mean"],
        "per_layer_sparsity": {d["layer"]: round(d["sparsity"], 4) for d in rows[0]["report"]},
        "kb_dense": rows[0]["bytes_dense"] / 1e3,
        "kb_sparse": rows[0]["bytes_sparse"] / 1e3,
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "vectorized": hists.vectorized,
    }
    numbers["words"] = {
        "stacked": stacked_note(hists, "dense models"),
        "per_layer": ", ".join(f"{k}: {x:.0%}" if k == "total" else f"Linear {k} of the Sequential: {x:.0%}"
                               for k, x in numbers["per_layer_sparsity"].items()),
    }
    return Outcome(measurements=measured, numbers=numbers, figures=["accuracy_vs_sparsity.png"])
