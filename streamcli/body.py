"""A 2xx body, live or replayed, read by its content: a whole response or a stream.

A whole JSON response is read whole (within BODY_LIMIT), an event stream goes through
the pump. Live responses and replays both come here, so a body replayed gives what the
same body gave live, whatever the content type said. A body whose first byte that is
not whitespace is `{` is a whole response (an SSE body cannot start so: its first line
would be a field named `{...`, ignored); anything else is an event stream. A server
that answers a streaming request with one complete message (LiteLLM's proxy does) is
printed in the requested mode, and --raw-sse writes that body as it came.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

from streamcli import safejson
from streamcli.errors import MalformedStream
from streamcli.pump import Progress, pump
from streamcli.redact import excerpt

# A whole response is read this far, never further: far above any real answer (the same
# bound as one event of a stream), so that a body that never ends cannot eat all memory.
BODY_LIMIT = 64 * 1024 * 1024
_PEEK_LIMIT = 64 * 1024  # whitespace read before deciding: past it, a stream
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


def peek(chunks: Iterable[bytes]) -> tuple[list[bytes], Iterator[bytes]]:
    """Read until a byte that is not whitespace (or a BOM) has arrived: (the reads so
    far, an iterator over the rest). An event stream's first read always has one, so
    this holds nothing back from the pump; the reads stay apart for --raw-sse."""
    rest = iter(chunks)
    reads: list[bytes] = []
    head = b""
    for chunk in rest:
        reads.append(chunk)
        head += chunk
        if first_byte(head) or len(head) > _PEEK_LIMIT:
            break
    return reads, rest


def first_byte(head: bytes) -> bytes:
    """The first byte that is not whitespace or a BOM (b"" while there is none yet)."""
    if head.startswith(_BOM):
        head = head[3:]
    elif _BOM.startswith(head):
        return b""  # a BOM may still be arriving
    return head.lstrip(_WHITESPACE)[:1]


def is_whole(head: bytes) -> bool:
    """Does a body starting with `head` hold a whole JSON response?"""
    return first_byte(head) == b"{"


def play(chunks: Iterable[bytes], resolve: Callable, sink, progress: Progress, *,
         idle_timeout: float, raw_mode: bool, streamed: bool = True,
         content_type: str | None = None, notice: Callable | None = None) -> None:
    """Run a 2xx body to the sink. `resolve(data, whole)` gives the protocol module from
    the body's first bytes (or the whole body); `streamed`: a stream was asked for;
    `content_type`: what the server said it sent (None: a replay); `notice`: a stderr
    line for a server that answered in the other form than the one asked for."""
    reads, rest = peek(chunks)
    head = b"".join(reads)
    if is_whole(head):
        body = read_whole(head, rest)
        if raw_mode:
            sink.raw(body)  # --raw-sse: the body, byte for byte, as for any 2xx
        prov = resolve(body, True)
        mapper, out = parse_whole(prov, body)
        if streamed and notice is not None:
            notice(f"the server did not stream: the whole answer came at once "
                   f"({content_type or 'no content type'})")
        deliver(mapper, out, sink, progress)
        return
    prov = resolve(head, False)
    mapper = prov.StreamMapper()
    try:
        pump(_chain(reads, rest), mapper, sink, progress, idle_timeout=idle_timeout,
             raw_mode=raw_mode, protocol=prov.NAME)
    except MalformedStream as err:
        better = None if mapper.started else not_a_stream(content_type, streamed, head)
        if better is None:
            raise
        raise better from err
    if not streamed and notice is not None:
        notice("the server streamed its answer, though a whole one was asked for")


def not_a_stream(content_type: str | None, streamed: bool, head: bytes) -> MalformedStream | None:
    """What to say of a live body that held neither a whole response nor any event,
    when the content type or the request tells more than "no terminal event"."""
    if content_type is None:  # a replay: the mapper's own words
        return None
    ctype = content_type or "no content type"
    if not streamed:
        return MalformedStream(f"the response is not JSON ({ctype}, and no event stream "
                               f"either): {excerpt(head)}")
    if not content_type.lower().startswith("text/event-stream"):
        return MalformedStream(f"expected an event stream, but the server sent {ctype}: "
                               f"{excerpt(head)}")
    return None


def read_whole(head: bytes, rest: Iterable[bytes], limit: int = BODY_LIMIT) -> bytes:
    parts, size = [head], len(head)
    for chunk in rest:
        size += len(chunk)
        if size > limit:
            raise MalformedStream(f"response too large: a whole response of more than "
                                  f"{limit // (1024 * 1024)} MiB (not read further)")
        parts.append(chunk)
    return b"".join(parts)


def parse_whole(prov, body: bytes) -> tuple:
    """A whole (non-streaming) response: (its mapper, the events a stream would give)."""
    try:
        obj = safejson.loads(body)
    except ValueError as exc:
        raise MalformedStream(f"the response is not JSON ({exc}): {excerpt(body)}") from None
    if not isinstance(obj, dict):
        raise MalformedStream(f"unexpected response: {excerpt(body)}")
    out: list = []
    try:
        mapper = prov.parse_message(obj, out)
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # A last resort: parse_message checks the type of every field it reads.
        raise MalformedStream(f"unexpected response shape ({exc}): {excerpt(body)}") from None
    return mapper, out


def deliver(mapper, out: list, sink, progress: Progress) -> None:
    progress.mapper = mapper
    progress.first_output = time.monotonic()
    sink.write(out)


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest
