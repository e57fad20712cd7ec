"""``make bench``: run every ``bench/bench_*.py`` and write ``BENCHMARKS.md``.

Each benchmark module exposes ``run(quick=False) -> list[dict]`` with rows
``{name, ratio, target, ok, detail}`` (``ok`` None: report only). Ratios are measured in
one process against a baseline with interleaved repetitions (medians of ratios) — never
an absolute time as pass/fail.

    python -m bench.run [--quick] [--only fit,seeds] [--skip lab] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

__all__ = ["collect", "render", "main"]

HERE = Path(__file__).resolve().parent
GPU_START, GPU_END = "<!-- gpu-check:start -->", "<!-- gpu-check:end -->"  # bench.gpu's section of BENCHMARKS.md


def collect(only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    """Benchmark topics (``bench_<topic>.py``), in file-name order."""
    names = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in only]
    return [n for n in names if n not in (skip or [])]


def _fmt(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def render(rows: list[dict], meta: dict) -> str:
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m bench.run`). Every number is a **ratio measured in one process**, "
             "alternating the variants in short chunks and taking the median over rounds; absolute times on shared "
             "machines are not comparable between runs. `ok`: the target met (– = report only).", "",
             f"Machine: {meta['machine']}; torch {meta['torch']}; {meta['threads']}; {meta['mode']}; "
             f"{meta['date']}; {meta['seconds']:.0f} s.", "",
             "| benchmark | ratio | target | ok | details |", "|---|---:|---|:---:|---|"]
    for r in rows:
        ok = "–" if r.get("ok") is None else ("yes" if r["ok"] else "**no**")
        lines.append(f"| {r['name']} | {_fmt(r['ratio'])} | {r['target']} | {ok} | {r['detail'].replace('|', '/')} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    ap.add_argument("--only", default="", help="comma-separated topics, e.g. fit,seeds")
    ap.add_argument("--skip", default="", help="comma-separated topics to skip, e.g. lab")
    ap.add_argument("--out", default=str(HERE.parent / "BENCHMARKS.md"))
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    topics = collect([s for s in a.only.split(",") if s], [s for s in a.skip.split(",") if s])
    rows: list[dict] = []
    t0 = time.perf_counter()
    for topic in topics:
        print(f"bench {topic} ...", file=sys.stderr, flush=True)
        try:
            mod = importlib.import_module(f"bench.bench_{topic}")
            got = mod.run(quick=a.quick)
        except Exception as e:  # one broken benchmark does not hide the others
            traceback.print_exc()
            got = [{"name": topic, "ratio": float("nan"), "target": "", "ok": False, "detail": f"error: {type(e).__name__}: {e}"}]
        for r in got:
            print(f"  {r['name']}: {_fmt(r['ratio'])} (target {r['target']}, ok={r['ok']})", file=sys.stderr, flush=True)
        rows += got
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    meta = {"machine": f"{cpu}, {os.cpu_count()} CPUs", "torch": torch.__version__, "threads": "1 intra-op thread",
            "mode": "quick" if a.quick else "full", "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.perf_counter() - t0}
    out = Path(a.out)
    text = render(rows, meta)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    if GPU_START in old and GPU_END in old:  # keep the GPU section that `python -m bench.gpu` wrote on a CUDA machine
        text = text.rstrip("\n") + "\n\n" + old[old.index(GPU_START): old.index(GPU_END) + len(GPU_END)] + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
