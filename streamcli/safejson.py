"""JSON read and written within RFC 8259 and this program's limits, never a crash.

`loads` is json.loads that fails only with `JSONError` (a ValueError): for invalid JSON,
and also for what Python's json accepts but RFC 8259 does not (`NaN`, `Infinity`), for a
number beyond the range of a double (`1e400` would become inf, which no JSON can carry),
for an integer past Python's digit limit, and for nesting deeper than MAX_DEPTH (which
would otherwise raise RecursionError while reading, or later while writing it out).
`dumps` refuses non-finite numbers (allow_nan=False) so that every JSON we write is valid.

Use it for anything that comes from outside: a server's events and bodies, replay files,
tool arguments, the user's files and options.
"""

from __future__ import annotations

import json
import math

from streamcli.redact import clip

# Far deeper than any real message, tool argument or config, and shallow enough that
# reading and writing such a value never comes near the interpreter's recursion limit.
MAX_DEPTH = 200


class JSONError(ValueError):
    """Not JSON this program accepts (the message says why)."""


def _constant(name: str):
    raise JSONError(f"{name} is not a JSON value")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONError(f"the number {clip(text, 40)} is out of range")
    return value


_decoder = json.JSONDecoder(parse_constant=_constant, parse_float=_float)


def loads(data: str | bytes | bytearray):
    """Parse `data` (bytes: UTF-8, UTF-16 or UTF-32 as json.loads detects them)."""
    try:
        if not isinstance(data, str):
            data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
        value = _decoder.decode(data)
    except RecursionError:
        raise JSONError(f"nested more than {MAX_DEPTH} levels deep") from None
    except JSONError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the digit limit
        raise JSONError(str(exc)) from None
    # A value nested N deep needs 2N characters: only long texts can be too deep, and
    # only those with that many brackets are walked.
    if len(data) > 2 * MAX_DEPTH and data.count("[") + data.count("{") > MAX_DEPTH \
            and too_deep(value):
        raise JSONError(f"nested more than {MAX_DEPTH} levels deep")
    return value


def too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests lists and dicts more than `limit` levels (no recursion)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def dumps(obj, **kwargs) -> str:
    """json.dumps that never writes NaN or Infinity (ValueError instead)."""
    return json.dumps(obj, allow_nan=False, **kwargs)
