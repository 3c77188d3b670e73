"""The queries that read the log: for -c/--cid, and for `streamcli logs`.

A conversation for -c/--cid; the lists, search and export of `streamcli logs`. Rows come
back one at a time, checked (`logrows`), with a long text read from `long_texts` into its
column (see `logbook`)."""

from __future__ import annotations

from streamcli import logbook, logrows, store


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


def _column(name: str) -> str:
    """A column of `exchanges e` as readers see it: a long text from `long_texts`. Its
    UTF-8 bytes are cast to text; a value of another type comes as it is, so that a
    damaged one (a number) is found damaged (`logrows`), not read as its digits."""
    if name not in logbook.LONG_TEXTS:
        return f"e.{name}"
    return (f"COALESCE((SELECT CASE typeof(l.data) WHEN 'blob' THEN CAST(l.data AS TEXT) "
            f"ELSE l.data END FROM long_texts l WHERE l.seq = e.seq AND l.name = '{name}'), "
            f"e.{name})")


_SELECT = (f"SELECT {', '.join(_column(c) + ' AS ' + c for c in logbook.COLUMNS)} "
           f"FROM exchanges e")


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
        fts = logbook.has_fts(conn)
    if fts and all(any(c.isalnum() for c in w) for w in words):
        query = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
        try:
            table = logbook.FTS_TABLE
            seqs = conn.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ? "
                                f"ORDER BY rowid DESC LIMIT ?", (query, limit)).fetchall()
        except sqlite3.OperationalError:
            pass  # a query FTS5 cannot parse: LIKE can still answer
        else:
            yield from _by_seq(conn, seqs)
            return
    clauses, args = [], []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(f"(e.prompt LIKE ? ESCAPE '\\' OR {_column('text')} LIKE ? ESCAPE '\\')")
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
