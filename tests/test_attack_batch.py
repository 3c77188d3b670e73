"""`streamcli batch` attacked with inputs nobody named: odd input lines, absurd headers, a
stdout nobody reads, a locked ledger, a Batch API that lies. Each test failed before the
fix it names."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3

import pytest

from streamcli.batch.api import anthropic as anthropic_api
from streamcli.batch.budget import Budget
from tests.helpers.batchapi import FakeBatchAPI, FakeMessages, jsonl
from tests.helpers.cli import streamcli_command
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS
from tests.helpers.pipes import (drain, drain_pty, full_pipe, wait_blocked_in_pipe_write,
                                 wait_exit, wait_for_lines, wait_sleeping)
from tests.helpers.schema import batch_lines
from tests.helpers.sse import anthropic_error_body, anthropic_message


# -- input lines ---------------------------------------------------------------------------


def test_a_bad_line_whose_position_is_another_items_id_does_not_end_the_run(batch):
    # Line 2 is no JSON: its id is its position, "1", which line 3 names as its own.
    r = batch(b'"a"\n{not json\n{"id": 1, "prompt": "b"}\n')
    assert r.code == 12, r.err
    assert [(x["id"], x["status"]) for x in r.lines] == [("0", "ok"), ("1", "error"),
                                                        ("1", "ok")]
    assert "line 2" in r.lines[1]["error"]["message"]


def test_ids_of_one_form_still_must_be_unique(batch):
    r = batch(jsonl({"id": 5, "prompt": "a"}, {"id": "5", "prompt": "b"}))
    assert r.code == 2 and "ids must be unique" in r.err and r.out == b""


def test_a_byte_order_mark_opening_the_input_is_not_part_of_it(batch, fake_server):
    r = batch(b'\xef\xbb\xbf"first"\r\n"second"\r\n')
    assert r.code == 0, r.err
    assert [x["text"] for x in r.lines] == ["answer to first", "answer to second"]
    r = batch(b'\xef\xbb\xbfone\n', "--lines", "")
    assert r.code == 0 and r.lines[0]["text"] == "answer to one"


def test_an_id_with_a_lone_surrogate_is_a_bad_line_not_a_mangled_id(batch, tmp_path):
    out = tmp_path / "out.jsonl"
    text = '{"id": "\\ud800", "prompt": "a"}\n{"id": "\\udc00", "prompt": "b"}\n'
    r = batch(text, "--output", str(out))
    assert r.code == 12, r.err
    lines = batch_lines(out.read_bytes())
    assert [(x["id"], x["exit_code"]) for x in lines] == [("0", 2), ("1", 2)]
    assert "not valid Unicode" in lines[0]["error"]["message"]


def test_options_cannot_replace_the_model_or_the_turns(batch, fake_server):
    r = batch(jsonl({"prompt": "a", "options": {"model": "claude-other"}},
                    {"prompt": "b", "options": {"messages": []}},
                    {"prompt": "c", "options": {"top_k": 3}}))
    assert r.code == 12, r.err
    assert [x["exit_code"] for x in r.lines] == [2, 2, 0]
    assert "options: model cannot be set" in r.lines[0]["error"]["message"]
    assert "options: messages cannot be set" in r.lines[1]["error"]["message"]
    assert [req.json["model"] for req in fake_server.requests] == ["claude-test"]
    r = batch(jsonl("a"), "-o", "model=claude-other")
    assert r.code == 2 and "-o: model cannot be set" in r.err


def test_options_cannot_put_two_models_in_one_openai_batch(sh, api):
    text = jsonl({"id": "a", "prompt": "one", "model": "gpt-x"},
                 {"id": "b", "prompt": "two", "model": "gpt-x", "options": {"model": "gpt-y"}})
    r = sh("submit", "-", stdin=text)
    assert r.code == 12, r.err  # b is refused; a is submitted alone
    (created,) = api.created
    assert {x["body"]["model"] for x in created["requests"]} == {"gpt-x"}


def test_an_item_attaching_a_fifo_or_stdin_fails_instead_of_hanging(
        fake_server, run_cli, tmp_path):
    models = FakeMessages(fake_server)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl({"prompt": "a", "attach": str(fifo)},
                          {"prompt": "b", "attach": "/dev/stdin"}, "c"))
    r, w = os.pipe()  # stdin: a pipe that stays silent
    try:
        done = run_cli(["batch", "run", path, "--base-url", models.url, "-m", "claude-test"],
                       env=FAKE_KEYS, stdin=r, timeout=20)
    finally:
        os.close(r)
        os.close(w)
    assert done.returncode == 12, done.stderr
    lines = batch_lines(done.stdout)
    assert [x["exit_code"] for x in lines] == [2, 2, 0]
    assert "not a regular file" in lines[0]["error"]["message"]
    assert "stdin" in lines[1]["error"]["message"]


def test_a_silent_stdin_gets_the_hint(fake_server, start_cli):
    models = FakeMessages(fake_server)
    r, w = os.pipe()
    proc = start_cli(["batch", "run", "--base-url", models.url, "-m", "claude-test"],
                     env=FAKE_KEYS, stdin=r)
    os.close(r)
    try:
        proc.read_until(b"waiting for the batch input on stdin", "stderr")
        os.write(w, b'"late"\n')
    finally:
        os.close(w)
    done = proc.finish()
    assert done.returncode == 0, done.stderr
    assert [x["text"] for x in batch_lines(done.stdout)] == ["answer to late"]


# -- the shared budget ---------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"retry-after": "1e308"}, {"retry-after": "inf"},
    {"retry-after-ms": "1e400"},
])
def test_a_retry_after_no_run_could_sleep_is_not_a_pause_even_with_no_max_wait(headers):
    budget = Budget(4, max_wait=math.inf, clock=lambda: 100.0)
    budget.observe(429, headers)
    assert budget.pause_until == pytest.approx(100.5)  # the short pause of a bare 429
    assert budget.limit == 2


@pytest.mark.parametrize("headers", [
    {"anthropic-ratelimit-requests-remaining": "0",
     "anthropic-ratelimit-requests-reset": "2999-01-01T00:00:00Z"},
    {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "99999999999h"},
    {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "9" * 400 + "s"},
])
def test_a_reset_no_run_could_wait_for_is_ignored(headers):
    budget = Budget(4, max_wait=math.inf, clock=lambda: 100.0)
    budget.observe(200, headers)
    assert budget._wait(100.0) <= 0 and budget.acquire()


def test_absurd_retry_afters_end_each_item_as_rate_limited_not_as_a_crash(
        cli, fake_server):
    cli.real_network().env(**ANTHROPIC_KEY)
    fake_server.handler = lambda req: Reply.json(
        429, anthropic_error_body("rate_limit_error", "slow down"),
        headers={"retry-after": "1e308"})
    r = cli.run("batch", "run", "--base-url", fake_server.url, "-m", "claude-test",
                "--max-retry-wait", "inf", "-j", "2", stdin=jsonl(*"abcd").encode())
    assert r.code == 12, r.err
    assert [x["exit_code"] for x in r.lines] == [5] * 4
    assert "internal" not in r.err


def test_poll_must_be_a_wait_that_can_be_slept(sh):
    for value in ("nan", "inf", "1e308"):
        r = sh("wait", "msgbatch_x", "--poll", value)
        assert r.code == 2 and "--poll" in r.err, (value, r.err)
        r = sh("run", "-", "--api", "--poll", value, stdin=jsonl("a"))
        assert r.code == 2 and "--poll" in r.err


# -- stdout ----------------------------------------------------------------------------------


def _blocked_run(start_cli, fake_server, tmp_path, n: int):
    """batch run of n items, its stdout a full pipe nobody reads: (proc, read end, filled)."""
    models = FakeMessages(fake_server)
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(*[f"q{i}" * 200 for i in range(n)]))
    r, w, filled = full_pipe()
    try:
        proc = start_cli(["batch", "run", path, "--base-url", models.url, "-m", "claude-test"],
                         env=FAKE_KEYS, stdout=w)
    finally:
        os.close(w)
    wait_blocked_in_pipe_write(proc.pid)
    return proc, r, filled


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_a_run_blocked_on_a_stdout_nobody_reads(
        start_cli, fake_server, tmp_path, signum):
    proc, r, _filled = _blocked_run(start_cli, fake_server, tmp_path, 40)
    try:
        proc.send_signal(signum)
        wait_exit(proc.proc, timeout=10)  # it was stuck for good, signals held back
        assert proc.proc.returncode == -signum
    finally:
        os.close(r)
    assert b"Traceback" not in proc.finish().stderr


def test_a_signal_during_a_blocked_write_lets_the_line_end_whole(
        start_cli, fake_server, tmp_path):
    proc, r, filled = _blocked_run(start_cli, fake_server, tmp_path, 40)
    try:
        proc.send_signal(signal.SIGINT)
        out = drain(r)[filled:]  # the reader catches up: the line under way is finished
    finally:
        os.close(r)
    assert wait_exit(proc.proc) and proc.proc.returncode == -signal.SIGINT
    assert out.endswith(b"\n") and len(batch_lines(out)) >= 1


# -- --resume ------------------------------------------------------------------------------


def test_resume_never_cuts_a_file_that_is_not_batch_output(batch, tmp_path):
    for content in (b"my notes, no newline at the end", b'{"id": "0", "status": "ok"}\nnotes'):
        out = tmp_path / "notes.txt"
        out.write_bytes(content)
        r = batch(jsonl("a"), "--output", str(out), "--resume")
        assert r.code == 2 and "not a batch result line" in r.err, r.err
        assert out.read_bytes() == content


def test_resume_still_cuts_a_torn_line_of_its_own(batch, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "0", "status": "ok"}\n{"id": "1", "ind')
    r = batch(jsonl("a", "b"), "--output", str(out), "--resume")
    assert r.code == 0 and "dropped an incomplete last line" in r.err
    assert [x["id"] for x in (json.loads(x) for x in out.read_text().splitlines())] == ["0", "1"]


# -- secrets ---------------------------------------------------------------------------------


def test_a_key_a_server_echoes_in_an_answer_never_reaches_the_lines(cli, fake_server, tmp_path):
    key = "sk-ant-echoed-0123456789"
    cli.real_network().env(ANTHROPIC_API_KEY=key)
    fake_server.handler = lambda req: Reply.json(200, anthropic_message(
        f"your key is {req.headers.get('x-api-key')}", msg_id=f"msg_{key}", model=key))
    out = tmp_path / "out.jsonl"
    r = cli.run("batch", "run", "--base-url", fake_server.url, "-m", "claude-test",
                "--output", str(out), stdin=jsonl("a").encode())
    assert r.code == 0, r.err
    assert key.encode() not in out.read_bytes()
    (line,) = batch_lines(out.read_bytes())
    assert line["text"] == "your key is ***"


def test_a_key_echoed_in_a_batch_object_never_reaches_the_ledger(cli, api, fake_server):
    key = "sk-ant-echoed-9876543210"
    cli.real_network().env(ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=api.anthropic_url)
    handle = api.handle

    def echoing(req):
        reply = handle(req)
        if req.method == "POST" and reply.status == 200:
            obj = json.loads(b"".join(p for p in reply.body if isinstance(p, bytes)))
            obj["metadata"] = {"seen": req.headers.get("x-api-key")}
            return Reply.json(200, obj)
        return reply
    fake_server.handler = echoing
    r = cli.run("batch", "submit", "-", "-m", "claude-test", stdin=jsonl("a").encode())
    assert r.code == 0, r.err
    db = cli.environ["STREAMCLI_DB"]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    (info,) = conn.execute("SELECT info FROM batch_batches").fetchone()
    conn.close()
    assert key not in info and '"seen": "***"' in info
    assert key.encode() not in open(db, "rb").read()


# -- the Batch APIs --------------------------------------------------------------------------


def test_an_anthropic_batch_exactly_at_the_byte_limit_and_one_over(sh, api, monkeypatch):
    body_of_three = _anthropic_body_size(sh, api, 3)
    for limit, batches in ((body_of_three, [3]), (body_of_three - 1, [2, 1])):
        monkeypatch.setattr(anthropic_api, "MAX_BYTES", limit)
        api.limits["anthropic"] = (100, limit)
        r = sh("submit", "-", "-m", "claude-test", "--json", stdin=jsonl("a", "b", "c"))
        assert r.code == 0, (limit, r.err)
        assert [b["requests"] for b in json.loads(r.text)["batches"]] == batches


def _anthropic_body_size(sh, api, n: int) -> int:
    """The bytes of a Message Batches body of n of these requests, as the fake saw it."""
    sh("submit", "-", "-m", "claude-test", stdin=jsonl(*"abc"[:n]))
    (req,) = [r for r in api.server.requests if r.method == "POST"]
    api.server.requests.clear()
    return len(req.body)


def test_one_request_too_large_for_any_batch_makes_no_empty_batch(sh, api, monkeypatch):
    monkeypatch.setattr(anthropic_api, "MAX_BYTES", 300)
    r = sh("submit", "-", "-m", "claude-test", stdin=jsonl("x" * 400))
    assert r.code == 12, r.err
    assert "too large for a batch" in r.err or "could not be submitted" in r.err
    assert api.created == [] and not any(x.method == "POST" for x in api.server.requests)
    r = sh("submit", "-", "-m", "claude-test", stdin=jsonl("x" * 400, "small"))
    assert r.code == 12, r.err
    assert [len(b["requests"]) for b in api.created] == [1]


def test_submit_with_a_closed_stdout_sends_nothing(api, processes):
    env = {**FAKE_KEYS, "ANTHROPIC_BASE_URL": api.anthropic_url}
    r = processes.shell('printf \'"a"\\n\' | "$@" >&-; echo "status=$?" >&2',
                        *streamcli_command(), "batch", "submit", "-", "-m", "claude-test",
                        env=env)
    assert b"status=11" in r.stderr, r.stderr
    assert api.created == []


def test_submit_of_no_items_says_so(sh, api):
    r = sh("submit", "-", "-m", "claude-test", stdin="\n \n")
    assert r.code == 0 and "nothing to submit" in r.err and r.out == b""
    assert api.created == []


@pytest.mark.parametrize("bad_id", ["../../v1/files", "a/b", "x?y=1", "..", "id\x1b[2J"])
def test_a_batch_id_that_is_not_a_plain_id_is_refused(cli, fake_server, bad_id):
    cli.real_network().env(**ANTHROPIC_KEY)
    api = FakeBatchAPI(fake_server)
    handle = api.handle

    def renaming(req):
        reply = handle(req)
        if req.method == "POST" and reply.status == 200:
            obj = json.loads(b"".join(p for p in reply.body if isinstance(p, bytes)))
            return Reply.json(200, {**obj, "id": bad_id})
        return reply
    fake_server.handler = renaming
    r = cli.run("batch", "submit", "-", "--base-url", fake_server.url, "-m", "claude-test",
                stdin=jsonl("a").encode())
    assert r.code == 9 and "not a plain id" in r.err, r.err
    assert r.out == b"" and "\x1b" not in r.err


def test_an_openai_file_id_with_a_path_is_not_followed(sh, api):
    api.polls_to_end = 0
    r = sh("submit", "-", "-m", "gpt-test", stdin=jsonl("a"))
    (batch_id,) = r.text.split()
    assert sh("wait", batch_id, "--poll", "0.01", "-q").code == 0
    api.batches[batch_id]["obj"]["output_file_id"] = "../../batches/" + batch_id
    seen = len(api.server.requests)
    r = sh("results", batch_id)
    assert r.code == 9 and "not a plain id" in r.err, r.err
    assert not any("/batches/../" in x.path or x.path.endswith("/content")
                   for x in api.server.requests[seen:])


def test_a_servers_state_reaches_the_terminal_as_escapes(sh, api):
    api.hold = True
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    api.batches[batch_id]["obj"]["processing_status"] = "in_progress\x1b]0;owned\x07\nfake"
    r = sh("status", batch_id)
    assert r.code == 0 and "\x1b" not in r.text and "\\x1b]0;owned" in r.text
    assert len(r.text.splitlines()) == 1  # one line per batch, whatever the server says
    listed = sh("list").text
    assert "\x1b" not in listed and len(listed.splitlines()) == 1


# -- the ledger ------------------------------------------------------------------------------


def _lock(cli):
    """Another process's write lock on the state database, held until closed."""
    conn = sqlite3.connect(cli.environ["STREAMCLI_DB"], isolation_level=None,
                           check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def test_a_locked_ledger_is_a_clear_error_before_anything_is_sent(sh, api, cli):
    assert sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).code == 0  # it exists
    cli.env(STREAMCLI_DB_TIMEOUT="0.1")
    lock = _lock(cli)
    try:
        r = sh("submit", "-", "-m", "claude-test", stdin=jsonl("b"))
    finally:
        lock.close()
    assert r.code == 2 and "ledger cannot be used" in r.err and "internal" not in r.err
    assert len(api.created) == 1


def test_a_batch_made_but_not_recorded_is_still_printed(sh, api, cli, fake_server):
    assert sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).code == 0  # it exists
    cli.env(STREAMCLI_DB_TIMEOUT="0.1")
    locks, handle = [], api.handle

    def lock_after_creating(req):  # another process takes the lock meanwhile
        reply = handle(req)
        if req.method == "POST":
            locks.append(_lock(cli))
        return reply
    fake_server.handler = lock_after_creating
    try:
        r = sh("submit", "-", "-m", "claude-test", stdin=jsonl("b"))
    finally:
        for lock in locks:
            lock.close()
    made = api.created[-1]["id"]
    assert r.code == 2 and r.text.split() == [made], r.err
    assert f"batch {made} was submitted" in r.err and "internal" not in r.err


def test_a_state_that_cannot_be_recorded_is_a_warning(sh, api, cli):
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    cli.env(STREAMCLI_DB_TIMEOUT="0.1")
    lock = _lock(cli)
    try:
        r = sh("status", batch_id)
        w = sh("wait", batch_id, "--poll", "0.01", "-q")
    finally:
        lock.close()
    assert r.code == 0 and "ledger cannot be written" in r.err and batch_id in r.text
    assert w.code == 0, w.err


def test_a_password_in_the_base_url_is_never_kept_in_the_ledger(sh, api, cli):
    secret_url = api.anthropic_url.replace("://", "://user:pw-secret-123@")
    cli.env(ANTHROPIC_BASE_URL=secret_url)
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    assert sh("wait", batch_id, "--poll", "0.01", "-q").code == 0  # found again from the env
    assert [x["text"] for x in sh("results", batch_id).lines] == ["answer to a"]
    db = cli.environ["STREAMCLI_DB"]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    (url,) = conn.execute("SELECT base_url FROM batch_batches").fetchone()
    conn.close()
    assert url == api.anthropic_url.replace("://", "://user:***@")
    assert b"pw-secret-123" not in open(db, "rb").read()
    cli.env(ANTHROPIC_BASE_URL=api.anthropic_url)  # the credentials are gone: say so
    r = sh("status", batch_id)
    assert r.code == 2 and "credentials are not kept" in r.err


def test_the_output_file_cannot_be_the_input(batch, tmp_path, run_cli, fake_server):
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl("a", "b"))
    for extra in ((), ("--resume",)):
        r = batch(b"", str(path), "--output", str(path), *extra)
        assert r.code == 2 and "is the input" in r.err, r.err
        assert path.read_text() == jsonl("a", "b")
    models = FakeMessages(fake_server)
    with open(path, "rb") as stdin:  # `--output in.jsonl < in.jsonl`
        done = run_cli(["batch", "run", "--base-url", models.url, "-m", "claude-test",
                        "--output", path], env=FAKE_KEYS, stdin=stdin)
    assert done.returncode == 2 and b"is the input" in done.stderr
    assert path.read_text() == jsonl("a", "b")


@pytest.mark.parametrize("data", [{"message": "not a list"}, 5, None])
def test_a_failed_openai_batch_whose_errors_are_not_a_list(sh, api, data):
    api.validation_error = "bad"
    (batch_id,) = sh("submit", "-", "-m", "gpt-test", stdin=jsonl("a")).text.split()
    assert sh("wait", batch_id, "--poll", "0.01", "-q").code == 0
    api.batches[batch_id]["obj"]["errors"] = {"object": "list", "data": data}
    r = sh("results", batch_id)
    assert r.code == 12, r.err
    assert "no reason given" in r.lines[0]["error"]["message"]


def test_no_line_erasing_on_a_dumb_terminal(fake_server, processes, tmp_path):
    import pty
    models = FakeMessages(fake_server)
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl("a", "b", "c"))
    master, slave = pty.openpty()
    proc = processes.start(["batch", "run", path, "--base-url", models.url, "-m",
                            "claude-test", "-j", "1"], env={**FAKE_KEYS, "TERM": "dumb"},
                           stderr=slave)
    os.close(slave)
    done = proc.finish()
    err = drain_pty(master)
    assert done.returncode == 0, err
    assert b"3 ok, 0 failed" in err and b"\x1b" not in err


def test_list_with_a_limit_beyond_sqlites_integers(sh, api):
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    r = sh("list", "-n", str(10**20))
    assert r.code == 0 and batch_id in r.text, r.err


def test_ctrl_c_between_two_batches_says_where_the_first_one_is(
        api, fake_server, start_cli, tmp_path):
    from tests.helpers.fakeserver import Gate
    gate, handle = Gate(timeout=20), api.handle

    def second_upload_waits(req):
        if req.method == "POST" and req.path.endswith("/files") and api.created:
            return Reply.json(200, {"id": "file-late"}, before=[gate])
        return handle(req)
    fake_server.handler = second_upload_waits
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl({"prompt": "a", "model": "gpt-x"}, {"prompt": "b", "model": "gpt-y"}))
    proc = start_cli(["batch", "submit", path, "--base-url", api.openai_url], env=FAKE_KEYS)
    fake_server.wait_requests(3)  # the first batch made, the second upload under way
    proc.send_signal(signal.SIGINT)
    done = proc.finish()
    gate.open()
    assert done.returncode == -signal.SIGINT, done.stderr
    assert b"already made are recorded: streamcli batch status sub_" in done.stderr


def test_ctrl_c_while_the_ledger_is_locked_ends_at_once(api, processes, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl("a"))
    env = {**FAKE_KEYS, "ANTHROPIC_BASE_URL": api.anthropic_url, "STREAMCLI_DB_TIMEOUT": "600"}
    assert processes.run(["batch", "submit", path, "-m", "claude-test"], env=env).returncode == 0
    db = processes.env()["STREAMCLI_DB"]
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        proc = processes.start(["batch", "submit", path, "-m", "claude-test"], env=env)
        wait_sleeping(proc.pid)  # waiting for the lock
        proc.send_signal(signal.SIGINT)
        wait_exit(proc.proc, timeout=10)  # not after the 600 s of the busy timeout
    finally:
        lock.close()
    assert proc.proc.returncode == -signal.SIGINT
    assert len(api.created) == 1


def test_repeated_sigkills_then_resume_lose_nothing_and_repeat_nothing(
        fake_server, start_cli, run_cli, tmp_path):
    """Three runs killed mid-way (out of order: every third item is slow), each resumed."""
    from tests.helpers.fakeserver import Gate
    models = FakeMessages(fake_server)
    gates = [Gate(timeout=30) for _ in range(3)]
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    path.write_text(jsonl(*[f"q{i}" for i in range(60)]))
    args = ["batch", "run", path, "--base-url", models.url, "-m", "claude-test", "-j", "4",
            "--unordered", "--output", out, "--resume"]
    for round_, gate in enumerate(gates):
        models.held = {f"q{i}": gate for i in range(60) if i % 3 == round_}
        before = out.read_bytes().count(b"\n") if out.exists() else 0
        proc = start_cli(args, env=FAKE_KEYS)
        wait_for_lines(out, before + 5, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gate.open()
        assert out.read_bytes().endswith(b"\n")
    models.held = {}
    done = run_cli(args, env=FAKE_KEYS)
    assert done.returncode == 0, done.stderr
    ids = [x["id"] for x in batch_lines(out.read_bytes())]
    assert sorted(ids, key=int) == [str(i) for i in range(60)]


def test_results_with_garbage_unknown_ids_and_a_missing_one(sh, api):
    r = sh("submit", "-", "-m", "gpt-test", stdin=jsonl("a", "b", "c"))
    (batch_id,) = r.text.split()
    assert sh("wait", batch_id, "--poll", "0.01", "-q").code == 0
    obj = api.batches[batch_id]["obj"]
    lines = api.files[obj["output_file_id"]].splitlines()
    kept = [x for x in lines if json.loads(x)["custom_id"] != "1"]  # "1" has no result
    stranger = json.loads(kept[0])
    stranger["custom_id"] = "nobody"
    api.files[obj["output_file_id"]] = b"\n".join(
        [b"\xff garbage", b"[1, 2]", b'{"custom_id": 5}', json.dumps(stranger).encode(),
         *kept, b'{"custom_id": "2", "response": {"status_code": "200"}'])  # torn
    r = sh("results", batch_id)
    assert r.code == 12, r.err
    assert [(x["id"], x["status"]) for x in r.lines] == [("0", "ok"), ("1", "error"),
                                                        ("2", "ok")]
    assert "no result" in r.lines[1]["error"]["message"]


def test_a_key_echoed_in_a_batch_state_never_reaches_stdout(cli, api, fake_server):
    key = "sk-ant-echoed-5555555555"
    cli.real_network().env(ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=api.anthropic_url)
    api.hold = True
    r = cli.run("batch", "submit", "-", "-m", "claude-test", stdin=jsonl("a").encode())
    (batch_id,) = r.text.split()
    api.batches[batch_id]["obj"]["processing_status"] = f"in_progress for {key}"
    for args in (("status", batch_id), ("status", batch_id, "--json"), ("list",),
                 ("list", "--json")):
        r = cli.run("batch", *args)
        assert r.code == 0 and key not in r.out.decode() and "***" in r.out.decode(), args


def test_the_live_wait_line_shows_no_escape_and_no_key_of_the_server():
    import io
    from streamcli.batch.api import Status
    from streamcli.batch.waiting import Display
    from streamcli.redact import Redactor
    from streamcli.ui import Stderr

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    key = "sk-ant-echoed-7777777777"
    ui = Stderr(Terminal(), environ={"TERM": "xterm"}, redact=Redactor([key]))
    display = Display(ui, quiet=False)
    assert display.live
    display.show([Status("b1", f"in_progress\x1b]0;owned\x07 {key}", False,
                         {"processing": 1}, {})], 10.0)
    drawn = ui.stream.getvalue()
    assert drawn.startswith("\r\x1b[K") and "\x1b" not in drawn[4:] and key not in drawn
    assert "\\x1b]0;owned" in drawn and "***" in drawn
