"""Batch input: each line becomes an `Item` (id, index, line number), or a failed one.

Batch input: each JSONL line (or, with --lines, each line of plain text) becomes an
`Item` with its id, 0-based index and 1-based line number. A line that cannot be an item
is an item too, one that fails (exit_code 2, its line number in the message): a bad line
never ends the run.

The input is read twice, never held in memory: `scan` counts the items and checks that
their ids are unique before anything is sent (stdin is spooled to an unlinked temporary
file for the second reading), then `Source.items()` yields them one at a time.
"""

from __future__ import annotations

import json
from typing import IO, Any, Iterator, NamedTuple

from streamcli import bounded
from streamcli.errors import UsageError
from streamcli.prompt import hint_if_silent, join

# The keys of the provider-neutral form; every one optional except a prompt or messages.
FIELDS = frozenset(("id", "prompt", "system", "model", "messages", "attach", "schema",
                    "max_tokens", "temperature", "options"))
ANTHROPIC_KEYS = frozenset(("custom_id", "params"))
OPENAI_KEYS = frozenset(("custom_id", "method", "url", "body"))
BOM = b"\xef\xbb\xbf"
SILENT_HINT = ("waiting for the batch input on stdin... (pass FILE, or redirect </dev/null "
               "if no input is coming)")


class Item(NamedTuple):
    index: int  # 0-based position among the items (blank lines are not items)
    line: int  # 1-based line number in the input, as editors count
    id: str  # `id`/`custom_id`, else str(index)
    kind: str  # "prompt", "fields", "anthropic", "openai", or "invalid"
    data: Any  # the prompt (str) or the line's object (dict); the reason for "invalid"
    # False for a bad line whose id could not be read: its position stands in, and it is
    # not held to the uniqueness of ids (a bad line never ends the run).
    own_id: bool = True


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse(raw: bytes, index: int, line: int, lines_prompt: str | None) -> Item:
    """One input line (without its newline) as an item."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _invalid(index, line, None, f"not valid UTF-8 (byte {exc.start + 1})")
    if lines_prompt is not None:
        return Item(index, line, str(index), "prompt", join(text, lines_prompt))
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return _invalid(index, line, None, "not valid JSON (nested too deeply)")
    except ValueError as exc:
        return _invalid(index, line, None, f"not valid JSON ({exc})")
    if isinstance(obj, str):
        if not obj.strip():
            return _invalid(index, line, None, "an empty prompt")
        return Item(index, line, str(index), "prompt", obj)
    if not isinstance(obj, dict):
        return _invalid(index, line, None, f"expected a JSON string or object, not "
                                           f"{_json_type(obj)}")
    return _from_object(obj, index, line)


def _from_object(obj: dict, index: int, line: int) -> Item:
    key = "custom_id" if "custom_id" in obj else "id"
    ident, problem = _ident(obj.get(key), key, index)
    if problem:
        return _invalid(index, line, None, problem)
    if "custom_id" in obj:
        if "params" in obj:
            kind, allowed = "anthropic", ANTHROPIC_KEYS
        elif "body" in obj:
            kind, allowed = "openai", OPENAI_KEYS
        else:
            return _invalid(index, line, ident, "a line with custom_id needs params (an "
                                                "Anthropic batch line) or body (OpenAI)")
    else:
        kind, allowed = "fields", FIELDS
        prompt = obj.get("prompt")
        if obj.get("messages") is None and not (isinstance(prompt, str) and prompt.strip()):
            return _invalid(index, line, ident, "no prompt and no messages"
                            if prompt is None or prompt == "" else "prompt must be a "
                            "non-empty string")
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        return _invalid(index, line, ident, f"unknown key {unknown[0]!r} (known: "
                                            f"{', '.join(sorted(allowed))})")
    return Item(index, line, ident, kind, obj)


def _ident(value, key: str, index: int) -> tuple[str, str | None]:
    if value is None:
        return str(index), None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), None
    if isinstance(value, str) and value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no line could carry it
            return str(index), f"{key} is not valid Unicode (a lone surrogate escape)"
        return value, None
    return str(index), f"{key} must be a non-empty string or an integer, not {value!r:.40}"


def _invalid(index: int, line: int, ident: str | None, reason: str) -> Item:
    return Item(index, line, ident if ident is not None else str(index), "invalid",
                f"line {line}: {reason}", ident is not None)


def _json_type(obj) -> str:
    return {list: "an array", bool: "a boolean", type(None): "null"}.get(type(obj), "a number")


class Source:
    """The scanned input: how many items, and a way to read them again."""

    def __init__(self, stream: IO[bytes], name: str, total: int, lines_prompt: str | None,
                 owned: bool) -> None:
        self.stream = stream
        self.name = name
        self.total = total
        self.lines_prompt = lines_prompt
        self._owned = owned  # the spooled copy of stdin, or a file opened here

    def items(self) -> Iterator[Item]:
        try:
            self.stream.seek(0)
            for index, (number, raw) in enumerate(_lines(self.stream)):
                yield parse(raw, index, number, self.lines_prompt)
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._owned:
            self.stream.close()


def scan(path: str, stdin, lines_prompt: str | None, ui=None) -> Source:
    """Read the input once: count the items and refuse duplicate ids (exit 2, nothing
    sent). `path` "-" is stdin (a text stream with .buffer, or None when closed); `ui`:
    where a hint goes when stdin stays silent."""
    stream, owned = _open(path, stdin)
    if path == "-":
        hint_if_silent(stream, ui, SILENT_HINT)
    spool = None
    if path == "-" or not stream.seekable():
        import tempfile
        spool = tempfile.TemporaryFile()
    try:
        total = _check(stream, spool, path, lines_prompt)
    except BaseException:
        if spool is not None:
            spool.close()
        if owned:
            stream.close()
        raise
    if spool is not None:
        if owned:
            stream.close()
        return Source(spool, path, total, lines_prompt, owned=True)
    return Source(stream, path, total, lines_prompt, owned=owned)


def _open(path: str, stdin) -> tuple[IO[bytes], bool]:
    if path == "-":
        if stdin is None:
            raise UsageError("the input is stdin ('-'), but stdin is closed")
        if bounded.isatty(stdin):
            raise UsageError("the input is stdin, but stdin is a terminal: pass FILE, or "
                             "pipe or redirect the requests in")
        return getattr(stdin, "buffer", stdin), False
    try:
        return open(path, "rb"), True
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _check(stream, spool, path: str, lines_prompt: str | None) -> int:
    seen: dict[str, int] = {}  # id -> its line (only JSONL ids can repeat)
    total = 0
    try:
        for number, raw in _lines(stream, spool):
            if lines_prompt is None:
                item = parse(raw, total, number, None)
                ident = item.id
                first = seen.setdefault(ident, number) if item.own_id else number
                if first != number:
                    raise UsageError(f"{path}: id {ident!r} on line {number} is already the "
                                     f"id of line {first}: ids must be unique")
            total += 1
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return total


def _lines(stream, copy=None) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, the line without its line ending) for each non-blank line.
    A byte order mark opening the input (Windows tools write one) is not part of it."""
    for number, raw in enumerate(stream, 1):
        if copy is not None:
            copy.write(raw)
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield number, raw
