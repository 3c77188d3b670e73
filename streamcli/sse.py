"""Incremental server-sent events decoder: bytes in, events out, no I/O.

Follows the WHATWG "event stream interpretation" rules rather than the official SDK
decoders where the two differ (see tests/fixtures/sse/SDK_DECODER_DIVERGENCES.txt):
CR, LF and CRLF end lines (also when a CRLF is split across two reads), one leading BOM
is stripped, comments are ignored, data lines are joined with LF, a block without data
is not dispatched and an unterminated final block is dropped.

Lines are split as bytes and only decoded at dispatch, so a multi-byte character split
across reads is never cut, and invalid UTF-8 becomes U+FFFD instead of an exception.
"""

from __future__ import annotations

from typing import NamedTuple

BOM = b"\xef\xbb\xbf"
# Far above any real event; the limit only stops a runaway body from eating all memory.
MAX_EVENT_BYTES = 64 * 1024 * 1024
MAX_RETRY_DIGITS = 18  # a `retry:` value in milliseconds fits a signed 64-bit integer


class SSEEvent(NamedTuple):
    event: str  # the event type; "message" when the block had no `event` field
    data: str
    id: str  # the last event ID at dispatch time (it persists across events)


class SSEError(ValueError):
    """The stream broke a limit of the decoder (an event larger than MAX_EVENT_BYTES)."""


# The event name of a stray `error:` field when the decoder is asked to report them in
# order (SSEDecoder(stray_events=True)); compared by identity, so no name a server sends
# can be taken for it.
STRAY_ERROR = "streamcli: error field"


class SSEDecoder:
    """Feed it the body as it arrives; each call returns the events completed by that read."""

    __slots__ = (
        "_stray_events",
        "_partial",
        "_partial_size",
        "_skip_lf",
        "_start",
        "_event",
        "_data",
        "_size",
        "_last_id",
        "retry",
        "stray_error",
    )

    def __init__(self, stray_events: bool = False) -> None:
        """`stray_events`: also report each `error:` field as an event named STRAY_ERROR
        where it stands in the body, so a reader can tell whether it came before the
        terminal event (not WHATWG: off by default)."""
        self._stray_events = stray_events
        self._partial: list[bytes] = []  # the current, not yet terminated line
        self._partial_size = 0
        self._skip_lf = False  # the previous read ended in CR: an LF now is the same line end
        self._start: bytes | None = b""  # bytes seen while a leading BOM is still possible
        self._event = b""
        self._data: list[bytes] = []
        self._size = 0
        self._last_id = b""
        self.retry: int | None = None  # the last valid `retry` field, in milliseconds
        # The value of a non-standard `error:` field (old llama.cpp sent mid-stream errors
        # that way). WHATWG ignores unknown fields, so it is never an event; kept for the
        # provider layer to explain a stream that then ends incomplete.
        self.stray_error: bytes | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._start is not None:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:
            self._keep_partial(chunk)
            return []
        if end == len(chunk) - 1:
            head = chunk
            self._skip_lf = chunk[end] == 0x0D
        else:
            head = chunk[: end + 1]
        if self._partial:
            self._partial.append(head)
            head = b"".join(self._partial)
            self._partial = []
            self._partial_size = 0
        if end != len(chunk) - 1:
            self._keep_partial(chunk[end + 1 :])
        # `head` ends with a line terminator, so splitlines() yields complete lines only;
        # for bytes it splits on CR, LF and CRLF and nothing else (unlike str.splitlines).
        return self._lines(head.splitlines())

    def finish(self) -> list[SSEEvent]:
        """End of body. An unterminated final block is not an event (WHATWG), so: none."""
        return []

    @property
    def idle(self) -> bool:
        """Between events: nothing pending, no CR/BOM state, so a read that is exactly one
        complete block may be handled by a caller without going through feed()
        (`fastpath.one_event`)."""
        return (self._start is None and not self._partial and not self._data
                and not self._skip_lf and not self._event)

    @property
    def last_id(self) -> str:
        """The last event ID, as a dispatched event would carry it."""
        return self._last_id.decode("utf-8", "replace") if self._last_id else ""

    @property
    def pending(self) -> bool:
        """True when the body so far ends inside an event (bytes that were not dispatched)."""
        return bool(self._partial or self._data)

    def _strip_bom(self, chunk: bytes) -> bytes:
        start = self._start + chunk
        if len(start) < 3 and BOM.startswith(start):
            self._start = start
            return b""
        self._start = None
        return start[3:] if start.startswith(BOM) else start

    def _keep_partial(self, piece: bytes) -> None:
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size + self._size > MAX_EVENT_BYTES:
            raise SSEError(f"an event is larger than {MAX_EVENT_BYTES} bytes")

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(self._dispatch())
                    data = self._data
                else:
                    self._event = b""
                continue
            # Fast path first: nearly every line of an LLM stream is `data: ...`.
            if line[:6] == b"data: ":
                value = line[6:]
                field = b"data"
            elif line[0] == 0x3A:  # ':' starts a comment (keep-alives)
                continue
            else:
                colon = line.find(b":")
                if colon < 0:
                    field, value = line, b""
                else:
                    field = line[:colon]
                    value = line[colon + 1 :]
                    if value[:1] == b" ":
                        value = value[1:]
            if field == b"data":
                data.append(value)
                self._size += len(value) + 1
                if self._size > MAX_EVENT_BYTES:
                    raise SSEError(f"an event is larger than {MAX_EVENT_BYTES} bytes")
            elif field == b"event":
                self._event = value
            elif field == b"id":
                if b"\x00" not in value:
                    self._last_id = value
            elif field == b"retry":
                # bytes.isdigit() accepts ASCII digits only. Longer than any wait in
                # milliseconds could be (and past int()'s digit limit): ignored.
                if value.isdigit() and len(value) <= MAX_RETRY_DIGITS:
                    self.retry = int(value)
            elif field == b"error":
                self.stray_error = value
                if self._stray_events:
                    events.append(SSEEvent(STRAY_ERROR, value.decode("utf-8", "replace"),
                                           self.last_id))
        return events

    def _dispatch(self) -> SSEEvent:
        data = self._data
        text = (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")
        event = self._event.decode("utf-8", "replace") if self._event else "message"
        last_id = self._last_id.decode("utf-8", "replace") if self._last_id else ""
        self._data = []
        self._size = 0
        self._event = b""
        return SSEEvent(event, text, last_id)
