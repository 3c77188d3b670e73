"""The process boundary: signals, the exit status, and no traceback unless --debug.

This is the only module that exits. It imports almost nothing before holding SIGINT and
SIGTERM back, so a Ctrl-C during start-up waits until the run can end its output
properly; it cannot cover the interpreter's own start-up before this module runs.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None, env=None) -> None:
    """The console script. `env`: an `environment.Environment` (tests pass their own);
    by default the process's own streams and variables."""
    from streamcli import signals
    signals.hold()  # released by the session as it starts (or below, if none does)
    signals.install()
    from streamcli.environment import Environment
    from streamcli.errors import (Cancelled, ExitStatus, StdoutClosed, StreamcliError,
                                  TotalTimeout)
    env = env or Environment.from_process()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            code = _run(args, env)
        finally:
            signals.release()
    except Cancelled as cancel:
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
            _stderr_error(env, "".join(traceback.format_exception(exc)).rstrip("\n"))
        _stderr_error(env, f"internal error: {type(exc).__name__}: {exc} "
                           f"(run with --debug for details)")
        code = ExitStatus.INTERNAL
    try:
        if env.stdout is not None:
            env.stdout.flush()
    except (OSError, ValueError):
        signals.die_by(signal.SIGPIPE)
    sys.exit(int(code))


def _run(args: list[str], env) -> int:
    from streamcli.family import main
    return main(args, env)


def _stderr_error(env, message: str) -> None:
    try:
        env.stderr.write(f"streamcli: error: {message}\n")
        env.stderr.flush()
    except (OSError, ValueError, AttributeError):  # AttributeError: stderr closed (None)
        pass
