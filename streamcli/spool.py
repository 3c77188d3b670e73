"""Stdin and pipes copied to an unlinked temporary file, to be read again like a file.

An attachment from `-a -` or `-a <(command)` cannot be read a second time, yet the body
is made while it is sent (and again for a retry): the stream is copied once, in pieces,
to a file that only this process can reach (mode 0600, unlinked at once, gone when the
process ends), and then read like any file. Memory stays one piece, whatever the size.
"""

from __future__ import annotations

import os
from typing import Callable

from streamcli.bounded import read_piece

PIECE = 1 << 20


def copy(stream, head_size: int, most: Callable[[bytes], int]) -> tuple[object, int, bytes]:
    """(the temporary file, the bytes copied, the first `head_size` of them). `most(head)`
    says, once the head is known, how many bytes the whole may have: the copy stops one
    byte past that, so the caller sees it was exceeded without reading on."""
    import tempfile  # only for a stream attachment
    spool = tempfile.TemporaryFile(prefix="streamcli-")
    try:
        head = bytearray()
        _pump(stream, spool, head_size, head)
        size = len(head) + _pump(stream, spool, most(bytes(head)) + 1 - len(head))
        spool.flush()
        return spool, size, bytes(head)
    except BaseException:
        spool.close()
        raise


def _pump(stream, spool, n: int, keep: bytearray | None = None) -> int:
    """Up to `n` bytes from `stream` into `spool` (and `keep`); fewer only at the end of
    the stream: a raw pipe returns short reads, and a text stream gives str."""
    copied = 0
    while copied < n:
        piece = read_piece(stream, min(n - copied, PIECE))
        if not piece:
            break
        if isinstance(piece, str):
            piece = piece.encode("utf-8")
        spool.write(piece)
        copied += len(piece)
        if keep is not None:
            keep += piece
    return copied


def read_at(spool, offset: int, n: int) -> bytes:
    """`n` bytes at `offset` (os.pread: no shared file position to disturb)."""
    return os.pread(spool.fileno(), n, offset)
