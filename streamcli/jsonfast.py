"""json.loads for the per-event path, a third cheaper.

json.loads goes through two Python-level layers (decode, raw_decode) and a whitespace
regex on each side before it reaches the C scanner; an SSE `data:` line is almost always
one bare JSON object, so call the scanner directly and fall back to json.loads for
anything else (leading/trailing whitespace, trailing data, invalid JSON), which then
decides, and raises the usual ValueError.
"""

from __future__ import annotations

import json

_scan_once = json.JSONDecoder().scan_once


def loads(text: str):
    try:
        obj, end = _scan_once(text, 0)
    except StopIteration:
        return json.loads(text)
    if end == len(text):
        return obj
    return json.loads(text)


def plain_string(piece: bytes) -> bytes | None:
    """`piece`, the inside of a JSON string, when it needs no unescaping: no quote, no
    backslash, valid UTF-8 of printable characters. Then its bytes are the text itself."""
    if 34 in piece or 92 in piece:  # '"' or '\\'
        return None
    try:
        if not piece.decode().isprintable():
            return None
    except UnicodeDecodeError:
        return None
    return piece
