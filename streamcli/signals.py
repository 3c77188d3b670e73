"""Signal handling: Cancelled on SIGINT/SIGTERM, the --timeout alarm, death by signal.

The process ends by re-raising the signal, so a parent sees death by signal.

Only `entry`, `session` and the subcommands that run without a session (which release
the signals held back at start-up) use this module; nothing else touches signals.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager

from streamcli.errors import Cancelled, TotalTimeout


def _on_signal(signum, frame):
    # A second Ctrl-C during cleanup must end the process at once: from now on the
    # default action applies.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Cancelled(signum)


def install() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # SIGPIPE stays ignored (Python's default): the process also writes to a socket, and
    # a broken stdout is handled where it surfaces, as BrokenPipeError.


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def hold() -> None:
    """Hold SIGINT/SIGTERM back during start-up (option parsing, sink set-up): one that
    arrives then is delivered by release(), where the run can still end its output
    properly (the --jsonl `end` line)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


def release() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


@contextmanager
def deferred_interrupts():
    """While a child owns the terminal (the editor), Ctrl-C is its business: catch SIGINT
    with a no-op (a caught signal reverts to the default in the child at exec, unlike an
    ignored one), and restore our handler afterwards."""
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def arm_total_timeout(seconds: float | None) -> None:
    if not seconds:
        return

    def expired(signum, frame):
        raise TotalTimeout()

    signal.signal(signal.SIGALRM, expired)
    # Repeating: should the exception land somewhere that swallows it (an interpreter
    # callback prints "Exception ignored" and goes on), the next tick raises it again.
    # The session disarms the timer as soon as it catches it.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)


def disarm_total_timeout() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def die_by(signum: int) -> None:
    """Exit the way the signal would have ended us (status 128+N in the shell)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    _quiet_stdout()
    signal.signal(signum, signal.SIG_DFL)
    if signum == signal.SIGPIPE:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached unless the signal was blocked


def _quiet_stdout() -> None:
    """The Python docs' "Note on SIGPIPE": point stdout at devnull so the interpreter's
    final flush cannot print "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
