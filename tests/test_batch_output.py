"""The batch output writer: whole lines only, even when a write fails halfway or a signal
arrives during it; --resume's reading of the lines already there."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from streamcli.batch import output
from streamcli.errors import OutputError, UsageError


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
    blocked = []
    real_write = os.write

    def watching(fd, data):
        blocked.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        return real_write(fd, data)
    monkeypatch.setattr(output.os, "write", watching)
    writer = output.Writer(None, str(tmp_path / "out.jsonl"), resume=False)
    writer.write(b"{}\n")
    writer.close()
    assert {signal.SIGINT, signal.SIGTERM} <= blocked[0]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # released


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
