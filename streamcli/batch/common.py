"""What every `streamcli batch` command needs: signals, stderr, options, ledger, stdout.

What every `streamcli batch` command needs: the signals released, stderr, the run
options, the ledger, a line on stdout, and the wait for provider batches.

These commands run without a `Session`: each releases the signals `entry` held back
during start-up, and a Ctrl-C ends it the way `entry` ends a run (death by the signal).
"""

from __future__ import annotations

import os

from streamcli import redact, signals
from streamcli.batch import remote
from streamcli.errors import Cancelled, OutputError, StdoutClosed, UsageError
from streamcli.plan import RunOptions
from streamcli.ui import Stderr


def start(runtime, quiet: bool = False) -> Stderr:
    signals.release()  # held since start-up by `entry`; from here a Ctrl-C ends the run
    env = runtime.env
    # The run's secrets (keys, credential headers, proxy passwords) are masked in every
    # stderr line and error object: they join env.redact as the targets are resolved.
    env.redact.add(*redact.proxy_secrets(env.environ))
    return Stderr(env.stderr, quiet=quiet, environ=env.environ, redact=env.redact)


def run_options(params: dict) -> RunOptions:
    return RunOptions(retries=params["retries"], max_retry_wait=params["max_retry_wait"],
                      connect_timeout=params["connect_timeout"],
                      idle_timeout=params["idle_timeout"])


def ledger(env, *, create: bool = True):
    """The ledger; with create=False, None when nothing was ever recorded."""
    from streamcli import store
    from streamcli.batch.ledger import Ledger
    if not create and not os.path.exists(store.db_path(env.environ)):
        return None
    try:
        return Ledger.open(env.environ)
    except store.StoreError as err:
        raise UsageError(f"the batch ledger cannot be used: {err}") from None


def recorded(env, ident: str):
    """The ledger, which must know ID."""
    found = ledger(env, create=False)
    if found is None:
        raise UsageError(f"no recorded batch {ident!r}: nothing was submitted from here yet")
    return found


def client(runtime, params: dict, ui) -> remote.Remote:
    from streamcli import headers
    return remote.Remote(runtime.env, runtime.checked_config(), run_options(params), ui,
                         headers.parse(params.get("header", ())))


def wait(ident: str, batches: list, api, book, poll: float, ui, quiet: bool) -> None:
    """Until every batch has ended; a Ctrl-C leaves them running and says how to return."""
    from streamcli.batch.waiting import Display
    display = Display(ui, quiet=quiet)
    try:
        remote.wait(batches, api, book, interval=poll, show=display.show)
    except Cancelled:
        display.clear()
        ui.line(f"streamcli: stopped waiting; the batch keeps running. Come back with: "
                f"streamcli batch wait {ident} && streamcli batch results {ident}")
        raise


def print_line(runtime, text: str) -> None:
    """One line on stdout: a closed pipe ends the run the SIGPIPE way, any other failure
    is an output error (11)."""
    out = runtime.env.stdout
    if out is None:
        raise OutputError("stdout is closed")
    # A line for a reader, of what a provider said (batch ids, states): its secrets
    # masked and its control characters shown as escapes, as on stderr.
    text = redact.visible(runtime.env.redact(text), one_line=True)
    try:
        out.write(text.encode("utf-8", "replace") + b"\n")
        out.flush()
    except BrokenPipeError:
        raise StdoutClosed() from None
    except (OSError, ValueError) as exc:
        raise OutputError.of(exc) from None
