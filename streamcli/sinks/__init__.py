"""One writer per output mode behind the `Sink` protocol; `make_sink` picks one.

The byte helpers here are shared by all of them.
"""

from __future__ import annotations


def make_sink(mode: str, out, ui, *, show_thinking: bool = False, newline: bool = True):
    if mode == "text":
        from streamcli.sinks.text import TextSink
        return TextSink(out, ui, show_thinking=show_thinking, newline=newline)
    if mode == "jsonl":
        from streamcli.sinks.jsonl import JsonlSink
        return JsonlSink(out, show_thinking=show_thinking)
    if mode == "raw":
        from streamcli.sinks.raw import RawSink
        return RawSink(out)
    if mode == "json":
        from streamcli.sinks.result import ResultSink
        return ResultSink(out)
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
