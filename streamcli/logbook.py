"""The log of exchanges: its tables, and writing one exchange (`logreader` reads them).

Its tables are the "log" part of `store`. One row per exchange in `exchanges`; a conversation is the rows that share a
`conversation_id`, in the order they were recorded (`seq`). A very long answer (or its
thinking) waits in `long_texts` instead of its column (see `LONG_TEXTS`); readers see one
column either way. `exchanges_fts` is a contentless FTS5 index of the prompts and answers
(both ends of long ones: `FTS_EDGE`, `ANSWER_EDGE`), made when this Python's SQLite has
FTS5; search falls back to LIKE without it. JSON columns hold JSON text. Times are UTC,
ISO 8601, to the millisecond ("2026-11-21T09:30:00.123Z"), so that they sort and compare
as text.
"""

from __future__ import annotations

import json
import time

from streamcli import store
from streamcli.textspool import SPILL_AT

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
# The full-text index holds at most this many characters from each end of a prompt
# (indexing costs about 16 ms per MB at the run's end; the question sits at the end of
# the prompt): every realistic prompt whole, a 100 MB pipe bounded. The table keeps the
# whole text (LIKE and export see all of it).
FTS_EDGE = 1024 * 1024
# And this many from each end of an answer (or its thinking): every answer short enough
# to be held in memory (textspool.SPILL_AT) is indexed whole; of a longer one, read back
# from disk, both ends, in memory that does not grow with the answer.
ANSWER_EDGE = SPILL_AT // 2


def _v1(conn) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)
    if fts5_available(conn):
        # Contentless: only the index (its rowid is the exchange's seq); the text stays
        # in `exchanges`.
        conn.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(prompt, text, content='')")


# A text too long to hold in memory (the answer of a very long run) is not bound whole
# into the row (SQLite would hold it twice more, and expands a zeroblob that is not the
# record's last value): it goes to `long_texts` as UTF-8 bytes in the last column, written
# in place piece by piece (incremental blob I/O), and the row's own column holds '' (text)
# or NULL (thinking). Readers see one column either way (`logreader`).
LONG_TEXTS = ("text", "thinking")
_SCHEMA_V2 = """
CREATE TABLE long_texts (
    seq INTEGER NOT NULL,    -- the exchange's seq
    name TEXT NOT NULL,      -- the column it stands for: text or thinking
    data BLOB NOT NULL,      -- its UTF-8 bytes
    PRIMARY KEY (seq, name)
)"""


def _v2(conn) -> None:
    conn.execute(_SCHEMA_V2)


def _unmigrated(conn, version: int) -> bool:
    """A log of version 1 where it cannot be migrated (a read-only disk) holds no long
    text: readers see an empty `long_texts`."""
    if version != 1:
        return False
    conn.execute(_SCHEMA_V2.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    return True


store.register(PART, [_v1, _v2], _unmigrated)


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
    """Record one exchange (a dict of COLUMNS, JSON columns as Python values; a long text
    may be a value with `pieces()`, written piece by piece): one short transaction.
    StoreError (or sqlite3.Error) when it cannot be written."""
    # Measured before the write lock is taken: the reading of a long text holds no one up.
    long = {c: _measure(row[c]) for c in COLUMNS if hasattr(row.get(c), "pieces")}
    conn = store.connect(environ)
    try:
        values = [("" if c == "text" else None) if c in long else
                  json.dumps(row.get(c), ensure_ascii=False) if c in JSON_COLUMNS
                  and row.get(c) is not None else row.get(c) for c in COLUMNS]
        store.begin_write(conn, environ)
        try:
            seq = conn.execute(f"INSERT INTO exchanges ({', '.join(COLUMNS)}) "
                               f"VALUES ({', '.join('?' * len(COLUMNS))})", values).lastrowid
            for column, value in long.items():
                _fill(conn, column, seq, row[column], value.size)
            if has_fts(conn):
                text = (long["text"].indexed if "text" in long
                        else indexed(row["text"], ANSWER_EDGE))
                conn.execute(f"INSERT INTO {FTS_TABLE} (rowid, prompt, text) VALUES (?, ?, ?)",
                             (seq, indexed(row["prompt"]), text))
            conn.execute("COMMIT")
        except BaseException:
            store.rollback(conn)
            raise
    finally:
        conn.close()


def indexed(text: str, edge: int | None = None) -> str:
    """What the full-text index gets of a long text: both ends (`edge` characters each,
    FTS_EDGE unless given)."""
    edge = FTS_EDGE if edge is None else edge
    return text if len(text) <= 2 * edge else text[:edge] + "\n...\n" + text[-edge:]


class _Measured:
    __slots__ = ("size", "indexed")

    def __init__(self, size: int, indexed: str) -> None:
        self.size = size        # bytes of UTF-8
        self.indexed = indexed  # what indexed() gives of the whole text


def _measure(value) -> _Measured:
    """The size of a long text and what the index gets of it (`indexed()` with
    ANSWER_EDGE), read once in pieces."""
    size = 0
    head: list[str] = []
    head_len = 0
    tail: list[str] = []  # the last pieces after the head, at least ANSWER_EDGE characters
    tail_len = 0
    chars = 0
    for piece in value.pieces():
        size += len(piece.encode("utf-8"))
        chars += len(piece)
        if head_len < ANSWER_EDGE:
            take = piece[:ANSWER_EDGE - head_len]
            head.append(take)
            head_len += len(take)
            piece = piece[len(take):]
        if piece:
            tail.append(piece)
            tail_len += len(piece)
            while tail_len - len(tail[0]) >= ANSWER_EDGE:
                tail_len -= len(tail.pop(0))
    first, rest = "".join(head), "".join(tail)
    if chars <= 2 * ANSWER_EDGE:  # then nothing was dropped: the whole text, as indexed() does
        return _Measured(size, first + rest)
    return _Measured(size, first + "\n...\n" + rest[-ANSWER_EDGE:])


def _fill(conn, column: str, seq: int, value, size: int) -> None:
    """A long text into `long_texts`, piece by piece into a zeroblob of its size; a text
    that came out another size than measured (it cannot, but a wrong record must not be
    kept) fails the write."""
    rowid = conn.execute("INSERT INTO long_texts (seq, name, data) VALUES (?, ?, zeroblob(?))",
                         (seq, column, size)).lastrowid
    written = 0
    with conn.blobopen("long_texts", "data", rowid) as blob:
        for piece in value.pieces():
            data = piece.encode("utf-8")
            if written + len(data) > size:
                raise store.StoreError(f"the {column} changed while it was written")
            blob.write(data)
            written += len(data)
    if written != size:
        raise store.StoreError(f"the {column} changed while it was written")
