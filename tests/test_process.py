"""Real-process tests of the running `python -m streamcli` against the local FakeServer:
incremental output and stdin (issue 2); SIGINT, SIGTERM and a closed stdout (issue 4).

Synchronisation is by what the process prints and by the server's events and gates.
Two tests look at the kernel's view of the process (/proc/PID/wchan, /proc/PID/status)
to know it is blocked writing to a full pipe or has run its SIGINT handler: there is no
event to wait for there, so they poll it, bounded.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import signal
import subprocess
import time

import pytest

from tests.helpers.cli import shell_words
from tests.helpers.fakeserver import FakeServer, Gate, Pause, Reply
from tests.helpers.pipes import (drain, full_pipe, wait_blocked_in_pipe_write, wait_exit,
                                   wait_sigint_handled)
from tests.helpers.schema import jsonl_events
from tests.helpers.sse import anthropic_error_body, first_text_index, partial_sse, provider_sse

PROVIDER_ARGS = {
    "anthropic": ["-m", "claude-test", "--provider", "anthropic"],
    "openai": ["-m", "gpt-test", "--provider", "openai"],
    "openai-responses": ["-m", "gpt-test", "--provider", "openai", "--api", "responses"],
}
MODE_FLAGS = {"text": [], "raw": ["--raw-sse"], "jsonl": ["--jsonl"]}
QUESTION = "what does it say?"


def cli_args(provider: str, srv: FakeServer, *extra: str, retries: int = 0) -> list[str]:
    return [*PROVIDER_ARGS[provider], "--base-url", srv.url, "--retries", str(retries), *extra]


def prompt_sent(srv: FakeServer) -> str:
    return srv.requests[0].json["messages"][-1]["content"]


def one_stderr_line(r) -> str:
    err = r.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------- incremental output


@pytest.mark.parametrize("provider,mode", [
    ("anthropic", "text"), ("openai", "text"), ("anthropic", "jsonl"), ("openai", "raw"),
    ("openai-responses", "text"), ("openai-responses", "jsonl"),
])
def test_first_delta_is_on_stdout_before_the_second_is_sent(start_cli, fake_keys, provider, mode):
    parts = provider_sse(provider, ["first delta ", "second"])
    k = first_text_index(provider) + 1  # the gate sits right after the first delta
    gate = Gate()
    with FakeServer() as srv:
        srv.enqueue(Reply(body=[*parts[:k], gate, *parts[k:]]))
        proc = start_cli(cli_args(provider, srv, *MODE_FLAGS[mode], QUESTION), env=fake_keys)
        first = {"text": b"first delta ",
                 "jsonl": b'{"type":"text","text":"first delta "}\n',
                 "raw": parts[k - 1]}[mode]
        proc.read_until(first)
        # the first delta is on our side of the pipe while the server holds the second
        assert not gate.is_open and srv.exchanges[0].sent_time(k) is None
        gate.open()
        r = proc.finish()
    assert r.returncode == 0, r.stderr
    if mode == "text":
        assert r.stdout == b"first delta second\n"
    elif mode == "raw":
        assert r.stdout == b"".join(parts)
    else:
        events = jsonl_events(r.stdout)
        assert "".join(e["text"] for e in events if e["type"] == "text") == "first delta second"
    assert r.stderr == b""


# --------------------------------------------------------------------------- stdin


def test_file_on_stdin_goes_before_the_question(start_cli, fake_keys, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line one\n  indented line two\n\n\n")
    with FakeServer() as srv, open(path, "rb") as stdin:
        srv.enqueue(Reply(body=provider_sse("anthropic", ["Hel", "lo"])))
        r = start_cli(cli_args("anthropic", srv, QUESTION), env=fake_keys, stdin=stdin).finish()
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello\n"
    # trailing newlines of stdin are dropped at the join, nothing else is touched
    assert prompt_sent(srv) == f"line one\n  indented line two\n\n{QUESTION}"


def test_pipe_on_stdin_goes_before_the_question(run_cli, fake_keys):
    with FakeServer() as srv:
        srv.enqueue(Reply(body=provider_sse("openai", ["Hel", "lo"])))
        r = run_cli(cli_args("openai", srv, "what", "does", "it", "say?"), input=b"CONTENT\n",
                    env=fake_keys)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello\n"
    assert prompt_sent(srv) == "CONTENT\n\nwhat does it say?"


def test_shell_pipeline_into_streamcli(processes, fake_keys):
    with FakeServer() as srv:
        srv.enqueue(Reply(body=provider_sse("anthropic", ["Hel", "lo"])))
        script = f"printf 'CONTENT\\n' | {shell_words(cli_args('anthropic', srv, QUESTION))}"
        r = processes.shell(script, env=fake_keys)  # checks that no key leaked
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello\n"
    assert prompt_sent(srv) == f"CONTENT\n\n{QUESTION}"


def test_dash_means_stdin_only(run_cli, fake_keys):
    with FakeServer() as srv:
        srv.enqueue(Reply(body=provider_sse("anthropic", ["ok"])))
        r = run_cli(cli_args("anthropic", srv, "-"), input=b"  only stdin\n\n", env=fake_keys)
    assert r.returncode == 0, r.stderr
    assert prompt_sent(srv) == "  only stdin\n\n"  # exactly what came in


def test_no_stdin_never_reads_a_pipe_that_stays_open(start_cli, fake_keys):
    """stdin is a pipe nobody writes to or closes: reading it would hang."""
    with FakeServer() as srv:
        srv.enqueue(Reply(body=provider_sse("openai", ["Hel", "lo"])))
        proc = start_cli(cli_args("openai", srv, "--no-stdin", QUESTION), env=fake_keys,
                         stdin=subprocess.PIPE)
        wait_exit(proc.proc, timeout=15)  # before finish(), which would close stdin
        r = proc.finish()
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello\n"
    assert prompt_sent(srv) == QUESTION


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_no_prompt_and_empty_stdin_is_a_usage_error(run_cli, fake_keys, mode):
    with FakeServer() as srv:
        r = run_cli(cli_args("anthropic", srv, *MODE_FLAGS[mode]), input=b"", env=fake_keys)
    assert r.returncode == 2
    assert "no prompt" in one_stderr_line(r)
    assert srv.requests == []
    if mode == "text":
        assert r.stdout == b""
    else:
        events = jsonl_events(r.stdout)
        assert events[0]["type"] == "start" and events[-1]["type"] == "end"
        assert events[-1]["exit_code"] == 2


def test_invalid_utf8_on_stdin_is_a_usage_error(run_cli, fake_keys):
    with FakeServer() as srv:
        r = run_cli(cli_args("anthropic", srv, QUESTION), input=b"caf\xe9 au lait\n", env=fake_keys)
    assert r.returncode == 2
    line = one_stderr_line(r)
    assert line.startswith("streamcli: error: ") and "UTF-8" in line
    assert srv.requests == [] and r.stdout == b""


# --------------------------------------------------------------------------- signals

SIGNAL_TIMINGS: list[str] = []


# How the last delta of partial_sse() looks on stdout, per provider and mode.
LAST_DELTA = {
    ("anthropic", "text"): b"Hello", ("openai", "text"): b"Hello",
    ("anthropic", "jsonl"): b'{"type":"text","text":"lo"}',
    ("openai", "jsonl"): b'{"type":"text","text":"lo"}',
    ("anthropic", "raw"): b'"text":"lo"', ("openai", "raw"): b'"content":"lo"',
    ("openai-responses", "text"): b"Hello",
    ("openai-responses", "jsonl"): b'{"type":"text","text":"lo"}',
    ("openai-responses", "raw"): b'"delta":"lo"',
}


@pytest.mark.parametrize("signum,provider,mode", [
    (signal.SIGINT, "anthropic", "text"),
    (signal.SIGINT, "openai", "jsonl"),
    (signal.SIGINT, "anthropic", "raw"),
    (signal.SIGTERM, "openai", "text"),
    (signal.SIGTERM, "anthropic", "jsonl"),
    (signal.SIGINT, "openai-responses", "text"),
    (signal.SIGINT, "openai-responses", "raw"),
    (signal.SIGTERM, "openai-responses", "jsonl"),
], ids=["SIGINT-anthropic-text", "SIGINT-openai-jsonl", "SIGINT-anthropic-raw",
        "SIGTERM-openai-text", "SIGTERM-anthropic-jsonl", "SIGINT-responses-text",
        "SIGINT-responses-raw", "SIGTERM-responses-jsonl"])
def test_signal_mid_stream(start_cli, fake_keys, signum, provider, mode):
    body = partial_sse(provider)
    with FakeServer() as srv:
        srv.enqueue(Reply(body=body, end="hang"))  # the rest never comes
        proc = start_cli(cli_args(provider, srv, *MODE_FLAGS[mode], QUESTION), env=fake_keys)
        proc.read_until(LAST_DELTA[provider, mode])
        t0 = time.monotonic()
        proc.send_signal(signum)
        t_exit = wait_exit(proc.proc)
        assert srv.disconnected.wait(5), "the server never saw the client go away"
        t_disconnect = srv.disconnect_time
        r = proc.finish()
    name = signal.Signals(signum).name
    SIGNAL_TIMINGS.append(f"{name} {provider} {mode}: exit after {(t_exit - t0) * 1000:.1f} ms, "
                          f"server saw the disconnect after {(t_disconnect - t0) * 1000:.1f} ms")
    print(SIGNAL_TIMINGS[-1])
    assert r.returncode == -signum, (r.returncode, r.stderr)  # death by the signal
    line = one_stderr_line(r)
    assert "cancelled" in line and name in line
    if mode == "text":
        assert r.stdout == b"Hello\n"  # the partial text, kept, plus a final newline
    elif mode == "raw":
        assert r.stdout == b"".join(body)
    else:
        events = jsonl_events(r.stdout)
        assert events[0]["type"] == "start" and events[0]["id"] is not None
        assert "".join(e["text"] for e in events if e["type"] == "text") == "Hello"
        assert events[-1]["type"] == "end" and events[-1]["status"] == "cancelled"
        assert events[-1]["exit_code"] == 128 + signum


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_sigint_while_waiting_for_the_response_headers(start_cli, fake_keys, mode):
    gate = Gate()  # the server holds the status line until the gate opens (never)
    with FakeServer() as srv:
        srv.enqueue(Reply(body=provider_sse("anthropic", ["late"]), before=[gate]))
        proc = start_cli(cli_args("anthropic", srv, *MODE_FLAGS[mode], QUESTION), env=fake_keys)
        gate.wait_reached(10)  # the request arrived; no headers went back
        proc.send_signal(signal.SIGINT)
        wait_exit(proc.proc)
        assert srv.disconnected.wait(5)
        r = proc.finish()
    assert r.returncode == -signal.SIGINT
    assert "cancelled" in one_stderr_line(r)
    if mode == "text":
        assert r.stdout == b""
    else:
        events = jsonl_events(r.stdout)
        assert [e["type"] for e in events] == ["start", "end"]
        assert events[0]["id"] is None
        assert events[-1]["status"] == "cancelled" and events[-1]["exit_code"] == 130


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_sigint_during_a_retry_wait_ends_it_at_once(start_cli, fake_keys, mode):
    """The server asks for 30 s and --max-retry-wait allows 60: SIGINT ends the wait (the
    run is bounded to 10 s)."""
    with FakeServer() as srv:
        srv.enqueue(Reply.json(429, anthropic_error_body("rate_limit_error", "fake-slow-down"),
                               {"retry-after": "30"}),
                    Reply(body=provider_sse("anthropic", ["too late"])))
        proc = start_cli(cli_args("anthropic", srv, "--max-retry-wait", "60", *MODE_FLAGS[mode],
                                  QUESTION, retries=1), env=fake_keys)
        if mode == "jsonl":
            proc.read_until(b'"type":"retry"')  # written after the notice, just before the wait
        else:
            proc.read_until(b"retry 1/1 in 30.0 s", stream="stderr")
        proc.send_signal(signal.SIGINT)
        wait_exit(proc.proc, timeout=10)
        r = proc.finish()
    assert r.returncode == -signal.SIGINT
    assert len(srv.requests) == 1
    err = r.stderr.decode()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and "retry 1/1" in lines[0] and "cancelled" in lines[1], lines
    if mode == "text":
        assert r.stdout == b""
    else:
        events = jsonl_events(r.stdout)
        assert [e["type"] for e in events] == ["start", "retry", "end"]
        assert events[-1]["status"] == "cancelled" and events[-1]["exit_code"] == 130


@pytest.fixture
def blocked_stdout(start_cli, fake_keys):
    """streamcli mid-stream, blocked writing its first output to a full stdout pipe."""
    if not os.path.exists("/proc/self/wchan") or not hasattr(fcntl, "F_SETPIPE_SZ"):
        pytest.skip("needs Linux /proc and F_SETPIPE_SZ")
    fds, servers = [], []

    def start(mode: str):
        r, w, filled = full_pipe()
        fds.append(r)
        srv = FakeServer().start()
        servers.append(srv)
        srv.enqueue(Reply(body=partial_sse("anthropic")[:4], end="hang"))  # ... "Hel", then nothing
        try:
            proc = start_cli(cli_args("anthropic", srv, *MODE_FLAGS[mode], QUESTION),
                             env=fake_keys, stdout=w)
        finally:
            os.close(w)
        srv.wait_sent(3)
        wait_blocked_in_pipe_write(proc.pid)
        return srv, proc, r, filled

    yield start
    for srv in servers:
        srv.close()
    for fd in fds:
        os.close(fd)


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_sigint_while_stdout_is_blocked_keeps_the_output(blocked_stdout, mode):
    srv, proc, r, filled = blocked_stdout(mode)
    with srv:
        proc.send_signal(signal.SIGINT)
        wait_sigint_handled(proc.pid)
        out = drain(r)[filled:]  # the reader catches up: the cleanup can finish writing
        assert wait_exit(proc.proc) and proc.proc.returncode == -signal.SIGINT
        assert srv.disconnected.wait(5)
        result = proc.finish()
    assert "cancelled" in one_stderr_line(result)
    if mode == "text":
        assert out == b"Hel\n"
    else:
        events = jsonl_events(out)
        assert events[0]["type"] == "start" and events[-1]["type"] == "end"
        assert events[-1]["status"] == "cancelled" and events[-1]["exit_code"] == 130


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_sigterm_while_nobody_reads_stdout_ends_the_process_promptly(blocked_stdout, mode):
    """`timeout 10 streamcli ... | less`, the pager never scrolled: the cleanup's last
    write blocks on the full pipe; the signal must still end the process, by itself
    (issue 10 #16; the limit is signals.CLEANUP_GRACE, the wait here only a bound)."""
    srv, proc, r, filled = blocked_stdout(mode)
    with srv:
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        t_exit = wait_exit(proc.proc, timeout=10)
        assert proc.proc.returncode == -signal.SIGTERM
        assert srv.disconnected.wait(5)
        result = proc.finish()
    SIGNAL_TIMINGS.append(f"SIGTERM, stdout full ({mode}): exit after "
                          f"{(t_exit - t0) * 1000:.1f} ms")
    print(SIGNAL_TIMINGS[-1])
    assert "cancelled (SIGTERM)" in one_stderr_line(result)


def test_second_sigint_during_cleanup_exits_at_once(blocked_stdout):
    """The first SIGINT's cleanup has to flush to a stdout nobody reads, so it blocks; a
    second SIGINT ends the process at once."""
    srv, proc, r, filled = blocked_stdout("text")
    with srv:
        proc.send_signal(signal.SIGINT)
        wait_sigint_handled(proc.pid)
        wait_blocked_in_pipe_write(proc.pid)  # cleanup, stuck on the full pipe
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        wait_exit(proc.proc, timeout=5)
        assert proc.proc.returncode == -signal.SIGINT
        assert srv.disconnected.wait(5)
        result = proc.finish()
    assert b"Traceback" not in result.stderr


# --------------------------------------------------------------------------- closed stdout

@pytest.mark.parametrize("provider,mode", [("anthropic", "text"), ("openai", "jsonl"),
                                           ("anthropic", "raw"), ("openai-responses", "text"),
                                           ("openai-responses", "jsonl")])
def test_reader_closes_stdout_mid_stream(start_cli, fake_keys, provider, mode):
    parts = provider_sse(provider, ["Hello world", " and more"])
    k = first_text_index(provider) + 1
    gate = Gate()
    with FakeServer() as srv:
        srv.enqueue(Reply(body=[*parts[:k], gate, *parts[k:k + 1]], end="hang"))
        proc = start_cli(cli_args(provider, srv, *MODE_FLAGS[mode], QUESTION), env=fake_keys)
        proc.read_until(b"Hello world")
        proc.proc.stdout.close()  # the reader goes away
        gate.open()  # the next delta makes streamcli write into the closed pipe
        wait_exit(proc.proc)
        assert srv.disconnected.wait(5)
        r = proc.finish()
    assert r.stderr == b""  # no message, no traceback, no "Exception ignored"
    assert r.returncode == -signal.SIGPIPE


def test_head_c_5_in_a_shell_pipeline(processes, fake_keys, no_secrets, tmp_path):
    parts = provider_sse("anthropic", ["Hello world"] + [" more"] * 100)
    k = first_text_index("anthropic") + 1
    body: list = parts[:k]
    for part in parts[k:]:  # keeps writing after head has gone
        body += [Pause(0.02), part]
    errors = tmp_path / "stderr.txt"
    with FakeServer() as srv:
        srv.enqueue(Reply(body=body, end="hang"))
        cmd = shell_words(cli_args("anthropic", srv, "--idle-timeout", "10", QUESTION))
        script = (f"set -o pipefail; {cmd} 2>{shlex.quote(str(errors))} | head -c 5; "
                  'echo " ${PIPESTATUS[*]}"')
        r = processes.shell(script, env=fake_keys, timeout=30)  # checks stdout and stderr
        assert srv.disconnected.wait(5)
    no_secrets(errors.read_bytes())
    assert r.stdout.startswith(b"Hello ")
    assert errors.read_bytes() == b""
    assert r.stdout.split()[1:] == [b"141", b"0"], r.stdout  # streamcli died by SIGPIPE

