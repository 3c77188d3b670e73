"""The long answer's spool (textspool), its masking in pieces (Redactor.stream) and its
place in the log (long_texts), attacked with inputs nobody had named. Each test failed on
the commit before its fix, except the property tests that say they are guards (their
failing example is a test of its own)."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcli import logbook, textspool
from streamcli.redact import Redactor
from tests.helpers import logdb
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS
from tests.helpers.sse import anthropic_sse
from tests import test_log_robust
from tests import test_long_answers as long_answers
from tests.test_long_answers import answer_of, spooled

small_spool = long_answers.small_spool  # the fixture: 64 characters in memory, 7-byte reads
unwritable = test_log_robust.unwritable  # the fixture: a directory nobody can write

# ------------------------------------------------------------------ masking in pieces


def test_a_secret_that_repeats_itself_does_not_hold_the_text_back():
    """A periodic secret (a placeholder key "xxxxxxxx") over a long run of it: masking
    in pieces moved its cut back to the run's start on every piece, so it held the whole
    text (memory that grows with the answer) and copied it again per piece (a 1.6 MB run
    took minutes). Output must come as the input goes in."""
    redactor = Redactor(["xxxxxxxx"])
    size, count = 8192, 8
    pulled = []

    def pieces():
        for i in range(count):
            pulled.append(i)
            yield "x" * size

    out = redactor.stream(pieces())
    first = next(out)
    assert len(pulled) <= 2 and first.startswith("***")
    rest = "".join(out)
    assert first + rest == redactor("x" * size * count)


STAR_PARTS = st.sampled_from(["k", "e", "y", "*", "-"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(STAR_PARTS, min_size=8, max_size=12), min_size=2, max_size=3),
       st.text(STAR_PARTS, max_size=100), st.lists(st.integers(0, 100), max_size=6))
def test_masking_in_pieces_equals_the_whole_when_a_mask_completes_a_secret(secrets, text,
                                                                           cuts):
    """A secret with '*' in it (a password may have one): masking the whole text replaces
    one secret after the other, and the *** of a longer one may complete a shorter one.
    In pieces, the cut after the longer one left the shorter one unmasked. (A guard: the
    case it failed on is the test below.)"""
    redactor = Redactor(secrets)
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    assert "".join(redactor.stream(pieces)) == redactor(text)


def test_a_mask_that_completes_a_secret_at_a_cut():
    redactor = Redactor(["XXXXXXXXXX", "*Yabcdefg"])
    text = "XXXXXXXXXXYabcdefg" + "z" * 30
    assert redactor(text) == "*****" + "z" * 30
    for cut in range(len(text) + 1):
        assert "".join(redactor.stream([text[:cut], text[cut:]])) == redactor(text)


# ------------------------------------------------------------------ a disk that fails


@pytest.mark.parametrize("failing_write", [1, 2, 3, 5])
def test_a_disk_that_cannot_give_the_text_back_costs_the_log_not_the_answer(
        cli, small_spool, monkeypatch, failing_write):
    """A write to the temporary file fails (a full disk), and so does reading back what
    it held: the OSError went up through Transcript.add, before the piece was printed:
    the answer was cut short and the run ended in an internal error (exit 1). The log
    is what is given up: one warning."""
    real_write, calls = os.write, []

    def write(fd, data):
        calls.append(len(data))
        if len(calls) >= failing_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def pread(fd, size, offset):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(textspool.os, "write", write)
    monkeypatch.setattr(textspool.os, "pread", pread)
    cli.env(**ANTHROPIC_KEY).serve(answer_of(["word "] * 100, thinking=["t "] * 60))
    r = cli.run("-m", "claude-x", "q")
    assert (r.code, r.out) == (0, b"word " * 100 + b"\n")
    assert "this exchange was not logged" in r.err and r.err.count("\n") == 1
    assert not logdb.db_files(cli.environ)  # the row was never begun


def test_a_lost_text_is_said_and_a_retry_starts_afresh(small_spool, monkeypatch):
    monkeypatch.setattr(textspool.os, "write", lambda fd, data: _raise(errno.ENOSPC))
    monkeypatch.setattr(textspool.os, "pread", lambda fd, n, at: _raise(errno.EIO))
    text = spooled(["word "] * 100)
    text.compact()
    assert text and not text.chunks and not text.recent  # nothing held for nothing
    with pytest.raises(OSError, match="could not be kept"):
        str(text)
    text.clear()
    text.append("again")
    assert str(text) == "again"


def _raise(code: int):
    raise OSError(code, os.strerror(code))


# ------------------------------------------------------------------ reading it back

TEXTS = st.lists(st.text(alphabet=st.sampled_from(
    ["a", "é", "\U0001F600", "\ud83d", "\ude00", "\udcff"]), max_size=6), max_size=30)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(1, 8), st.integers(4, 40))
def test_pieces_of_any_size_give_the_text_back(pieces, read, spill_at):
    """Reads of 1 to 8 (bytes on disk, characters in memory): a read of one character
    that is the first half of a pair gave an empty piece, forever (the text in memory
    moved back by one, to where it started)."""
    import itertools
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(textspool, "_READ", read)
        mp.setattr(textspool, "SPILL_AT", spill_at)
        mp.setattr(textspool, "COMPACT_AT", 2)
        text = spooled(pieces)
        whole = "".join(pieces)
        back = list(itertools.islice(text.pieces(), 4 * len(whole) + 2))
        assert "".join(back) == whole and all(back)
        assert all(not ("\ud800" <= p[-1] <= "\udbff" and "\udc00" <= n[0] <= "\udfff")
                   for p, n in zip(back, back[1:]))


# ------------------------------------------------------------------ a damaged long text


@pytest.mark.parametrize("column", ["text", "thinking"])
@pytest.mark.parametrize("value", ["5", "4.5", "X'41ff42'"])
def test_a_damaged_long_text_is_a_clear_error(cli, small_spool, column, value):
    """A long text that is not UTF-8 bytes: a number was read as its digits (CAST), so
    `logs export` gave "5" for the answer and -c sent it back as the assistant's turn.
    Each reader now says the log is damaged (exit 2, one line). Invalid UTF-8 already was
    an error; it stays one."""
    cli.env(**ANTHROPIC_KEY).serve(answer_of(["word "] * 100, thinking=["t "] * 60))
    assert cli.run("-m", "claude-x", "q").code == 0
    with contextlib.closing(sqlite3.connect(logdb.db_path(cli.environ),
                                            isolation_level=None)) as conn:
        assert conn.execute(f"UPDATE long_texts SET data = {value} WHERE name = ?",
                            (column,)).rowcount == 1
    for args in (("logs", "export"), ("logs", "show"), ("logs", "search", "word"),
                 ("-c", "next")):
        r = cli.run(*args)
        assert (r.code, r.out) == (2, b""), args
        assert r.err.count("\n") == 1 and "Traceback" not in r.err, args
        assert "damaged" in r.err or "decode" in r.err, args


# ------------------------------------------------------------------ secrets from os.environ


def test_a_proxy_password_of_undecodable_bytes_is_masked_not_a_crash(cli, small_spool):
    """os.environ gives a byte that is not UTF-8 as a lone surrogate (surrogateescape):
    the percent and base64 forms of such a password encoded it strictly, so every run
    with that HTTPS_PROXY ended in an internal error before it began (exit 1). Its forms
    are of the bytes as they are sent; bytes a server echoes are masked too."""
    password = "pa\udcffssword-long"
    cli.env(**ANTHROPIC_KEY, HTTPS_PROXY=f"http://user:{password}@proxy.example:8080")
    cli.serve(answer_of(["word "] * 100))
    r = cli.run("-m", "claude-x", "q")
    assert (r.code, r.out) == (0, b"word " * 100 + b"\n")
    redactor = Redactor([password])
    assert redactor(b"<pa\xffssword-long>") == b"<***>"
    assert redactor("<pa%FFssword-long>") == "<***>"
    text = f"<{password}>" * 3
    assert "".join(redactor.stream([text[:5], text[5:]])) == redactor(text) == "<***>" * 3


# ------------------------------------------------------------------ a log of version 1


def test_a_log_of_version_1_on_a_read_only_disk_still_reads(processes, fake_server,
                                                            unwritable):
    """Reading a log where it cannot be written (a read-only disk) works by reading it as
    it is; a log of version 1 there now needed the migration to version 2 (long_texts),
    which cannot be made read-only: -c and every `logs` command failed ("attempt to write
    a readonly database", exit 2). It reads as what it is: a log with no long text.
    (Real processes: in this one, another part's tables may be registered too.)"""
    folder, lock = unwritable
    path = folder / "logs.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        logbook._v1(conn)
        conn.execute("CREATE TABLE schema_versions (part TEXT PRIMARY KEY, version INTEGER "
                     "NOT NULL)")
        conn.execute("INSERT INTO schema_versions VALUES ('log', 1)")
        conn.execute("INSERT INTO exchanges (id, conversation_id, time, provider, protocol, "
                     "model, prompt, text, status, exit_code) VALUES ('e1', 'c1', "
                     "'2026-11-01T00:00:00.000Z', 'anthropic', 'anthropic', 'claude-x', "
                     "'earlier', 'old answer', 'ok', 0)")
        if logbook.has_fts(conn):
            conn.execute(f"INSERT INTO {logbook.FTS_TABLE} (rowid, prompt, text) VALUES "
                         f"(1, 'earlier', 'old answer')")
        conn.execute("PRAGMA journal_mode=WAL")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    fake_server.default = Reply(body=anthropic_sse(["new"], model="claude-x"))
    env = {**FAKE_KEYS, "STREAMCLI_DB": path}
    lock(True)
    for args in (["logs", "list"], ["logs", "show"], ["logs", "export"],
                 ["logs", "search", "old"]):
        r = processes.run(args, env=env)
        assert r.returncode == 0 and b"earlier" in r.stdout, (args, r.stderr)
    r = processes.run(["-c", "--provider", "anthropic", "-m", "claude-x", "--base-url",
                       fake_server.url, "--retries", "0", "again"], env=env)
    assert (r.returncode, r.stdout) == (0, b"new\n") and b"not logged" in r.stderr
    sent = fake_server.requests[-1].json["messages"]
    assert [m["content"] for m in sent] == ["earlier", "old answer", "again"]
    lock(False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
