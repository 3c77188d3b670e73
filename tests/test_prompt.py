"""Unit tests of prompt assembly (streamcli/prompt.py), some through a real pipe: the
silent-stdin hint, '-', empty and invalid stdin."""

from __future__ import annotations

import io
import os
import threading

import pytest

from streamcli import prompt
from streamcli.errors import UsageError


class RecordingUI:
    def __init__(self) -> None:
        self.notices: list[str] = []
        self.hinted = threading.Event()

    def notice(self, message: str) -> None:
        self.notices.append(message)
        self.hinted.set()


def pipe_stdin():
    r, w = os.pipe()
    return os.fdopen(r, "rb", buffering=0), w


def test_silent_pipe_gets_a_hint_then_the_input_is_still_read(monkeypatch):
    monkeypatch.setattr(prompt, "SILENT_STDIN_HINT_AFTER", 0.05)
    stdin, w = pipe_stdin()
    ui = RecordingUI()

    def writer():
        # Write only once the hint was shown: proves the command kept waiting after it.
        if ui.hinted.wait(10):
            os.write(w, b"late context\n")
        os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    try:
        text = prompt.assemble(("question",), use_stdin=True, stdin=stdin, ui=ui)
    finally:
        t.join(10)
        stdin.close()
    assert len(ui.notices) == 1 and "--no-stdin" in ui.notices[0] and "/dev/null" in ui.notices[0]
    assert text == "late context\n\nquestion"


def test_pipe_with_data_gets_no_hint(monkeypatch):
    monkeypatch.setattr(prompt, "SILENT_STDIN_HINT_AFTER", 5)
    stdin, w = pipe_stdin()
    os.write(w, b"ctx\r\n\n")
    os.close(w)
    ui = RecordingUI()
    with stdin:
        assert prompt.assemble(("q",), use_stdin=True, stdin=stdin, ui=ui) == "ctx\n\nq"
    assert ui.notices == []


def test_stdin_only_dash_and_exact_text():
    stdin = io.BytesIO(b"  indented\n\ttabs kept\n")
    assert prompt.assemble(("-",), use_stdin=True, stdin=stdin) == "  indented\n\ttabs kept\n"


def test_empty_stdin_and_no_arguments_is_a_usage_error():
    with pytest.raises(UsageError, match="no prompt"):
        prompt.assemble((), use_stdin=True, stdin=io.BytesIO(b""))


def test_invalid_utf8_is_a_usage_error_naming_the_byte():
    with pytest.raises(UsageError, match="not valid UTF-8"):
        prompt.assemble(("q",), use_stdin=True, stdin=io.BytesIO(b"ok \xff\xfe"))
