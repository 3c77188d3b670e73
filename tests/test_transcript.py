"""streamcli.transcript: what the answer said, recorded beside any sink."""

from __future__ import annotations

import io

from streamcli.events import Refusal, Retry, Text, Thinking, ToolCall
from streamcli.sinks import make_sink
from streamcli.transcript import Recorder, Transcript
from streamcli.ui import Stderr


def test_long_answers_keep_their_order_across_compaction():
    t = Transcript()
    pieces = [f"{i}," for i in range(5000)]
    for i, piece in enumerate(pieces):
        if i % 2:
            t.add([Text(piece), Thinking("t")])
        else:
            t.add_text(piece)
    assert t.text == "".join(pieces)
    assert t.thinking == "t" * 2500


def test_reading_the_text_joins_it_in_place_and_appending_after_still_counts():
    t = Transcript()
    pieces = [f"{i};" for i in range(3000)]
    for piece in pieces[:2000]:
        t.add([Text(piece)])
    first = t.text
    assert first == "".join(pieces[:2000])
    assert t.text_parts.chunks == [first] and not t.text_parts.recent  # one piece kept
    assert t.text == first
    for piece in pieces[2000:]:
        t.add_text(piece)
    assert t.text == "".join(pieces)
    t.clear()
    assert t.text == "" and not t.said_anything()


def test_recorder_passes_everything_on_and_forgets_a_retried_attempt():
    out = io.BytesIO()
    t = Transcript()
    sink = Recorder(make_sink("text", out, Stderr(io.StringIO())), t)
    sink.write([Text("one ")])
    sink.retry(Retry(1, 0.1, "x", 500))
    sink.write([Text("two "), Refusal("no"), ToolCall("c", "f", {}, "{}", False)])
    sink.write_plain_text("three".encode())
    assert t.text == "two three" and t.refusal == "no" and t.thinking is None
    assert t.tool_calls == [{"id": "c", "name": "f", "arguments": {}, "raw_arguments": "{}",
                             "invalid": False}]
    assert out.getvalue() == b"one two three" and sink.committed
