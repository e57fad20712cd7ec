"""Clean interrupts for a parent process and its worker processes.

`StopOnSignal` (the parent): explicit SIGINT and SIGTERM handlers — a process started in the
background from a script inherits SIGINT *ignored*, so waiting for `KeyboardInterrupt` is not
enough. The first signal only records a request (the parent's loop polls `requested`, stops
scheduling, tells the workers to stop and saves what finished); a second one exits at once
with status 130.

`guard_worker` (each worker, as the pool's initializer): the worker ignores SIGINT (a Ctrl-C
in the terminal reaches the whole process group; the parent decides), and exits within
a second when the parent dies — a parent-death signal where the OS has one (Linux
``prctl(PR_SET_PDEATHSIG)``), and a watchdog thread on the parent's PID everywhere — or
when the parent sets the shared ``stop`` event.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["StopOnSignal", "guard_worker", "Interrupted"]

_PR_SET_PDEATHSIG = 1
WATCHDOG_INTERVAL = 0.25  # seconds between two looks at the parent PID and the stop event


class Interrupted(KeyboardInterrupt):
    """Raised by a parent loop after a stop request; its message is the one line to print."""


def _set_parent_death_signal(sig: int) -> bool:
    """Linux: deliver ``sig`` to this process when its parent dies. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watchdog(parent_pid: int, stop: Any) -> None:
    while True:
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os._exit(1)
        try:
            if stop is not None and stop.is_set():
                os._exit(1)
        except (OSError, EOFError):  # the event's shared memory went with the parent
            os._exit(1)
        time.sleep(WATCHDOG_INTERVAL)


def guard_worker(parent_pid: int, stop: Any = None) -> None:
    """Run in a worker process first (e.g. as a pool's ``initializer``): see the module docstring.

    ``stop``: a `multiprocessing` event the parent sets to make every worker exit now.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent_pid, stop), name="initreg-watchdog", daemon=True).start()


class StopOnSignal:
    """Context manager: SIGINT/SIGTERM handlers for a parent loop (see the module docstring).

    ``on_exit_now`` runs before the immediate exit of a second signal (e.g. tell the workers
    to stop). After a stop request the handlers stay installed when the block ends, so that a
    signal during the interpreter's shutdown still exits at once rather than raising there.

    >>> with StopOnSignal() as s:
    ...     s.requested
    False
    """

    def __init__(self, on_exit_now: Any = None, raise_first: bool = False):
        self.on_exit_now = on_exit_now
        self.raise_first = raise_first  # also raise `Interrupted` at once (work running in this process)
        self.signal_name: str | None = None
        self._old: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            if self.raise_first:
                raise Interrupted(self.signal_name)
            return
        try:
            if self.on_exit_now is not None:
                self.on_exit_now()
            os.write(2, f"interrupted again ({signal.Signals(signum).name}): exiting now\n".encode())
        finally:
            os._exit(130)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.requested:
            for sig, old in self._old.items():
                signal.signal(sig, old)
