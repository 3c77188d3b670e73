"""The user's files and stdin read whole, within a bound.

A /dev/zero, or a pipe that never ends, is a usage error instead of all the memory and
then a crash. An option that reads stdin checks here that it is piped (`piped_stdin`)."""

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
        piece = read_piece(stream, min(_PIECE, limit + 1 - size))
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


def piped_stdin(stdin, reads: str, what: str):
    """The binary stream of `stdin` for an option that `reads` it ("--tools - reads
    stdin"): a UsageError when stdin is closed, or a terminal (nobody would type `what`
    there, and waiting would look like a hang)."""
    stream = getattr(stdin, "buffer", stdin)
    if stream is None:
        raise UsageError(f"{reads}, but stdin is closed")
    if isatty(stdin):
        raise UsageError(f"{reads}, but stdin is a terminal; pipe or redirect {what} in")
    return stream


def read_piece(stream, n: int):
    """Up to `n` bytes (or characters) of `stream`, empty only at its end. A stdin left
    non-blocking by another program (on the same terminal or pipe) answers "nothing
    yet" (None, or BlockingIOError) while its writer is slow: that is waited for, as a
    blocking stdin would, never taken for the end (the prompt would be cut silently)."""
    while True:
        try:
            piece = stream.read(n)
        except BlockingIOError:
            piece = None
        if piece is not None:
            return piece
        import select
        try:
            select.select([stream.fileno()], [], [])  # a signal ends the wait
        except (AttributeError, OSError, ValueError):
            return b""
