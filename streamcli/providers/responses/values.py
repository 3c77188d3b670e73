"""Fields of the Responses API's JSON, read so that a wrong type never reaches the output."""

from __future__ import annotations


def str_of(value) -> str | None:
    """A string field (ids, names, types, statuses): other values as their text."""
    return value if isinstance(value, str) else (None if value is None else str(value))


def int_of(value) -> int | None:
    """A token count: a non-negative integer, else unknown."""
    return value if value.__class__ is int and value >= 0 else None

