"""Unit tests of the stderr writer (streamcli/ui.py: Stderr): when it decorates, and when
its spinner may run."""

from __future__ import annotations

import io

from streamcli.ui import Stderr


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stderr_is_decorated_only_on_a_tty_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Stderr(FakeTTY()).decorated
    assert not Stderr(io.StringIO()).decorated
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Stderr(FakeTTY()).decorated


def test_spinner_never_runs_off_a_tty_or_when_quiet(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for ui in (Stderr(io.StringIO()), Stderr(FakeTTY(), quiet=True)):
        ui.start_spinner()
        assert ui._spinner is None
    ui = Stderr(FakeTTY())
    ui.start_spinner()
    assert ui._spinner is not None
    ui.error("boom")  # any message stops the spinner first
    assert ui._spinner is None
    assert ui.stream.getvalue().endswith("boom\n")
