"""The user's files and stdin read whole, within a bound.

A /dev/zero, or a pipe that never ends, is a usage error instead of all the memory and
then a crash."""

from __future__ import annotations

from streamcli.errors import UsageError

MIB = 1024 * 1024
# The prompt on stdin and --messages: far beyond any request a provider takes (Anthropic's
# limit is 32 MB, and no model reads 256 MiB of text), small enough to hold in memory.
TEXT_LIMIT = 256 * MIB
TOOLS_LIMIT = 64 * MIB  # a --tools file
CONFIG_LIMIT = 4 * MIB  # the config file
_PIECE = 1 * MIB


def read(stream, limit: int, what: str) -> bytes:
    """All of a binary stream (or a text one: then str), UsageError past `limit` bytes (or
    characters); short reads (pipes, raw files) are read on until the end."""
    parts, size = [], 0
    while True:
        piece = stream.read(min(_PIECE, limit + 1 - size))
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
        if size > limit:
            raise UsageError(f"{what} is larger than {limit // MIB} MiB: not read further")
    return parts[0][:0].join(parts) if parts else b""


def isatty(stream) -> bool:
    """A stream that is a terminal: an option that reads stdin refuses one (nobody would
    type a file there), instead of waiting."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
