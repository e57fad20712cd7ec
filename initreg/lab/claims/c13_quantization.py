"""C13 (lecture R8): weights quantized to fp16/bf16/int8/fp8 keep accuracy; 4-bit formats start to
change predictions (more so for small conv nets); the error ranks the formats by bits; the size
shrinks; and (the lecture's reason) quantization regularizes: a model that cannot fit the data
as finely must describe simpler regularities.

Set-up, post-training: each seed trains an MLP 784-256-256-10 on MNIST 5k (the seeds stacked
into one model) and a small Conv1d net (16-32 channels, kernel 5) on MNIST-1D; every weight is
round-tripped through each format (per-channel absmax scales, biases kept in fp32) and the
quantized copy is compared with its own fp32 model on the test split (paired). "Keeps accuracy"
means at least 99% of the fp32 model's test accuracy (MLPerf's quality target for quantized
models). Real int8 inference (torchao, else PyTorch's dynamic quantization) runs the MLP.

Set-up, regularization: an MLP 40-256-256-10 on MNIST-1D's 4000 train / 1000 test sequences,
trained with Adam long enough to overfit, once in fp32 and once with int4 quantization-aware
training from the same init in the same batch order; the generalization gap (train − test
accuracy, both in the model's own precision) is compared.

Reported, not judged (full mode): int4 QAT fine-tuning of the conv net after post-training
int4 rounding (how much of the rounding's loss it wins back; the lecture does not claim it).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ...data import Splits, load_data
from ...models import build_model
from ...plot import new_figure, save_figure
from ...regularize.quantize import (
    get_format,
    measure_int8,
    model_sqnr,
    prepare_qat_,
    quantize_weights_,
    weight_bytes,
)
from ...train import evaluate, fit
from ...train.fit import as_train_config, loss_function
from ...train.multiseed import SeedsResult, train_seeds
from ..experiment import Context, Outcome, experiment, stacked_note
from ..verdict import Criterion

__all__ = ["CRITERIA", "ORDER", "SAFE", "LOW", "SETTINGS", "effects", "regularization", "run_model", "train_models"]

ORDER = ["fp16", "bf16", "int8", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int4"]  # by bits, most first
SAFE = ["fp16", "bf16", "int8", "fp8_e4m3", "fp8_e5m2"]  # the formats the lecture says keep accuracy
LOW = ["fp4_e2m1", "int4"]

_MODELS = {
    "mlp": {"data": {"name": "mnist5k", "seed": 0}, "model": {"name": "mlp", "widths": [256, 256], "init": "torch"}},
    "conv": {"data": {"name": "mnist1d", "seed": 0, "flatten": False},
             "model": {"name": "cnn", "channels": [16, 32], "kernel_size": 5, "hidden": 64, "init": "torch"}},
}
_COMMON = {"models": _MODELS, "granularity": "per_channel", "lr": 1e-3, "batch_size": 64, "qat_format": "int4",
           "qat_lr": 3e-4,
           "reg": {"data": {"name": "mnist1d", "seed": 0, "val_fraction": 0.0},
                   "model": {"name": "mlp", "widths": [256, 256], "init": "torch"}}}

SETTINGS = {
    # quick: one latency repeat (the speed-up is reported, not judged; torchao's CPU int8 path costs ~0.4 s a call)
    "quick": {**_COMMON, "epochs": {"mlp": 5, "conv": 15}, "reg_epochs": 20, "qat_recovery": False, "qat_epochs": 0,
              "int8_repeats": 1},
    "full": {**_COMMON, "epochs": {"mlp": 20, "conv": 30}, "reg_epochs": 40, "qat_recovery": True, "qat_epochs": 5,
             "int8_repeats": 20},
}

_KEEP = "'keeps accuracy' = at least 99% of the fp32 model's test accuracy (MLPerf's quality target for quantized models)"
CRITERIA = (
    Criterion("mlp_keeps_accuracy", metric="MLP: the largest test-accuracy loss of fp16, bf16, int8, fp8 e4m3 and "
              "fp8 e5m2 weights, in % of the fp32 accuracy", unit="%", direction="<", threshold=1.0,
              changed="2026-12-06", text="paired by seed: each format against its own fp32 model; " + _KEEP),
    Criterion("conv_keeps_accuracy", metric="conv net: the largest test-accuracy loss of fp16, bf16, int8, fp8 e4m3 "
              "and fp8 e5m2 weights, in % of the fp32 accuracy", unit="%", direction="<", threshold=1.0,
              changed="2026-12-06", text="paired by seed: each format against its own fp32 model; " + _KEEP),
    Criterion("four_bit_changes_predictions", metric="the fewest test predictions changed by a 4-bit format (fp4, "
              "int4, on either net) − those changed by int8 on the same net", unit="pp", direction=">",
              threshold=0.0, changed="2026-12-06", text="paired by seed: the same fp32 model"),
    Criterion("more_so_for_small_conv", metric="test predictions changed by 4-bit weights (mean of fp4 and int4), "
              "conv net − MLP", unit="pp", direction=">", threshold=0.0, changed="2026-12-06"),
    Criterion("sqnr_ranks_by_bits", metric="pairs of formats with more and fewer bits (fp16, bf16 > int8, fp8 e4m3, "
              "fp8 e5m2 > fp4, int4) whose weight SQNR is not in that order, both nets", unit="", direction="<",
              threshold=1.0, kind="exact", changed="2026-12-06",
              text="formats with the same number of bits are not ranked against each other"),
    Criterion("size_shrinks", metric="the smallest ratio of fp32 to quantized weight storage, over every format on "
              "both nets and the saved real-int8 file", unit="×", direction=">", threshold=1.0, kind="exact",
              changed="2026-12-06"),
    Criterion("real_int8_keeps_accuracy", metric="MLP: test-accuracy loss of real int8 inference, in % of the fp32 "
              "accuracy", unit="%", direction="<", threshold=1.0, changed="2026-12-06", text=_KEEP),
    Criterion("quantization_regularizes", metric="train − test accuracy gap, fp32 training − int4 quantization-aware "
              "training, on an MLP that overfits", unit="pp", direction=">", threshold=0.0, changed="2026-12-06",
              text="paired by seed: the same init and batch order; the lecture's reason for R8"),
)

NOTES = (
    "{n_seeds} seeds; fp32 models trained {settings[epochs][mlp]} (MLP) and {settings[epochs][conv]} (conv) epochs "
    "with Adam ({words[stacked]}); fp32 test accuracy {mlp[acc_fp32][mean]:.1%} (MLP) and {conv[acc_fp32][mean]:.1%} "
    "(conv). **Eight and sixteen bits:** the worst of fp16, bf16, int8 and fp8 costs the MLP {mlp_worst_pct[mean]:.2f}% of "
    "its accuracy (interval {mlp_worst_pct[lo]:.2f} to {mlp_worst_pct[hi]:.2f}: "
    "{parts[mlp_keeps_accuracy][verdict]}) and the conv net {conv_worst_pct[mean]:.2f}% (interval "
    "{conv_worst_pct[lo]:.2f} to {conv_worst_pct[hi]:.2f}: {parts[conv_keeps_accuracy][verdict]}); on the conv net "
    "fp8 e4m3 changes {conv[flip_pct][fp8_e4m3][mean]:.1f}% and fp8 e5m2 {conv[flip_pct][fp8_e5m2][mean]:.1f}% of "
    "the predictions (accuracy lost {conv[drop_pp][fp8_e4m3][mean]:+.1f} and {conv[drop_pp][fp8_e5m2][mean]:+.1f} "
    "pp), int8 {conv[flip_pct][int8][mean]:.2f}%. **Four bits:** on the conv net int4 changes "
    "{conv[flip_pct][int4][mean]:.1f}% of the predictions (loses {conv[drop_pp][int4][mean]:.1f} pp) and fp4 "
    "{conv[flip_pct][fp4_e2m1][mean]:.1f}%; on the MLP {mlp[flip_pct][int4][mean]:.1f}% and "
    "{mlp[flip_pct][fp4_e2m1][mean]:.1f}% (the MLP's rounding errors average out over hundreds of weights per output "
    "channel; the conv net's first layer has five). The least four-bit change exceeds int8's by "
    "{low_vs_int8_pp[mean]:.2f} pp (interval {low_vs_int8_pp[lo]:.2f} to {low_vs_int8_pp[hi]:.2f}: "
    "{parts[four_bit_changes_predictions][verdict]}); conv minus MLP {conv_vs_mlp_pp[mean]:.1f} pp "
    "({parts[more_so_for_small_conv][verdict]}). Weight SQNR order: {parts[sqnr_ranks_by_bits][verdict]}; "
    "storage shrinks at least {min_size_ratio[min]:.2f}× ({parts[size_shrinks][verdict]}). **Real int8** "
    "({int8_real[backend]}): loses {int8_real[acc_drop_pct][mean]:.2f}% of the accuracy "
    "({parts[real_int8_keeps_accuracy][verdict]}), saved file {int8_real[size_ratio][mean]:.1f}× smaller, "
    "speed-up at batch {int8_real[latency_batch]} {int8_real[speedup][mean]:.2f}× (dynamic quantization "
    "{int8_real[dynamic_speedup][mean]:.2f}×; medians of few repeats on a shared CPU, not judged). "
    "**Does quantization regularize?** An MLP {reg[arch]} on MNIST-1D ({reg[n_train]} train sequences, "
    "{settings[reg_epochs]} epochs): fp32 reaches {reg[fp32_train][mean]:.1%} train / {reg[fp32_test][mean]:.1%} "
    "test accuracy, int4 QAT {reg[qat_train][mean]:.1%} / {reg[qat_test][mean]:.1%}; the gap shrinks by "
    "{reg[gap_diff_pp][mean]:+.1f} pp (interval {reg[gap_diff_pp][lo]:+.1f} to {reg[gap_diff_pp][hi]:+.1f}: "
    "{parts[quantization_regularizes][verdict]}), and the test accuracy changes by {reg[test_diff_pp][mean]:+.1f} pp "
    "(interval {reg[test_diff_pp][lo]:+.1f} to {reg[test_diff_pp][hi]:+.1f}; not judged). {words[qat]}"
)


def _cfg(s: dict[str, Any], epochs: int, seed: int, lr: float | None = None) -> dict[str, Any]:
    return {"lr": lr or s["lr"], "batch_size": s["batch_size"], "epochs": epochs, "seed": seed, "progress": "none"}


def _acc(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return evaluate(model, x, y, loss_function(as_train_config(None), "classification"))["acc"]


@torch.no_grad()
def _preds(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(x).argmax(1)


def train_models(s: dict[str, Any], which: str, seeds: list[int]) -> tuple[Splits, list[torch.nn.Module], SeedsResult]:
    """The fp32 models of all seeds (model and train seed ``seed``) on the model's data: as
    one stacked model (`train_seeds`; the conv net as one grouped convolution per layer)."""
    spec = s["models"][which]
    data = load_data(spec["data"])
    models, hists = train_seeds(spec["model"], data, _cfg(s, s["epochs"][which], seeds[0]), seeds)
    return data, models, hists


def run_model(s: dict[str, Any], which: str, seed: int, trained: tuple[Splits, torch.nn.Module] | None = None
              ) -> dict[str, Any]:
    """Train one model (or take ``trained``: its data and the model from `train_models`), then
    round-trip its weights through every format; int8 inference for the MLP, int4 QAT
    fine-tuning for the conv net (``qat_recovery``)."""
    spec = s["models"][which]
    if trained is None:
        data = load_data(spec["data"])
        model = build_model(spec["model"], data.input_shape, data.num_outputs, seed=seed)
        fit(model, data, _cfg(s, s["epochs"][which], seed))
    else:
        data, model = trained
    x, y = data.x_test, data.y_test
    p32 = _preds(model, x)
    acc32 = float((p32 == y).float().mean())
    g = s["granularity"]
    out: dict[str, Any] = {"acc_fp32": acc32, "bytes_fp32": weight_bytes(model), "formats": {}}
    for f in ORDER:
        pq = _preds(quantize_weights_(copy.deepcopy(model), f, granularity=g), x)
        acc = float((pq == y).float().mean())
        out["formats"][f] = {
            "acc": acc,
            "drop_pp": 100 * (acc32 - acc),
            "flip": float((pq != p32).float().mean()),
            "sqnr_db": model_sqnr(model, f, granularity=g),
            "size_ratio": out["bytes_fp32"] / weight_bytes(model, f, granularity=g),
            "expected_ratio": 32 / get_format(f).bits,
        }
    if which == "conv" and s["qat_recovery"]:
        qm = copy.deepcopy(model)
        prepare_qat_(qm, s["qat_format"], granularity=g)
        fit(qm, data, _cfg(s, s["qat_epochs"], seed, s["qat_lr"]))
        out["qat_drop_pp"] = 100 * (acc32 - _acc(qm, x, y))  # the forward uses the quantized weights
    if which == "mlp":
        out["int8"] = measure_int8(model, x, y, repeats=s["int8_repeats"])
        dyn = measure_int8(model, x, y, repeats=s["int8_repeats"], backend="dynamic")
        out["int8_dynamic"] = {k: dyn[k] for k in ("size_ratio", "speedup", "agreement")}
    return out


def regularization(s: dict[str, Any], seeds: list[int]) -> tuple[list[dict[str, float]], SeedsResult, Splits]:
    """Per seed, train and test accuracy of the overfitting MLP trained in fp32 (all seeds as
    one stacked model) and with int4 QAT from the same init (``build_model(seed=seed)``) in the
    same batch order (fit seed ``seed``)."""
    spec = s["reg"]
    data = load_data(spec["data"])
    cfg = _cfg(s, s["reg_epochs"], seeds[0])
    fp32, hists = train_seeds(spec["model"], data, cfg, seeds)
    rows = []
    for seed, m in zip(seeds, fp32):
        q = prepare_qat_(build_model(spec["model"], data.input_shape, data.num_outputs, seed=seed), s["qat_format"],
                         granularity=s["granularity"])
        fit(q, data, _cfg(s, s["reg_epochs"], seed))
        rows.append({"fp32_train": _acc(m, data.x_train, data.y_train), "fp32_test": _acc(m, data.x_test, data.y_test),
                     "qat_train": _acc(q, data.x_train, data.y_train), "qat_test": _acc(q, data.x_test, data.y_test)})
    return rows, hists, data


def _sqnr_violations(fm: dict[str, dict[str, float]]) -> int:
    """Pairs (more bits, fewer bits) whose weight SQNR is not higher for the one with more bits."""
    bits = {f: get_format(f).bits for f in ORDER}
    return sum(fm[a]["sqnr_db"] <= fm[b]["sqnr_db"] for a in ORDER for b in ORDER if bits[a] > bits[b])


def effects(rows: list[dict[str, Any]], reg: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per seed, the value of each declared part (see `CRITERIA`). ``rows``: one
    ``{"mlp": run_model(...), "conv": run_model(...)}`` per seed; ``reg``: `regularization`'s rows."""
    def worst(r: dict[str, Any]) -> float:
        return max(100 * (r["acc_fp32"] - r["formats"][f]["acc"]) / r["acc_fp32"] for f in SAFE)

    def low_flip(r: dict[str, Any]) -> float:
        return sum(r["formats"][f]["flip"] for f in LOW) / len(LOW)

    return {
        "mlp_keeps_accuracy": [worst(r["mlp"]) for r in rows],
        "conv_keeps_accuracy": [worst(r["conv"]) for r in rows],
        "four_bit_changes_predictions": [min(100 * (r[m]["formats"][f]["flip"] - r[m]["formats"]["int8"]["flip"])
                                             for m in ("mlp", "conv") for f in LOW) for r in rows],
        "more_so_for_small_conv": [100 * (low_flip(r["conv"]) - low_flip(r["mlp"])) for r in rows],
        "sqnr_ranks_by_bits": [float(sum(_sqnr_violations(r[m]["formats"]) for m in ("mlp", "conv"))) for r in rows],
        "size_shrinks": [min([v["size_ratio"] for m in ("mlp", "conv") for v in r[m]["formats"].values()]
                             + [r["mlp"]["int8"]["size_ratio"]]) for r in rows],
        "real_int8_keeps_accuracy": [100 * (r["mlp"]["int8"]["acc_fp32"] - r["mlp"]["int8"]["acc_int8"])
                                     / r["mlp"]["int8"]["acc_fp32"] for r in rows],
        "quantization_regularizes": [100 * ((g["fp32_train"] - g["fp32_test"]) - (g["qat_train"] - g["qat_test"]))
                                     for g in reg],
    }


def _figure(path, rows: list[dict[str, Any]], reg: list[dict[str, float]]) -> None:
    fig, (a1, a2, a3) = new_figure(3, size=(4.0, 3.2))
    xs = range(len(ORDER))
    for i, m in enumerate(("mlp", "conv")):
        for j, r in enumerate(rows):
            a1.plot(xs, [r[m]["formats"][f]["sqnr_db"] for f in ORDER], "o-", color=f"C{i}", alpha=0.6,
                    label=m if j == 0 else None)
            a2.plot(xs, [100 * r[m]["formats"][f]["flip"] for f in ORDER], "o-", color=f"C{i}", alpha=0.6,
                    label=m if j == 0 else None)
    for ax, lab in ((a1, "weight SQNR (dB)"), (a2, "test predictions changed vs fp32 (%)")):
        ax.set_xticks(list(xs), [f.replace("_", "\n") for f in ORDER], fontsize=7)
        ax.set_ylabel(lab)
        ax.legend(fontsize=8)
    a2.set_yscale("symlog", linthresh=0.1)
    a2.set_ylim(bottom=0)
    for g in reg:  # paired: one line per seed
        a3.plot([0, 1], [100 * (g["fp32_train"] - g["fp32_test"]), 100 * (g["qat_train"] - g["qat_test"])], "o-",
                color="C2", alpha=0.6)
    a3.set_xticks([0, 1], ["fp32", "int4 QAT"])
    a3.set_ylabel("train − test accuracy (pp)")
    a3.set_title("overfitting MLP, MNIST-1D", fontsize=8)
    save_figure(fig, path)


@experiment(
    "C13",
    title="Quantization: 8-16 bit weights keep accuracy; 4-bit formats start to change predictions",
    statement=("Quantization to fp16/bf16/int8/fp8 keeps accuracy; 4-bit formats start to change predictions "
               "(more so for small conv nets); the error ranks the formats by bits; size shrinks; the model cannot "
               "fit the data as finely and must describe simpler regularities."),
    criteria=CRITERIA,
    notes=NOTES,
    headline="conv_keeps_accuracy",
    settings=SETTINGS,
    lecture=("R8",),
)
def run(ctx: Context) -> Outcome:
    s = ctx.settings
    torch.set_num_threads(1)
    trained = {m: train_models(s, m, ctx.seeds) for m in s["models"]}
    rows = [{m: run_model(s, m, seed, (trained[m][0], trained[m][1][i])) for m in s["models"]}
            for i, seed in enumerate(ctx.seeds)]
    reg, reg_hists, reg_data = regularization(s, ctx.seeds)
    measured = effects(rows, reg)
    _figure(ctx.figure("formats.png"), rows, reg)

    def summ(m: str, f: str, key: str, scale: float = 1.0) -> dict[str, float]:
        return ctx.summarize([scale * r[m]["formats"][f][key] for r in rows])

    numbers: dict[str, Any] = {
        "conv_worst_pct": ctx.summarize(measured["conv_keeps_accuracy"]),
        "mlp_worst_pct": ctx.summarize(measured["mlp_keeps_accuracy"]),
        "low_vs_int8_pp": ctx.summarize(measured["four_bit_changes_predictions"]),
        "conv_vs_mlp_pp": ctx.summarize(measured["more_so_for_small_conv"]),
        "min_size_ratio": ctx.summarize(measured["size_shrinks"]),
    }
    for m in ("mlp", "conv"):
        numbers[m] = {"acc_fp32": ctx.summarize([r[m]["acc_fp32"] for r in rows]),
                      "drop_pp": {f: summ(m, f, "drop_pp") for f in ORDER},
                      "flip_pct": {f: summ(m, f, "flip", 100) for f in ORDER},
                      "sqnr_db": {f: summ(m, f, "sqnr_db") for f in ORDER},
                      "size_ratio": {f: rows[0][m]["formats"][f]["size_ratio"] for f in ORDER}}
    i8 = [r["mlp"]["int8"] for r in rows]
    numbers["int8_real"] = {
        "backend": i8[0]["backend"], "latency_batch": 256,
        "size_ratio": ctx.summarize([d["size_ratio"] for d in i8]),
        "agreement": ctx.summarize([d["agreement"] for d in i8]),
        "acc_drop_pct": ctx.summarize(measured["real_int8_keeps_accuracy"]),
        "speedup": ctx.summarize([d["speedup"] for d in i8]),
        "dynamic_speedup": ctx.summarize([r["mlp"]["int8_dynamic"]["speedup"] for r in rows]),
    }
    spec = s["reg"]
    numbers["reg"] = {
        "arch": "-".join(map(str, [reg_data.input_shape[0], *spec["model"]["widths"], reg_data.num_outputs])),
        "n_train": len(reg_data.x_train),
        "gap_diff_pp": ctx.summarize(measured["quantization_regularizes"]),
        "test_diff_pp": ctx.summarize([100 * (g["qat_test"] - g["fp32_test"]) for g in reg]),
        **{k: ctx.summarize([g[k] for g in reg]) for k in ("fp32_train", "fp32_test", "qat_train", "qat_test")},
    }
    numbers["vectorized"] = {**{m: t[2].vectorized for m, t in trained.items()}, "reg": reg_hists.vectorized}
    words = {"stacked": "; ".join([f"{m}: {stacked_note(t[2], 'models')}" for m, t in trained.items()]
                                  + [f"regularization MLP: {stacked_note(reg_hists, 'fp32 models')}"]),
             "qat": "The conv net's int4 QAT fine-tuning runs in full mode only."}
    if s["qat_recovery"]:
        ptq = [r["conv"]["formats"][s["qat_format"]]["drop_pp"] for r in rows]
        qat = [r["conv"]["qat_drop_pp"] for r in rows]
        numbers["conv"]["qat_drop_pp"] = ctx.summarize(qat)
        numbers["conv"]["qat_recovered_pp"] = ctx.summarize([p - q for p, q in zip(ptq, qat)])
        rec = numbers["conv"]["qat_recovered_pp"]
        words["qat"] = (f"Reported, not judged: {s['qat_epochs']} epochs of int4 QAT fine-tuning leave the conv net "
                        f"{numbers['conv']['qat_drop_pp']['mean']:.1f} pp below fp32, winning back "
                        f"{rec['mean']:+.1f} pp of the post-training int4 loss (interval {rec['lo']:+.1f} to "
                        f"{rec['hi']:+.1f}).")
    numbers["words"] = words
    return Outcome(measurements=measured, numbers=numbers, figures=["formats.png"])
