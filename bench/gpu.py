"""The GPU check: the speed claims that only a CUDA machine can test, in one short script.

    python -m bench.gpu              # on a CUDA machine: ≤ 5 minutes, writes BENCHMARKS.md's GPU section
    python -m bench.gpu --dry-run    # anywhere: runs every check once on the CPU at toy sizes, times nothing

Checks (each a ratio measured in one process with interleaved rounds, CUDA-synchronized):

1. ``fit`` vs a plain PyTorch loop on CUDA (MLP 784-300-100-10, mnist5k, batch 128, fused Adam);
2. bf16 autocast vs fp32 through ``fit`` on a model large enough for the matmuls to dominate
   (MLP 784-4096-4096-10, batch 1024): target ≥ 1.5× — the target that a CPU without native
   bf16 cannot meet (there oneDNN emulates bf16);
3. 16 stacked seeds vs 16 sequential ``fit`` calls (MNIST-1D MLP 40-100-100-10);
4. the probe's overhead recording every step (10-layer MLP 256 wide, batch 128, SGD);
5. ``initreg lab --quick --only C3,C5,C9`` wall time (``fit``'s ``device: auto`` picks CUDA).

Without a CUDA device (and without ``--dry-run``) it prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.run import GPU_END as END
from bench.run import GPU_START as START

__all__ = ["CHECKS", "main", "write_section"]

HERE = Path(__file__).resolve().parent
LAB_CLAIMS = "C3,C5,C9"


def _sync(device: str) -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def _timed(fns: dict[str, Callable[[], Any]], device: str, rounds: int) -> dict[str, list[float]]:
    """`bench._common.interleave` with a device synchronization after each call (CUDA is asynchronous)."""
    from bench._common import interleave

    sync = _sync(device)

    def wrap(f: Callable[[], Any]) -> Callable[[], None]:
        def g() -> None:
            f()
            sync()
        return g

    return interleave({k: wrap(f) for k, f in fns.items()}, rounds=rounds, warmup=1)


def check_fit(device: str, small: bool) -> dict[str, Any]:
    import torch

    from bench._common import median_ratio, mlp
    from bench.bench_fit import plain_loop
    from initreg.data import load_data
    from initreg.train import fit

    dd = load_data({"name": "mnist5k", **({"train_size": 256} if small else {})}).to(device)  # moved once, outside the timing
    x, y, xv, yv = dd.x_train, dd.y_train, dd.x_val, dd.y_val
    torch.manual_seed(0)
    base = mlp([784, 300, 100, 10]).to(device)
    init = copy.deepcopy(base.state_dict())
    epochs, bs = (1, 128) if small else (2, 128)
    cfg = {"epochs": epochs, "batch_size": bs, "lr": 1e-3, "progress": "none", "evaluate_test": False, "device": device}

    def v_plain() -> None:
        base.load_state_dict(init)
        plain_loop(base, x, y, xv, yv, epochs=epochs, bs=bs)

    def v_fit() -> None:
        base.load_state_dict(init)
        fit(base, dd, cfg)

    rounds = 1 if small else 10
    t = _timed({"plain": v_plain, "fit": v_fit}, device, rounds)
    r = median_ratio(t["fit"], t["plain"])
    return {"name": "fit / plain loop on CUDA", "ratio": r, "target": "≤ 1.05", "ok": r <= 1.05,
            "detail": f"MLP 784-300-100-10, mnist5k train {len(x)}, batch {bs}, fused Adam; {rounds} interleaved rounds "
                      f"of {epochs} epochs"}


def check_bf16(device: str, small: bool) -> dict[str, Any]:
    import torch

    from bench._common import median_ratio, mlp
    from initreg.data import load_data
    from initreg.train import fit

    n, width, bs = (256, 64, 64) if small else (16384, 4096, 1024)
    data = load_data({"name": "mnist5k"}).to(device)
    reps = -(-n // len(data.x_train))  # tile the images up to n samples: the matmuls, not the data, are the point
    data.x_train, data.y_train = data.x_train.repeat(reps, 1)[:n], data.y_train.repeat(reps)[:n]
    torch.manual_seed(0)
    model = mlp([784, width, width, 10]).to(device)
    init = copy.deepcopy(model.state_dict())

    def v(prec: str) -> Callable[[], None]:
        def f() -> None:
            model.load_state_dict(init)
            fit(model, data, {"epochs": 1, "batch_size": bs, "lr": 1e-3, "progress": "none", "evaluate_test": False,
                              "device": device, "precision": prec})
        return f

    rounds = 1 if small else 7
    t = _timed({"fp32": v("fp32"), "bf16": v("bf16")}, device, rounds)
    r = median_ratio(t["fp32"], t["bf16"])
    return {"name": "bf16 / fp32 end to end on CUDA (speed-up)", "ratio": r, "target": "≥ 1.5", "ok": r >= 1.5,
            "detail": f"fit, MLP 784-{width}-{width}-10, {n} samples, batch {bs}, autocast bf16 vs fp32 (TF32 off); "
                      f"{rounds} interleaved rounds"}


def check_seeds(device: str, small: bool) -> dict[str, Any]:
    from bench._common import median_ratio
    from initreg.data import load_data
    from initreg.models import build_model
    from initreg.train import fit
    from initreg.train.multiseed import fit_seeds

    d = load_data({"name": "mnist1d", **({"train_size": 256} if small else {})})
    k = 4 if small else 16
    mc = {"name": "mlp", "widths": [100, 100], "init": "torch"}
    cfg = {"epochs": 1, "batch_size": 128, "lr": 1e-3, "progress": "none", "evaluate_test": False, "device": device}
    fresh = lambda: [build_model(mc, d.input_shape, d.num_outputs, seed=s) for s in range(k)]  # noqa: E731
    flag: dict[str, bool] = {}

    def v_seq() -> None:
        for s, m in enumerate(fresh()):
            fit(m, d, {**cfg, "seed": s})

    def v_vec() -> None:
        flag["v"] = fit_seeds(fresh(), d, cfg, seeds=list(range(k))).vectorized

    rounds = 1 if small else 5
    t = _timed({"sequential": v_seq, "stacked": v_vec}, device, rounds)
    r = median_ratio(t["sequential"], t["stacked"])
    return {"name": f"{k} seeds at once / sequential on CUDA (speed-up)", "ratio": r, "target": "≥ 2.5", "ok": r >= 2.5,
            "detail": f"MNIST-1D MLP 40-100-100-10, batch 128, Adam, 1 epoch; stacked={flag.get('v')}; {rounds} rounds"}


def check_probe(device: str, small: bool) -> dict[str, Any]:
    from bench._common import median_ratio
    from initreg.data import load_data
    from initreg.models import build_model
    from initreg.probe import ProbeCallback
    from initreg.train import fit

    data = load_data({"name": "digits"})
    model = build_model({"name": "mlp", "depth": 10, "width": 256, "init": "kaiming_normal"}, data.input_shape,
                        data.num_outputs, seed=0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    steps = 3 if small else 20
    cfg = {"steps": steps, "batch_size": 128, "progress": "none", "eval_every": 10 ** 6, "evaluate_test": False,
           "optimizer": "sgd", "lr": 0.01, "device": device}

    def train(make: Callable[[], list]) -> Callable[[], None]:
        def go() -> None:
            model.load_state_dict(state)
            fit(model, data, cfg, callbacks=make())
        return go

    rounds = 1 if small else 10
    t = _timed({"none": train(lambda: []), "probe": train(lambda: [ProbeCallback(every=1)])}, device, rounds)
    r = median_ratio(t["probe"], t["none"])
    return {"name": "probe overhead on CUDA, recording every step", "ratio": r, "target": "≤ 1.3×", "ok": r <= 1.3,
            "detail": f"10-layer MLP 256 wide, batch 128, SGD; {rounds} interleaved rounds of {steps} steps"}


def check_lab(device: str, small: bool) -> dict[str, Any]:
    initreg = str(Path(sys.executable).with_name("initreg"))
    exe = [initreg, "lab", "--quick", "--only", LAB_CLAIMS]
    if small:  # the dry run only checks that the command parses and lists the claims
        exe = [initreg, "lab", "--list"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        p = subprocess.run(exe + (["--out", tmp] if not small else []), capture_output=True, text=True,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
        secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(exe)} exited {p.returncode}: {p.stderr.strip()[-300:]}")
    return {"name": f"initreg lab --quick --only {LAB_CLAIMS} wall time (s)", "ratio": secs, "target": "report",
            "ok": None, "detail": "fit's device 'auto' picks CUDA; claims run in worker processes"}


CHECKS: dict[str, Callable[[str, bool], dict[str, Any]]] = {
    "fit": check_fit, "bf16": check_bf16, "seeds": check_seeds, "probe": check_probe, "lab": check_lab}


def write_section(path: Path, md: str) -> None:
    """Replace (or append) the GPU section of BENCHMARKS.md between its markers; ``make bench`` keeps it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{START}\n{md.rstrip()}\n{END}\n"
    if START in old and END in old:
        new = old[: old.index(START)] + block + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")


def _render(rows: list[dict[str, Any]], device_name: str, seconds: float) -> str:
    from bench.run import render

    meta = {"machine": device_name, "torch": __import__("torch").__version__, "threads": "CUDA",
            "mode": "python -m bench.gpu", "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": seconds}
    table = render(rows, meta).split("\n", 2)[2]  # drop render's own "# Benchmarks" heading
    return "## GPU\n\n" + table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="run every check once on the CPU at toy sizes; time nothing")
    ap.add_argument("--only", default="", help=f"comma-separated checks of {', '.join(CHECKS)}")
    ap.add_argument("--out", default=str(HERE.parent / "BENCHMARKS.md"), help="file whose GPU section is rewritten")
    a = ap.parse_args(argv)
    only = [s for s in a.only.split(",") if s]
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        print(f"bench.gpu: unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    import torch

    if not a.dry_run and not torch.cuda.is_available():
        print(f"bench.gpu: no CUDA GPU present (torch {torch.__version__}, torch.cuda.is_available() is False); "
              "run it on a CUDA machine, or use --dry-run to check the script here", file=sys.stderr)
        return 2
    device = "cpu" if a.dry_run else "cuda"
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 in the bf16 comparison
        torch.backends.cudnn.allow_tf32 = False
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name in only or list(CHECKS):
        print(f"gpu check {name} ({'dry run on the CPU' if a.dry_run else device}) ...", file=sys.stderr, flush=True)
        try:
            row = CHECKS[name](device, a.dry_run)
        except Exception as e:  # one failing check does not hide the others
            row = {"name": name, "ratio": float("nan"), "target": "", "ok": False,
                   "detail": f"error: {type(e).__name__}: {e}"}
        rows.append(row)
        if a.dry_run:  # toy sizes on the CPU: the numbers mean nothing, only that the check ran
            print(f"  {row['name']}: {'FAILED ' + row['detail'] if str(row['detail']).startswith('error:') else 'ran'}",
                  file=sys.stderr)
        else:
            print(f"  {row['name']}: {row['ratio']:.3g} (target {row['target']}, ok={row['ok']})", file=sys.stderr)
    failed = [r["name"] for r in rows if str(r["detail"]).startswith("error:")]
    if a.dry_run:
        print(f"bench.gpu --dry-run: {len(rows) - len(failed)} of {len(rows)} checks ran on the CPU"
              + (f"; failed: {', '.join(failed)}" if failed else ""))
        return 1 if failed else 0
    write_section(Path(a.out), _render(rows, torch.cuda.get_device_name(0), time.perf_counter() - t0))
    print(f"wrote the GPU section of {a.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
