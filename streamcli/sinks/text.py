"""Text mode: only the answer text on stdout; thinking, refusals and tool calls on stderr."""

from __future__ import annotations

import json

from streamcli.events import OutputItem, Refusal, Text, Thinking, ToolCall
from streamcli.redact import clip
from streamcli.sinks import encode_text, write_all


class TextSink:
    def __init__(self, out, ui, *, show_thinking: bool, newline: bool) -> None:
        self.out = out
        self.ui = ui
        self.show_thinking = show_thinking
        self.newline = newline
        self.committed = False
        self._last = b""  # the last byte written, to end the output with a newline
        self._side = None  # the stderr stream (thinking/refusal) whose line is still open
        ui.follow(self, out)  # on one terminal, stderr's messages start on a fresh line

    def midline(self) -> bool:
        """The answer's last byte so far was not a newline."""
        return self._last not in (b"", b"\n")

    def line_ended(self) -> None:
        """stderr ended the line we share (one terminal): no newline owed to it."""
        if self._last:
            self._last = b"\n"

    def write(self, events: list) -> None:
        if len(events) == 1 and type(events[0]) is Text and self.committed and not self._side:
            data = encode_text(events[0].text)
            if data:
                self._last = data[-1:]
                write_all(self.out, data)
                self.out.flush()
            return
        parts = []
        for ev in events:
            kind = type(ev)
            if kind is Text:
                if self._side:
                    self._close_side()
                parts.append(ev.text)
            elif kind is Thinking:
                if self.show_thinking:
                    self._side_text(parts, "thinking", ev.text)
            elif kind is Refusal:
                self._side_text(parts, "refusal", ev.text)
            elif kind is ToolCall:
                self._emit(parts)
                self._close_side()
                flag = " (invalid JSON, cut off?)" if ev.invalid else ""
                self.ui.line(f"tool call: {ev.name} {ev.raw_arguments or '{}'}{flag}")
                self.committed = True
            elif kind is OutputItem:
                self._emit(parts)
                self._close_side()
                self.ui.line(output_item_line(ev))
                self.committed = True
        if parts:
            self._emit(parts)

    def begin(self, provider, model, *, conversation_id=None) -> None:
        pass

    def write_plain_text(self, data: bytes) -> None:
        """Answer text already in UTF-8 (the pump's fast path)."""
        if self._side:
            self._close_side()
        if not self.committed:
            self.ui.stop_spinner()
            self.committed = True
        if data:
            self._last = data[-1:]
            write_all(self.out, data)
            self.out.flush()

    def _emit(self, parts: list) -> None:
        if not parts:
            return
        if not self.committed:
            self.ui.stop_spinner()
            self.committed = True
        data = encode_text("".join(parts) if len(parts) > 1 else parts[0])
        parts.clear()
        if data:
            # Noted before the write: a signal may interrupt a write blocked on a full
            # pipe, and the final newline must still follow what gets flushed later.
            self._last = data[-1:]
            write_all(self.out, data)
            self.out.flush()

    def _side_text(self, parts: list, name: str, text: str) -> None:
        """Thinking and refusals stream to stderr; keep their order relative to text."""
        self._emit(parts)
        if self._side != name:
            self._close_side()
            self._side = name
            if name == "refusal":
                self.ui.thinking("refusal: ")
        self.committed = True
        self.ui.thinking(text)

    def _close_side(self) -> None:
        if self._side:
            self._side = None
            self.ui.thinking("\n")

    def raw(self, chunk: bytes) -> None:
        pass

    def retry(self, r) -> None:
        pass

    def finish(self, outcome) -> None:
        self._close_side()
        if self.newline and self._last and self._last != b"\n":
            self.out.write(b"\n")
            self._last = b"\n"
        self.out.flush()


def output_item_line(ev: OutputItem) -> str:
    """One stderr line for an output item streamcli did not run: its type and status,
    and what it did when the item says (a search's query, a computer action)."""
    raw = ev.raw
    what = raw.get("action") or raw.get("queries")
    detail = ""
    if what:
        detail = " " + json.dumps(what, ensure_ascii=False)
        if len(detail) > 200:
            detail = clip(detail, 199)
    return f"output item: {_printable(ev.item_type)} ({_printable(ev.status or 'no status')}){detail}"


def _printable(text) -> str:
    """A server's string on a terminal line: no control characters (escape sequences)."""
    return "".join(c if c.isprintable() else "?" for c in str(text))
