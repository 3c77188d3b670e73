"""Rows read back from the log, checked.

The database is a file on disk that an editor, another program or a bad disk may have
changed: a damaged row is a clear error (a ValueError, which `streamcli logs` and -c turn
into exit 2), never a crash or output that is not valid JSON."""

from __future__ import annotations

import math

from streamcli import safejson

_REQUIRED_TEXT = frozenset({"id", "conversation_id", "time", "prompt", "text", "status"})
_INTEGERS = frozenset({"input_tokens", "output_tokens", "exit_code", "exchanges"})
_NUMBERS = frozenset({"ttft_ms", "duration_ms"})
_LISTS = frozenset({"prior", "attachments", "tool_calls"})  # of objects
_OBJECTS = frozenset({"usage", "error"})


def decoded(row: dict) -> dict:
    """`row` (a column name -> value dict) with its JSON columns decoded; ValueError
    when a value has a type the log never writes."""
    for name, value in row.items():
        if name in _LISTS or name in _OBJECTS:
            if value is not None:
                row[name] = value = _json(name, value)
        if not _fits(name, value):
            raise ValueError(f"the log's exchange {row.get('id')!r} is damaged (its "
                             f"{name} column)")
    return row


def _json(name: str, value):
    if not isinstance(value, str):
        raise ValueError(f"the log's {name} column is damaged (not JSON text)")
    try:
        return safejson.loads(value)  # no NaN, no 1e400, no nesting past 200
    except ValueError as exc:
        raise ValueError(f"the log's {name} column is damaged ({exc})") from None


def _fits(name: str, value) -> bool:
    if name in _LISTS:
        return value is None or (isinstance(value, list) and all(
            isinstance(item, dict) for item in value) and (name != "prior" or all(
                _turn(item) for item in value)))
    if name in _OBJECTS:
        return value is None or isinstance(value, dict)
    if name in _INTEGERS:
        return (value is None and name != "exit_code") or (
            isinstance(value, int) and not isinstance(value, bool))
    if name in _NUMBERS:  # finite: SQLite keeps an infinity, which no JSON can carry
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                 and math.isfinite(value))
    if name in _REQUIRED_TEXT:
        return isinstance(value, str)
    return value is None or isinstance(value, str) or name == "seq"


def _turn(turn: dict) -> bool:
    content = turn.get("content")
    return (isinstance(turn.get("role"), str) and isinstance(content, list)
            and all(isinstance(part, str) for part in content))
