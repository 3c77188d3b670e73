"""Fields of the Responses API's JSON, read so that a wrong type never reaches the output."""

from __future__ import annotations

from streamcli.providers.fields import MAX_COUNT
from streamcli.redact import clip


def str_of(value) -> str | None:
    """A string field (ids, names, types, statuses): other values as their text."""
    return value if isinstance(value, str) else (None if value is None else str(value))


def int_of(value) -> int | None:
    """A token count: an integer from 0 to MAX_COUNT (a signed 64-bit integer, which the
    log can store), else unknown."""
    return value if value.__class__ is int and 0 <= value <= MAX_COUNT else None


def text_of(value) -> str:
    """Answer text: a string, else the response is malformed (the callers turn the
    TypeError into MalformedStream)."""
    if value.__class__ is not str:
        # clip(): the run's secrets masked, then cut
        raise TypeError(f"text that is not a string: {clip(repr(value), 60)}")
    return value


def arguments_of(value) -> str:
    """A function call's arguments, or a piece of them: a string of JSON, else the
    response is malformed (a TypeError, said at the event or item that sent it)."""
    if value.__class__ is not str:
        raise TypeError(f"function call arguments that are not a string: "
                        f"{clip(repr(value), 60)}")  # masked, then cut
    return value
