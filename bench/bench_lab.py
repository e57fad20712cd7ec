"""Wall time of ``initreg lab --quick`` (report only: it depends on the machine and on how
many claims are registered). Runs the CLI in a subprocess with a fresh output folder.

Skipped when ``INITREG_BENCH_SKIP_LAB=1`` (or ``python -m bench.run --skip lab``).

    python -m bench.bench_lab
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bench._common import ratio_row

__all__ = ["run"]


def run(quick: bool = False) -> list[dict]:
    if os.environ.get("INITREG_BENCH_SKIP_LAB") == "1":
        return [ratio_row("initreg lab --quick wall time (s)", float("nan"), "report", None, "skipped (INITREG_BENCH_SKIP_LAB=1)")]
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", "import sys; from initreg.cli import main; sys.exit(main())",
                            "lab", "--quick", "--out", out],
                           capture_output=True, text=True)
        secs = time.perf_counter() - t0
    status = "ok" if p.returncode == 0 else f"exit {p.returncode}: {(p.stderr or p.stdout).strip().splitlines()[-1:]}"
    return [ratio_row("initreg lab --quick wall time (s)", secs, "report", None,
                      f"whole lab, default workers (CPU count {os.cpu_count()}); {status}")]


if __name__ == "__main__":
    for row in run():
        print(row)
