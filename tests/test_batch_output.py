"""The batch output writer: whole lines only, even when a write fails halfway or a signal
arrives during it; --resume's reading of the lines already there."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from streamcli import signals
from streamcli.batch import output
from streamcli.errors import Cancelled, OutputError, UsageError


def test_a_write_that_fails_halfway_is_cut_back_off(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    writer = output.Writer(None, str(path), resume=False)
    writer.write(b'{"id": "0", "status": "ok"}\n')
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(output.os, "write", half_then_full)
    with pytest.raises(OutputError, match="No space left"):
        writer.write(b'{"id": "1", "status": "ok"}\n')
    monkeypatch.setattr(output.os, "write", real_write)
    writer.write(b'{"id": "2", "status": "ok"}\n')  # the next line starts whole
    writer.close()
    assert path.read_bytes() == b'{"id": "0", "status": "ok"}\n{"id": "2", "status": "ok"}\n'


def test_signals_wait_while_a_line_is_written(tmp_path, monkeypatch):
    """A SIGINT arriving in the middle of a line is raised once the line is whole (the
    signal is shielded, not blocked: a write blocked for good on a pipe nobody reads is
    still ended by the signal, tests/test_attack_batch.py)."""
    path = tmp_path / "out.jsonl"
    line = b'{"id": "0", "status": "ok"}\n'
    real_write = os.write
    calls = []

    def interrupted(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            return real_write(fd, data)
        written = real_write(fd, data[:5])  # a short write, then the signal
        os.kill(os.getpid(), signal.SIGINT)
        return written
    monkeypatch.setattr(output.os, "write", interrupted)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    signals.install()
    try:
        writer = output.Writer(None, str(path), resume=False)
        with pytest.raises(Cancelled):
            writer.write(line)
        writer.close()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # the cleanup clock the signal started
        signals.install()  # forget the signal caught here
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert path.read_bytes() == line and calls == [len(line), len(line) - 5]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_resume_reads_the_last_line_of_each_id(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id": "a", "status": "ok"}\n\n{"id": "b", "status": "error"}\n'
                     b'{"id": "c", "status": "error"}\n{"id": "c", "status": "ok"}\n')
    assert output.done_ids(str(path)) == {"a", "c"}
    assert output.done_ids(str(tmp_path / "missing.jsonl")) == set()
    path.write_bytes(b'{"id": 1, "status": "ok"}\n')
    with pytest.raises(UsageError, match="line 1 is not a batch result line"):
        output.done_ids(str(path))


def test_without_resume_the_file_is_emptied_and_with_it_appended(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    output.Writer(None, str(path), resume=True).write(b"new\n")
    assert path.read_bytes() == b"old\nnew\n"
    output.Writer(None, str(path), resume=False).write(b"fresh\n")
    assert path.read_bytes() == b"fresh\n"
    with pytest.raises(OutputError, match="stdout is closed"):
        output.Writer(None, None, resume=False)
