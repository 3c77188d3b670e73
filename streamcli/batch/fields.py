"""The fields of a batch item in the provider-neutral form, each checked (a UsageError
names what is wrong) and made into what a `Request` takes."""

from __future__ import annotations

import math

from streamcli import attachments
from streamcli.errors import UsageError
from streamcli.plan import utf8


def no_stream(fields: dict, where: str) -> dict:
    """Batch requests are never streamed: a body field saying otherwise is refused."""
    if "stream" in fields or "stream_options" in fields:
        raise UsageError(f"{where}: stream cannot be set (batch requests are not streamed)")
    return fields


def conversation(kind: str, turns: list, prompt: str, system: str | None) -> list:
    """An item's `messages`, then its prompt as the last user turn, in the protocol's
    form (Chat Completions carries the system prompt as its first turn; Anthropic and
    the Responses API have a field of their own for it)."""
    out = list(turns)
    if prompt:
        out.append({"role": "user", "content": prompt})
    if kind == "openai" and system and not any(t.get("role") == "system" for t in out):
        out.insert(0, {"role": "system", "content": system})
    return out


def attach(value, kind: str) -> tuple:
    """An item's `attach`: a file or an http(s) URL, or a list of them (instead of -a)."""
    specs = [value] if isinstance(value, str) else value
    if not isinstance(specs, list) or not all(isinstance(s, str) and s for s in specs):
        raise UsageError("attach must be a file or URL, or a list of them")
    if "-" in specs:
        raise UsageError("attach '-' (stdin) cannot be used in a batch item")
    return attachments.load([utf8("attach", s) for s in specs], kind)


def schema(value):
    """An item's `schema`: a JSON Schema object, or as --schema takes it (a file, inline
    JSON or the concise form); instead of --schema."""
    if not isinstance(value, (str, dict)):
        raise UsageError("schema must be a JSON Schema object, or a file, inline JSON or "
                         "the concise form")
    from streamcli import schema as schemas  # jsonschema: only when a schema is given
    return schemas.parse(utf8("schema", value) if isinstance(value, str) else value)


def turns(messages) -> list:
    if not isinstance(messages, list) or not messages:
        raise UsageError("messages must be a non-empty array of {role, content} objects")
    for i, turn in enumerate(messages):
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) \
                or "content" not in turn:
            raise UsageError(f"messages[{i}] must be an object with role and content")
    return messages


def text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return utf8(key, value)


def count(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a whole number of at least 1, not {value!r:.40}")
    return value


def number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise UsageError(f"{key} must be a number of at least 0, not {value!r:.40}")
    return value
