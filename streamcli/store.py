"""The local state in one SQLite database: where it lives, how it opens and migrates.

The database is `$STREAMCLI_DB`, else `$XDG_DATA_HOME/streamcli/logs.db` (default
`~/.local/share/streamcli/logs.db`); its directory is made 0700 and the file 0600.
WAL mode and a busy timeout let many processes (`xargs -P 20 streamcli ...`) write at
once. Each part of streamcli that keeps state (the log of exchanges, the batch ledger)
owns its tables and registers its migrations under its own name (`register`), so parts
evolve independently; the `schema_versions` table records how far each has come.

Nothing here decides what a failure costs: callers that must never cost the user an
answer (the log) catch `StoreError` and warn.
"""

from __future__ import annotations

import os
from typing import Callable

BUSY_TIMEOUT_S = 5.0
_MIGRATIONS: dict[str, list[Callable]] = {}  # part -> its migrations, oldest first


class StoreError(Exception):
    """The database cannot be used (locked past the timeout, corrupt, read-only, full)."""


def db_path(environ) -> str:
    explicit = environ.get("STREAMCLI_DB")
    if explicit:
        return explicit
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "streamcli", "logs.db")


def register(part: str, migrations: list[Callable]) -> None:
    """`migrations[i]` takes a connection from version i to i + 1 of `part`'s tables;
    only ever append to the list."""
    _MIGRATIONS[part] = migrations


def connect(environ, *, create: bool = True):
    """An open connection with every registered part migrated to its latest version.
    `create=False`: a database that does not exist yet is a StoreError (readers such as
    `streamcli logs` must not create one)."""
    import sqlite3  # ~5 ms: only when the store is used, after the answer is out
    path = db_path(environ)
    if not create and not os.path.exists(path):
        raise StoreError(f"no log yet at {path}")
    try:
        if create:
            _prepare(path)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        _migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot use {path}: {exc}") from None
    return conn


def _prepare(path: str) -> None:
    """The directory 0700 and the file 0600 before SQLite opens it, whatever the umask
    (SQLite itself would create the file with the umask's mode)."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)


def _migrate(conn) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_versions "
                 "(part TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for part, migrations in _MIGRATIONS.items():
        row = conn.execute("SELECT version FROM schema_versions WHERE part = ?", (part,)).fetchone()
        current = row[0] if row else 0
        if current >= len(migrations):
            continue
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
            conn.execute("ROLLBACK")
            raise
