"""Wall time of ``initreg lab --quick`` (target ≤ 120 s on 2 cores) and of the full lab (target
≤ 10 min). Runs the CLI in a subprocess with a fresh output folder.

Skipped when ``INITREG_BENCH_SKIP_LAB=1`` (or ``python -m bench.run --skip lab``); the full lab
alone is skipped with ``INITREG_BENCH_SKIP_LAB_FULL=1`` or ``--quick``. With
``INITREG_BENCH_LAB_OUT=DIR`` the runs keep their results and reports in ``DIR/quick`` and
``DIR/full`` (a fresh folder each: nothing is served from a cache).

    python -m bench.bench_lab
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench._common import ratio_row

__all__ = ["run"]


def _lab(args: list[str], name: str) -> tuple[float, str]:
    keep = os.environ.get("INITREG_BENCH_LAB_OUT")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(keep, name) if keep else tmp
        if keep:
            shutil.rmtree(out, ignore_errors=True)  # a fresh folder: no cached claim is reused
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", "import sys; from initreg.cli import main; sys.exit(main())",
                            "lab", *args, "--out", out], capture_output=True, text=True)
        secs = time.perf_counter() - t0
    status = "ok" if p.returncode == 0 else f"exit {p.returncode}: {(p.stderr or p.stdout).strip().splitlines()[-1:]}"
    return secs, status


def run(quick: bool = False) -> list[dict]:
    """Quick lab (target ≤ 120 s) and, unless ``quick`` or ``INITREG_BENCH_SKIP_LAB_FULL=1``, the full lab
    with every claim's own seeds (≥ 5; target ≤ 10 min)."""
    if os.environ.get("INITREG_BENCH_SKIP_LAB") == "1":
        return [ratio_row("initreg lab --quick wall time (s)", float("nan"), "report", None, "skipped (INITREG_BENCH_SKIP_LAB=1)")]
    rows = []
    secs, status = _lab(["--quick"], "quick")
    rows.append(ratio_row("initreg lab --quick wall time (s)", secs, "≤ 120", secs <= 120 and status == "ok",
                          f"whole quick lab (≥ 3 seeds per claim), default workers (CPU count {os.cpu_count()}); {status}"))
    if quick or os.environ.get("INITREG_BENCH_SKIP_LAB_FULL") == "1":
        return rows
    secs, status = _lab([], "full")
    rows.append(ratio_row("initreg lab (full) wall time (s)", secs, "≤ 600", secs <= 600 and status == "ok",
                          f"whole full lab (≥ 5 seeds per claim), default workers (CPU count {os.cpu_count()}); {status}"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
