"""The process boundary: signals, the exit status, stdout kept for the payload alone.

The process boundary: signals, the exit status, stdout kept for the payload alone, and no
traceback unless --debug.

This is the only module that exits. SIGINT and SIGTERM are held back from the package's
first line (streamcli/__init__.py) when it runs as the command, and again here, so a
Ctrl-C during start-up waits until the run can end its output properly; only the
interpreter's own start-up, before that line, is not covered.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None, env=None) -> None:
    """The console script. `env`: an `environment.Environment` (tests pass their own);
    by default the process's own streams and variables."""
    from streamcli import signals
    signals.hold()  # released by the session as it starts
    signals.install()
    from streamcli.environment import Environment
    from streamcli.errors import (Cancelled, ExitStatus, OutputError, StdoutClosed,
                                  StreamcliError, TotalTimeout)
    real = env is None
    if real:
        env = Environment.from_process()
        _guard_process(env)
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _run(args, env)
    except Cancelled as cancel:
        signals.acknowledge()
        signals.die_by(cancel.signum)
    except TotalTimeout:  # --timeout fired while another ending was being handled
        _stderr_error(env, "the request took longer than --timeout")
        code = ExitStatus.TIMEOUT
    except (StdoutClosed, BrokenPipeError):
        # The reader went away (`| head`): no message, die the way a filter does.
        signals.die_by(signal.SIGPIPE)
    except StreamcliError as err:  # raised before a session could report it
        _stderr_error(env, err.describe())
        code = err.exit_code
    except Exception as exc:  # a bug: short message; the traceback only with --debug
        if "--debug" in args:
            import traceback
            from streamcli.ui import Stderr  # the whole traceback (masked), as a plain line
            Stderr(env.stderr, environ=env.environ, redact=env.redact).line(
                "".join(traceback.format_exception(exc)).rstrip("\n"))
        _stderr_error(env, f"internal error: {type(exc).__name__}: {exc} "
                           f"(run with --debug for details)")
        code = ExitStatus.INTERNAL
    # From here on nothing may interrupt the ending: a stop signal that came (even one
    # whose exception was swallowed somewhere) ends the process by that signal.
    signals.hold()
    signum = signals.pending()
    if signum is not None:
        signals.die_by(signum)
    if not real:
        signals.release()  # a test's process keeps its signals
    try:
        if env.stdout is not None and code != ExitStatus.OUTPUT:  # (said once already)
            env.stdout.flush()
    except BrokenPipeError:
        signals.die_by(signal.SIGPIPE)
    except (OSError, ValueError) as exc:
        error = OutputError.of(exc)
        _stderr_error(env, error.describe())
        code = error.exit_code
    if code == ExitStatus.OUTPUT:
        # What could not be written stays in stdout's buffer: the interpreter's final
        # flush must not try again (and print "Exception ignored").
        signals.quiet_stdout()
    sys.exit(int(code))


def _run(args: list[str], env) -> int:
    from streamcli.family import main
    return main(args, env)


def _guard_process(env) -> None:
    """The real process only (never a test's). Nothing but the payload ever reaches stdout:
    the payload goes to env.stdout (the binary stdout), so sys.stdout becomes stderr, and
    a stray print(), a library's warning or a traceback printed with file=None can only
    land there. (Shell completion is the exception: its answer is its stdout.) A closed
    standard descriptor is opened on /dev/null, so that no file or socket the run opens
    later takes its number and receives what was meant for stdout or stderr."""
    import os
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            try:
                os.dup2(os.open(os.devnull, mode), fd)
            except OSError:
                pass
    if not env.environ.get("_STREAMCLI_COMPLETE"):
        sys.stdout = sys.stderr
    sys.unraisablehook = _unraisable


def _unraisable(info) -> None:
    """A stop signal's or --timeout's exception that landed where Python cannot raise it
    (a weakref callback, a __del__) is not an error to print: the signal was recorded,
    and the cleanup clock raises it again (signals.py). Anything else as Python says it."""
    from streamcli.errors import Cancelled, TotalTimeout
    if isinstance(info.exc_value, (Cancelled, TotalTimeout)):
        return
    sys.__unraisablehook__(info)


def _stderr_error(env, message: str) -> None:
    from streamcli.ui import Stderr
    Stderr(env.stderr, environ=env.environ, redact=env.redact).error(message)
