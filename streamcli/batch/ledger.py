"""The ledger of submitted provider batches, in the state database (`store`, part
"batch"): each submission (one input), its provider batches, and each item's id, input
position and the custom_id the provider knows it by, so results come back in input
order with their ids. Never a key or an auth header: a batch records the name of the
provider whose key it needs, which is looked up again when it is used."""

from __future__ import annotations

import json
import secrets
import time
from typing import Iterator, NamedTuple

from streamcli import store


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


class Ledger:
    def __init__(self, conn) -> None:
        self.conn = conn

    @classmethod
    def open(cls, environ, *, create: bool = True) -> "Ledger":
        """Raises store.StoreError when the database cannot be used."""
        return cls(store.connect(environ, create=create))

    def close(self) -> None:
        self.conn.close()

    def new_submission(self, input_name: str, items: int) -> str:
        ident = "sub_" + secrets.token_hex(8)
        self.conn.execute("INSERT INTO batch_submissions VALUES (?, ?, ?, ?)",
                          (ident, time.time(), input_name, items))
        return ident

    def add_items(self, submission: str, rows: list, schemas: dict) -> None:
        """rows: (idx, item_id, line, chunk, custom_id, failed line or None, schema n or
        None); schemas: JSON Schema text -> its n, those not recorded yet."""
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO batch_schemas VALUES (?, ?, ?)",
                              [(submission, n, body) for body, n in schemas.items()])
        self.conn.executemany("INSERT INTO batch_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              [(submission, *row) for row in rows])
        self.conn.execute("COMMIT")

    def add_batch(self, submission: str, position: int, status, *, kind: str,
                  provider: str, base_url: str, model: str | None, requests: int) -> None:
        now = time.time()
        self.conn.execute(
            f"INSERT INTO batch_batches ({_BATCH_COLUMNS}, info, updated_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (status.id, submission, position, kind, provider, base_url, model, requests,
             status.state, int(status.ended), json.dumps(status.counts), now,
             json.dumps(status.raw), now))

    def update(self, status) -> None:
        self.conn.execute("UPDATE batch_batches SET state = ?, ended = ?, counts = ?, info = ?, "
                          "updated_at = ? WHERE id = ?",
                          (status.state, int(status.ended), json.dumps(status.counts),
                           json.dumps(status.raw), time.time(), status.id))

    def find(self, ident: str) -> list[Batch]:
        """The batches ID names: a provider batch id, or a submission id (all of its)."""
        rows = self.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batch_batches WHERE id = ? "
                                 f"OR submission = ? ORDER BY position", (ident, ident))
        return [_batch(row) for row in rows]

    def batches_of(self, submission: str) -> list[Batch]:
        return self.find(submission)

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
        for row in self.conn.execute(query, args):
            yield ItemRow(*row)

    def recent(self, limit: int) -> list[Batch]:
        rows = self.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batch_batches "
                                 f"ORDER BY created_at DESC, position DESC LIMIT ?", (limit,))
        return [_batch(row) for row in rows]


def _batch(row) -> Batch:
    values = list(row)
    values[9] = bool(values[9])
    values[10] = json.loads(values[10]) if values[10] else {}
    return Batch(*values)
