"""Unit tests of the output sinks, writing into a BytesIO that counts write() and flush().

The contract under test: everything decoded from one network read is handed to the sink as
one list, and the sink makes one write and one flush of stdout for it (same latency as per
delta, far fewer system calls). Also: the text sink's final newline, and the exact line
shapes of --jsonl (validated against streamcli/jsonl.schema.json) and --no-stream.
"""

from __future__ import annotations

import io
import json

import pytest

from streamcli.errors import InvalidRequestError, MalformedStream, ServerError
from streamcli.events import DONE, Refusal, Retry, Start, Stop, Text, Thinking, ToolCall, Usage
from streamcli.outcome import Outcome
from streamcli.sinks import make_sink
from streamcli.sinks.jsonl import SCHEMA_VERSION, JsonlSink
from streamcli.sinks.raw import RawSink
from streamcli.sinks.result import ResultSink
from streamcli.sinks.text import TextSink
from streamcli.ui import Stderr
from tests.helpers.schema import EVENT_VALIDATOR as EVENT
from tests.helpers.schema import RESULT_VALIDATOR as RESULT
from tests.helpers.streams import CountingBytesIO


@pytest.fixture
def out():
    return CountingBytesIO()


@pytest.fixture
def err():
    return io.StringIO()


@pytest.fixture
def ui(err):
    return Stderr(err, force_plain=True)


USAGE = Usage(12, 34, {"input_tokens": 12, "output_tokens": 34})


def outcome(status="ok", *, error=None, exit_code=None, stop_raw="end_turn", usage=USAGE,
            msg_id="msg_1", ttft_ms=1.5):
    if exit_code is None:
        exit_code = {"ok": 0, "cancelled": 130}.get(status, error.exit_code if error else 1)
    return Outcome(status=status, exit_code=exit_code, error=error, provider="anthropic",
                   model="claude-x", id=msg_id, stop_raw=stop_raw, usage=usage, ttft_ms=ttft_ms,
                   duration_ms=12.25, signal_name="SIGINT" if status == "cancelled" else None)


def lines(out) -> list[dict]:
    text = out.getvalue().decode("utf-8")
    assert text.endswith("\n")
    objs = [json.loads(line) for line in text[:-1].split("\n")]
    for obj in objs:
        EVENT.validate(obj)
    return objs


# --------------------------------------------------------------------------- text


def test_text_one_write_and_one_flush_per_read(out, ui):
    sink = TextSink(out, ui, show_thinking=False, newline=True)
    sink.write([Start("anthropic", "m", "id"), Text("Hel"), Thinking("hidden"), Text("lo"),
                Text(" wörld"), Stop("end_turn"), USAGE, DONE])
    assert (out.writes, out.flushes) == (1, 1)
    assert out.getvalue() == "Hello wörld".encode()
    sink.write([Text("!")])
    assert (out.writes, out.flushes) == (2, 2)


def test_text_reads_without_text_write_nothing(out, ui, err):
    sink = TextSink(out, ui, show_thinking=False, newline=True)
    sink.write([Start("anthropic", "m", "id"), Thinking("hidden"), Stop("end_turn"), DONE])
    assert not sink.committed  # nothing printed yet: a retry is still safe
    sink.write([Text("")])
    assert out.writes == 0 and out.getvalue() == b""
    assert err.getvalue() == ""


@pytest.mark.parametrize("deltas, newline, expected", [
    (["ab"], True, b"ab\n"),
    (["ab"], False, b"ab"),
    (["ab\n"], True, b"ab\n"),
    (["a\n", "\n"], True, b"a\n\n"),
    (["a\r\n"], True, b"a\r\n"),
    (["a\r"], True, b"a\r\n"),
    ([], True, b""),
    ([""], True, b""),
])
def test_text_final_newline(out, ui, deltas, newline, expected):
    sink = TextSink(out, ui, show_thinking=False, newline=newline)
    for d in deltas:
        sink.write([Text(d)])
    sink.finish(outcome())
    assert out.getvalue() == expected
    assert out.flushes >= 1  # finish always flushes


def test_text_final_newline_also_after_an_error(out, ui):
    sink = TextSink(out, ui, show_thinking=False, newline=True)
    sink.write([Text("partial")])
    sink.finish(outcome("error", error=MalformedStream("cut"), stop_raw=None))
    assert out.getvalue() == b"partial\n"


def test_text_thinking_and_refusal_go_to_stderr(out, ui, err):
    sink = TextSink(out, ui, show_thinking=True, newline=True)
    sink.write([Thinking("think "), Thinking("more")])
    sink.write([Text("answer")])
    sink.write([Refusal("no can do")])
    sink.finish(outcome())
    assert out.getvalue() == b"answer\n"
    assert err.getvalue() == "think more\nrefusal: no can do\n"


def test_text_tool_call_line_on_stderr(out, ui, err):
    sink = TextSink(out, ui, show_thinking=False, newline=True)
    sink.write([ToolCall("t1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}', False),
                ToolCall("t2", "cut", None, '{"a": "b', True)])
    sink.finish(outcome())
    assert out.getvalue() == b""
    assert err.getvalue().splitlines() == [
        'tool call: get_weather {"city": "Paris"}',
        'tool call: cut {"a": "b (invalid JSON, cut off?)']
    assert sink.committed  # a retry now would print the calls twice


def test_text_committed_after_first_text(out, ui):
    sink = TextSink(out, ui, show_thinking=False, newline=True)
    sink.write([Start("anthropic", "m", "id")])
    assert not sink.committed
    sink.write([Text("x")])
    assert sink.committed


def test_text_split_surrogate_pair_is_joined(out, ui):
    sink = TextSink(out, ui, show_thinking=False, newline=False)
    sink.write([Text("a\ud83d\ude00b")])  # as a JSON "\ud83d\ude00" escape decodes in pieces
    assert out.getvalue() == "a\U0001f600b".encode()


# --------------------------------------------------------------------------- jsonl


def test_jsonl_one_write_and_one_flush_per_read(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=True)
    sink.write([Start("anthropic", "claude-x", "msg_1"), Text("a"), Thinking("t"), Text("b"),
                ToolCall("t1", "f", {}, "", False), Refusal("r"), Stop("end_turn"), USAGE, DONE])
    assert (out.writes, out.flushes) == (1, 1)
    sink.write([Text("c"), Text("d")])
    assert (out.writes, out.flushes) == (2, 2)
    sink.write([Stop("end_turn"), DONE])  # nothing to print: no write at all
    assert out.writes == 2
    sink.finish(outcome())
    assert (out.writes, out.flushes) == (3, 3)
    assert [o["type"] for o in lines(out)] == [
        "start", "text", "thinking", "text", "tool_call", "refusal", "text", "text", "usage", "end"]


def test_jsonl_line_shapes(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=True)
    sink.write([Start("anthropic", "claude-x", "msg_1"), Text('quote " and \\ and \n and é'),
                Thinking("hmm"), Refusal("no"),
                ToolCall("t1", "f", {"a": [1, None]}, '{"a": [1, null]}', False),
                ToolCall("t2", "g", None, '{"a": ', True)])
    sink.finish(outcome(stop_raw="tool_use"))
    objs = lines(out)
    assert objs == [
        {"type": "start", "v": SCHEMA_VERSION, "provider": "anthropic", "model": "claude-x", "id": "msg_1",
         "conversation_id": None},
        {"type": "text", "text": 'quote " and \\ and \n and é'},
        {"type": "thinking", "text": "hmm"},
        {"type": "refusal", "text": "no"},
        {"type": "tool_call", "id": "t1", "name": "f", "arguments": {"a": [1, None]},
         "raw_arguments": '{"a": [1, null]}', "invalid": False},
        {"type": "tool_call", "id": "t2", "name": "g", "arguments": None,
         "raw_arguments": '{"a": ', "invalid": True},
        {"type": "usage", "input_tokens": 12, "output_tokens": 34, "raw": USAGE.raw},
        {"type": "end", "status": "ok", "stop_reason": "tool_use", "stop_reason_raw": "tool_use",
         "id": "msg_1", "usage": {"input_tokens": 12, "output_tokens": 34, "raw": USAGE.raw},
         "ttft_ms": 1.5, "duration_ms": 12.25, "exit_code": 0},
    ]
    raw = out.getvalue()
    assert "é".encode() in raw and b"\\u00e9" not in raw  # UTF-8, not ASCII escapes
    assert b": " not in raw.split(b"\n")[0]  # compact separators


def test_jsonl_thinking_hidden_without_show_thinking(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=False)
    sink.write([Start("anthropic", "m", "i"), Thinking("secret")])
    sink.finish(outcome())
    assert "thinking" not in [o["type"] for o in lines(out)]
    assert b"secret" not in out.getvalue()


def test_jsonl_start_is_made_up_when_the_first_read_has_no_start(out):
    sink = JsonlSink(out, provider="openai", model="gpt-4o", show_thinking=False)
    sink.write([Text("x")])
    sink.finish(outcome())
    objs = lines(out)
    assert objs[0] == {"type": "start", "v": 1, "provider": "openai", "model": "gpt-4o", "id": None,
                       "conversation_id": None}
    assert [o["type"] for o in objs] == ["start", "text", "usage", "end"]


def test_jsonl_start_is_first_even_when_text_leads_a_mixed_read(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=True)
    sink.write([Text("x"), Thinking("y")])
    sink.finish(outcome())
    assert [o["type"] for o in lines(out)][:3] == ["start", "text", "thinking"]


def test_jsonl_failure_before_any_event(out):
    sink = JsonlSink(out, provider="anthropic", model="claude-x", show_thinking=False)
    err = InvalidRequestError("bad", status=400, type="invalid_request_error", request_id="req_1")
    sink.finish(outcome("error", error=err, stop_raw=None, usage=None, msg_id=None, ttft_ms=None))
    objs = lines(out)
    assert objs == [
        {"type": "start", "v": 1, "provider": "anthropic", "model": "claude-x", "id": None,
         "conversation_id": None},
        {"type": "error", "kind": "invalid_request", "status": 400, "error_type": "invalid_request_error",
         "message": "bad", "request_id": "req_1"},
        {"type": "end", "status": "error", "stop_reason": None, "stop_reason_raw": None, "id": None,
         "usage": None, "ttft_ms": None, "duration_ms": 12.25, "exit_code": 3},
    ]
    assert (out.writes, out.flushes) == (1, 1)


def test_jsonl_retry_line_and_committed(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=False)
    sink.retry(Retry(1, 0.4567, "Overloaded (overloaded_error, HTTP 529)", 529))
    assert not sink.committed  # start and retry lines are not answer output
    sink.write([Start("anthropic", "m", "msg_2")])
    assert not sink.committed
    sink.write([Text("a")])
    assert sink.committed
    sink.finish(outcome())
    objs = lines(out)
    assert objs[1] == {"type": "retry", "attempt": 1, "delay_s": 0.457,
                       "reason": "Overloaded (overloaded_error, HTTP 529)", "status": 529}
    assert [o["type"] for o in objs] == ["start", "retry", "text", "usage", "end"]


def test_jsonl_cancelled_end(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=False)
    sink.write([Start("anthropic", "m", "i"), Text("so far")])
    sink.finish(outcome("cancelled", stop_raw=None))
    end = lines(out)[-1]
    assert end["status"] == "cancelled" and end["exit_code"] == 130


def test_jsonl_surrogates_never_break_utf8(out):
    sink = JsonlSink(out, provider="anthropic", model="m", show_thinking=False)
    sink.write([Start("anthropic", "m", "i"), Text("\ud83d\ude00"), Text("lone \ud83d")])
    sink.finish(outcome())
    texts = [o["text"] for o in lines(out) if o["type"] == "text"]
    assert texts[0] == "\U0001f600"
    assert texts[1].startswith("lone ")


# --------------------------------------------------------------------------- raw


def test_raw_one_write_and_flush_per_read_and_nothing_parsed(out):
    sink = RawSink(out)
    assert not sink.committed
    for chunk in (b"\xef\xbb", b"\xbfdata: x\r", b"\n\r\n"):
        sink.raw(chunk)
    sink.write([Text("never printed"), DONE])
    sink.retry(Retry(1, 0.1, "r", 500))
    assert sink.committed
    assert (out.writes, out.flushes) == (3, 3)
    sink.finish(outcome())
    assert out.getvalue() == b"\xef\xbb\xbfdata: x\r\n\r\n"
    assert out.writes == 3


# --------------------------------------------------------------------------- result (--no-stream)


def test_result_one_object_at_the_end(out):
    sink = ResultSink(out, provider="anthropic", model="m")
    sink.write([Start("anthropic", "claude-x", "msg_1"), Thinking("a"), Thinking("b"), Text("Hé"),
                Text("llo"), ToolCall("t1", "f", {"x": 1}, '{"x": 1}', False), Stop("tool_use"), USAGE, DONE])
    assert out.writes == 0 and not sink.committed
    sink.finish(outcome(stop_raw="tool_use"))
    assert (out.writes, out.flushes) == (1, 1)
    text = out.getvalue().decode("utf-8")
    assert text.endswith("}\n") and text.count("\n") == 1
    obj = json.loads(text)
    RESULT.validate(obj)
    assert obj == {
        "provider": "anthropic", "model": "claude-x", "id": "msg_1", "conversation_id": None,
        "text": "Héllo", "thinking": "ab",
        "refusal": None,
        "tool_calls": [{"id": "t1", "name": "f", "arguments": {"x": 1}, "raw_arguments": '{"x": 1}',
                        "invalid": False}],
        "stop_reason": "tool_use", "stop_reason_raw": "tool_use",
        "usage": {"input_tokens": 12, "output_tokens": 34, "raw": USAGE.raw},
        "duration_ms": 12.25, "status": "ok", "exit_code": 0, "error": None,
    }


def test_result_failure_has_the_same_shape(out):
    sink = ResultSink(out, provider="openai", model="gpt-4o")
    err = ServerError("busy", status=503, type="server_error")
    sink.finish(outcome("error", error=err, stop_raw=None, usage=None, msg_id=None)._replace(provider=None, model=None))
    obj = json.loads(out.getvalue())
    RESULT.validate(obj)
    assert obj["provider"] == "openai" and obj["model"] == "gpt-4o"
    assert obj["error"] == {"kind": "server", "status": 503, "type": "server_error", "message": "busy",
                            "request_id": None}
    assert obj["exit_code"] == 6 and obj["status"] == "error"
    assert obj["text"] == "" and obj["tool_calls"] == [] and obj["thinking"] is None


def test_result_retry_forgets_the_failed_attempt(out):
    sink = ResultSink(out, provider="anthropic", model="m")
    sink.write([Text("dup"), ToolCall("t", "f", {}, "", False), Refusal("r"), Thinking("t")])
    sink.retry(Retry(1, 0.0, "reset", None))
    sink.write([Text("once")])
    sink.finish(outcome())
    obj = json.loads(out.getvalue())
    assert obj["text"] == "once" and obj["tool_calls"] == [] and obj["refusal"] is None
    assert obj["thinking"] is None


def test_result_large_text_in_one_write(out):
    big = "x" * (6 * 1024 * 1024)
    sink = ResultSink(out, provider="anthropic", model="m")
    sink.write([Text(big[:3_000_000])])
    sink.write([Text(big[3_000_000:])])
    sink.finish(outcome())
    assert out.writes == 1
    assert json.loads(out.getvalue())["text"] == big


# --------------------------------------------------------------------------- make_sink


@pytest.mark.parametrize("mode, cls", [("text", TextSink), ("jsonl", JsonlSink), ("raw", RawSink),
                                       ("json", ResultSink)])
def test_make_sink(out, ui, mode, cls):
    assert isinstance(make_sink(mode, out, ui), cls)


def test_make_sink_rejects_unknown_modes(out, ui):
    with pytest.raises(ValueError):
        make_sink("xml", out, ui)
