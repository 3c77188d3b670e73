"""Regression tests from a hostile review of the log of exchanges (issue 11) and of the
Responses API and `streamcli models` (issue 14): inputs nobody named (a full disk, odd
types from a server, control characters on the way to a terminal, signals while the log
waits, huge rows), each of which broke a contract before its fix.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.helpers import logdb
from tests.helpers.cli import json_response, shell_words, sse
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS, OPENAI_KEY
from tests.helpers.sse import anthropic_sse, responses_event, sse_event

ANSWER = anthropic_sse(["Hello", " world"], model="claude-x")


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
