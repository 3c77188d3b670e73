"""Type checks for the fields the mappers read from a server.

A field of the wrong type is a malformed stream (exit 9), never a TypeError in a sink
or an exit 1. Null is "not sent" everywhere: each check lets None through. The checks
are plain class comparisons (`bool` is no integer here), cheap enough for the hot path.
"""

from __future__ import annotations

from streamcli import safejson
from streamcli.errors import MalformedStream
from streamcli.redact import excerpt

# Token counts beyond a signed 64-bit integer are no counts: a log or a script could not
# store them, and a rate computed from one would overflow a float.
MAX_COUNT = 2 ** 63 - 1

_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number",
          float: "a number", bool: "a boolean", type(None): "missing"}


class WrongType(Exception):
    """A field's value has the wrong JSON type; the mapper turns it into MalformedStream
    with the event's data."""

    def __init__(self, what: str, value, expected: str) -> None:
        super().__init__(f"`{what}` is {_NAMES.get(type(value), 'a value')}, "
                         f"not {expected}")


def string(value, what: str) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise WrongType(what, value, "a string")


def obj(value, what: str) -> dict | None:
    if value is None or value.__class__ is dict:
        return value
    raise WrongType(what, value, "an object")


def array(value, what: str) -> list | None:
    if value is None or value.__class__ is list:
        return value
    raise WrongType(what, value, "an array")


def index(value, what: str = "index") -> int | None:
    if value is None or value.__class__ is int:
        return value
    raise WrongType(what, value, "an integer")


def count(value, what: str) -> int | None:
    """A token count: an integer from 0 to MAX_COUNT."""
    if value is None or (value.__class__ is int and 0 <= value <= MAX_COUNT):
        return value
    if value.__class__ is int:
        raise WrongType(what, value, f"a count (0 to {MAX_COUNT})")
    raise WrongType(what, value, "an integer")


def merge_usage(raw: dict, usage, counts: tuple[str, ...]) -> None:
    """Merge a usage object into `raw`: a null field is "not sent" and keeps the value
    an earlier event gave; the `counts` fields must be token counts."""
    if usage is None:
        return
    if usage.__class__ is not dict:
        raise WrongType("usage", usage, "an object")
    for key in counts:
        count(usage.get(key), f"usage.{key}")
    for key, value in usage.items():
        if value is not None:
            raw[key] = value


def malformed(exc: WrongType, where: str, data) -> MalformedStream:
    return MalformedStream(f"unexpected data in {where}: {exc}: {excerpt(data)}")


def parse(data: str, event: str):
    """The JSON object in the data of an event named `event`, or MalformedStream."""
    try:
        value = safejson.loads(data)
    except ValueError as exc:
        raise MalformedStream(f"invalid JSON in a {event!r} event ({exc}): "
                              f"{excerpt(data)}") from None
    if value.__class__ is not dict:
        raise MalformedStream(f"unexpected data in a {event!r} event: {excerpt(data)}")
    return value
