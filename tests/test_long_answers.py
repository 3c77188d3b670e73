"""A long answer in the log without memory that grows with it: the transcript moves to an
unnamed temporary file past textspool.SPILL_AT (made small here), the log reads it back in
pieces, masks its secrets piece by piece, and writes it into `long_texts` through SQLite's
incremental blob I/O. Every reader sees the same text as for a short answer."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcli import logbook, logreader, store, textspool, transcript
from streamcli.redact import Redactor
from tests.helpers import logdb
from tests.helpers.cli import sse
from tests.helpers.keys import ANTHROPIC_KEY
from tests.helpers.sse import anthropic_sse

SPILL = 64  # characters held in memory in these tests
READ = 7    # bytes per read back: pieces end anywhere, inside a character too


@pytest.fixture
def small_spool(monkeypatch):
    monkeypatch.setattr(textspool, "SPILL_AT", SPILL)
    monkeypatch.setattr(textspool, "COMPACT_AT", 3)
    monkeypatch.setattr(transcript, "COMPACT_AT", 3)
    monkeypatch.setattr(textspool, "_READ", READ)
    monkeypatch.setattr(logbook, "ANSWER_EDGE", 40)


def spooled(pieces) -> textspool.SpooledText:
    text = textspool.SpooledText()
    for piece in pieces:
        text.append(piece)
    return text


# ------------------------------------------------------------------------ the spool itself

TEXTS = st.lists(st.text(alphabet=st.sampled_from(
    ["a", " ", "é", "字", "\U0001F600", "\ud83d", "\ude00", "\udcff", "\n", "\x00"]),
    max_size=12), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_the_spool_gives_back_exactly_what_was_appended(pieces):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(textspool, "SPILL_AT", 16)
        mp.setattr(textspool, "COMPACT_AT", 2)
        mp.setattr(textspool, "_READ", 5)
        text = spooled(pieces)
        whole = "".join(pieces)
        assert str(text) == whole and bool(text) == bool(whole)
        back = list(text.pieces())
        assert "".join(back) == whole
        # No piece ends on the first half of a surrogate pair that the next one completes.
        assert all(not ("\ud800" <= p[-1] <= "\udbff" and n[:1] and "\udc00" <= n[0] <= "\udfff")
                   for p, n in zip(back, back[1:]))
        assert str(text) == whole  # asking again changes nothing


def test_past_its_size_the_text_waits_on_disk_and_clear_forgets_it(small_spool):
    text = spooled(["word "] * 100)
    assert text.spilled and text.chunks == [] and text.written >= SPILL
    assert str(text) == "word " * 100
    text.clear()
    assert not text and str(text) == "" and not text.spilled
    text.append("again")
    assert str(text) == "again"


def test_a_full_disk_brings_the_text_back_into_memory_whole(small_spool, monkeypatch):
    real_write, calls = os.write, []

    def write(fd, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(calls) == 2:  # a short write first: what was written is all kept
            return real_write(fd, bytes(data[:2]))
        return real_write(fd, data)

    monkeypatch.setattr(textspool.os, "write", write)
    pieces = [f"{i:03d}é " for i in range(200)]
    text = spooled(pieces)
    assert len(calls) >= 3 and not text.spilled
    assert str(text) == "".join(pieces)


def test_no_temporary_file_keeps_the_text_in_memory(small_spool, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    text = spooled(["abc"] * 300)
    assert not text.spilled and str(text) == "abc" * 300
    assert list(text.pieces()) and "".join(text.pieces()) == "abc" * 300


# ------------------------------------------------------------------ masking in pieces


SECRET_PARTS = st.sampled_from(["k", "e", "y", "K", "-", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(SECRET_PARTS, min_size=8, max_size=14), min_size=1, max_size=3),
       st.text(SECRET_PARTS, max_size=120), st.lists(st.integers(0, 120), max_size=8))
def test_masking_in_pieces_equals_masking_the_whole(secrets, text, cuts):
    """Secrets made of few letters, so that they overlap each other and themselves, and
    the text cut anywhere."""
    redactor = Redactor(secrets)
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    assert "".join(redactor.stream(pieces)) == redactor(text)


# ------------------------------------------------------------------ through the command


def answer_of(texts, **kw):
    return sse(anthropic_sse(texts, model="claude-x", **kw))


def stored(cli) -> tuple[dict, dict]:
    """The exchanges row as SQLite holds it and the long texts kept apart."""
    with contextlib.closing(sqlite3.connect(logdb.db_path(cli.environ))) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM exchanges ORDER BY seq DESC LIMIT 1").fetchone())
        return row, logdb.long_texts(conn, row["seq"])


def test_a_long_answer_is_logged_whole_and_every_reader_sees_it(cli, small_spool):
    words = [f"w{i:03d} " for i in range(300)]
    thinking = [f"t{i:03d} " for i in range(100)]
    cli.env(**ANTHROPIC_KEY).serve(answer_of(words, thinking=thinking), answer_of(["ok"]))
    r = cli.run("-m", "claude-x", "first question")
    assert (r.code, r.out) == (0, "".join(words).encode() + b"\n")
    row, long = stored(cli)
    assert row["text"] == "" and row["thinking"] is None  # kept apart, written in place
    assert long == {"text": "".join(words).encode(), "thinking": "".join(thinking).encode()}
    (exported,) = [json.loads(line) for line in cli.run("logs", "export").out.splitlines()]
    assert exported["text"] == "".join(words) and exported["thinking"] == "".join(thinking)
    assert "".join(words) in cli.run("logs", "show").out.decode()
    # The index holds both ends (ANSWER_EDGE characters each); LIKE reads all of it.
    assert cli.run("logs", "search", "w000").out and cli.run("logs", "search", "w299").out
    assert not cli.run("logs", "search", "w150").out
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logbook, "has_fts", lambda conn: False)
        assert cli.run("logs", "search", "w150").out
    # Continuing sends it back as the assistant's turn.
    assert cli.run("-c", "next").code == 0
    messages = cli.bodies()[-1]["messages"]
    assert messages[1] == {"role": "assistant", "content": "".join(words)}


def test_a_secret_in_a_long_answer_is_masked_across_every_cut(cli, small_spool):
    key = ANTHROPIC_KEY["ANTHROPIC_API_KEY"]
    # The key split over deltas and over the 7-byte reads, at every offset.
    texts = []
    for shift in range(8):
        texts += ["x" * shift, key[:5], key[5:], " é "]
    cli.env(**ANTHROPIC_KEY).serve(answer_of(texts))
    r = cli.run("-m", "claude-x", "q")
    assert r.out.count(key.encode()) == 8  # stdout is the payload, exact
    _, long = stored(cli)
    assert key.encode() not in long["text"] and long["text"].count(b"***") == 8


def test_long_or_short_the_log_holds_the_same_text(cli, small_spool, monkeypatch):
    """Lone surrogates (broken escapes) as U+FFFD, pairs joined, either way."""
    rng = random.Random(7)
    alphabet = ["ab ", "é", "\U0001F600", "\\ud83d", "\\ude00", "字"]
    texts = ["".join(rng.choice(alphabet) for _ in range(5)) for _ in range(80)]
    body = [part.replace(b"\\\\u", b"\\u") for part in anthropic_sse(texts, model="claude-x")]
    cli.env(**ANTHROPIC_KEY).serve(sse(body), sse(body))
    assert cli.run("-m", "claude-x", "q").code == 0
    _, long = stored(cli)
    monkeypatch.setattr(textspool, "SPILL_AT", 10 ** 9)
    r = cli.run("-m", "claude-x", "q")
    row, short = stored(cli)
    assert short == {} and long["text"].decode("utf-8") == row["text"]
    assert r.out == long["text"] + b"\n"  # and it is what was printed


def test_a_long_answer_in_no_stream_and_schema_is_whole(cli, small_spool):
    parts = ['{"items": [', *[f'"item {i}", ' for i in range(60)], '"last"]}']
    cli.env(**ANTHROPIC_KEY).serve(answer_of(parts), answer_of(parts))
    r = cli.run("--no-stream", "-m", "claude-x", "q")
    assert json.loads(r.out)["text"] == "".join(parts)
    schema = '{"type": "object", "properties": {"items": {"type": "array"}}}'
    r = cli.run("--schema", schema, "--jsonl", "-m", "claude-x", "q")
    (checked,) = [e for e in r.events if e["type"] == "json"]
    assert r.code == 0 and checked["json"]["items"][-1] == "last"


def test_a_text_that_changes_while_written_is_not_kept(cli, small_spool, monkeypatch):
    """The second reading differs from the first (it cannot happen; if it did, a record
    with a wrong text must not stay): one warning, the answer out, no row."""
    real = textspool.SpooledText.pieces
    readings = []

    def pieces(self):
        readings.append(1)
        yield from real(self)
        if len(readings) == 2:
            yield "more"

    monkeypatch.setattr(textspool.SpooledText, "pieces", pieces)
    cli.env(**ANTHROPIC_KEY).serve(answer_of(["word "] * 100))
    r = cli.run("-m", "claude-x", "q")
    assert (r.code, r.out) == (0, b"word " * 100 + b"\n")
    assert "this exchange was not logged" in r.err and r.err.count("\n") == 1
    assert logdb.exchanges(cli.environ) == []


def test_a_log_of_the_previous_version_is_migrated_in_place(tmp_path):
    """A log written before `long_texts` existed gains it, keeps its rows, and reads."""
    path = tmp_path / "logs.db"
    environ = {"STREAMCLI_DB": str(path)}
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        logbook._v1(conn)
        conn.execute("CREATE TABLE schema_versions (part TEXT PRIMARY KEY, version INTEGER "
                     "NOT NULL)")
        conn.execute("INSERT INTO schema_versions VALUES ('log', 1)")
        conn.execute("INSERT INTO exchanges (id, conversation_id, time, prompt, text, status, "
                     "exit_code) VALUES ('e1', 'c1', '2026-11-01T00:00:00.000Z', 'p', 'old', "
                     "'ok', 0)")
    conn = store.connect(environ)
    try:
        (row,) = logreader.conversation(conn, "c1")
        assert row["text"] == "old"
        assert conn.execute("SELECT version FROM schema_versions WHERE part = 'log'"
                            ).fetchone() == (2,)
        assert conn.execute("SELECT COUNT(*) FROM long_texts").fetchone() == (0,)
    finally:
        conn.close()


def test_readers_of_the_whole_answer_keep_it_in_memory(cli, small_spool, monkeypatch):
    """--no-stream and --schema need the answer whole: a disk that fails to give it back
    costs them nothing (the log's own copy may go, with its one warning)."""
    def fail(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(textspool.os, "pread", fail)
    parts = ['{"items": [', *[f'"item {i}", ' for i in range(60)], '"last"]}']
    cli.env(**ANTHROPIC_KEY).serve(answer_of(parts), answer_of(parts))
    r = cli.run("--no-stream", "-m", "claude-x", "q")
    assert r.code == 0 and json.loads(r.out)["text"] == "".join(parts)
    assert r.err.count("this exchange was not logged") == 1
    r = cli.run("--schema", '{"type": "object"}', "-m", "claude-x", "q")
    assert (r.code, r.out, r.err) == (0, "".join(parts).encode() + b"\n", "")
    assert logdb.exchanges(cli.environ)[-1]["text"] == "".join(parts)


@pytest.mark.parametrize("long", [False, True])
def test_a_proxy_password_echoed_in_the_answer_is_not_logged(cli, small_spool, long):
    password = "proxy-pass-0123456789"
    texts = ["echo: ", password] + (["word "] * 100 if long else [])
    cli.env(**ANTHROPIC_KEY, HTTPS_PROXY=f"http://user:{password}@127.0.0.1:3128")
    cli.serve(answer_of(texts))
    r = cli.run("-m", "claude-x", "q")
    assert r.code == 0 and password.encode() in r.out  # stdout is the payload
    with contextlib.closing(sqlite3.connect(logdb.db_path(cli.environ))) as conn:
        dump = "\n".join(conn.iterdump())
    assert password not in dump and "echo: ***" in json.dumps(logdb.exchanges(cli.environ))
