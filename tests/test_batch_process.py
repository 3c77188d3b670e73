"""`streamcli batch run` as a real process: signals, a SIGKILL then --resume, a closed
stdout. The output is only ever whole lines."""

from __future__ import annotations

import os
import pty
import signal

import pytest

from tests.helpers.batchapi import FakeMessages
from tests.helpers.cli import streamcli_command
from tests.helpers.fakeserver import Gate
from tests.helpers.keys import FAKE_KEYS
from tests.helpers.pipes import drain_pty, wait_for_lines
from tests.helpers.schema import batch_lines


def _input(tmp_path, n: int):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f'"q{i}"\n' for i in range(n)))
    return path


def _args(path, models, *more):
    return ["batch", "run", path, "--base-url", models.url, "-m", "claude-test", *more]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_the_requests_in_flight_and_writes_nothing_partial(
        fake_server, start_cli, run_cli, tmp_path, signum):
    gate = Gate(timeout=30)
    models = FakeMessages(fake_server, before=[gate])
    path, out = _input(tmp_path, 6), tmp_path / "out.jsonl"
    proc = start_cli(_args(path, models, "-j", "3", "--output", out), env=FAKE_KEYS)
    fake_server.wait_requests(3)
    proc.send_signal(signum)
    done = proc.finish()
    assert done.returncode == -signum, done.stderr  # death by the signal
    assert b"Traceback" not in done.stderr and b"cancelled" in done.stderr
    assert out.read_bytes() == b""
    for ex in fake_server.exchanges[:3]:
        assert ex.disconnected.wait(10)  # the server saw each request go
    gate.open()
    again = run_cli(_args(path, models, "-j", "3", "--output", out, "--resume"), env=FAKE_KEYS)
    assert again.returncode == 0, again.stderr
    assert [x["id"] for x in batch_lines(out.read_bytes())] == [str(i) for i in range(6)]


def test_sigkill_mid_run_then_resume_loses_nothing_and_repeats_nothing(
        fake_server, start_cli, run_cli, tmp_path):
    held = Gate(timeout=30)
    models = FakeMessages(fake_server)
    models.held = {f"q{i}": held for i in range(10, 40)}
    path, out = _input(tmp_path, 40), tmp_path / "out.jsonl"
    proc = start_cli(_args(path, models, "-j", "4", "--output", out), env=FAKE_KEYS)
    wait_for_lines(out, 10, proc)
    fake_server.wait_requests(14)  # four more in flight, held
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = out.read_bytes()
    assert written.endswith(b"\n") and len(batch_lines(written)) == 10
    held.open()
    again = run_cli(_args(path, models, "-j", "4", "--output", out, "--resume"), env=FAKE_KEYS)
    assert again.returncode == 0, again.stderr
    lines = batch_lines(out.read_bytes())
    ids = [x["id"] for x in lines]
    assert sorted(ids, key=int) == [str(i) for i in range(40)]  # none lost, none twice
    assert all(x["status"] == "ok" for x in lines)


def test_a_closed_stdout_ends_quietly_by_sigpipe(fake_server, processes, tmp_path):
    models = FakeMessages(fake_server)
    argv = [*streamcli_command(), *[str(a) for a in _args(_input(tmp_path, 200), models)]]
    r = processes.shell('"$@" | head -n 1 > /dev/null; echo "status=${PIPESTATUS[0]}" >&2',
                        *argv, env=FAKE_KEYS)
    assert b"status=141" in r.stderr, r.stderr
    assert b"Traceback" not in r.stderr


def test_a_progress_line_on_a_terminal_then_the_summary(fake_server, processes, tmp_path):
    models = FakeMessages(fake_server)
    master, slave = pty.openpty()
    proc = processes.start(_args(_input(tmp_path, 5), models, "-j", "1"), env=FAKE_KEYS,
                           stderr=slave)
    os.close(slave)
    done = proc.finish()
    err = drain_pty(master)
    assert done.returncode == 0, err
    assert [x["text"] for x in batch_lines(done.stdout)] == [f"answer to q{i}" for i in range(5)]
    assert b"/5 done" in err and b"5 ok, 0 failed" in err
