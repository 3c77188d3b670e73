"""Stand-ins for the command's standard streams: a stdout that counts its writes and
flushes, an interactive (terminal) stdin, a piped stdin."""

from __future__ import annotations

import io


class CountingBytesIO(io.BytesIO):
    """A BytesIO that counts write() and flush() calls (the stdout system calls), and
    logs them in order: `log` holds ("write", data) and ("flush", b"")."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0
        self.log: list[tuple[str, bytes]] = []

    def write(self, data) -> int:
        self.writes += 1
        self.log.append(("write", bytes(data)))
        return super().write(data)

    def flush(self) -> None:
        self.flushes += 1
        self.log.append(("flush", b""))
        super().flush()


def counting_stdout() -> io.TextIOWrapper:
    """A text stdout over a CountingBytesIO (`.buffer`), as the command writes bytes to
    sys.stdout.buffer."""
    return io.TextIOWrapper(CountingBytesIO(), encoding="utf-8", write_through=True)


class TtyStdin:
    """An interactive stdin: nothing is read from it."""

    def isatty(self) -> bool:
        return True

    def read(self, *a):  # pragma: no cover - reading a terminal would hang
        raise AssertionError("the command read a terminal stdin")

    buffer = property(lambda self: self)

    def fileno(self):
        raise io.UnsupportedOperation("fileno")


class PipeStdin:
    """A piped stdin with the given bytes."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self.buffer.read().decode("utf-8")
