"""`StopOnSignal`: SIGINT and SIGTERM become a stop request (also when SIGINT was ignored),
handlers are restored after a clean block; `Interrupted` is a KeyboardInterrupt.
(End to end with worker processes: tests/lab/test_lab_signals.py.)"""

import os
import signal

import pytest

from initreg.utils.procs import Interrupted, StopOnSignal


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_becomes_a_stop_request(sig):
    before = signal.getsignal(sig)
    with StopOnSignal() as s:
        assert not s.requested
        os.kill(os.getpid(), sig)
        assert s.requested and s.signal_name == signal.Signals(sig).name
    # after a stop request the handler stays: a second signal must exit at once, not raise
    assert callable(signal.getsignal(sig)) and signal.getsignal(sig) != before
    signal.signal(sig, before)


def test_even_an_ignored_sigint_is_handled_and_a_clean_block_restores_the_handlers():
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # how a script starts a background job
    try:
        with StopOnSignal() as s:
            os.kill(os.getpid(), signal.SIGINT)
        assert s.requested
        found = signal.getsignal(signal.SIGINT)
        with StopOnSignal():
            pass
        assert signal.getsignal(signal.SIGINT) is found  # a clean block restores what it found
    finally:
        signal.signal(signal.SIGINT, old)


def test_raise_first_interrupts_work_in_this_process():
    with pytest.raises(Interrupted, match="SIGTERM"), StopOnSignal(raise_first=True):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**7):  # the handler runs between bytecodes
            pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert issubclass(Interrupted, KeyboardInterrupt)
