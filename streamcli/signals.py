"""Signal handling: Cancelled on SIGINT/SIGTERM, the --timeout alarm, death by signal.

A stop signal is never lost and never waits forever:
- it is recorded as it is caught (`pending()`), so a Cancelled that lands where Python
  swallows exceptions (a weakref callback of the import system, a __del__) is raised
  again by the cleanup clock until the run acknowledges it, and `entry` dies by any
  recorded signal at the end whatever happened in between;
- from the first stop signal, the run has CLEANUP_GRACE seconds to end its output (the
  newline, the --jsonl `end` line); a cleanup blocked writing to a pipe nobody reads is
  then ended by the signal itself. A second Ctrl-C ends it at once.

Only `entry`, `session` and the subcommands that run without a session (which release
the signals held back at start-up) use this module; nothing else touches signals.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

from streamcli.errors import Cancelled, TotalTimeout

CLEANUP_GRACE = 0.8  # seconds from a stop signal to death by it, however the cleanup goes
_TICK = 0.1  # the cleanup clock's period
_REDELIVER_AFTER = 0.3  # a Cancelled not acknowledged by then was swallowed: raise it again
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

_caught: int | None = None  # the first stop signal caught in this run
_caught_at = 0.0
_acknowledged = False  # the run has seen the Cancelled and is ending its output


def _on_signal(signum, frame):
    global _caught, _caught_at
    # A second Ctrl-C during cleanup must end the process at once: from now on the
    # default action applies.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _caught is None:
        _caught, _caught_at = signum, time.monotonic()
        # The cleanup clock replaces a --timeout alarm: the run is ending anyway.
        signal.signal(signal.SIGALRM, _cleanup_tick)
        signal.setitimer(signal.ITIMER_REAL, _TICK, _TICK)
    raise Cancelled(signum)


def _cleanup_tick(signum, frame):
    elapsed = time.monotonic() - _caught_at
    if elapsed >= CLEANUP_GRACE:
        die_now(_caught)
    if not _acknowledged and elapsed >= _REDELIVER_AFTER:
        raise Cancelled(_caught)  # the first one was swallowed on its way


def install() -> None:
    """Fresh handlers for one run (the tests run many in one process)."""
    global _caught, _acknowledged
    _caught, _acknowledged = None, False
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # SIGPIPE stays ignored (Python's default): the process also writes to a socket, and
    # a broken stdout is handled where it surfaces, as BrokenPipeError.


def acknowledge() -> None:
    """The run caught the Cancelled and is ending its output: no need to raise it again."""
    global _acknowledged
    _acknowledged = True


def pending() -> int | None:
    """A stop signal this run received: caught by the handler (even if its exception was
    swallowed on the way), or still held back by hold()."""
    if _caught is not None:
        return _caught
    held = signal.sigpending() & _STOP_SIGNALS
    return min(held) if held else None


def raise_pending() -> None:
    """At a safe point: a stop signal caught earlier whose Cancelled was swallowed on its
    way (so the run went on) is raised again here."""
    if _caught is not None:
        raise Cancelled(_caught)


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
    if not seconds or _caught is not None:
        return

    def expired(signum, frame):
        raise TotalTimeout()

    signal.signal(signal.SIGALRM, expired)
    # Repeating: should the exception land somewhere that swallows it (an interpreter
    # callback prints "Exception ignored" and goes on), the next tick raises it again.
    # The session disarms the timer as soon as it catches it.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)


def disarm_total_timeout() -> None:
    if _caught is None:  # after a stop signal the timer is the cleanup clock: keep it
        signal.setitimer(signal.ITIMER_REAL, 0)


def die_by(signum: int) -> None:
    """Exit the way the signal would have ended us (status 128+N in the shell)."""
    quiet_stdout()
    die_now(signum)


def die_now(signum: int) -> None:
    """Die by `signum` at once: no flush, no cleanup (the cleanup clock's last resort)."""
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached


def quiet_stdout() -> None:
    """The Python docs' "Note on SIGPIPE": point stdout at devnull so the interpreter's
    final flush cannot print "Exception ignored ... BrokenPipeError" (or, after a full
    disk, OSError), and cannot block on a pipe nobody reads."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
