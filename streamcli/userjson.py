"""JSON the user gives (--tools files, -o values), parsed strictly within limits.

JSON the user gives (--tools files, -o values): parsed strictly, so that what goes into
the request is valid JSON (RFC 8259) that the encoder can write; every problem is a
usage error (exit 2), never a crash.
"""

from __future__ import annotations

import json
import math

from streamcli import safejson
from streamcli.errors import UsageError

MAX_DEPTH = safejson.MAX_DEPTH  # as for what servers send: far from the recursion limit


def loads(text: str, what: str):
    """`text` as JSON. ValueError when it is not JSON at all (a caller may then take it as
    text); UsageError for JSON that no server could be sent: NaN, Infinity, a number too
    large for a double (1e400), or nesting deeper than MAX_DEPTH."""
    def not_finite(token):
        raise UsageError(f"{what}: {token} is not a valid JSON number (only finite numbers "
                         f"can be sent)")

    def finite(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            not_finite(token)
        return value

    try:
        value = json.loads(text, parse_constant=not_finite, parse_float=finite)
    except RecursionError:
        value = None
    else:
        if not safejson.too_deep(value):
            return value
    raise UsageError(f"{what}: nested more than {MAX_DEPTH} levels deep")
