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
