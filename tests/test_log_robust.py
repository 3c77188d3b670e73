"""The log never costs an answer (issue 11): many processes at once lose nothing; a corrupt,
locked or unwritable database leaves the answer and the exit status as they were, with
one warning line, and the file untouched; the file is private and holds no key; a
cancelled or cut-off exchange is still recorded.

Real processes against a local FakeServer where the process matters (concurrency, umask,
signals, another user), in-process runs for the rest.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess

import pytest

from tests.helpers import logdb
from tests.helpers.cli import sse, shell_words
from tests.helpers.fakeserver import FakeServer, Pause, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS, SECRET_MARKER
from tests.helpers.sse import anthropic_error_body, anthropic_sse, partial_sse, provider_sse

ANSWER = anthropic_sse(["Hello", " world"], model="claude-x")


def args_for(srv: FakeServer, *extra: str) -> list[str]:
    return ["--provider", "anthropic", "-m", "claude-x", "--base-url", srv.url,
            "--retries", "0", *extra]


# =========================================================================== concurrency


def test_twenty_processes_at_once_lose_no_exchange(processes, fake_server):
    """`xargs -P 20`: twenty processes racing to create, migrate and write a new log."""
    fake_server.default = Reply(body=ANSWER)
    env = {**FAKE_KEYS}
    procs = [processes.start(args_for(fake_server, f"prompt {i}"), env=env) for i in range(20)]
    results = [p.finish(timeout=60) for p in procs]
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results]
    assert all(r.stdout == b"Hello world\n" and r.stderr == b"" for r in results), results
    environ = processes.env()
    rows = logdb.exchanges(environ)
    assert sorted(r["prompt"] for r in rows) == sorted(f"prompt {i}" for i in range(20))
    assert all(r["text"] == "Hello world" and r["status"] == "ok" for r in rows)
    assert len({r["id"] for r in rows}) == len({r["conversation_id"] for r in rows}) == 20
    assert logdb.integrity(environ) == "ok"


# =========================================================================== broken databases


def run_mode(cli, mode: str):
    """One run in `mode`; (exit status, its answer as the mode printed it)."""
    from tests.helpers.cli import json_response
    from tests.helpers.sse import anthropic_message
    flags = {"text": [], "jsonl": ["--jsonl"], "no-stream": ["--no-stream"]}[mode]
    if mode == "no-stream":
        cli.serve(json_response(200, anthropic_message("Hello world", model="claude-x")))
    else:
        cli.serve(sse(ANSWER))
    r = cli.run(*flags, "-m", "claude-x", "question")
    if mode == "text":
        assert r.text.endswith("\n")
        answer = r.text[:-1]
    elif mode == "jsonl":
        answer = "".join(e["text"] for e in r.events if e["type"] == "text")
        assert r.events[-1]["status"] == "ok"
    else:
        answer = r.result["text"]
    return r, answer


def one_warning(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamcli: warning: this exchange was not "
                                                   "logged: "), lines
    return lines[0]


@pytest.mark.parametrize("mode", ["text", "jsonl", "no-stream"])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_database_is_never_touched(cli, mode, damage):
    cli.env(**ANTHROPIC_KEY)
    path = logdb.db_path(cli.environ)
    path.parent.mkdir(parents=True)
    if damage == "garbage":
        path.write_bytes(b"this is not an SQLite database\n" * 200)
    else:  # a real log cut short: a valid header, the pages missing
        run_mode(cli, "text")
        path.write_bytes(path.read_bytes()[:1024])
    before = logdb.snapshot(logdb.db_files(cli.environ))
    r, answer = run_mode(cli, mode)
    assert (r.code, answer) == (0, "Hello world")
    assert "not logged" in one_warning(r.err)
    assert logdb.snapshot(logdb.db_files(cli.environ)) == before


@pytest.mark.parametrize("mode", ["text", "jsonl", "no-stream"])
def test_a_database_locked_past_the_timeout(cli, mode):
    cli.env(**ANTHROPIC_KEY, STREAMCLI_DB_TIMEOUT="0.2")
    run_mode(cli, "text")  # the log exists, with one exchange
    before = logdb.snapshot(logdb.db_files(cli.environ))
    with logdb.write_locked(cli.environ):
        r, answer = run_mode(cli, mode)
    assert (r.code, answer) == (0, "Hello world")
    assert "database is locked" in one_warning(r.err)
    assert logdb.snapshot(logdb.db_files(cli.environ)) == before
    assert len(logdb.exchanges(cli.environ)) == 1


def test_a_failed_run_keeps_its_exit_status_when_the_log_fails(cli):
    cli.env(**ANTHROPIC_KEY)
    path = logdb.db_path(cli.environ)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 100)
    from tests.helpers.cli import anthropic_error
    r = cli.serve(anthropic_error(529, "overloaded_error")).run("--retries", "0", "-m", "claude-x", "q")
    assert r.code == 6
    assert [line.split(":")[1] for line in r.err.splitlines()] == [" error", " warning"]


@pytest.fixture
def unwritable(tmp_path):
    """A directory the command cannot write to: mode 0555, and for root (whom modes do not
    stop) also the immutable attribute (chattr +i), removed again at the end."""
    folder = tmp_path / "ro"
    folder.mkdir()
    immutable = os.geteuid() == 0

    def lock(on: bool) -> None:
        if on:
            folder.chmod(0o555)
        if immutable:
            subprocess.run(["chattr", "+i" if on else "-i", str(folder)], check=True,
                           capture_output=True, timeout=10)
        if not on:
            folder.chmod(0o755)
    yield folder, lock
    lock(False)


def test_the_unwritable_directory_is_unwritable(unwritable):
    folder, lock = unwritable
    lock(True)
    with pytest.raises(OSError):
        (folder / "probe").write_bytes(b"x")


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_an_unwritable_directory(processes, fake_server, unwritable, existing):
    folder, lock = unwritable
    fake_server.default = Reply(body=ANSWER)
    env = {**FAKE_KEYS, "STREAMCLI_DB": folder / "logs.db"}
    if existing:  # a log written before the directory became read-only
        first = processes.run(args_for(fake_server, "earlier"), env=env)
        assert first.returncode == 0 and first.stderr == b"", first.stderr
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert bool(before) == existing
    lock(True)
    r = processes.run(args_for(fake_server, "question"), env=env)
    assert (r.returncode, r.stdout) == (0, b"Hello world\n"), r.stderr
    one_warning(r.stderr.decode())
    lock(False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# =========================================================================== private, no key


def test_the_log_is_private_and_holds_no_key(processes, fake_server):
    echo = anthropic_error_body("invalid_request_error",
                                f"bad key {FAKE_KEYS['ANTHROPIC_API_KEY']}")
    # A server (or proxy) that echoes the key: in the request id of a good answer (never
    # printed, but recorded), and in an error message.
    fake_server.enqueue(Reply(body=ANSWER,
                              headers={"request-id": f"req-{FAKE_KEYS['ANTHROPIC_API_KEY']}"}),
                        Reply.json(400, echo))
    db = logdb.db_path(processes.env())
    script = ("umask 000; " + shell_words(args_for(fake_server, "one")) + " && "
              + shell_words(args_for(fake_server, "-c", "two")) + "; echo $?")
    r = processes.shell(script, env=FAKE_KEYS)
    assert r.stdout == b"Hello world\n3\n", r.stderr
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    files = logdb.db_files(processes.env())
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    requests = fake_server.requests
    assert requests[0].headers["x-api-key"] == FAKE_KEYS["ANTHROPIC_API_KEY"]
    for path in files:
        data = path.read_bytes()
        assert SECRET_MARKER not in data and b"x-api-key" not in data.lower(), path
    rows = logdb.exchanges(processes.env())
    assert rows[0]["request_id"] == "req-***" and "***" in rows[1]["error"]["message"]


# =========================================================================== cut short


def test_an_interrupted_exchange_is_recorded_with_what_was_printed(processes, fake_server):
    fake_server.enqueue(Reply(body=partial_sse("anthropic"), end="hang"))
    proc = processes.start(args_for(fake_server, "question"), env=FAKE_KEYS)
    proc.read_until(b"Hello")
    proc.send_signal(signal.SIGINT)
    r = proc.finish()
    assert r.returncode == -signal.SIGINT and r.stdout == b"Hello\n"
    (row,) = logdb.exchanges(processes.env())
    assert (row["status"], row["exit_code"], row["text"]) == ("cancelled", 130, "Hello")


def test_a_reader_that_goes_away_still_leaves_the_exchange_in_the_log(processes, fake_server,
                                                                      tmp_path):
    parts = provider_sse("anthropic", ["Hello world"] + [" more"] * 50)
    body: list = parts[:4]
    for part in parts[4:]:  # keeps writing after head has gone
        body += [Pause(0.02), part]
    fake_server.enqueue(Reply(body=body, end="hang"))
    errors = tmp_path / "stderr.txt"
    script = (f"set -o pipefail; {shell_words(args_for(fake_server, '--idle-timeout', '10', 'q'))}"
              f" 2>{errors} | head -c 5; echo \" ${{PIPESTATUS[*]}}\"")
    r = processes.shell(script, env=FAKE_KEYS, timeout=30)
    assert r.stdout.split()[1:] == [b"141", b"0"] and errors.read_bytes() == b""
    (row,) = logdb.exchanges(processes.env())
    assert (row["status"], row["exit_code"]) == ("cancelled", 141)
    assert row["text"].startswith("Hello world")


def test_credential_like_header_values_stay_out_of_the_log(cli):
    token = "tok-0123456789-SECRET"
    cli.env(**ANTHROPIC_KEY).serve(sse(ANSWER, headers={"request-id": f"req {token}"}))
    r = cli.run("-m", "claude-x", "-H", f"X-Gateway-Token: {token}", "question")
    assert r.code == 0 and cli.requests[0].headers["x-gateway-token"] == token
    (row,) = logdb.exchanges(cli.environ)
    assert row["request_id"] == "req ***"
    for path in logdb.db_files(cli.environ):
        assert token.encode() not in path.read_bytes()
