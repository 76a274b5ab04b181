"""Holding Ctrl-C and SIGTERM over a step that must not be cut in half (making or removing a
run folder, starting or stopping a dask cluster): the signal acts when the step is done.

``flysim.run.interrupt`` turns both signals into exceptions and re-exports :func:`held_signals`;
it lives here, below the run layer, because the engine's run folders need it too.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["HANDLED", "held_signals", "in_main_thread"]

#: The signals flysim turns into exceptions.
HANDLED = (signal.SIGINT, signal.SIGTERM)


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def held_signals(*, drop: bool = False):
    """Hold SIGINT and SIGTERM during the block: nothing is interrupted until it ends.

    Processes started in the block inherit both signals blocked, so a local dask cluster's
    workers (and the binaries they run) ignore the terminal's Ctrl-C and the job's SIGTERM: the
    driver stops them in order. (Outside the main thread only that blocking is done.)

    Parameters
    ----------
    drop : bool
        Drop a signal that arrived in the block (while shutting down after an interruption was
        raised already) instead of acting on it as usual at the end (raising).
    """
    arrived = []
    previous = {}
    if in_main_thread():
        for signum in HANDLED:
            handler = signal.getsignal(signum)
            if handler is not None:  # None: set outside Python, cannot be put back
                previous[signum] = signal.signal(signum, lambda s, f: arrived.append(s))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # runs the handlers of pending ones
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if arrived and not drop:
            _act_on(arrived[0], previous[arrived[0]])


def _act_on(signum: int, handler) -> None:
    """Do what ``handler`` would have done with ``signum``."""
    if callable(handler):
        handler(signum, None)
    elif handler is signal.SIG_DFL:
        signal.raise_signal(signum)
