"""Interruptions: Ctrl-C (SIGINT) and SIGTERM stop flysim's work cleanly, with one line.

- **SIGINT** raises ``KeyboardInterrupt``, as in any Python program. brian2's SIGINT handler
  only turns Ctrl-C into a "stop" request during a brian2 runtime ``Network.run``, which flysim
  never runs, and otherwise passes it on; it is brian2's ``sys.excepthook`` that printed nothing
  at all for an uncaught one, and :func:`interruptible` makes it print the one line. (If SIGINT
  was ignored when brian2 was imported, e.g. in a background job, brian2's handler would crash
  on it with a TypeError: :func:`interruptible` puts the ignore back.)
- **SIGTERM** (what a batch scheduler sends) raises :class:`Terminated`, a ``SystemExit`` with
  code 143 (128 + 15), while flysim's long calls (``simulate``, ``scan``, ...) run in the main
  thread and nothing else handles SIGTERM; the ``flysim`` command handles it for its whole run.
  Without it, SIGTERM ends the process at once, and the simulation binary with its run folder
  outlives it.

Both exceptions unwind through flysim's cleanup: a running simulation binary is killed and its
run folder removed, a scan's local dask cluster is shut down, the demo's scratch store deleted.
Uncaught, they end the program with one line on stderr - ``flysim: interrupted`` or ``flysim:
terminated (SIGTERM)``, plus what the interrupted call noted (a scan: how many points are stored
and that a rerun resumes) - and the exit status of the signal (130, shown by a shell for a
Python program killed by its SIGINT, and 143). Caught (a notebook, a script's own ``except``),
they are ordinary exceptions; the note is in ``error.__notes__``.
"""

from __future__ import annotations

import contextlib
import signal
import sys

from ..engine.signals import held_signals, in_main_thread

__all__ = [
    "INTERRUPTIONS",
    "Terminated",
    "exit_status",
    "held_signals",
    "interruptible",
    "report_line",
    "run_program",
    "sigterm_raises",
]


class Terminated(SystemExit):
    """SIGTERM arrived while flysim was working; ``code`` is 143 (128 + SIGTERM).

    A ``SystemExit`` so that ``except Exception`` (e.g. around a scan point) does not catch it,
    and so that, uncaught, it ends a script with exit status 143 after the usual cleanup
    (``finally`` blocks, context managers, ``atexit``) without a traceback.
    """

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal.Signals(self.signum).name}"


#: What an interruption of flysim's work raises.
INTERRUPTIONS = (KeyboardInterrupt, Terminated)


def exit_status(error: BaseException) -> int:
    """The exit status for an interruption.

    Parameters
    ----------
    error : KeyboardInterrupt or Terminated

    Returns
    -------
    int
        130 for Ctrl-C, 143 for SIGTERM (128 + the signal's number, as a shell reports them).
    """
    if isinstance(error, Terminated):
        return error.code
    return 128 + signal.SIGINT


def report_line(error: BaseException) -> str:
    """The one line that reports an interruption.

    Parameters
    ----------
    error : KeyboardInterrupt or Terminated

    Returns
    -------
    str
        ``flysim: interrupted`` or ``flysim: terminated (SIGTERM)``, then what the interrupted
        calls noted (``error.__notes__``), separated by "; ".
    """
    what = "terminated (SIGTERM)" if isinstance(error, Terminated) else "interrupted"
    return "; ".join([f"flysim: {what}", *getattr(error, "__notes__", ())])


class _RaiseTerminated:
    """The SIGTERM handler: raise :class:`Terminated` once; a repeated SIGTERM while that
    unwinds is ignored, so that it cannot cut the cleanup short."""

    def __init__(self):
        self.raised = False

    def __call__(self, signum, frame):
        if not self.raised:
            self.raised = True
            raise Terminated(signum)


@contextlib.contextmanager
def sigterm_raises():
    """Turn SIGTERM into :class:`Terminated` during the block.

    Only if SIGTERM has its default action (a handler someone else set, or an ignore, is left
    alone) and this is the main thread (the only one signal handlers can be set from); the
    default is put back afterwards.

    Yields
    ------
    bool
        Whether the handler was installed.
    """
    if not in_main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield False
        return
    handler = _RaiseTerminated()
    signal.signal(signal.SIGTERM, handler)
    try:
        yield True
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _restore_ignored_sigint() -> None:
    """brian2 replaces the SIGINT handler at import with one that calls the previous handler;
    if SIGINT was ignored then (``SIG_IGN``: a background job), calling it raises TypeError on
    the next SIGINT. Put the ignore (or default) back."""
    handler = signal.getsignal(signal.SIGINT)
    previous = getattr(handler, "previous_handler", None)
    if type(handler).__name__ == "_InterruptHandler" and previous in (
        signal.SIG_IGN,
        signal.SIG_DFL,
    ):
        signal.signal(signal.SIGINT, previous)


def _one_line_excepthook(previous):
    """An excepthook that reports an uncaught KeyboardInterrupt in one line (brian2's own hook
    prints nothing at all for it) and passes every other exception on to ``previous``."""

    def hook(exc_type, error, traceback):
        if issubclass(exc_type, KeyboardInterrupt):
            print(report_line(error), file=sys.stderr, flush=True)
        else:
            previous(exc_type, error, traceback)

    hook.flysim_previous = previous
    return hook


def _report_uncaught_ctrl_c() -> None:
    """Wrap brian2's excepthook (only it: a hook of the user's or of IPython is left alone)."""
    if getattr(sys.excepthook, "__module__", "") == "brian2.utils.logger":
        sys.excepthook = _one_line_excepthook(sys.excepthook)


@contextlib.contextmanager
def interruptible():
    """Around a long library call: Ctrl-C and SIGTERM raise (see the module docstring), and an
    interruption left uncaught ends the program with one line.

    Usable as ``with interruptible():`` or as the decorator ``@interruptible()``; nested uses
    and uses outside the main thread do nothing more. The line for SIGTERM is printed here, by
    the use that installed the handler, as the exception leaves it (``SystemExit`` never reaches
    ``sys.excepthook``); the line for Ctrl-C by the excepthook, only if nothing catches it.
    """
    if in_main_thread():
        _restore_ignored_sigint()
        _report_uncaught_ctrl_c()
    with sigterm_raises() as installed:
        try:
            yield
        except Terminated as error:
            if installed:
                print(report_line(error), file=sys.stderr, flush=True)
            raise


def run_program(command, *args, **kwargs) -> int:
    """Run ``command(*args, **kwargs)`` as a program's main work; return its exit status.

    SIGTERM raises :class:`Terminated` during the call. After Ctrl-C or SIGTERM, the one line of
    :func:`report_line` is printed on stderr. The ``flysim`` command runs each subcommand this
    way; so can a script of your own: ``sys.exit(run_program(main))``.

    Returns
    -------
    int
        What ``command`` returned if that is an int, else 0; 130 after Ctrl-C, 143 after
        SIGTERM.
    """
    try:
        with sigterm_raises():
            result = command(*args, **kwargs)
    except INTERRUPTIONS as stop:
        print(report_line(stop), file=sys.stderr, flush=True)
        return exit_status(stop)
    return result if isinstance(result, int) else 0
