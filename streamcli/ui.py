"""Everything streamcli says on stderr: notices, warnings, errors, thinking, the spinner.

stderr is decorated (colour, spinner) only when it is a terminal and NO_COLOR is unset.
A closed stderr is never a reason to fail: writes to it swallow OSError.
"""

from __future__ import annotations

import os
import re
import threading

PROG = "streamcli"

# C0 and C1 controls and DEL, and the bidirectional overrides: text from a server or the
# log (an error message, a tool's name, a model id) must not drive the reader's terminal,
# nor reorder what it shows. Newline and tab are kept unless the text must stay one line.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_AND_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                                  "\u2028\u2029]")


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with those characters shown as escapes (\\x1b, \\u202e), never obeyed."""
    return (_CONTROLS_AND_BREAKS if one_line else _CONTROLS).sub(_escape, text)


def _escape(match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Stderr:
    def __init__(self, stream=None, *, quiet: bool = False, force_plain: bool = False,
                 environ=None) -> None:
        # stderr is None when the shell closed it (`2>&-`): say nothing, fail nothing.
        self.stream = stream or _Nowhere()
        environ = os.environ if environ is None else environ
        self.quiet = quiet
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.decorated = tty and not force_plain and "NO_COLOR" not in environ
        self._spinner: _Spinner | None = None

    def _write(self, text: str) -> None:
        self.stop_spinner()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.decorated else text

    def error(self, message: str) -> None:
        self._write(f"{PROG}: {self._style('error', '1;31')}: {visible(message)}\n")

    def warn(self, message: str) -> None:
        self._write(f"{PROG}: {self._style('warning', '33')}: {visible(message)}\n")

    def notice(self, message: str) -> None:
        """Progress the user may want (retries, cancellation); hidden by --quiet."""
        if not self.quiet:
            self._write(f"{PROG}: {visible(message)}\n")

    def line(self, message: str) -> None:
        """A plain line of information that was asked for (usage, tool calls)."""
        self._write(visible(message) + "\n")

    def thinking(self, text: str) -> None:
        self._write(self._style(text, "2") if self.decorated else text)

    def start_spinner(self) -> None:
        if self.decorated and not self.quiet and self._spinner is None:
            self._spinner = _Spinner(self.stream)
            self._spinner.start()

    def stop_spinner(self) -> None:
        spinner = self._spinner
        if spinner is not None:
            self._spinner = None
            spinner.stop()


class _Spinner(threading.Thread):
    """A small animation on a terminal stderr while waiting for the first token."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self._stopped = threading.Event()

    def run(self) -> None:
        i = 0
        # Wait a little before drawing anything: a fast answer should not flicker.
        while not self._stopped.wait(0.25 if i == 0 else 0.08):
            try:
                self.stream.write(f"\r{self.FRAMES[i % len(self.FRAMES)]} ")
                self.stream.flush()
            except (OSError, ValueError):
                return
            i += 1
        if i:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def stop(self) -> None:
        self._stopped.set()
        self.join(1.0)


class _Nowhere:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
