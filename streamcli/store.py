"""The local state in one SQLite database: where it lives, how it opens and migrates.

The database is `$STREAMCLI_DB`, else `$XDG_DATA_HOME/streamcli/logs.db` (default
`~/.local/share/streamcli/logs.db`); its directory is made 0700 and the file 0600.
WAL mode and a busy timeout (`BUSY_TIMEOUT_S`, or `$STREAMCLI_DB_TIMEOUT` seconds) let
many processes (`xargs -P 20 streamcli ...`) write at once. Each part of streamcli that keeps state (the log of exchanges, the batch ledger)
owns its tables and registers its migrations under its own name (`register`), so parts
evolve independently; the `schema_versions` table records how far each has come.

Nothing here decides what a failure costs: callers that must never cost the user an
answer (the log) catch `StoreError` and warn.
"""

from __future__ import annotations

import os
import stat
from typing import Callable

BUSY_TIMEOUT_S = 5.0
# The longest SQLite itself waits for a lock at a time; the rest of the wait is a loop in
# Python. A signal's handler runs only between SQLite calls: Ctrl-C must not wait for
# the whole busy timeout.
SLICE_S = 0.05
_MIGRATIONS: dict[str, list[Callable]] = {}  # part -> its migrations, oldest first
_UNMIGRATED: dict[str, Callable] = {}  # part -> how a reader sees it where it cannot migrate


class StoreError(Exception):
    """The database cannot be used (locked past the timeout, corrupt, read-only, full)."""


def db_path(environ) -> str:
    explicit = environ.get("STREAMCLI_DB")
    if explicit:
        return explicit
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "streamcli", "logs.db")


def register(part: str, migrations: list[Callable], unmigrated: Callable | None = None
             ) -> None:
    """`migrations[i]` takes a connection from version i to i + 1 of `part`'s tables;
    only ever append to the list. `unmigrated(conn, version)`, if given, lets a reader
    that cannot migrate (a read-only disk) read an older version as the latest (temporary
    tables for what it lacks); it returns False for a version it cannot."""
    _MIGRATIONS[part] = migrations
    if unmigrated is not None:
        _UNMIGRATED[part] = unmigrated


def busy_timeout(environ) -> float:
    """How long a write waits for another process's lock, in seconds."""
    try:
        value = float(environ.get("STREAMCLI_DB_TIMEOUT") or BUSY_TIMEOUT_S)
    except ValueError:
        return BUSY_TIMEOUT_S
    return value if 0 <= value < 86400 else BUSY_TIMEOUT_S  # also refuses nan and inf


def connect(environ, *, create: bool = True):
    """An open connection with every registered part migrated to its latest version.
    `create=False`: a database that does not exist yet is a StoreError (readers such as
    `streamcli logs` must not create one)."""
    import sqlite3  # ~2 ms: only when the store is used, after the answer is out
    path = db_path(environ)
    if not create and not os.path.exists(path):
        raise StoreError(f"no database yet at {path}")
    if not create and not os.path.isfile(path):
        raise StoreError(f"{path} is not a regular file")
    timeout = busy_timeout(environ)
    try:
        if create:
            _prepare(path)
        conn = sqlite3.connect(path, timeout=min(timeout, SLICE_S), isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        _retry_while_locked(lambda: _set_up(conn), timeout)
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")  # the caller's reads
    except (sqlite3.Error, StoreError) as exc:
        conn.close()
        if not create and not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            return _unchanging(path)
        raise StoreError(f"cannot use {path}: {exc}") from None
    return conn


def _unchanging(path: str):
    """A reader's connection to a log in a directory it cannot write (a read-only disk):
    SQLite cannot make the index files it needs to read a WAL-mode database there, so it
    reads the file as one that nobody changes (`immutable`)."""
    import sqlite3
    from urllib.parse import quote
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?immutable=1", uri=True,
                           isolation_level=None)
    try:
        _migrate(conn, read_only=True)  # the versions checked; an older one read as it is
    except (sqlite3.Error, StoreError) as exc:
        conn.close()
        raise StoreError(f"cannot use {path}: {exc}") from None
    return conn


def _set_up(conn) -> None:
    # WAL without a sync per commit (SQLite's recommended pairing): a power cut may lose
    # the last transactions, never the file's integrity; a part that needs more sets
    # `PRAGMA synchronous=FULL` on its connection.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA journal_mode=WAL")
    _migrate(conn)


def begin_write(conn, environ) -> None:
    """BEGIN IMMEDIATE: wait for another process's write up to the busy timeout, in
    slices, so that a signal ends the wait at once."""
    timeout = busy_timeout(environ)
    conn.execute(f"PRAGMA busy_timeout={int(min(timeout, SLICE_S) * 1000)}")
    _retry_while_locked(lambda: conn.execute("BEGIN IMMEDIATE"), timeout)


def _retry_while_locked(step, timeout: float) -> None:
    """Run `step` (idempotent) again while the database is locked, up to `timeout`
    seconds. Switching a new file to WAL while other processes do the same gets
    "database is locked" at once: SQLite does not wait on its busy handler there."""
    import sqlite3
    import time
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        jitter = 0.5 + os.urandom(1)[0] / 255  # apart, so that the racers do not meet again
        time.sleep(delay * jitter)
        delay = min(delay * 2, 0.05)


def connect_readonly(environ):
    """A read-only connection that never creates, migrates or waits (shell completion):
    a StoreError when there is no usable database."""
    import sqlite3
    from urllib.parse import quote
    path = db_path(environ)
    if not os.path.isfile(path):
        raise StoreError(f"no database yet at {path}")
    try:
        return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True,
                               timeout=0, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None


def _prepare(path: str) -> None:
    """The directory 0700 and the file 0600 before SQLite opens it, whatever the umask
    (SQLite itself would create the file with the umask's mode). Only a regular file is
    ever opened or changed: STREAMCLI_DB=/dev/null must not chmod /dev/null."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    # O_NONBLOCK: a FIFO in the way must not block the open.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StoreError(f"{path} is not a regular file")
        if mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _migrate(conn, *, read_only: bool = False) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_versions "
                 "(part TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for part, migrations in _MIGRATIONS.items():
        row = conn.execute("SELECT version FROM schema_versions WHERE part = ?", (part,)).fetchone()
        current = row[0] if row else 0
        if current > len(migrations):  # its tables may mean what this code cannot know
            raise StoreError(f"it was made by a newer streamcli (its {part} tables are at "
                             f"version {current}, this streamcli knows up to "
                             f"{len(migrations)}): upgrade streamcli")
        if current == len(migrations):
            continue
        if read_only and part in _UNMIGRATED and _UNMIGRATED[part](conn, current):
            continue  # (otherwise the migration fails: the database cannot be written)
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
        try:
            row = conn.execute("SELECT version FROM schema_versions WHERE part = ?",
                               (part,)).fetchone()
            current = row[0] if row else 0
            for version in range(current, len(migrations)):
                migrations[version](conn)
            conn.execute("INSERT OR REPLACE INTO schema_versions VALUES (?, ?)",
                         (part, len(migrations)))
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise


def rollback(conn) -> None:
    """Undo the open transaction, if there still is one, keeping the error that ended it:
    SQLite itself rolls back after some errors (a full disk, an I/O error), and a
    ROLLBACK then fails with "no transaction is active", which would hide the cause."""
    import sqlite3
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
