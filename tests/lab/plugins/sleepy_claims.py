"""Throwaway lab experiments for the interrupt tests (loaded through INITREG_LAB_PLUGINS).

Z7 finishes at once; Z8 and Z9 write their worker's PID to ``started`` in their folder and
sleep ``INITREG_TEST_SLEEP`` seconds (read when they run, so a rerun can be quick with the
same cache key).
"""

import os
import time

from initreg.lab import Outcome, experiment

SETTINGS = {"quick": {"n": 1}, "full": {"n": 1}}


def _sleepy(ctx):
    (ctx.dir / "started").write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("INITREG_TEST_SLEEP", "0")))
    return Outcome(holds=True, numbers={"slept": float(os.environ.get("INITREG_TEST_SLEEP", "0"))})


@experiment("Z7", title="fast", statement="returns at once", criterion="none", settings=SETTINGS,
            seeds={"quick": 3, "full": 5})
def fast(ctx):
    return Outcome(holds=True, numbers={"x": 1.0})


experiment("Z8", title="sleeps", statement="sleeps", criterion="none", settings=SETTINGS,
           seeds={"quick": 3, "full": 5})(_sleepy)
experiment("Z9", title="sleeps too", statement="sleeps", criterion="none", settings=SETTINGS,
           seeds={"quick": 3, "full": 5})(_sleepy)
