"""Where a batch's result lines go (stdout or --output), each written whole.

Where a batch's result lines go: stdout, or --output FILE. Each line is written whole
with one write and flushed at once, shielded from SIGINT/SIGTERM (a signal arriving
meanwhile ends the run after the line, or, if the write blocks for good on a pipe nobody
reads, by the signal itself shortly after), so a crash, a SIGKILL or a full disk leaves
only whole lines (a write that fails halfway is cut back off the file). `--resume` reads
FILE first: the ids whose last line is ok are done.
"""

from __future__ import annotations

import json
import os

from streamcli import signals
from streamcli.errors import OutputError, StdoutClosed, UsageError
from streamcli.sinks import write_all


class Writer:
    def __init__(self, stdout, path: str | None, *, resume: bool) -> None:
        """`stdout`: the binary stdout (None when closed); `path`: --output FILE, opened
        for appending with --resume, else created or emptied (as `>` would)."""
        self.path = path
        self.out = stdout
        self.fd: int | None = None
        self.size = 0
        if path is not None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if resume else os.O_TRUNC)
            try:
                self.fd = os.open(path, flags, 0o644)
                self.size = os.fstat(self.fd).st_size
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        elif stdout is None:  # an output error (11), as for the prompt command
            raise OutputError("stdout is closed: pass --output FILE")

    def write(self, line: bytes) -> None:
        """One complete line; a signal arriving meanwhile is raised after it."""
        with signals.shielded():
            if self.fd is not None:
                self._to_file(line)
            else:
                self._to_stdout(line)

    def _to_file(self, line: bytes) -> None:
        start = self.size
        try:
            written = os.write(self.fd, line)
            while written < len(line):  # a short write (full disk) fails on the next one
                written += os.write(self.fd, line[written:])
        except OSError as exc:
            try:
                os.ftruncate(self.fd, start)  # never leave half a line behind
            except OSError:
                pass
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        self.size = start + len(line)

    def _to_stdout(self, line: bytes) -> None:
        try:
            write_all(self.out, line)
            self.out.flush()
        except BrokenPipeError:
            raise StdoutClosed() from None
        except (OSError, ValueError) as exc:
            raise OutputError.of(exc) from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# How every line this writer writes begins (json.dumps of an object whose first key is
# id): an unfinished last line is cut off only if it begins so (or is the start of it).
LINE_START = b'{"id": '


def not_the_input(path: str, source: str, stdin) -> None:
    """--output FILE must not be the input (FILE, or the file stdin reads): it would be
    emptied, or appended to while it is read, before its items are run."""
    import stat
    try:
        out = os.stat(path)
        if source == "-":
            stream = getattr(stdin, "buffer", stdin)
            into = os.fstat(stream.fileno())
        else:
            into = os.stat(source)
    except (OSError, AttributeError, ValueError, TypeError):
        return
    if stat.S_ISREG(out.st_mode) and (out.st_dev, out.st_ino) == (into.st_dev, into.st_ino):
        raise UsageError(f"--output {path} is the input: write the lines to another file")


def done_ids(path: str, ui=None) -> set[str]:
    """The ids of FILE whose last line has status ok. A last line without its newline
    (a crash that was not ours) is cut off, with a warning. A line that is not a batch
    result means FILE is something else: exit 2, FILE untouched."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    done: set[str] = set()
    whole = 0  # bytes up to the end of the last complete line
    with f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                if raw.strip() and raw[:len(LINE_START)] != LINE_START[:len(raw)]:
                    _result_of(raw, path, number)  # not even the start of one: exit 2
                break
            whole += len(raw)
            if not raw.strip():
                continue
            ident, ok = _result_of(raw, path, number)
            (done.add if ok else done.discard)(ident)
        size = f.seek(0, os.SEEK_END)
    if size > whole:
        _cut(path, whole, ui)
    return done


def _result_of(raw: bytes, path: str, number: int) -> tuple[str, bool]:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) \
            or "status" not in obj:
        raise UsageError(f"--resume: {path} line {number} is not a batch result line "
                         f"(is it the right file?)")
    return obj["id"], obj["status"] == "ok"


def _cut(path: str, size: int, ui) -> None:
    try:
        os.truncate(path, size)
    except OSError as exc:
        raise UsageError(f"cannot repair {path}: {exc.strerror}") from None
    if ui is not None:
        ui.warn(f"{path}: dropped an incomplete last line (the item will run again)")
