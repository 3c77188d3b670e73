"""The log of exchanges: its tables, writing one exchange, the queries that read it.

The log of exchanges: its tables (the "log" part of `store`), writing one exchange, and
the queries behind `-c`/`--cid` and `streamcli logs`.

One table, `exchanges`, one row per exchange; a conversation is the rows that share a
`conversation_id`, in the order they were recorded (`seq`). `exchanges_fts` is a
contentless FTS5 index of the prompts and answers (both ends of long ones, `FTS_EDGE`),
made when this Python's SQLite has FTS5; search falls back to LIKE without it. JSON columns hold JSON text. Times are UTC, ISO 8601, to the
millisecond ("2026-11-21T09:30:00.123Z"), so that they sort and compare as text.
"""

from __future__ import annotations

import json
import time

from streamcli import logrows, store

PART = "log"
# The columns of `exchanges` after seq, in order; those in JSON_COLUMNS hold JSON text.
COLUMNS = ("id", "conversation_id", "time", "provider", "protocol", "model", "base_url",
           "system", "prior", "prompt", "attachments", "text", "thinking", "refusal",
           "tool_calls", "stop_reason", "stop_reason_raw", "usage", "input_tokens",
           "output_tokens", "ttft_ms", "duration_ms", "status", "exit_code", "response_id",
           "request_id", "error")
JSON_COLUMNS = frozenset({"prior", "attachments", "tool_calls", "usage", "error"})
_SCHEMA_V1 = ("""
CREATE TABLE exchanges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- recording order: the latest is the most recent
    id TEXT NOT NULL UNIQUE,                -- the exchange's id
    conversation_id TEXT NOT NULL,
    time TEXT NOT NULL,                     -- when the request started (UTC)
    provider TEXT,                          -- anthropic, openai, or a provider of the config
    protocol TEXT,                          -- the wire protocol
    model TEXT,
    base_url TEXT,                          -- without credentials, never the key
    system TEXT,
    prior TEXT,                             -- JSON: turns given by --messages before this one
    prompt TEXT NOT NULL,                   -- as sent, stdin context included
    attachments TEXT,                       -- JSON: [{name, type, size, sha256}]
    text TEXT NOT NULL,                     -- the answer as printed (partial if cut short)
    thinking TEXT,
    refusal TEXT,
    tool_calls TEXT,                        -- JSON, as in --no-stream
    stop_reason TEXT,
    stop_reason_raw TEXT,
    usage TEXT,                             -- JSON, as in --no-stream
    input_tokens INTEGER,
    output_tokens INTEGER,
    ttft_ms REAL,
    duration_ms REAL,
    status TEXT NOT NULL,                   -- ok, error, cancelled
    exit_code INTEGER NOT NULL,
    response_id TEXT,                       -- the provider's message id
    request_id TEXT,
    error TEXT                              -- JSON: the error object of --no-stream
)""",
    "CREATE INDEX exchanges_by_conversation ON exchanges (conversation_id, seq)",
    "CREATE INDEX exchanges_by_time ON exchanges (time)",
)
FTS_TABLE = "exchanges_fts"
# The full-text index holds at most this many characters from each end of a prompt or
# answer (indexing costs about 16 ms per MB at the run's end; the question sits at the
# end of the prompt): every realistic prompt whole, a 100 MB pipe bounded. The table
# keeps the whole text (LIKE and export see all of it).
FTS_EDGE = 1024 * 1024


def _v1(conn) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)
    if fts5_available(conn):
        # Contentless: only the index (its rowid is the exchange's seq); the text stays
        # in `exchanges`.
        conn.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(prompt, text, content='')")


store.register(PART, [_v1])


def fts5_available(conn) -> bool:
    """Whether this Python's SQLite has FTS5 (asked at run time: builds differ)."""
    import sqlite3
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)")
        conn.execute("DROP TABLE temp.fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def has_fts(conn) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                        (FTS_TABLE,)).fetchone() is not None


# --- identities and times -------------------------------------------------------------

def utc(seconds: float) -> str:
    """A Unix time as the log writes it."""
    whole = int(seconds)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            + f".{int((seconds - whole) * 1000):03d}Z")


# --- writing ----------------------------------------------------------------------------

def write(environ, row: dict) -> None:
    """Record one exchange (a dict of COLUMNS, JSON columns as Python values): one short
    transaction. StoreError (or sqlite3.Error) when it cannot be written."""
    conn = store.connect(environ)
    try:
        values = [json.dumps(row.get(c), ensure_ascii=False) if c in JSON_COLUMNS
                  and row.get(c) is not None else row.get(c) for c in COLUMNS]
        store.begin_write(conn, environ)
        try:
            cursor = conn.execute(f"INSERT INTO exchanges ({', '.join(COLUMNS)}) "
                                  f"VALUES ({', '.join('?' * len(COLUMNS))})", values)
            if has_fts(conn):
                conn.execute(f"INSERT INTO {FTS_TABLE} (rowid, prompt, text) VALUES (?, ?, ?)",
                             (cursor.lastrowid, indexed(row["prompt"]), indexed(row["text"])))
            conn.execute("COMMIT")
        except BaseException:
            store.rollback(conn)
            raise
    finally:
        conn.close()


def indexed(text: str) -> str:
    """What the full-text index gets of a long text: both ends."""
    return text if len(text) <= 2 * FTS_EDGE else text[:FTS_EDGE] + "\n...\n" + text[-FTS_EDGE:]


# --- reading ----------------------------------------------------------------------------

def open_log(environ):
    """A connection for reading (migrated in place if an older streamcli made it);
    StoreError when there is no log yet or it cannot be used."""
    return store.connect(environ, create=False)


def _rows(cursor):
    """Rows as dicts with the JSON columns decoded, one at a time: a log of large
    exchanges is never held in memory (sqlite3 steps one row per iteration)."""
    names = [d[0] for d in cursor.description]
    for value in cursor:
        yield logrows.decoded(dict(zip(names, value)))


_SELECT = f"SELECT {', '.join('e.' + c for c in COLUMNS)} FROM exchanges e"


def latest_conversation(conn) -> str | None:
    row = conn.execute("SELECT conversation_id FROM exchanges ORDER BY seq DESC LIMIT 1"
                       ).fetchone()
    return row[0] if row else None


def conversation(conn, conversation_id: str) -> list[dict]:
    """Its exchanges, oldest first (empty for an unknown id)."""
    return list(_rows(conn.execute(f"{_SELECT} WHERE e.conversation_id = ? ORDER BY e.seq",
                                   (conversation_id,))))


def conversations(conn, limit: int):
    """The most recent conversations, one at a time: id, time and model of the latest
    exchange, the first prompt, the number of exchanges (the groups first, then the rows
    by seq: a sorted join would hold every prompt in SQLite's sorter)."""
    for cid, first, last, n in conn.execute(
            "SELECT conversation_id, MIN(seq), MAX(seq), COUNT(*) FROM exchanges GROUP BY "
            "conversation_id ORDER BY MAX(seq) DESC LIMIT ?", (limit,)).fetchall():
        tail = conn.execute("SELECT time, model FROM exchanges WHERE seq = ?", (last,)).fetchone()
        head = conn.execute("SELECT prompt FROM exchanges WHERE seq = ?", (first,)).fetchone()
        yield dict(conversation_id=cid, time=tail[0], model=tail[1], prompt=head[0], exchanges=n)


def search(conn, text: str, limit: int, *, fts: bool | None = None):
    """Exchanges whose prompt or answer holds every word of `text` (FTS5: words starting
    so; LIKE: anywhere), most recent first, one at a time. fts=None: FTS5 when the log has
    its index. A word with no letter or digit ("->", "==") holds no token FTS5 could find:
    LIKE looks for it."""
    import sqlite3
    words = text.split()
    if fts is None:
        fts = has_fts(conn)
    if fts and all(any(c.isalnum() for c in w) for w in words):
        query = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
        try:
            seqs = conn.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? "
                                f"ORDER BY rowid DESC LIMIT ?", (query, limit)).fetchall()
        except sqlite3.OperationalError:
            pass  # a query FTS5 cannot parse: LIKE can still answer
        else:
            yield from _by_seq(conn, seqs)
            return
    clauses, args = [], []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(e.prompt LIKE ? ESCAPE '\\' OR e.text LIKE ? ESCAPE '\\')")
        args += [pattern, pattern]
    found = conn.execute(f"SELECT e.seq FROM exchanges e WHERE {' AND '.join(clauses)} "
                         f"ORDER BY e.seq DESC LIMIT ?", (*args, limit)).fetchall()
    yield from _by_seq(conn, found)


def _by_seq(conn, seqs):
    """The exchanges of these seqs (1-tuples), in order, read whole one at a time."""
    for (seq,) in seqs:
        yield from _rows(conn.execute(f"{_SELECT} WHERE e.seq = ?", (seq,)))


def export(conn, since: str | None = None, until: str | None = None):
    """Every exchange from `since` (inclusive) to `until` (exclusive), oldest first, one at
    a time (a large log is never held in memory)."""
    bounds = [(c, v) for c, v in (("e.time >= ?", since), ("e.time < ?", until)) if v is not None]
    clauses, args = [c for c, _ in bounds], [v for _, v in bounds]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    yield from _rows(conn.execute(f"{_SELECT}{where} ORDER BY e.seq", args))


def recent_ids(environ, limit: int = 20) -> list[tuple[str, str]]:
    """(conversation id, its first prompt) of the latest conversations, for completion:
    read-only, never creating, migrating or waiting; empty when there is no usable log."""
    import sqlite3
    try:
        conn = store.connect_readonly(environ)
    except store.StoreError:
        return []
    try:
        return [(r["conversation_id"], r["prompt"]) for r in conversations(conn, limit)]
    except (sqlite3.Error, ValueError):  # ValueError: a damaged row (logrows)
        return []
    finally:
        conn.close()
