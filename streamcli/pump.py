"""The hot loop: reads through decoder, mapper and sink; the only caller of `fastpath`.

Per read: one decoder call, one mapper call per event and one sink write (one stdout
write and flush) for all of it. Nothing decoded is held back while the next read waits.
"""

from __future__ import annotations

import time
from typing import Iterable

from streamcli import fastpath
from streamcli.errors import ConnectionFailed, MalformedStream, StreamcliError, TimeoutExpired
from streamcli.events import Text
from streamcli.redact import excerpt
from streamcli.sse import SSEDecoder, SSEError


class Progress:
    """What the run's end needs to know of the stream: when the first answer output went
    out, and the mapper (id, model, stop reason, usage)."""

    __slots__ = ("first_output", "mapper", "request_id")

    def __init__(self) -> None:
        self.first_output: float | None = None  # time.monotonic() of the first answer output
        self.mapper = None
        self.request_id: str | None = None  # the response's, for the log


def pump(chunks: Iterable[bytes], mapper, sink, progress: Progress, *, idle_timeout: float,
         raw_mode: bool = False, protocol: str | None = None, shortcuts: bool = True) -> None:
    """Run a response body through to the sink, then check that it ended properly.

    `protocol` names the wire protocol whose text shortcut applies; `shortcuts=False`
    sends every read through the general path (the tests compare the two)."""
    progress.mapper = mapper
    decoder = SSEDecoder(stray_events=True)  # the mapper sees them in order
    read_text, event_text = fastpath.shortcuts(protocol) if shortcuts else (None, None)
    chunks = iter(chunks)
    try:
        _loop(chunks, decoder, mapper, sink, progress, idle_timeout, raw_mode, read_text,
              event_text, shortcuts)
    except StreamcliError as err:
        # --raw-sse reads on after the terminal event (to the end of the body); what
        # goes wrong there (a drop, a stall) cannot change a complete answer.
        if raw_mode and mapper.complete:
            return
        if raw_mode and not _unreadable(err):
            _drain(chunks, sink)
        raise
    decoder.finish()
    mapper.check_end()


def _unreadable(err: StreamcliError) -> bool:
    """The body cannot be read on: a dropped connection, a timeout of the transport or
    of this loop (an in-stream `timeout_error` has no limit: its body goes on)."""
    return isinstance(err, ConnectionFailed) or (isinstance(err, TimeoutExpired)
                                                 and err.limit is not None)


def _drain(chunks, sink) -> None:
    """--raw-sse after an event that ends the answer (malformed, an in-stream error):
    the rest of the body is still copied, unparsed, so the capture is the whole body
    whatever the network's reads were (a replay of it then says the same)."""
    try:
        for chunk in chunks:
            sink.raw(chunk)
    except StreamcliError:
        pass  # the body cannot be read further: the first error is the one to report


def _loop(chunks, decoder, mapper, sink, progress, idle, raw_mode, read_text, event_text,
          read_shortcuts) -> None:
    feed, map_event = decoder.feed, mapper.feed
    write, raw, plain = sink.write, sink.raw, sink.write_plain_text
    monotonic = time.monotonic
    held = mapper.join.held  # a surrogate half held back: no shortcut may overtake it
    last_content = monotonic()
    for chunk in chunks:
        if raw_mode:
            raw(chunk)
            if mapper.complete:
                continue  # after the terminal event: copy the bytes, parse nothing
        if read_shortcuts and decoder.idle:
            if read_text is not None and not held:
                text = read_text(chunk)
                if text is not None:
                    plain(text)
                    if progress.first_output is None and sink.committed:
                        progress.first_output = monotonic()
                    last_content = monotonic()
                    continue
            one = fastpath.one_event(chunk, decoder.last_id)
            events = [one] if one is not None else _decode(feed, chunk)
        else:
            events = _decode(feed, chunk)
        if events:
            content = _map(events, map_event, mapper, sink, write, progress, monotonic,
                           event_text)
            if mapper.complete and not raw_mode:
                return  # (also when the terminal event came under the name `ping`)
            if content:
                last_content = monotonic()
                continue
        # Pings and comments keep the socket busy but are not progress.
        if monotonic() - last_content > idle:
            raise TimeoutExpired(f"no content from the server for {idle:g} s "
                                 f"(--idle-timeout; only pings or comments arrived)",
                                 limit="idle")


def _decode(feed, chunk: bytes) -> list:
    try:
        return feed(chunk)
    except SSEError as exc:
        raise MalformedStream(str(exc)) from None


def _map(events, map_event, mapper, sink, write, progress, monotonic, event_text) -> bool:
    """Map the events of one read and write what they gave; True if any was content."""
    out: list = []
    content = False
    held = mapper.join.held
    try:
        for ev in events:
            if ev.event != "ping":
                content = True
            if event_text is not None and not held:
                text = event_text(ev)
                if text is not None:
                    out.append(Text(text))
                    continue
            map_event(ev, out)
            if mapper.complete:
                break  # nothing after the terminal event can change the answer
    except (AttributeError, TypeError, KeyError, IndexError, RecursionError) as exc:
        # Valid JSON of a shape the provider never sends (or nested past what json can
        # read): a malformed stream.
        raise MalformedStream(f"unexpected {ev.event!r} event ({exc}): "
                              f"{excerpt(ev.data)}") from None
    finally:
        # What was decoded before an in-stream error still gets written.
        if out:
            write(out)
            if progress.first_output is None and sink.committed:
                progress.first_output = monotonic()
    return content
