"""A JSON request body whose attachments stream from disk, with its exact length.

The body is produced in pieces, each made when the transport asks for it; its length is
known before sending.

A provider puts a placeholder in the body where such a string goes: any object with
`json_length` (the bytes of the JSON string it stands for, quotes included) and
`json_chunks()` (those bytes, in pieces). `encode(obj)` then returns plain bytes when the
body has no placeholder (the common case, unchanged), else a `StreamedBody`. Peak memory
is one piece of one attachment, not a copy of the body per layer (json.dumps of a body
holding a 27 MB base64 string would hold it three times: str, JSON text, bytes).
"""

from __future__ import annotations

import binascii
import json
import os
import re
from typing import Iterator


class StreamedBody:
    """The body as static JSON bytes and placeholders in order. Iterable any number of
    times (each pass reads the files again); `length` is the Content-Length."""

    def __init__(self, parts: list) -> None:
        self.parts = parts
        self.length = sum(len(p) if isinstance(p, bytes) else p.json_length for p in parts)

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from part.json_chunks()

    def read_all(self) -> bytes:
        """The whole body at once (for tests and debugging; it defeats the point)."""
        return b"".join(self)


def encode(obj) -> bytes | StreamedBody:
    """`obj` as UTF-8 JSON (ensure_ascii=False, as the providers always sent it)."""
    found: list = []
    # A token no user text can contain: a fresh random nonce in a private-use character.
    nonce = os.urandom(8).hex()

    def placeholder(o):
        if hasattr(o, "json_chunks"):
            found.append(o)
            return f"\ue000{nonce}:{len(found) - 1}\ue000"
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    text = json.dumps(obj, ensure_ascii=False, default=placeholder)
    if not found:
        return text.encode()
    pieces = re.split(f'"\ue000{nonce}:(\\d+)\ue000"', text)
    parts: list = []
    for i, piece in enumerate(pieces):
        if i % 2:
            parts.append(found[int(piece)])
        elif piece:
            parts.append(piece.encode())
    return StreamedBody(parts)


class Base64:
    """A placeholder for the JSON string `"<prefix><base64 of the source's bytes>"`; the
    source has `size` and `chunks()` (its bytes in pieces whose sizes are multiples of 3,
    but the last, so that each piece encodes on its own)."""

    def __init__(self, source, prefix: str) -> None:
        self.source = source
        self.prefix = prefix
        self.json_length = 2 + len(prefix) + 4 * ((source.size + 2) // 3)

    def json_chunks(self) -> Iterator[bytes]:
        yield b'"' + self.prefix.encode()
        for piece in self.source.chunks():
            yield binascii.b2a_base64(piece, newline=False)
        yield b'"'
