"""Interrupting the lab: SIGINT to the main process only (started the way a script starts a
background job: SIGINT ignored), two SIGINTs, ``kill -9`` of the main process (its workers
must not outlive it), and a rerun that resumes. Real processes, throwaway sleeping claims
(`PLUGIN`, written to a scratch folder and loaded through INITREG_LAB_PLUGINS): a few
seconds each."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from initreg.lab.report import read_results

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")

PLUGIN = '''\
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
'''
MAIN = "import sys; from initreg.cli import main; sys.exit(main())"


def _start(out: Path, token: str, sleep: float, ignore_sigint: bool = True, workers: int = 2) -> subprocess.Popen:
    plugins = out.parent / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "sleepy_claims.py").write_text(PLUGIN)
    env = {**os.environ, "INITREG_LAB_PLUGINS": "sleepy_claims", "INITREG_TEST_SLEEP": str(sleep),
           "INITREG_TEST_TOKEN": token, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    return subprocess.Popen([sys.executable, "-c", MAIN, "lab", "--quick", "--only", "Z7,Z8,Z9", "--workers", str(workers),
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=pre, start_new_session=True)


def _wait_started(proc: subprocess.Popen, out: Path, timeout: float = 120) -> list[int]:
    """Wait until Z7 is saved and Z8, Z9 run in the workers; their PIDs."""
    t0 = time.monotonic()
    files = [out / "claims" / c / "started" for c in ("Z8", "Z9")]
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        res = out / "results.json"
        if all(f.exists() and f.read_text() for f in files) and res.exists() and '"Z7"' in res.read_text():
            return [int(f.read_text()) for f in files]
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the claims did not start in {timeout} s: {proc.communicate()}")


def _alive(token: str) -> list[int]:
    """PIDs of the processes that carry this test's token in their environment."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                env = (d / "environ").read_bytes()
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if f"INITREG_TEST_TOKEN={token}".encode() in env and ") Z " not in stat:  # zombies are gone
                pids.append(int(d.name))
    return pids


def _gone(token: str, within: float) -> list[int]:
    t0 = time.monotonic()
    while (left := _alive(token)) and time.monotonic() - t0 < within:
        time.sleep(0.1)
    return left


def test_sigint_to_the_main_process_only_stops_saves_and_a_rerun_resumes(tmp_path):
    token = uuid.uuid4().hex
    proc = _start(tmp_path, token, sleep=300)
    workers = _wait_started(proc, tmp_path)
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)  # the main process alone, not its group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - t0 < 30
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "SIGINT" in lines[0] and "Traceback" not in err, err
    res = read_results(tmp_path)["claims"]
    assert [r["claim"] for r in res] == ["Z7"]  # what finished is written; the dropped claims are not
    assert _gone(token, within=10) == [], f"workers {workers} outlived the lab"

    rerun = _start(tmp_path, uuid.uuid4().hex, sleep=0, workers=1)  # in this process: no worker start-up
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "Z7" in out and "(cached)" in out.split("Z8")[0]  # Z7 reused, Z8 and Z9 run now
    res = read_results(tmp_path)["claims"]
    assert [(r["claim"], r["status"]) for r in res] == [("Z7", "ok"), ("Z8", "ok"), ("Z9", "ok")]


def test_two_sigints_exit_at_once_without_a_traceback(tmp_path):
    token = uuid.uuid4().hex
    proc = _start(tmp_path, token, sleep=300)
    _wait_started(proc, tmp_path)
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err and "Exception ignored" not in err and 1 <= len(err.strip().splitlines()) <= 2, err
    assert _gone(token, within=10) == []


def test_kill_9_of_the_main_process_leaves_no_worker(tmp_path):
    token = uuid.uuid4().hex
    proc = _start(tmp_path, token, sleep=300)
    workers = _wait_started(proc, tmp_path)
    assert all(pid in _alive(token) for pid in workers)
    proc.kill()  # SIGKILL: no handler runs in the main process
    proc.communicate(timeout=30)
    assert _gone(token, within=10) == [], "workers outlived a killed lab"
