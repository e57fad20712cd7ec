"""Import cost of the callback base: ``from initreg.train import Callback`` after ``import torch``,
in a fresh interpreter (report only; the test in tests/test_imports.py holds the budget of
5 initreg modules and < 0.1 s). Median of 7 fresh interpreters.

    python -m bench.bench_imports
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from bench._common import ratio_row

__all__ = ["run"]

_PROBE = """
import sys, time, json
import torch
before = set(sys.modules)
t0 = time.perf_counter()
from initreg.train import Callback
dt = time.perf_counter() - t0
print(json.dumps([dt, sorted(m for m in set(sys.modules) - before if m.startswith("initreg"))]))
"""


def run(quick: bool = False) -> list[dict]:
    times, mods = [], []
    for _ in range(3 if quick else 7):
        out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
        dt, mods = json.loads(out.strip().splitlines()[-1])
        times.append(dt)
    t = statistics.median(times)
    return [ratio_row("from initreg.train import Callback after import torch (s)", t, "< 0.1 s", t < 0.1,
                      f"median of {len(times)} fresh interpreters; {len(mods)} initreg modules loaded: {', '.join(mods)}")]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
