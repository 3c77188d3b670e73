"""Text appended piece by piece, in memory while short, in an unnamed temporary file past that.

The answer is recorded for the end of the run (the local log, --no-stream, --schema). Held in
memory, a long one would make the command's memory grow with the answer, which text, --raw-sse
and --jsonl promise it does not: past `SPILL_AT` characters the text moves to a temporary file
(0600, without a name where the system allows, gone when the process ends), and the log reads
it back in pieces. Stored as UTF-8 with lone surrogates kept (`surrogatepass`), so that reading
it back gives exactly the string that was appended.
"""

from __future__ import annotations

import codecs
import errno
import os

# Deltas are a few characters each: every few hundred are joined into one string (keeping
# each one would cost about 60 bytes apiece), never re-joining earlier ones.
COMPACT_AT = 512
# Characters kept in memory before the text moves to disk: every ordinary answer stays in
# memory; a long one costs at most this much.
SPILL_AT = 256 * 1024
_READ = 64 * 1024  # bytes per read when the text is read back in pieces
_NEVER = -(1 << 62)  # a `held` that never reaches SPILL_AT: the text stays in memory


class SpooledText:
    """Appended strings; `str()` is all of them joined, `pieces()` the same in bounded pieces."""

    __slots__ = ("chunks", "recent", "held", "file", "written", "lost")

    def __init__(self) -> None:
        self.chunks: list[str] = []  # joined runs of deltas, in memory
        self.recent: list[str] = []  # the deltas since the last join
        self.held = 0                # characters in `chunks`
        self.file = None             # the temporary file, once the text has moved there
        self.written = 0             # bytes in it
        self.lost: OSError | None = None  # the text went with a disk that failed (_lose)

    def append(self, text: str) -> None:
        recent = self.recent
        recent.append(text)
        if len(recent) >= COMPACT_AT:
            self.compact()

    def compact(self) -> None:
        if not self.recent:
            return
        if self.lost is not None:  # nothing to keep it in: the deltas go (the log warns)
            self.recent.clear()
            return
        joined = "".join(self.recent)
        self.recent.clear()
        if self.file is not None:
            self._write(joined)
            return
        self.chunks.append(joined)
        self.held += len(joined)
        if self.held >= SPILL_AT:
            self._spill()

    def stay_in_memory(self) -> None:
        """Never move to disk: for a reader that needs the text whole anyway (--no-stream,
        --schema), where a disk that fails could only cost the answer."""
        if self.file is None:
            self.held = _NEVER

    @property
    def spilled(self) -> bool:
        return self.file is not None

    def _spill(self) -> None:
        import tempfile
        try:
            self.file = tempfile.TemporaryFile(buffering=0)
        except OSError:
            self.held = _NEVER  # no temporary file to be had: stay in memory, ask no more
            return
        chunks, self.chunks, self.held = self.chunks, [], 0
        for chunk in chunks:
            if self.lost is not None:
                break
            if self.file is None:  # a write failed and took the text back into memory
                self.chunks.append(chunk)
            else:
                self._write(chunk)

    def _write(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        fd = self.file.fileno()
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                self.written += n
                view = view[n:]
        except OSError:
            self._unspill(data[len(data) - len(view):])

    def _unspill(self, unwritten: bytes) -> None:
        """A full or failing disk: what the file holds comes back into memory, and the text
        stays there (the answer is never lost to the record)."""
        try:
            held = os.pread(self.file.fileno(), self.written, 0)
            if len(held) != self.written:
                raise OSError(errno.EIO, "the temporary file came back short")
        except OSError as exc:
            return self._lose(exc)
        self._close()
        self.held = _NEVER
        self.chunks = [(held + unwritten).decode("utf-8", "surrogatepass")]

    def _lose(self, exc: OSError) -> None:
        """The text cannot be read back either: it is given up, never the run that appends
        it (this runs as the answer streams, before each piece is printed). Reading it
        raises OSError; the log warns."""
        self._close()
        self.chunks.clear()
        self.recent.clear()
        self.held = _NEVER
        self.lost = exc

    def _close(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass
        self.file, self.written = None, 0

    def _check(self) -> None:
        if self.lost is not None:
            raise OSError(self.lost.errno, f"the text could not be kept on disk "
                                           f"({self.lost.strerror or self.lost})")

    def clear(self) -> None:
        self.chunks.clear()
        self.recent.clear()
        if self.file is not None:
            self._close()
        self.lost = None
        if self.held > 0:  # (negative: no temporary file to be had, stays so)
            self.held = 0

    def __bool__(self) -> bool:
        return bool(self.written or self.lost or any(self.chunks) or any(self.recent))

    def __str__(self) -> str:
        self._check()
        self.compact()
        if self.file is not None:
            return "".join(self.pieces())
        # Joined once, in place: the pieces go as the whole takes their place, so a long
        # text is held twice only while it is joined, and asking again costs nothing.
        chunks = self.chunks
        if len(chunks) > 1:
            chunks[:] = ["".join(chunks)]
        return chunks[0] if chunks else ""

    def pieces(self):
        """The text in pieces of at most about 64 KiB, none ending between the two halves of
        a surrogate pair (a piece-by-piece conversion then equals the whole one)."""
        self._check()
        self.compact()
        if self.file is None:
            text = str(self)
            start = 0
            while start < len(text):
                end = min(start + _READ, len(text))
                if (end < len(text) and "\ud800" <= text[end - 1] <= "\udbff"
                        and "\udc00" <= text[end] <= "\udfff"):  # a pair: kept whole
                    end += -1 if end - 1 > start else 1  # never an empty piece
                yield text[start:end]
                start = end
            return
        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        carry = ""
        fd = self.file.fileno()
        for offset in range(0, self.written, _READ):
            piece = carry + decoder.decode(os.pread(fd, min(_READ, self.written - offset), offset))
            carry = ""
            if piece and "\ud800" <= piece[-1] <= "\udbff":
                piece, carry = piece[:-1], piece[-1]
            if piece:
                yield piece
        last = carry + decoder.decode(b"", final=True)
        if last:
            yield last
