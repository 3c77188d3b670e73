"""The local log as the tests see it: read straight from the SQLite file (never through
streamcli's own queries), its files on disk, and a way to hold its write lock."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Mapping

JSON_COLUMNS = ("prior", "attachments", "tool_calls", "usage", "error")


def db_path(environ: Mapping[str, str]) -> Path:
    """The database of this environment (the clean environment sets STREAMCLI_DB)."""
    return Path(environ["STREAMCLI_DB"])


def db_files(environ: Mapping[str, str]) -> list[Path]:
    """The database and whichever of its -wal/-shm/-journal files exist."""
    path = db_path(environ)
    return [p for p in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal")))
            if p.exists()]


def exchanges(environ: Mapping[str, str]) -> list[dict]:
    """Every row of the exchanges table in recording order, JSON columns decoded, and a
    long answer (or thinking) in its column, read from the long_texts table."""
    with contextlib.closing(sqlite3.connect(db_path(environ))) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY seq")]
        for row in rows:
            for name, data in long_texts(conn, row["seq"]).items():
                row[name] = data.decode("utf-8")
    for row in rows:
        for name in JSON_COLUMNS:
            if row[name] is not None:
                row[name] = json.loads(row[name])
    return rows


def long_texts(conn, seq: int) -> dict[str, bytes]:
    """The long texts stored apart for the exchange `seq`: column name -> its UTF-8 bytes."""
    return {name: data for name, data in conn.execute(
        "SELECT name, data FROM long_texts WHERE seq = ?", (seq,))}


def integrity(environ: Mapping[str, str]) -> str:
    with contextlib.closing(sqlite3.connect(db_path(environ))) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@contextlib.contextmanager
def write_locked(environ: Mapping[str, str]):
    """Hold the database's write lock (an open IMMEDIATE transaction) for the block."""
    conn = sqlite3.connect(db_path(environ), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def snapshot(paths) -> dict[str, bytes]:
    """The bytes of each file, to show that a run left them untouched."""
    return {str(p): Path(p).read_bytes() for p in paths}
