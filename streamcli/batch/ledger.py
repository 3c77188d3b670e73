"""The ledger of submitted provider batches, in the state database.

The ledger of submitted provider batches, in the state database (`store`, part
"batch"): each submission (one input), its provider batches, and each item's id, input
position and the custom_id the provider knows it by, so results come back in input
order with their ids. Never a key or an auth header: a batch records the name of the
provider whose key it needs, which is looked up again when it is used.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from contextlib import contextmanager
from typing import Iterator, NamedTuple

from streamcli import store
from streamcli.errors import UsageError
from streamcli.redact import masked


def _v1(conn) -> None:
    conn.execute("""CREATE TABLE batch_submissions (
        id TEXT PRIMARY KEY,           -- sub_<hex>: every batch of one input
        created_at REAL NOT NULL,
        input TEXT NOT NULL,           -- the input's path, or '-'
        items INTEGER NOT NULL)""")
    conn.execute("""CREATE TABLE batch_batches (
        id TEXT PRIMARY KEY,           -- the provider's batch id
        submission TEXT NOT NULL,
        position INTEGER NOT NULL,     -- its chunk of the submission, from 0
        kind TEXT NOT NULL,            -- wire protocol: anthropic or openai
        provider TEXT NOT NULL,        -- the provider (config name) whose key it needs
        base_url TEXT NOT NULL,
        model TEXT,
        requests INTEGER NOT NULL,
        state TEXT,                    -- the provider's last known status
        ended INTEGER NOT NULL DEFAULT 0,
        counts TEXT,                   -- last known counts by state (JSON)
        info TEXT,                     -- the provider's last batch object (JSON)
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL)""")
    conn.execute("CREATE INDEX batch_batches_by_submission ON batch_batches (submission, position)")
    conn.execute("""CREATE TABLE batch_items (
        submission TEXT NOT NULL,
        idx INTEGER NOT NULL,          -- 0-based position in the input
        item_id TEXT NOT NULL,
        line INTEGER NOT NULL,         -- 1-based input line
        chunk INTEGER,                 -- the batch it went in; NULL: never sent
        custom_id TEXT,
        failed TEXT,                   -- its output line when it was never sent
        schema INTEGER,                -- its answer's schema (batch_schemas.n), if any
        PRIMARY KEY (submission, idx))""")
    conn.execute("""CREATE TABLE batch_schemas (
        submission TEXT NOT NULL,
        n INTEGER NOT NULL,
        body TEXT NOT NULL,            -- a JSON Schema the answers are checked against
        PRIMARY KEY (submission, n))""")


store.register("batch", [_v1])


class Batch(NamedTuple):
    id: str
    submission: str
    position: int
    kind: str
    provider: str
    base_url: str
    model: str | None
    requests: int
    state: str | None
    ended: bool
    counts: dict
    created_at: float


class ItemRow(NamedTuple):
    idx: int
    item_id: str
    line: int
    chunk: int | None
    custom_id: str | None
    failed: str | None
    schema: str | None  # the JSON Schema its answer must match (JSON text)


_BATCH_COLUMNS = ("id, submission, position, kind, provider, base_url, model, requests, "
                  "state, ended, counts, created_at")


class LedgerError(UsageError):
    """The ledger cannot be read or written (locked past the busy timeout, corrupt,
    read-only, full): exit 2, never an internal error."""


def _guarded(method):
    """A database failure of `method` as a LedgerError, its transaction rolled back."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        import sqlite3
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            self.rollback()
            raise LedgerError(f"the batch ledger cannot be used: {exc}") from None
    return guarded


def _server_json(value) -> str:
    """What a server sent, as the ledger keeps it: JSON without the run's secrets (a
    server may echo a key)."""
    return masked(json.dumps(value))


class Ledger:
    def __init__(self, conn, environ=None) -> None:
        self.conn = conn
        self.environ = environ if environ is not None else {}

    def rollback(self) -> None:
        store.rollback(self.conn)

    @contextmanager
    def _writing(self):
        """One write transaction. Another process's lock is waited for in slices
        (store.begin_write), so that a Ctrl-C ends the wait at once instead of after the
        whole busy timeout."""
        store.begin_write(self.conn, self.environ)
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    @classmethod
    def open(cls, environ, *, create: bool = True) -> "Ledger":
        """Raises store.StoreError when the database cannot be used."""
        return cls(store.connect(environ, create=create), environ)

    def close(self) -> None:
        self.conn.close()

    @_guarded
    def new_submission(self, input_name: str, items: int) -> str:
        ident = "sub_" + secrets.token_hex(8)
        with self._writing():
            self.conn.execute("INSERT INTO batch_submissions VALUES (?, ?, ?, ?)",
                              (ident, time.time(), input_name, items))
        return ident

    @_guarded
    def add_items(self, submission: str, rows: list, schemas: dict) -> None:
        """rows: (idx, item_id, line, chunk, custom_id, failed line or None, schema n or
        None); schemas: JSON Schema text -> its n, those not recorded yet."""
        with self._writing():
            self.conn.executemany("INSERT INTO batch_schemas VALUES (?, ?, ?)",
                                  [(submission, n, body) for body, n in schemas.items()])
            self.conn.executemany("INSERT INTO batch_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  [(submission, *row) for row in rows])

    @_guarded
    def add_batch(self, submission: str, position: int, status, *, kind: str,
                  provider: str, base_url: str, model: str | None, requests: int) -> None:
        now = time.time()
        with self._writing():
            self.conn.execute(
                f"INSERT INTO batch_batches ({_BATCH_COLUMNS}, info, updated_at) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (status.id, submission, position, kind, provider, base_url, model, requests,
                 masked(status.state), int(status.ended), _server_json(status.counts), now,
                 _server_json(status.raw), now))

    def update(self, status) -> bool:
        """The batch's last known state; False when it could not be recorded (the state is
        only a cache for `list`: a locked ledger must not end a command)."""
        import sqlite3
        try:
            with self._writing():
                self.conn.execute("UPDATE batch_batches SET state = ?, ended = ?, "
                                  "counts = ?, info = ?, updated_at = ? WHERE id = ?",
                                  (masked(status.state), int(status.ended),
                                   _server_json(status.counts), _server_json(status.raw),
                                   time.time(), status.id))
        except sqlite3.Error:
            return False
        return True

    @_guarded
    def find(self, ident: str) -> list[Batch]:
        """The batches ID names: a provider batch id, or a submission id (all of its)."""
        rows = self.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batch_batches WHERE id = ? "
                                 f"OR submission = ? ORDER BY position", (ident, ident))
        return [_batch(row) for row in rows]

    def batches_of(self, submission: str) -> list[Batch]:
        return self.find(submission)

    @_guarded
    def submission_of(self, ident: str) -> str | None:
        """The submission ID is, or that batch ID belongs to; None if unknown."""
        row = self.conn.execute("SELECT id FROM batch_submissions WHERE id = ? UNION "
                                "SELECT submission FROM batch_batches WHERE id = ?",
                                (ident, ident)).fetchone()
        return row[0] if row else None

    def items(self, submission: str, chunk: int | None = None,
              unsent: bool = True) -> Iterator[ItemRow]:
        """The submission's items in input order: those of batch `chunk` (None: all),
        with the never-sent ones if `unsent`."""
        where, args = "i.submission = ?", [submission]
        if chunk is not None:
            where += " AND (i.chunk = ?" + (" OR i.chunk IS NULL)" if unsent else ")")
            args.append(chunk)
        query = (f"SELECT i.idx, i.item_id, i.line, i.chunk, i.custom_id, i.failed, s.body "
                 f"FROM batch_items i LEFT JOIN batch_schemas s "
                 f"ON s.submission = i.submission AND s.n = i.schema "
                 f"WHERE {where} ORDER BY i.idx")
        rows = self._rows(query, args)
        while True:
            row = self._next(rows)
            if row is None:
                return
            yield ItemRow(*row)

    @_guarded
    def _rows(self, query: str, args: list):
        return self.conn.execute(query, args)

    @_guarded
    def _next(self, rows):
        return next(rows, None)

    @_guarded
    def recent(self, limit: int) -> list[Batch]:
        limit = min(limit, 2**63 - 1)  # SQLite's largest integer: more is every batch anyway
        rows = self.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batch_batches "
                                 f"ORDER BY created_at DESC, position DESC LIMIT ?", (limit,))
        return [_batch(row) for row in rows]


def _batch(row) -> Batch:
    values = list(row)
    values[9] = bool(values[9])
    values[10] = json.loads(values[10]) if values[10] else {}
    return Batch(*values)
