"""One writer per output mode behind the `Sink` protocol; `make_sink` picks one.

The byte helpers here are shared by all of them.
"""

from __future__ import annotations

from streamcli.errors import OutputError, StdoutClosed


def make_sink(mode: str, out, ui, *, show_thinking: bool = False, newline: bool = True):
    if mode == "text":
        from streamcli.sinks.text import TextSink
        return TextSink(out, ui, show_thinking=show_thinking, newline=newline)
    if mode == "jsonl":
        from streamcli.sinks.jsonl import JsonlSink
        return JsonlSink(out, show_thinking=show_thinking, redact=ui.redact)
    if mode == "raw":
        from streamcli.sinks.raw import RawSink
        return RawSink(out)
    if mode == "json":
        from streamcli.sinks.result import ResultSink
        return ResultSink(out, redact=ui.redact)
    raise ValueError(mode)


def encode_text(text: str) -> bytes:
    """UTF-8, surviving a surrogate pair that JSON escapes split into two halves."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return joined.encode("utf-8", "replace")


def write_all(out, data: bytes) -> None:
    """out.write(), until all of it is written. With PYTHONUNBUFFERED (python -u) stdout's
    binary layer is the raw file, and a raw write into a pipe that closes midway returns
    a short count instead of raising; the next write raises BrokenPipeError, which ends
    the run the SIGPIPE way instead of a silent exit 0 with the output cut."""
    n = out.write(data)
    while n is not None and n < len(data):
        data = data[n:]
        n = out.write(data)


def guard(out):
    """stdout as the sinks see it: a failed write or flush is told in the error tree (EPIPE
    as StdoutClosed, the quiet SIGPIPE ending; anything else, a full disk or an I/O error,
    as OutputError, exit 11), and a closed stdout (None) is an OutputError at the first
    write."""
    return _Guarded(out) if out is not None else _Closed()


class _Guarded:
    __slots__ = ("raw",)

    def __init__(self, raw) -> None:
        self.raw = raw

    def write(self, data: bytes):
        try:
            return self.raw.write(data)
        except BlockingIOError as exc:  # write_all() writes the rest
            self._wait_writable(exc)
            return exc.characters_written
        except BrokenPipeError:
            raise StdoutClosed() from None
        except (OSError, ValueError) as exc:
            raise OutputError.of(exc) from None

    def flush(self) -> None:
        while True:
            try:
                return self.raw.flush()
            except BlockingIOError as exc:
                self._wait_writable(exc)
            except BrokenPipeError:
                raise StdoutClosed() from None
            except (OSError, ValueError) as exc:
                raise OutputError.of(exc) from None

    def _wait_writable(self, exc: BlockingIOError) -> None:
        """A stdout left non-blocking (by another program on the same terminal or pipe)
        that is full for now: wait until it takes more, as a blocking one would. A signal
        ends the wait."""
        import select
        try:
            select.select([], [self.raw.fileno()], [])
        except (OSError, ValueError):
            raise OutputError.of(exc) from None

    def fileno(self) -> int:
        return self.raw.fileno()


class _Closed:
    def write(self, data: bytes):
        raise OutputError.of(None)

    def flush(self) -> None:
        pass  # nothing was written, so nothing is lost

    def fileno(self) -> int:
        raise OSError("stdout is closed")
