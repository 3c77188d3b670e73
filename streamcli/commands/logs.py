"""`streamcli logs`: the local log of exchanges (list, show, search, export, path).

Everything here reads: a log that does not exist yet is never created. A missing,
unreadable or corrupt database is exit 2 with the reason; a closed stdout ends quietly
(SIGPIPE), like the prompt command.
"""

from __future__ import annotations

import json
import os

import click

from streamcli.errors import OutputError, StdoutClosed, UsageError
from streamcli.options import Runtime, complete_conversation_id, help_option
from streamcli.sinks import encode_text, write_all

SETTINGS = {"max_content_width": 100}
HOW_TO_FIND = "'streamcli logs list' shows the ids of the recent conversations"
BATCH_CHARS = 1 << 20  # lines are written in batches of 256, or of this many characters


def _environ(ctx: click.Context):
    return ctx.find_object(Runtime).env.environ


def _write(ctx: click.Context, lines) -> None:
    """Lines to the run's stdout, in batches, past its buffer (as `streamcli models`
    does): bytes that could not be written must not wait there for the interpreter's
    last flush to fail on them again. A closed pipe is the quiet SIGPIPE ending; any
    other failure to write is an output error (11)."""
    out = ctx.find_object(Runtime).env.stdout
    if out is None:
        raise OutputError("cannot write the output: stdout is closed")
    target = getattr(out, "raw", None) or out
    _put(out.flush)
    batch: list[str] = []
    size = 0
    for line in lines:  # (a damaged log raises here, outside the writes' handling)
        batch.append(line)
        size += len(line)
        if len(batch) >= 256 or size >= BATCH_CHARS:
            _put(lambda: write_all(target, encode_text("\n".join(batch) + "\n")))
            batch, size = [], 0
    if batch:
        _put(lambda: write_all(target, encode_text("\n".join(batch) + "\n")))


def _put(write) -> None:
    try:
        write()
    except BrokenPipeError:
        raise StdoutClosed() from None
    except (OSError, ValueError) as exc:  # ValueError: a closed file object
        raise OutputError(f"cannot write the output to stdout: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None


def _dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _width(ctx: click.Context) -> int:
    """The terminal's width (COLUMNS first), or 80 when stdout is not a terminal."""
    runtime = ctx.find_object(Runtime)
    columns = runtime.env.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(runtime.env.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


class _Log:
    """The log opened for reading, with every failure to read it a usage error (2)."""

    def __init__(self, ctx: click.Context) -> None:
        self.environ = _environ(ctx)

    def __enter__(self):
        import sqlite3
        from streamcli import logreader, store
        self.path = store.db_path(self.environ)
        if not os.path.exists(self.path):
            raise UsageError(f"no log yet at {self.path}: nothing has been recorded (exchanges "
                             f"are logged unless --no-log, STREAMCLI_LOG=0 or log = false)")
        try:
            self.conn = logreader.open_log(self.environ)
        except store.StoreError as exc:
            raise UsageError(f"cannot read the log: {exc}") from None
        self._errors = (sqlite3.Error, ValueError)  # ValueError: a JSON column damaged
        return self.conn

    def __exit__(self, etype, exc, tb) -> None:
        self.conn.close()
        if exc is not None and isinstance(exc, self._errors):
            raise UsageError(f"cannot read the log at {self.path}: {exc}") from None


def _when(end_of_day: bool):
    def convert(ctx, param, value):
        if value is None:
            return None
        from streamcli.commands.logview import parse_when
        try:
            return parse_when(value, end_of_day=end_of_day)
        except (ValueError, OverflowError):
            raise click.BadParameter(f"{value!r} is not a date or time (e.g. 2026-11-21 or "
                                     f"2026-11-21T14:30, local time unless it names a zone)"
                                     ) from None
    return convert


_JSON_OPTION = click.option("--json", "as_json", is_flag=True,
                            help="One JSON object per line instead of text.")
_LIMIT_OPTION = click.option("-n", "--limit", type=click.IntRange(min=1, max=10**9), default=20,
                             show_default=True, metavar="N", help="At most N of them.")


@click.group("logs", add_help_option=False, invoke_without_command=True,
             context_settings=SETTINGS)
@help_option("-h", "--help")
@click.pass_context
def logs(ctx: click.Context) -> None:
    """The local log of exchanges. Every prompt and its answer are recorded in a SQLite
    database ($STREAMCLI_DB, default $XDG_DATA_HOME/streamcli/logs.db) unless --no-log,
    STREAMCLI_LOG=0 or log = false in the config file; -c and --cid continue a
    conversation from it."""
    from streamcli import signals
    signals.release()  # held back during start-up; no session here to release them
    if ctx.invoked_subcommand is None:
        raise click.UsageError("missing command: list, show, search, export or path", ctx)


@logs.command("list", add_help_option=False, context_settings=SETTINGS)
@_LIMIT_OPTION
@_JSON_OPTION
@help_option("-h", "--help")
@click.pass_context
def list_(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The most recent conversations, latest first: id, time and model of the latest
    exchange, and the first prompt cut to the terminal's width. --json: conversation_id,
    time, model, prompt, exchanges."""
    from streamcli import logreader
    from streamcli.commands.logview import summary_line
    width = _width(ctx)
    with _Log(ctx) as conn:
        rows = logreader.conversations(conn, limit)
        _write(ctx, (_dumps(r) if as_json else summary_line(r, width) for r in rows))


@logs.command("show", add_help_option=False, context_settings=SETTINGS)
@click.argument("conversation_id", metavar="[ID]", required=False,
                shell_complete=complete_conversation_id)
@_JSON_OPTION
@help_option("-h", "--help")
@click.pass_context
def show(ctx: click.Context, conversation_id: str | None, as_json: bool) -> None:
    """A conversation's exchanges, oldest first (default: the most recent conversation).
    --json: one exchange object per line, as 'streamcli logs export' writes them."""
    from streamcli import logreader
    from streamcli.commands.logview import conversation
    with _Log(ctx) as conn:
        cid = conversation_id.strip().lower() if conversation_id else logreader.latest_conversation(conn)
        rows = logreader.conversation(conn, cid) if cid else []
    if not cid:
        raise UsageError("the log holds no conversation yet")
    if not rows:
        raise UsageError(f"no conversation {conversation_id!r} in the log; {HOW_TO_FIND}")
    _write(ctx, [_dumps(r) for r in rows] if as_json else [conversation(rows)])


@logs.command("search", add_help_option=False, context_settings=SETTINGS)
@click.argument("text", nargs=-1, required=True)
@_LIMIT_OPTION
@_JSON_OPTION
@help_option("-h", "--help")
@click.pass_context
def search(ctx: click.Context, text: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Exchanges whose prompt or answer holds every word of TEXT, latest first, one line
    each (conversation id, time, model, prompt). Full-text search with SQLite's FTS5
    (words that start so) where Python's SQLite has it, else LIKE (anywhere in the
    text). --json: one exchange object per line."""
    from streamcli import logreader
    from streamcli.commands.logview import summary_line
    words = " ".join(text)
    if not words.strip():
        raise UsageError("nothing to search for: give the words to find")
    width = _width(ctx)
    with _Log(ctx) as conn:
        rows = logreader.search(conn, words, limit)
        _write(ctx, (_dumps(r) if as_json else summary_line(r, width) for r in rows))


@logs.command("export", add_help_option=False, context_settings=SETTINGS)
@click.option("--since", metavar="DATE", callback=_when(False),
              help="Only exchanges from DATE on (2026-11-21, or 2026-11-21T14:30; local "
                   "time unless it names a zone, as in 2026-11-21T14:30Z).")
@click.option("--until", metavar="DATE", callback=_when(True),
              help="Only exchanges before DATE (a date alone: up to the end of that day).")
@help_option("-h", "--help")
@click.pass_context
def export(ctx: click.Context, since: str | None, until: str | None) -> None:
    """Every exchange as JSON lines, oldest first, with all that was recorded (for
    backups and jq): id, conversation_id, time (UTC), provider, protocol, model,
    base_url, system, prior, prompt, attachments, text, thinking, refusal, tool_calls,
    stop_reason, stop_reason_raw, usage, input_tokens, output_tokens, ttft_ms,
    duration_ms, status, exit_code, response_id, request_id, error."""
    from streamcli import logreader
    with _Log(ctx) as conn:
        _write(ctx, (_dumps(row) for row in logreader.export(conn, since, until)))


@logs.command("path", add_help_option=False, context_settings=SETTINGS)
@help_option("-h", "--help")
@click.pass_context
def path(ctx: click.Context) -> None:
    """The database's path (whether or not it exists yet)."""
    from streamcli.store import db_path
    _write(ctx, [db_path(_environ(ctx))])
