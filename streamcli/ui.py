"""Everything streamcli says on stderr: notices, warnings, errors, thinking, the spinner.

stderr is decorated (colour, spinner) only when it is a terminal that can show it
(TERM is not "dumb") and NO_COLOR is unset or empty. Every text passes through the run's
Redactor (no secret ever shows) and `redact.visible` (a server's control characters
become escapes: no title, screen or clipboard changes), before any decoration.
A closed stderr is never a reason to fail: writes to it swallow OSError.
"""

from __future__ import annotations

import os
import threading

from streamcli.redact import MASK, MIN_SECRET, Redactor, visible

PROG = "streamcli"
# A message (error, warning, notice) longer than this is shown by its two ends: a
# server's megabyte of error text would otherwise flood the terminal. The --jsonl and
# --no-stream error objects keep it whole.
LONGEST_MESSAGE = 8000


class Stderr:
    def __init__(self, stream=None, *, quiet: bool = False, force_plain: bool = False,
                 environ=None, redact: Redactor | None = None) -> None:
        # stderr is None when the shell closed it (`2>&-`): say nothing, fail nothing.
        self.stream = stream or _Nowhere()
        environ = os.environ if environ is None else environ
        self.quiet = quiet
        self.redact = redact or Redactor()
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        # NO_COLOR counts when set to something (no-color.org); a dumb terminal cannot
        # draw colours, a spinner or an erased line.
        self.decorated = (tty and not force_plain and not environ.get("NO_COLOR")
                          and environ.get("TERM") != "dumb")
        # A line redrawn in place (a progress line) needs only a terminal that can erase
        # one: NO_COLOR is about colour.
        self.erasable = tty and environ.get("TERM") != "dumb"
        self._spinner: _Spinner | None = None
        self._line = None  # the stdout writer sharing our terminal line (follow())
        self._open = False  # our last write left the shared line open (thinking text)
        self._held = ""  # thinking text that may be the start of a secret (redact.held)

    def follow(self, writer, stdout) -> None:
        """`writer` (the text sink) writes the answer to `stdout`: when that is where stderr
        goes too (one terminal, or `>file 2>&1`), start each message on a fresh line
        instead of gluing it to the answer. `writer` has midline() and line_ended()."""
        try:
            shared = os.path.samestat(os.fstat(stdout.fileno()), os.fstat(self.stream.fileno()))
        except (AttributeError, OSError, ValueError):
            shared = False
        self._line = writer if shared else None

    def _clean(self, text: str) -> str:
        return visible(self.redact(text))

    def _message(self, text: str) -> str:
        """A message, masked, then cut to LONGEST_MESSAGE (its two ends), then escaped."""
        text = self.redact(text)
        if len(text) > LONGEST_MESSAGE:
            tail = LONGEST_MESSAGE // 4
            text = (f"{text[:LONGEST_MESSAGE - tail]} [... {len(text) - LONGEST_MESSAGE} "
                    f"characters not shown ...] {text[-tail:]}")
        return visible(text)

    def _write(self, text: str, plain: str | None = None) -> None:
        """`plain`: `text` without its decoration, when it has some."""
        if self._held:
            self._release()
        self.stop_spinner()
        line = self._line
        if line is not None and text:
            if not self._open and line.midline():
                text = "\n" + text
            self._open = not (text if plain is None else plain).endswith("\n")
            if not self._open:
                line.line_ended()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.decorated else text

    def error(self, message: str) -> None:
        self._write(f"{PROG}: {self._style('error', '1;31')}: {self._message(message)}\n")

    def warn(self, message: str) -> None:
        self._write(f"{PROG}: {self._style('warning', '33')}: {self._message(message)}\n")

    def notice(self, message: str) -> None:
        """Progress the user may want (retries, cancellation); hidden by --quiet."""
        if not self.quiet:
            self._write(f"{PROG}: {self._message(message)}\n")

    def line(self, message: str) -> None:
        """A plain line of information that was asked for (usage, tool calls)."""
        self._write(self._clean(message) + "\n")

    def thinking(self, text: str) -> None:
        """A piece of streamed text (thinking, a refusal). A secret split across two
        pieces is masked too: an end that may be the start of one waits for the next."""
        text = self.redact(self._held + text) if self._held else self.redact(text)
        self._held = ""
        keep = self.redact.held(text) if self.redact.secrets else 0
        held = text[len(text) - keep:] if keep else ""
        if keep:
            text = text[:-keep]
        if text:
            text = visible(text)
            self._write(self._style(text, "2"), text)
        self._held = held

    def _release(self) -> None:
        """Other output comes: the held end of the text was no secret after all (or one
        cut short, masked when it is long enough to be one)."""
        held, self._held = self._held, ""
        text = visible(MASK if len(held) >= MIN_SECRET else held)
        self._write(self._style(text, "2"), text)

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
