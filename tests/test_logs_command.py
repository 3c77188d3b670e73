"""`streamcli logs list|show|search|export|path` (issue 11): what each prints, in text and
as JSON lines (validated against the schema by the harness), full-text search with FTS5
and with the LIKE fallback, and the failures (no log, a corrupt one, a bad date, a closed
stdout), none of which creates or changes the database."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest

from streamcli import logbook, logreader
from tests.helpers import logdb
from tests.helpers.cli import anthropic_error, sse
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS
from tests.helpers.schema import log_lines
from tests.helpers.sse import anthropic_sse


def answer(text: str):
    return sse(anthropic_sse([text], model="claude-x"))


@pytest.fixture
def logged(cli):
    """Three conversations: "alpha" (two exchanges, the second failed), "beta", "gamma"."""
    cli.env(**ANTHROPIC_KEY, COLUMNS="80").serve(
        answer("Paris is the capital."), anthropic_error(400, "invalid_request_error"),
        answer("Bananas are yellow."), answer("Sorting: quicksort, mergesort."))
    ids = []
    r = cli.run("--jsonl", "-m", "claude-x", "-s", "Be brief.", "alpha: capital of France?")
    ids.append(r.events[0]["conversation_id"])
    cli.run("-c", "--retries", "0", "alpha: and of Spain?")
    ids.append(cli.run("--jsonl", "-m", "claude-x", "beta: colour of\nbananas?").events[0]
               ["conversation_id"])
    ids.append(cli.run("--jsonl", "-m", "claude-x", "gamma: name sorting algorithms "
                       + "x" * 200).events[0]["conversation_id"])
    return ids


def test_list_is_latest_first_one_line_each_cut_to_the_width(cli, logged):
    r = cli.run("logs", "list")
    assert r.code == 0 and r.err == ""
    lines = r.text.splitlines()
    assert [line.split()[0] for line in lines] == logged[::-1]
    assert all(len(line) <= 80 for line in lines), lines
    assert "beta: colour of bananas?" in lines[1]  # the newline folded into the line
    assert lines[0].endswith("…") and "claude-x" in lines[0]
    assert cli.run("logs", "list", "-n", "1").text.splitlines() == lines[:1]


def test_list_json(cli, logged):
    objs = log_lines(cli.run("logs", "list", "--json").out, "conversation")
    assert [(o["conversation_id"], o["exchanges"]) for o in objs] == [
        (logged[2], 1), (logged[1], 1), (logged[0], 2)]
    assert objs[2]["prompt"] == "alpha: capital of France?"


def test_show_the_latest_or_a_given_conversation(cli, logged):
    latest = cli.run("logs", "show")
    assert latest.code == 0 and logged[2] in latest.text and "quicksort" in latest.text
    alpha = cli.run("logs", "show", logged[0]).text
    assert alpha.startswith(f"conversation {logged[0]} (2 exchanges)")
    assert "system: Be brief." in alpha
    assert "> alpha: capital of France?" in alpha and "Paris is the capital." in alpha
    assert "error, exit 3" in alpha and "(no answer)" in alpha


def test_show_json_is_the_exchanges_in_order(cli, logged):
    objs = log_lines(cli.run("logs", "show", "--json", logged[0]).out, "exchange")
    assert [(o["prompt"], o["status"]) for o in objs] == [
        ("alpha: capital of France?", "ok"), ("alpha: and of Spain?", "error")]
    assert objs[1]["error"]["kind"] == "invalid_request"


def test_show_an_unknown_id(cli, logged):
    r = cli.run("logs", "show", "nosuchid")
    assert r.code == 2 and "no conversation 'nosuchid'" in r.err and "logs list" in r.err


@pytest.mark.parametrize("fts", [True, False], ids=["fts5", "like"])
def test_search_finds_every_word_in_prompts_and_answers(cli, logged, fts, monkeypatch):
    if not fts:
        monkeypatch.setattr(logbook, "has_fts", lambda conn: False)
    r = cli.run("logs", "search", "capital")
    assert r.code == 0 and [line.split()[0] for line in r.text.splitlines()] == [logged[0]]
    objs = log_lines(cli.run("logs", "search", "--json", "YELLOW", "bananas").out, "exchange")
    assert [o["conversation_id"] for o in objs] == [logged[1]]
    assert cli.run("logs", "search", "alpha").text.count(logged[0]) == 2
    assert cli.run("logs", "search", "alpha", "-n", "1").text.count("\n") == 1
    assert cli.run("logs", "search", "capital", "bananas").out == b""
    for odd in ['"', "*", "a-b", "(", "NEAR(", "%", "_", "\\", "'; DROP TABLE exchanges; --"]:
        r = cli.run("logs", "search", odd)
        assert r.code == 0 and r.err == "", (odd, r.err)
    assert len(logdb.exchanges(cli.environ)) == 4


def test_search_agrees_with_and_without_fts5(cli, logged):
    conn = logreader.open_log(cli.environ)
    try:
        assert logbook.has_fts(conn)
        for words in ["capital", "alpha", "Paris capital", "sort", "colour bananas", "none"]:
            with_fts = [r["id"] for r in logreader.search(conn, words, 20, fts=True)]
            with_like = [r["id"] for r in logreader.search(conn, words, 20, fts=False)]
            assert with_fts == with_like, words
    finally:
        conn.close()


def test_a_log_made_without_fts5_is_searched_with_like(cli, monkeypatch):
    """A Python whose SQLite lacks FTS5: the log is made without the index."""
    monkeypatch.setattr(logbook, "fts5_available", lambda conn: False)
    cli.env(**ANTHROPIC_KEY).serve(answer("Mangoes are sweet."), answer("Kiwis are green."))
    cli.run("-m", "claude-x", "tell me about mangoes")
    cli.run("-m", "claude-x", "tell me about kiwis")
    with sqlite3.connect(logdb.db_path(cli.environ)) as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "exchanges" in names and logbook.FTS_TABLE not in names
    r = cli.run("logs", "search", "sweet")
    assert r.code == 0 and len(r.text.splitlines()) == 1 and "mangoes" in r.text


def test_search_needs_words(cli, logged):
    r = cli.run("logs", "search", " ")
    assert r.code == 2 and "nothing to search for" in r.err


def test_export_everything_oldest_first_and_by_date(cli, logged):
    rows = log_lines(cli.run("logs", "export").out, "exchange")
    assert [r["prompt"][:5] for r in rows] == ["alpha", "alpha", "beta:", "gamma"]
    assert rows == [{k: v for k, v in d.items() if k != "seq"} for d in logdb.exchanges(cli.environ)]
    first = rows[0]["time"]
    assert log_lines(cli.run("logs", "export", "--since", first).out, "exchange") == rows
    assert cli.run("logs", "export", "--until", first).out == b""
    assert cli.run("logs", "export", "--since", "2999-01-01").out == b""
    assert len(log_lines(cli.run("logs", "export", "--until", "2999-01-01").out, "exchange")) == 4
    day = first[:10]  # a date alone: --until reaches the end of that (local) day
    assert len(log_lines(cli.run("logs", "export", "--since", "2000-01-01T00:00Z",
                                 "--until", "2999-12-31").out, "exchange")) == 4
    assert cli.run("logs", "export", "--since", day + "T00:00:00+14:00").code == 0


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "99999-01-01", ""])
def test_export_refuses_a_bad_date(cli, logged, value):
    r = cli.run("logs", "export", "--since", value)
    assert r.code == 2 and "--since" in r.err


def test_path_prints_where_the_log_is(cli):
    assert cli.run("logs", "path").text == cli.environ["STREAMCLI_DB"] + "\n"
    del cli.environ["STREAMCLI_DB"]
    r = cli.run("logs", "path")
    assert r.text == cli.environ["XDG_DATA_HOME"] + "/streamcli/logs.db\n"


@pytest.mark.parametrize("args", [["list"], ["show"], ["search", "x"], ["export"]])
def test_no_log_yet_is_a_usage_error_and_creates_nothing(cli, args):
    r = cli.run("logs", *args)
    assert r.code == 2 and "no log yet at" in r.err and r.out == b""
    assert not logdb.db_path(cli.environ).parent.exists()


@pytest.mark.parametrize("args", [["list"], ["show"], ["search", "x"], ["export"]])
def test_a_corrupt_log_is_a_usage_error_and_left_as_it_is(cli, args):
    path = logdb.db_path(cli.environ)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    r = cli.run("logs", *args)
    assert r.code == 2 and "cannot read the log" in r.err
    assert path.read_bytes() == b"not a database at all" * 100
    assert logdb.db_files(cli.environ) == [path]


def test_an_empty_log(cli):
    cli.env(**ANTHROPIC_KEY).serve(answer("x"))
    cli.run("-m", "claude-x", "q")
    with sqlite3.connect(logdb.db_path(cli.environ)) as conn:
        conn.execute("DELETE FROM exchanges")
    assert cli.run("logs", "list").out == b"" and cli.run("logs", "export").out == b""
    r = cli.run("logs", "show")
    assert r.code == 2 and "no conversation yet" in r.err


def test_terminal_output_shows_control_characters_instead_of_obeying_them(cli):
    cli.env(**ANTHROPIC_KEY, COLUMNS="200").serve(answer("ok \x1b]0;owned\x07 \x9b31m"))
    cli.run("-m", "claude-x", "clear \x1b[2J the screen \u202egnp.exe")
    for args in (["list"], ["show"], ["search", "clear"]):
        out = cli.run("logs", *args).out
        for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert bad.encode() not in out, (args, bad)
        assert b"\\x1b[2J" in out and b"\\u202egnp.exe" in out
    exported = json.loads(cli.run("logs", "export").out)
    assert exported["prompt"] == "clear \x1b[2J the screen \u202egnp.exe"  # JSON: exact


def test_help_of_each_subcommand_goes_to_stdout(cli):
    for sub in ("list", "show", "search", "export", "path"):
        r = cli.run("logs", sub, "--help")
        assert r.code == 0 and r.text.startswith(f"Usage: streamcli logs {sub}")
    assert "export" in cli.run("logs", "--help").text


def test_a_closed_stdout_ends_the_export_quietly(processes, fake_server):
    fake_server.default = Reply(body=anthropic_sse(["x" * 5000], model="claude-x"))
    args = ["--provider", "anthropic", "-m", "claude-x", "--base-url", fake_server.url]
    for i in range(30):
        assert processes.run([*args, f"prompt {i}"], env=FAKE_KEYS).returncode == 0
    r = processes.shell('python="$1"; shift; "$python" -m streamcli logs export | head -c 100 '
                        '>/dev/null; echo "${PIPESTATUS[0]}"', sys.executable)
    assert r.stdout == b"141\n" and r.stderr == b""


# --------------------------------------------------------------------------- the text forms


def test_fit_counts_terminal_columns():
    from streamcli.commands.logview import fit
    assert fit("abcdef", 6) == "abcdef"
    assert fit("abcdefg", 6) == "abcde…"
    assert fit("日本語のテキスト", 7) == "日本語…"  # wide characters take two columns
    assert fit("e\u0301" * 5, 5) == "e\u0301" * 5  # combining accents take none


def test_dates_are_local_unless_they_name_a_zone(monkeypatch):
    import time
    from streamcli.commands.logview import local, parse_when
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no daylight saving time
    time.tzset()
    try:
        assert parse_when("2026-11-21", end_of_day=False) == "2026-11-20T15:00:00.000Z"
        assert parse_when("2026-11-21", end_of_day=True) == "2026-11-21T15:00:00.000Z"
        assert parse_when("2026-11-21T10:30Z", end_of_day=True) == "2026-11-21T10:30:00.000Z"
        assert parse_when("2026-11-21 10:30:05+01:00", end_of_day=False) == \
            "2026-11-21T09:30:05.000Z"
        assert local("2026-11-20T15:00:00.000Z") == "2026-11-21 00:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_huge_limit_is_a_usage_error(cli, logged):
    r = cli.run("logs", "list", "-n", "99999999999999999999")
    assert r.code == 2 and "streamcli logs list --help" in r.err


def test_a_full_stdout_is_an_output_error(processes, fake_server):
    fake_server.default = Reply(body=anthropic_sse(["x"], model="claude-x"))
    args = ["--provider", "anthropic", "-m", "claude-x", "--base-url", fake_server.url, "q"]
    assert processes.run(args, env=FAKE_KEYS).returncode == 0
    with open("/dev/full", "wb") as full:
        proc = processes.start(["logs", "export"], stdout=full)
        r = proc.finish()
    assert r.returncode == 11 and r.stderr == b"streamcli: error: cannot write the output to " \
                                              b"stdout: No space left on device\n"
    r = processes.shell('"$1" -m streamcli logs export >&-; echo "$?"', sys.executable)
    assert r.stdout == b"11\n" and r.stderr == (b"streamcli: error: cannot write the output: "
                                                b"stdout is closed\n")


def test_the_full_text_index_holds_both_ends_of_a_long_text(cli, monkeypatch):
    monkeypatch.setattr(logbook, "FTS_EDGE", 40)
    middle = " ".join(["filler"] * 20 + ["needle"] + ["filler"] * 20)
    cli.env(**ANTHROPIC_KEY).serve(answer("fine"))
    cli.run("-m", "claude-x", "what is in here?", stdin=f"opening {middle}".encode())
    for word, found in [("opening", True), ("here", True), ("needle", False)]:
        assert bool(cli.run("logs", "search", word).out) is found, word
    monkeypatch.setattr(logbook, "has_fts", lambda conn: False)  # LIKE reads the whole text
    assert cli.run("logs", "search", "needle").out
    assert "needle" in json.loads(cli.run("logs", "export").out)["prompt"]


def test_logs_alone_asks_for_a_command(cli):
    r = cli.run("logs")
    assert r.code == 2 and r.out == b""
    assert r.err == ("streamcli: error: missing command: list, show, search, export or path "
                     "(see 'streamcli logs --help')\n")
