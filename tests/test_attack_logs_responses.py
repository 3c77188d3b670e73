"""Regression tests from a hostile review of the log of exchanges (issue 11) and of the
Responses API and `streamcli models` (issue 14): inputs nobody named (a full disk, odd
types from a server, control characters on the way to a terminal, signals while the log
waits, huge rows), each of which broke a contract before its fix.
"""

from __future__ import annotations

import json
import signal

import pytest

from tests import test_log_robust
from tests.helpers import logdb
from tests.helpers.cli import json_response, shell_words, sse
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS, OPENAI_KEY
from tests.helpers.sse import (anthropic_models_page, anthropic_sse, responses_event,
                               sse_event)

ANSWER = anthropic_sse(["Hello", " world"], model="claude-x")
unwritable = test_log_robust.unwritable  # the fixture: a directory nobody can write


def args_for(srv: FakeServer, *extra: str) -> list[str]:
    return ["--provider", "anthropic", "-m", "claude-x", "--base-url", srv.url,
            "--retries", "0", *extra]


def one_warning(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamcli: warning: this exchange was not "
                                                   "logged: "), lines
    return lines[0]


# =========================================================================== a full disk


def _limited(processes, blocks: int, args: list[str], stdin: bytes | None = None):
    """A real run whose files may not grow past `blocks` KiB (RLIMIT_FSIZE: the disk is
    full as far as SQLite can tell). No bytecode is written: a .pyc cut short by the
    limit would break every later run."""
    script = f'ulimit -f {blocks} && exec {shell_words(args)}'
    return processes.run(["-c", script], command=["bash"], input=stdin,
                         env={**FAKE_KEYS, "PYTHONDONTWRITEBYTECODE": "1"})


def test_a_full_disk_while_creating_the_log_is_reported_as_such(processes, fake_server):
    """The migration's write fails; SQLite has rolled back by itself, and the ROLLBACK that
    followed used to replace the cause with "cannot rollback - no transaction is active"."""
    fake_server.default = Reply(body=ANSWER)
    r = _limited(processes, 40, args_for(fake_server, "question"))
    assert (r.returncode, r.stdout) == (0, b"Hello world\n")
    warning = one_warning(r.stderr.decode())
    assert "no transaction is active" not in warning
    assert "disk I/O error" in warning or "full" in warning, warning


def test_a_full_disk_while_writing_an_exchange_is_reported_as_such(processes, fake_server):
    fake_server.default = Reply(body=ANSWER)
    first = processes.run(args_for(fake_server, "first"), env=FAKE_KEYS)
    assert first.returncode == 0 and first.stderr == b""
    size = logdb.db_path(processes.env()).stat().st_size
    r = _limited(processes, size // 1024 + 16, args_for(fake_server, "second"),
                 stdin=b"x" * 400_000)
    assert (r.returncode, r.stdout) == (0, b"Hello world\n")
    warning = one_warning(r.stderr.decode())
    assert "no transaction is active" not in warning
    assert "disk I/O error" in warning or "full" in warning, warning
    environ = processes.env()
    assert [row["prompt"] for row in logdb.exchanges(environ)] == ["first"]
    assert logdb.integrity(environ) == "ok"


# =========================================================================== signals while the log waits


_SLEEP_CALLS = {"x86_64": {35, 230}, "aarch64": {101, 115}}  # nanosleep, clock_nanosleep


def _wait_until_asleep(pid: int) -> None:
    """Until the process's main thread sleeps in the kernel (Linux /proc; bounded)."""
    import platform
    import time
    calls = _SLEEP_CALLS.get(platform.machine(), set())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/syscall") as f:
            number = f.read().split()[0]
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
        if (number.isdigit() and int(number) in calls) or "nanosleep" in wchan:
            return
        time.sleep(0.005)  # polling the process's state, not waiting for it
    raise AssertionError(f"process {pid} never slept waiting for the lock")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_wait_for_a_locked_log_at_once(processes, fake_server, signum):
    """SQLite waited for the lock inside one C call (the whole busy timeout, here two
    minutes), and Python runs a signal's handler only after it returns: Ctrl-C, even
    twice, did nothing until then. The wait is now in slices."""
    fake_server.default = Reply(body=ANSWER)
    env = {**FAKE_KEYS, "STREAMCLI_DB_TIMEOUT": "120"}
    assert processes.run(args_for(fake_server, "first"), env=env).returncode == 0
    with logdb.write_locked(processes.env()):
        proc = processes.start(args_for(fake_server, "second"), env=env)
        proc.read_until(b"Hello world\n")  # the answer is out: the log is written next
        _wait_until_asleep(proc.pid)  # waiting for the lock: the only sleep after the answer
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == -signum  # far less than the busy timeout
    assert [row["prompt"] for row in logdb.exchanges(processes.env())] == ["first"]


# =========================================================================== Responses: odd values

RESPONSES = ["--api", "responses", "-m", "gpt-x", "--base-url", "http://127.0.0.1:9/v1",
             "--retries", "0"]
CREATED = {"type": "response.created", "response": {"id": "r1", "model": "gpt-x"}}


def _delta(text) -> dict:
    return {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
            "delta": text}


def _completed(usage) -> bytes:
    return sse_event('{"type":"response.completed","response":{"id":"r1","status":"completed",'
                     f'"usage":{usage}}}}}', "response.completed")


@pytest.mark.parametrize("mode", [[], ["--jsonl"], ["--no-stream"]])
@pytest.mark.parametrize("usage", ['{"input_tokens":NaN,"output_tokens":1}',
                                   '{"input_tokens":1,"output_tokens":1,"x":-Infinity}',
                                   '{"input_tokens":1e400,"output_tokens":1}',
                                   '{"input_tokens":1,"output_tokens":1,"d":' + "[" * 300
                                   + "]" * 300 + "}"])
def test_a_responses_event_python_reads_but_json_cannot_carry_is_malformed(cli, mode, usage):
    """NaN, Infinity, 1e400 and deep nesting were read by json.loads and crashed the JSON
    outputs at the end (exit 1, no `end` line) and reached the log as invalid JSON; they are
    read with safejson, as the other protocols do: a malformed stream (exit 9)."""
    cli.env(**OPENAI_KEY)
    body = [responses_event(CREATED), responses_event(_delta("hi")), _completed(usage)]
    if mode == ["--no-stream"]:
        text = ('{"id":"r1","object":"response","status":"completed","model":"gpt-x","output":'
                '[],"usage":' + usage + '}')
        cli.serve(sse([text.encode()], content_type="application/json"))
    else:
        cli.serve(sse(body))
    r = cli.run(*RESPONSES, *mode, "question")  # the runner validates the JSON outputs
    assert r.code == 9, r.err
    if mode == ["--jsonl"]:
        assert r.events[-1]["type"] == "end"
    export = cli.run("logs", "export")
    (row,) = [json.loads(line) for line in export.out.splitlines()]
    assert row["exit_code"] == 9


def test_a_token_count_beyond_64_bits_is_unknown_and_the_exchange_still_logged(cli):
    """A count SQLite cannot store used to cost the exchange its place in the log
    ("Python int too large to convert to SQLite INTEGER")."""
    cli.env(**OPENAI_KEY)
    huge = 10 ** 40
    cli.serve(sse([responses_event(CREATED), responses_event(_delta("hi")),
                   _completed(json.dumps({"input_tokens": huge, "output_tokens": 2}))]))
    r = cli.run(*RESPONSES, "question")
    assert (r.code, r.out, r.err) == (0, b"hi\n", "")
    (row,) = logdb.exchanges(cli.environ)
    assert (row["input_tokens"], row["output_tokens"]) == (None, 2)
    assert row["usage"]["raw"]["input_tokens"] == huge


@pytest.mark.parametrize("code, exit_code", [
    ("\u00b2", 6),        # "²".isdigit() is true, and int() refused it: exit 1
    ("9" * 5000, 6),      # past Python's digit limit for int(): exit 1
    ("\u0663\u0660\u0660", 6),  # Arabic-Indic "300" was read as HTTP 300: exit 3
    (-1, 6), (10 ** 30, 6),     # no HTTP status ("HTTP -1")
    ("429", 5), (503, 6), ("400", 3),  # an HTTP status as compatible servers send it
])
@pytest.mark.parametrize("nested", [False, True])
def test_an_error_events_code_is_an_http_status_only_when_it_is_one(cli, code, exit_code,
                                                                    nested):
    cli.env(**OPENAI_KEY)
    fields = {"code": code, "message": "no"}
    event = {"type": "error", **({"error": fields} if nested else fields)}
    cli.serve(sse([responses_event(CREATED), responses_event(event)]))
    r = cli.run(*RESPONSES, "--jsonl", "question")
    assert r.code == exit_code, r.err
    assert "internal error" not in r.err and "HTTP -1" not in r.err


def test_function_call_arguments_that_are_not_a_string_are_named_where_they_come(cli):
    """A number as an arguments delta used to fail at response.completed ("sequence item
    0: expected str instance"), blaming the wrong event."""
    cli.env(**OPENAI_KEY)
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": {"type": "function_call", "id": "fc", "call_id": "c", "name": "f"}}
    delta = {"type": "response.function_call_arguments.delta", "item_id": "fc",
             "output_index": 0, "delta": 7}
    cli.serve(sse([responses_event(CREATED), responses_event(added), responses_event(delta),
                   _completed('{"input_tokens":1,"output_tokens":1}')]))
    r = cli.run(*RESPONSES, "question")
    assert r.code == 9
    assert "'response.function_call_arguments.delta' event (function call arguments that " \
           "are not a string: 7)" in r.err


def test_a_function_call_item_done_twice_is_one_call(cli):
    """A repeated output_item.done for the same item printed the call twice (a script
    would run the tool twice); the SDK's accumulator keeps one item per output index."""
    cli.env(**OPENAI_KEY)
    done = {"type": "response.output_item.done", "output_index": 0,
            "item": {"type": "function_call", "id": "fc", "call_id": "c", "name": "f",
                     "arguments": '{"a":1}'}}
    cli.serve(sse([responses_event(CREATED), responses_event(done), responses_event(done),
                   _completed('{"input_tokens":1,"output_tokens":1}')]))
    r = cli.run(*RESPONSES, "--jsonl", "question")
    assert r.code == 0
    calls = [e for e in r.events if e["type"] == "tool_call"]
    assert [(c["id"], c["name"], c["arguments"]) for c in calls] == [("c", "f", {"a": 1})]


# =========================================================================== terminal escapes

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"
SHOWN = "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e"


def test_a_servers_error_message_is_shown_not_obeyed_on_stderr(cli):
    """An error event's message and code went to the terminal raw: a title change, a
    cleared screen, reordered text."""
    cli.env(**OPENAI_KEY)
    event = {"type": "error", "code": "c" + ESCAPES, "message": "no" + ESCAPES}
    cli.serve(sse([responses_event(CREATED), responses_event(event)]))
    r = cli.run(*RESPONSES, "question")
    assert r.code == 6
    assert r.err == f"streamcli: error: no{SHOWN} (c{SHOWN})\n"


def test_an_http_errors_message_is_shown_not_obeyed_after_a_retry(cli):
    from tests.helpers.cli import anthropic_error
    cli.env(**ANTHROPIC_KEY)
    cli.serve(anthropic_error(529, "overloaded_error", "busy" + ESCAPES,
                              headers={"retry-after": "0"}),
              anthropic_error(400, "invalid_request_error", "bad" + ESCAPES))
    r = cli.run("-m", "claude-x", "--retries", "1", "question")
    assert r.code == 3
    assert "\x1b" not in r.err and "\u202e" not in r.err and "\x9b" not in r.err
    assert f"bad{SHOWN}" in r.err


def test_a_tool_calls_name_is_shown_not_obeyed_on_stderr(cli):
    cli.env(**OPENAI_KEY)
    done = {"type": "response.output_item.done", "output_index": 0,
            "item": {"type": "function_call", "id": "fc", "call_id": "c",
                     "name": "f" + ESCAPES, "arguments": "{}"}}
    cli.serve(sse([responses_event(CREATED), responses_event(done),
                   _completed('{"input_tokens":1,"output_tokens":1}')]))
    r = cli.run(*RESPONSES, "question")
    assert (r.code, r.err) == (0, f"tool call: f{SHOWN} {{}}\n")


def test_model_ids_are_one_line_each_and_shown_not_obeyed(cli):
    """An id holding a newline printed as two ids; an escape sequence drove the terminal.
    (--json keeps them exactly, JSON-escaped.)"""
    ids = ["ok", "two\nlines", "evil" + ESCAPES, "sep\u2028arated"]
    cli.env(**OPENAI_KEY).serve(json_response(200, {"data": [{"id": i} for i in ids]}))
    r = cli.run("models", "--provider", "openai")
    assert r.code == 0
    assert r.out.decode().splitlines() == ["ok", "two\\x0alines", f"evil{SHOWN}",
                                           "sep\\u2028arated"]
    j = cli.run("models", "--provider", "openai", "--json")
    assert [json.loads(line)["id"] for line in j.out.splitlines()] == ids


# =========================================================================== exit status 11


def test_exit_status_11_is_in_the_exit_table_everywhere(cli):
    """`logs` and `models` end with 11 when stdout cannot be written, but the table of
    --help, the man page and the README left it out (errors._CLASSES)."""
    from streamcli.errors import EXIT_STATUS_TABLE, OutputError
    from tests.helpers.paths import ROOT
    assert (11, OutputError.__doc__.strip()) in EXIT_STATUS_TABLE
    assert "\n     11  stdout cannot be written" in cli.run("--help").text
    man = (ROOT / "man" / "streamcli.1").read_text(encoding="utf-8")
    assert ".B 11\nstdout cannot be written" in man
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n| 11 | stdout" in readme


# =========================================================================== models: enormous listings


def test_the_size_limit_is_the_whole_listings_not_each_pages(cli, monkeypatch):
    """Each page was read up to 16 MiB, and 100 pages were followed: a server could make
    streamcli hold gigabytes (one full page of small objects alone is ~450 MB)."""
    from streamcli.commands import models
    pages = [json.dumps(anthropic_models_page([f"m-{n}-" + "x" * 100], has_more=n < 3))
             for n in range(4)]
    monkeypatch.setattr(models, "LISTING_LIMIT", sum(map(len, pages[:3])) + 10)
    cli.env(**ANTHROPIC_KEY).serve(*(sse([p.encode()], content_type="application/json")
                                     for p in pages))
    r = cli.run("models", "--provider", "anthropic")
    assert r.code == 9 and "the model listing is too large" in r.err, r.err
    assert len(cli.requests) == 4 and r.out == b""
    cli.serve(*(sse([p.encode()], content_type="application/json") for p in pages[1:]))
    monkeypatch.setattr(models, "LISTING_LIMIT", sum(map(len, pages[1:])))
    r = cli.run("models", "--provider", "anthropic")  # exactly the limit: all of it
    assert r.code == 0 and len(r.out.splitlines()) == 3


# =========================================================================== huge rows


_HIGH_WATER = """
import atexit, runpy, sys
def report():
    with open("/proc/self/status") as f:
        sys.stderr.write("".join(line for line in f if line.startswith("VmHWM")))
atexit.register(report)
sys.argv = ["streamcli", *sys.argv[1:]]
runpy.run_module("streamcli", run_name="__main__")
"""


def _peak_rss(processes, args) -> int:
    """The peak resident memory of one real run, in bytes: VmHWM, read as it exits (the
    high-water mark of its own address space, which exec started afresh)."""
    import subprocess
    from tests.helpers.cli import python_code_command
    r = processes.start(args, command=python_code_command(_HIGH_WATER),
                        stdout=subprocess.DEVNULL).finish()
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stderr.decode().splitlines() if x.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024  # kB


def test_logs_streams_a_log_of_huge_exchanges_one_at_a_time(cli, processes):
    """export fetched 200 rows and wrote 256 lines at a time, list and search held every
    row (and SQLite's sorter every prompt): with large prompts, the whole log in memory."""
    cli.env(**ANTHROPIC_KEY)
    row_size, rows = 4_000_000, 24
    for i in range(rows):
        cli.serve(sse(ANSWER))
        assert cli.run("-m", "claude-x", f"question {i}",
                       stdin=b"%d" % (i % 10) * row_size).code == 0
    baseline = _peak_rss(processes, ["logs", "path"])
    for args in (["export"], ["search", "--json", "-n", "100", "question"],
                 ["list", "--json", "-n", "100"], ["search", "-n", "100", "question"],
                 ["list", "-n", "100"]):
        grown = _peak_rss(processes, ["logs", *args]) - baseline
        assert grown < 12 * row_size, f"{args}: {grown / 1e6:.0f} MB more for a log of " \
                                      f"{rows * row_size / 1e6:.0f} MB"


@pytest.mark.parametrize("words", [["->"], ["=="], ["(", "x"], ["*"], ["-"], ['"']])
def test_a_word_without_letters_or_digits_is_found_with_and_without_fts5(cli, words,
                                                                         monkeypatch):
    """FTS5 indexes no punctuation: a search for "->" matched nothing (no error, so the
    LIKE fallback never ran), while a log without FTS5 found it."""
    from streamcli import logbook
    cli.env(**ANTHROPIC_KEY)
    cli.serve(sse(ANSWER), sse(ANSWER))
    assert cli.run("-m", "claude-x", 'a -> b == c (x) * - "q"').code == 0
    assert cli.run("-m", "claude-x", "nothing of the sort").code == 0
    found = cli.run("logs", "search", "--json", "--", *words)
    assert found.code == 0
    assert [json.loads(line)["prompt"] for line in found.out.splitlines()] == [
        'a -> b == c (x) * - "q"']
    monkeypatch.setattr(logbook, "has_fts", lambda conn: False)
    assert cli.run("logs", "search", "--json", "--", *words).out == found.out


# =========================================================================== arguments that are not UTF-8

BAD = b"\xff".decode("utf-8", "surrogateescape")  # how Python hands such an argument over


@pytest.mark.parametrize("args", [["-m", "claude-" + BAD], ["--stop", BAD],
                                  ["-o", "metadata=" + BAD], ["-o", BAD + "=1"],
                                  ["--base-url", "http://127.0.0.1:9/" + BAD]])
@pytest.mark.parametrize("mode", [[], ["--jsonl"]])
def test_an_argument_that_is_not_utf8_is_a_usage_error(cli, args, mode):
    """It reached the JSON body: an internal error (exit 1), and for -m also a log warning
    for the exchange that was never sent."""
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("-m", "claude-x", *args, *mode, "question")
    assert r.code == 2 and r.requests == []
    assert "is not valid UTF-8" in r.err
    assert "internal error" not in r.err and "not logged" not in r.err


def test_a_cid_that_is_not_utf8_is_an_unknown_conversation(cli):
    cli.env(**ANTHROPIC_KEY).serve(sse(ANSWER))
    assert cli.run("-m", "claude-x", "first").code == 0
    r = cli.run("--cid", "01" + BAD, "question")
    assert r.code == 2 and r.requests == []
    assert "no conversation '01\\udcff'" in r.err and "codec" not in r.err


# =========================================================================== a newer schema


def test_a_log_made_by_a_newer_streamcli_is_left_alone_and_said_so(cli):
    """A newer version's tables were used as if they were this version's: an exchange
    written into columns that may mean something else, or "no such column: e.prompt"."""
    import contextlib
    import sqlite3
    cli.env(**ANTHROPIC_KEY).serve(sse(ANSWER))
    assert cli.run("-m", "claude-x", "first").code == 0
    with contextlib.closing(sqlite3.connect(logdb.db_path(cli.environ))) as conn:
        conn.execute("UPDATE schema_versions SET version = 3 WHERE part = 'log'")
        conn.execute("ALTER TABLE exchanges RENAME COLUMN prompt TO question")
        conn.commit()
    before = logdb.snapshot(logdb.db_files(cli.environ))
    newer = "made by a newer streamcli (its log tables are at version 3, this streamcli " \
            "knows up to 2): upgrade streamcli"
    r = cli.serve(sse(ANSWER)).run("-m", "claude-x", "second")
    assert (r.code, r.out) == (0, b"Hello world\n") and newer in one_warning(r.err)
    for args in (["logs", "list"], ["logs", "export"], ["-c", "third"]):
        r = cli.run(*args)
        assert r.code == 2 and newer in r.err and r.requests == [], (args, r.err)
    assert logdb.snapshot(logdb.db_files(cli.environ)) == before


# =========================================================================== keys in the log


def test_a_key_a_server_echoes_as_an_object_key_stays_out_of_the_log(cli):
    """Values were redacted at any depth, the keys of objects (a usage or error object
    from the server) were stored as they came."""
    key = OPENAI_KEY["OPENAI_API_KEY"]
    cli.env(**OPENAI_KEY)
    cli.serve(sse([responses_event(CREATED), responses_event(_delta("hi")),
                   _completed(json.dumps({"input_tokens": 1, "output_tokens": 1,
                                          "echo": {key: 1, "Bearer " + key: 2}}))]))
    assert cli.run(*RESPONSES, "question").code == 0
    stored = b"".join(logdb.snapshot(logdb.db_files(cli.environ)).values())
    assert key.encode() not in stored
    (row,) = logdb.exchanges(cli.environ)
    assert row["usage"]["raw"]["echo"] == {"***": 1, "Bearer ***": 2}


# =========================================================================== stdin wanted twice


def test_messages_and_tools_cannot_both_read_stdin(cli):
    """--messages - took stdin, and --tools - then said the (empty) rest was not JSON."""
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("-m", "claude-x", "--messages", "-", "--tools", "-",
                stdin=b'[{"role": "user", "content": "hi"}]')
    assert r.code == 2 and r.requests == []
    assert "--messages - and --tools - cannot both read stdin" in r.err


@pytest.mark.parametrize("form", ["array", "jsonl"])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_messages_with_a_byte_order_mark(cli, tmp_path, form, source):
    """A JSON array saved with a BOM was refused as "line 1: not JSON ... the file is a
    JSON array or one JSON object per line"."""
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    text = json.dumps(turns) if form == "array" else "\n".join(map(json.dumps, turns))
    data = "\ufeff".encode() + text.encode()
    cli.env(**ANTHROPIC_KEY).serve(sse(ANSWER))
    if source == "file":
        path = tmp_path / "turns.json"
        path.write_bytes(data)
        r = cli.run("-m", "claude-x", "--messages", str(path), "again")
    else:
        r = cli.run("-m", "claude-x", "--messages", "-", "again", stdin=data)
    assert r.code == 0, r.err
    assert cli.body["messages"] == [*turns, {"role": "user", "content": "again"}]


# =========================================================================== --until a date


@pytest.mark.parametrize("day", ["2026-11-21", "20261121", "2026-W47-6", "2026W476"])
def test_until_a_date_alone_means_the_end_of_that_day_in_every_form(day):
    """Only the ten-character form counted as a date alone: --until 20261121 ended at the
    start of that day, leaving the day out."""
    from streamcli.commands.logview import parse_when
    assert parse_when(day, end_of_day=True) == parse_when("2026-11-22", end_of_day=False)
    assert parse_when(day, end_of_day=False) == parse_when("2026-11-21", end_of_day=False)
    assert parse_when(day + "T10:00", end_of_day=True) == \
        parse_when("2026-11-21T10:00", end_of_day=False)


# =========================================================================== a read-only log


def test_a_log_in_a_read_only_place_can_still_be_read_and_continued(processes, fake_server,
                                                                     unwritable):
    """A WAL-mode database needs its -shm index file to be read: in a directory that
    cannot be written (a read-only disk), -c and every `logs` command failed with "unable
    to open database file". They read it now; the new exchange costs the one warning."""
    folder, lock = unwritable
    fake_server.default = Reply(body=ANSWER)
    env = {**FAKE_KEYS, "STREAMCLI_DB": folder / "logs.db"}
    assert processes.run(args_for(fake_server, "earlier"), env=env).returncode == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    lock(True)
    r = processes.run(["-c", "--retries", "0", "again"], env=env)
    assert (r.returncode, r.stdout) == (0, b"Hello world\n"), r.stderr
    assert "not logged" in one_warning(r.stderr.decode())
    sent = fake_server.requests[-1].json["messages"]
    assert [m["content"] for m in sent] == ["earlier", "Hello world", "again"]
    for args in (["logs", "list"], ["logs", "show"], ["logs", "export"],
                 ["logs", "search", "earlier"]):
        r = processes.run(args, env=env)
        assert r.returncode == 0 and b"earlier" in r.stdout, (args, r.stderr)
    lock(False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("added_id, delta_id", [("fc", None), (None, None), (None, "fc")])
def test_a_function_call_named_by_id_in_some_events_and_by_index_in_others_is_one_call(
        cli, added_id, delta_id):
    """Calls in progress were keyed by item id, else by output index: a server that gave
    the id in some events only (as compatible servers may) got the call twice, once with
    no id or name."""
    cli.env(**OPENAI_KEY)
    item = {"type": "function_call", "call_id": "c", "name": "f"}
    events = [
        CREATED,
        {"type": "response.output_item.added", "output_index": 0,
         "item": {**item, **({"id": added_id} if added_id else {})}},
        {"type": "response.function_call_arguments.delta", "output_index": 0,
         "delta": '{"a":', **({"item_id": delta_id} if delta_id else {})},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "1}"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {**item, "id": "fc", "arguments": '{"a":1}'}}]
    cli.serve(sse([*map(responses_event, events), _completed('{"input_tokens":1}')]))
    r = cli.run(*RESPONSES, "--jsonl", "question")
    calls = [(e["id"], e["name"], e["arguments"]) for e in r.events if e["type"] == "tool_call"]
    assert (r.code, calls) == (0, [("c", "f", {"a": 1})])


def test_parallel_calls_by_index_alone_stay_apart(cli):
    cli.env(**OPENAI_KEY)
    events = [CREATED] + [
        {"type": "response.output_item.added", "output_index": i,
         "item": {"type": "function_call", "call_id": f"c{i}", "name": f"f{i}"}}
        for i in (0, 1)] + [
        {"type": "response.function_call_arguments.delta", "output_index": i, "delta": d}
        for i, d in ((1, '{"b":'), (0, '{"a":'), (0, "1}"), (1, "2}"))]
    cli.serve(sse([*map(responses_event, events), _completed('{"input_tokens":1}')]))
    r = cli.run(*RESPONSES, "--jsonl", "question")
    calls = [(e["id"], e["name"], e["arguments"]) for e in r.events if e["type"] == "tool_call"]
    assert (r.code, calls) == (0, [("c0", "f0", {"a": 1}), ("c1", "f1", {"b": 2})])


# =========================================================================== --jsonl start, any split


def test_the_start_line_does_not_depend_on_where_the_reads_split():
    """A Start after text in the same read (a stream out of order) named the provider,
    model and id, while the same stream cut between them gave a start line without them:
    the hypothesis property of test_stream_properties found it now and then."""
    import io
    from streamcli.events import Start, Text
    from streamcli.sinks.jsonl import JsonlSink
    start, text = Start("anthropic", "m", "msg_1"), Text("Hi")
    outputs = []
    for reads in ([[text, start]], [[text], [start]]):
        out = io.BytesIO()
        sink = JsonlSink(out)
        for events in reads:
            sink.write(events)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b'{"type":"start","v":1,"provider":null,"model":null,"id":null')


def test_the_first_prompt_a_completion_shows_is_shown_not_obeyed(cli):
    """The shell prints each --cid candidate's help (the first prompt) in its menu: an
    escape sequence in a logged prompt went to the terminal."""
    import click
    from streamcli.environment import Environment
    from streamcli.options import Runtime, complete_conversation_id
    cli.env(**ANTHROPIC_KEY).serve(sse(ANSWER))
    assert cli.run("-m", "claude-x", "title" + ESCAPES).code == 0
    ctx = click.Context(click.Command("streamcli"), obj=Runtime(Environment(environ=cli.environ)))
    (item,) = complete_conversation_id(ctx, None, "")
    assert item.help == "title" + SHOWN


def test_a_whole_responses_function_call_with_arguments_that_are_not_a_string(cli):
    """--no-stream read arguments that were an object (not the string of JSON the API
    sends) as none at all: a call with {} where the server meant {"a": 1}, silently."""
    cli.env(**OPENAI_KEY)
    body = {"id": "r1", "object": "response", "status": "completed", "model": "gpt-x",
            "output": [{"type": "function_call", "call_id": "c", "name": "f",
                        "arguments": {"a": 1}}]}
    cli.serve(json_response(200, body))
    r = cli.run(*RESPONSES, "--no-stream", "question")
    assert r.code == 9 and r.result["tool_calls"] == []
    assert "function call arguments that are not a string" in r.err
