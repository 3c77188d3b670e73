"""--raw-sse: the upstream body byte for byte, flushed per read.

Parsing happens on the side (for the exit status); nothing parsed is written here.
"""

from __future__ import annotations

from streamcli.sinks import write_all


class RawSink:
    def __init__(self, out) -> None:
        self.out = out
        self.committed = False

    def raw(self, chunk: bytes) -> None:
        write_all(self.out, chunk)
        self.out.flush()
        self.committed = True

    def begin(self, provider, model, *, conversation_id=None) -> None:
        pass

    def write_plain_text(self, data: bytes) -> None:
        pass

    def write(self, events: list) -> None:
        pass

    def retry(self, r) -> None:
        pass

    def finish(self, outcome) -> None:
        self.out.flush()
