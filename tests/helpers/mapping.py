"""A stream's reads through the SSE decoder and a protocol's mapper, as the pump runs them,
without a session: the normalized events, the mapper, and the error it ended with."""

from __future__ import annotations

from streamcli import providers
from streamcli.errors import StreamcliError
from streamcli.events import Text
from streamcli.sse import SSEDecoder


class Mapped:
    def __init__(self, events, mapper, error):
        self.events = events
        self.mapper = mapper
        self.error = error

    def of(self, kind):
        return [ev for ev in self.events if type(ev) is kind]

    @property
    def text(self) -> str:
        return "".join(ev.text for ev in self.of(Text))


def drive(kind: str, reads) -> Mapped:
    """Decoder + mapper of protocol `kind` as the session's pump runs them (text and
    --jsonl modes). Only a StreamcliError is the result: any other is a bug, and raises."""
    decoder = SSEDecoder()
    mapper = providers.load(kind).StreamMapper()
    out: list = []
    error = None
    try:
        for read in reads:
            for ev in decoder.feed(read):
                mapper.feed(ev, out)
            if mapper.complete:
                break
        else:
            decoder.finish()
            mapper.check_end(decoder.stray_error)
    except StreamcliError as exc:
        error = exc
    return Mapped(out, mapper, error)
