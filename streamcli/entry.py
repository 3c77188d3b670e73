"""The process boundary: signals, exit statuses, and no traceback unless --debug.

This is the only module that exits. It imports almost nothing before installing the
signal handlers, so a Ctrl-C during start-up is already handled cleanly.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> None:
    from streamcli import signals
    from streamcli.errors import Cancelled, StdoutClosed, StreamcliError, TotalTimeout

    signals.hold()  # released by the session as it starts (or below, if none does)
    signals.install()
    args = sys.argv[1:] if argv is None else argv
    try:
        try:
            code = _run(args)
        finally:
            signals.release()
    except Cancelled as cancel:
        signals.die_by(cancel.signum)
    except TotalTimeout:  # --timeout fired while another ending was being handled
        _stderr_error("the request took longer than --timeout")
        code = 8
    except (StdoutClosed, BrokenPipeError):
        # The reader went away (`| head`): no message, die the way a filter does.
        signals.die_by(signal.SIGPIPE)
    except StreamcliError as err:  # raised before a session could report it
        _stderr_error(err.describe())
        code = err.exit_code
    except Exception as exc:  # a bug: short message; the traceback only with --debug
        if "--debug" in args:
            import traceback
            traceback.print_exc()
        _stderr_error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        code = 1
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        signals.die_by(signal.SIGPIPE)
    sys.exit(code)


def _run(args: list[str]) -> int:
    import click
    from streamcli.cli import command
    try:
        result = command.main(args=args, prog_name="streamcli", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        _stderr_error("aborted")
        return 1
    return result if isinstance(result, int) else 0


def _stderr_error(message: str) -> None:
    try:
        sys.stderr.write(f"streamcli: error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # AttributeError: stderr closed (None)
        pass
