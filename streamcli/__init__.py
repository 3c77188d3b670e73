"""streamcli: stream answers from large language models into Unix pipelines."""

__version__ = "0.1.0"


def _hold_stop_signals() -> None:
    """Started as the command (the console script, whose first import of ours is this
    package, or `python -m streamcli`): hold SIGINT and SIGTERM back from this first line
    on, before anything else is imported, so that a Ctrl-C during start-up is delivered
    where the run can end its output properly (signals.py), never as a KeyboardInterrupt
    traceback from the middle of an import. Imported as a library (the tests, the doc
    generator), the process's signals are left alone. What remains is the interpreter's
    own start-up before this line runs (see README, "Signals")."""
    import sys
    argv = getattr(sys, "orig_argv", ())
    as_module = any(a == "-m" and b == __name__ for a, b in zip(argv, argv[1:]))
    script = sys.argv[0].rsplit("/", 1)[-1] if sys.argv else ""
    if as_module or script == "streamcli":
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


_hold_stop_signals()
