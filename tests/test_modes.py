"""In-process tests of the output mode contracts of issue 3: --jsonl, --no-stream, --raw-sse,
and --replay.

Harness: tests/helpers/cli.py (`streamcli.entry.main` with an `httpx2.MockTransport`); every
--jsonl line and --no-stream object produced here is validated against
streamcli/jsonl.schema.json by that harness.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx2
import pytest

import streamcli.signals
from streamcli.errors import Cancelled
from tests.helpers.cli import anthropic_error, json_response, sse
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import EXAMPLES as EXAMPLES_DIR
from tests.helpers.paths import FIXTURES, KIND_OF_DIR
from tests.helpers.sse import (anthropic_sse, anthropic_tool_stream, bytewise, crlf_split,
                               cycling_sizes, fixed_size, openai_sse, openai_tool_stream)

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.sse"))
RECORDINGS = [p for folder in ("anthropic", "openai", "responses")
              for p in sorted((FIXTURES / folder).glob("*.sse"))]
# Recordings that do not end well, and the exit status they must give (DESIGN.md table).
RECORDING_EXIT = {
    "midstream_overloaded_error": 6,
    "sdk_basic_response.no-final-blank-line": 9,
    "truncated_no_message_stop": 9,
    "midstream_error_object": 6,
    "truncated_no_done": 9,
    "vllm_style_midstream_error": 3,
    "failed": 6,
    "error_event_flat": 3,
    "error_event_nested": 5,
    "truncated_no_terminal_event": 9,
}


def stream_then_fail(parts, exc):
    """A body that delivers `parts` as reads, then fails the way a network does."""
    def respond(request):
        def gen():
            yield from parts
            raise exc
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=gen())
    return respond


def texts_of(events) -> str:
    return "".join(e["text"] for e in events if e["type"] == "text")


def test_the_parametrized_corpus_is_there():
    """An empty glob would turn the corpus tests below into no tests at all."""
    assert len(RECORDINGS) >= 40, RECORDINGS
    assert {p.parent.name for p in RECORDINGS} == {"anthropic", "openai", "responses"}
    assert len(EXAMPLES) >= 3, EXAMPLES


# =========================================================================== --jsonl


def test_jsonl_success_lines(cli):
    cli.env(**ANTHROPIC_KEY).serve(sse(anthropic_sse(["Hel", "lo"], model="claude-x", msg_id="msg_1",
                                                     input_tokens=11, output_tokens=2)))
    r = cli.run("--jsonl", "hi")
    assert r.code == 0
    ev = r.events
    assert [e["type"] for e in ev] == ["start", "text", "text", "usage", "end"]
    cid = ev[0].pop("conversation_id")  # a new conversation of the log (tests/test_log.py)
    assert isinstance(cid, str) and len(cid) == 26
    assert ev[0] == {"type": "start", "v": 1, "provider": "anthropic", "model": "claude-x", "id": "msg_1"}
    assert texts_of(ev) == "Hello"
    assert ev[3]["input_tokens"] == 11 and ev[3]["output_tokens"] == 2
    end = ev[-1]
    assert end["status"] == "ok" and end["exit_code"] == 0
    assert end["stop_reason"] == "end" and end["stop_reason_raw"] == "end_turn"
    assert end["id"] == "msg_1"
    assert end["usage"] == {k: v for k, v in ev[3].items() if k != "type"}
    assert end["ttft_ms"] is not None and end["ttft_ms"] <= end["duration_ms"]
    assert r.err == ""


def test_jsonl_openai_stop_reasons_are_normalized_with_the_raw_value_kept(cli):
    cli.env(**OPENAI_KEY).serve(sse(openai_sse(["x"], finish_reason="length")),
                                sse(openai_sse(["x"], finish_reason="content_filter")),
                                sse(openai_sse(["x"], finish_reason="brand_new_reason")))
    ends = [cli.run("--jsonl", "-m", "gpt-4o", "hi").events[-1] for _ in range(3)]
    assert [(e["stop_reason"], e["stop_reason_raw"]) for e in ends] == [
        ("max_tokens", "length"), ("content_filter", "content_filter"), ("other", "brand_new_reason")]
    assert all(e["status"] == "ok" and e["exit_code"] == 0 for e in ends)


def test_jsonl_same_content_same_event_sequence_across_providers(cli):
    texts = ["Let me ", "check."]
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    cli.serve(sse(anthropic_tool_stream(texts, ['{"city":', ' "Paris"}'])))
    a = cli.run("--jsonl", "hi").events
    cli.serve(sse(openai_tool_stream(texts, [(0, "call_1", "get_weather", ""),
                                             (0, None, None, '{"city":'), (0, None, None, ' "Paris"}')])))
    o = cli.run("--jsonl", "-m", "gpt-4o", "hi").events
    types = ["start", "text", "text", "tool_call", "usage", "end"]
    assert [e["type"] for e in a] == types
    assert [e["type"] for e in o] == types
    assert texts_of(a) == texts_of(o) == "Let me check."
    (ta,), (to,) = [e for e in a if e["type"] == "tool_call"], [e for e in o if e["type"] == "tool_call"]
    assert ta["name"] == to["name"] == "get_weather"
    assert ta["arguments"] == to["arguments"] == {"city": "Paris"}
    assert ta["invalid"] is to["invalid"] is False
    assert (ta["id"], to["id"]) == ("toolu_1", "call_1")
    assert a[-1]["stop_reason"] == o[-1]["stop_reason"] == "tool_use"
    assert (a[-1]["stop_reason_raw"], o[-1]["stop_reason_raw"]) == ("tool_use", "tool_calls")
    assert (a[-2]["input_tokens"], a[-2]["output_tokens"]) == (o[-2]["input_tokens"], o[-2]["output_tokens"]) == (20, 9)


def test_jsonl_parallel_openai_tool_calls_are_kept_apart(cli):
    calls = [(0, "call_a", "weather", ""), (1, "call_b", "stock", ""),
             (0, None, None, '{"city": "Ed'), (1, None, None, '{"ticker"'),
             (0, None, None, 'inburgh"}'), (1, None, None, ': "AAPL"}')]
    cli.env(**OPENAI_KEY).serve(sse(openai_tool_stream([], calls)))
    r = cli.run("--jsonl", "-m", "gpt-4o", "hi")
    assert r.code == 0
    tools = [e for e in r.events if e["type"] == "tool_call"]
    assert [(t["id"], t["name"], t["arguments"], t["invalid"]) for t in tools] == [
        ("call_a", "weather", {"city": "Edinburgh"}, False),
        ("call_b", "stock", {"ticker": "AAPL"}, False)]
    assert tools[0]["raw_arguments"] == '{"city": "Edinburgh"}'


def test_jsonl_recorded_parallel_tool_calls(cli):
    body = (FIXTURES / "openai" / "chat_tool_calls_parallel.sse").read_bytes()
    summary = json.loads((FIXTURES / "openai" / "chat_tool_calls_parallel.summary.json").read_text())
    cli.env(**OPENAI_KEY).serve(sse(fixed_size(body, 97)))
    r = cli.run("--jsonl", "-m", "gpt-4o", "hi")
    assert r.code == 0
    tools = [e for e in r.events if e["type"] == "tool_call"]
    assert [(t["id"], t["name"], t["raw_arguments"]) for t in tools] == [
        (c["id"], c["name"], c["arguments"]) for c in summary["tool_calls"]["0"]]
    assert [t["arguments"] for t in tools] == [json.loads(c["arguments"]) for c in summary["tool_calls"]["0"]]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_jsonl_tool_input_cut_by_the_token_limit_is_reported_raw(cli, provider):
    cut = '{"filename": "taxes.txt", "lines": ["# GUIDE", "Filing ta'
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    if provider == "anthropic":
        cli.serve(sse(anthropic_tool_stream(["Sure."], [cut[:20], cut[20:]], stop_reason="max_tokens")))
        r = cli.run("--jsonl", "hi")
    else:
        cli.serve(sse(openai_tool_stream(["Sure."], [(0, "call_1", "get_weather", cut[:20]),
                                                     (0, None, None, cut[20:])], finish="length")))
        r = cli.run("--jsonl", "-m", "gpt-4o", "hi")
    assert r.code == 0  # a token-limit stop is success, with a warning
    (tool,) = [e for e in r.events if e["type"] == "tool_call"]
    assert tool["invalid"] is True and tool["arguments"] is None and tool["raw_arguments"] == cut
    assert r.events[-1]["stop_reason"] == "max_tokens"
    assert "warning" in r.err


def test_jsonl_recorded_max_tokens_cut_tool_input_is_reported(cli):
    # The recorded block has no content_block_stop: the cut call must still be reported.
    name = "sdk_incomplete_partial_json_response"
    summary = json.loads((FIXTURES / "anthropic" / f"{name}.summary.json").read_text())
    r = cli.run("--jsonl", "--replay", str(FIXTURES / "anthropic" / f"{name}.sse"))
    assert r.code == 0
    tools = [e for e in r.events if e["type"] == "tool_call"]
    assert len(tools) == 1
    assert tools[0]["invalid"] is True
    assert tools[0]["raw_arguments"] == summary["tool_input_json"]["1"]


def test_jsonl_thinking_lines_only_with_show_thinking(cli):
    parts = anthropic_sse(["answer"], thinking=["hmm ", "yes"])
    cli.env(**ANTHROPIC_KEY).serve(sse(parts), sse(parts))
    hidden = cli.run("--jsonl", "hi")
    shown = cli.run("--jsonl", "--show-thinking", "hi")
    assert "thinking" not in hidden.types
    assert shown.types == ["start", "thinking", "thinking", "text", "usage", "end"]
    assert [e["text"] for e in shown.events if e["type"] == "thinking"] == ["hmm ", "yes"]
    assert hidden.err == shown.err == ""  # never on stderr in --jsonl


def test_jsonl_refusal_lines(cli):
    body = (FIXTURES / "openai" / "chat_refusal.sse").read_bytes()
    cli.env(**OPENAI_KEY).serve(sse([body]))
    r = cli.run("--jsonl", "-m", "gpt-4o", "hi")
    assert r.code == 0
    assert "".join(e["text"] for e in r.events if e["type"] == "refusal") == \
        "I'm sorry, I can't assist with that request."
    assert "text" not in r.types


def test_jsonl_retry_event_on_a_retried_529(cli):
    cli.env(**ANTHROPIC_KEY).serve(
        anthropic_error(529, "overloaded_error", "Overloaded", headers={"retry-after-ms": "0"}),
        sse(anthropic_sse(["ok"], msg_id="msg_2")))
    r = cli.run("--jsonl", "hi")
    assert r.code == 0
    assert r.types == ["start", "retry", "text", "usage", "end"]
    retry = r.events[1]
    assert retry["attempt"] == 1 and retry["status"] == 529 and retry["delay_s"] == 0
    assert "Overloaded" in retry["reason"]
    assert r.events[-1]["id"] == "msg_2"
    assert len(cli.requests) == 2
    assert "retry 1/2" in r.err


@pytest.mark.parametrize("response, code, kind, status, error_type", [
    (anthropic_error(400, "invalid_request_error", "bad model"), 3, "invalid_request", 400,
     "invalid_request_error"),
    (anthropic_error(401, "authentication_error", "invalid x-api-key"), 4, "auth", 401,
     "authentication_error"),
    (anthropic_error(429, "rate_limit_error"), 5, "rate_limit", 429, "rate_limit_error"),
    (anthropic_error(529, "overloaded_error"), 6, "server", 529, "overloaded_error"),
    (httpx2.ConnectError("connection refused"), 7, "connection", None, None),
    (httpx2.ConnectTimeout("timed out"), 8, "timeout", None, None),
    (json_response(200, {"hello": "world"}), 9, "malformed", None, None),
])
def test_jsonl_error_before_any_event_gives_start_error_end(cli, response, code, kind, status, error_type):
    cli.env(**ANTHROPIC_KEY).serve(response)
    r = cli.run("--jsonl", "--retries", "0", "hi")
    assert r.code == code
    start, error, end = r.events
    assert start["type"] == "start" and start["id"] is None
    assert start["provider"] == "anthropic"
    assert error["type"] == "error"
    assert (error["kind"], error["status"], error["error_type"]) == (kind, status, error_type)
    assert error["message"]
    assert end["status"] == "error" and end["exit_code"] == code
    assert end["stop_reason"] is None and end["ttft_ms"] is None
    assert error["message"] in r.err  # the human-readable error still goes to stderr


def test_jsonl_usage_error_gives_start_error_end(cli):
    r = cli.run("--jsonl", "hi")  # no key
    assert r.code == 2
    assert r.types == ["start", "error", "end"]
    assert r.events[1]["kind"] == "usage" and "ANTHROPIC_API_KEY" in r.events[1]["message"]


@pytest.mark.parametrize("exc, code, kind", [
    (httpx2.ReadError("connection reset by peer"), 7, "connection"),
    (httpx2.ReadTimeout("timed out"), 8, "timeout"),
])
def test_jsonl_mid_stream_failure_keeps_the_text_and_ends_with_end(cli, exc, code, kind):
    parts = anthropic_sse(["partial ", "answer"], terminal=False)[:-2]
    cli.env(**ANTHROPIC_KEY).serve(stream_then_fail(parts, exc))
    r = cli.run("--jsonl", "hi")
    assert r.code == code
    assert r.types == ["start", "text", "text", "error", "usage", "end"]
    assert texts_of(r.events) == "partial answer"
    assert r.events[3]["kind"] == kind
    assert r.events[-1]["status"] == "error" and r.events[-1]["id"] == "msg_test"
    assert len(cli.requests) == 1  # never retried after answer output


def test_jsonl_in_stream_error(cli):
    body = (FIXTURES / "anthropic" / "midstream_overloaded_error.sse").read_bytes()
    cli.env(**ANTHROPIC_KEY).serve(sse([body]))
    r = cli.run("--jsonl", "hi")
    assert r.code == 6
    assert texts_of(r.events) == (FIXTURES / "anthropic" / "midstream_overloaded_error.expected.txt").read_text()
    (error,) = [e for e in r.events if e["type"] == "error"]
    assert (error["kind"], error["error_type"], error["message"]) == ("server", "overloaded_error", "Overloaded")
    assert r.types[-1] == "end" and r.events[-1]["status"] == "error"


def test_jsonl_cancelled_run_ends_with_a_cancelled_end(cli, monkeypatch):
    died = []

    def fake_die_by(signum):  # the real one re-raises the signal at this process
        died.append(signum)
        raise SystemExit(128 + signum)

    monkeypatch.setattr(streamcli.signals, "die_by", fake_die_by)
    parts = anthropic_sse(["so far"], terminal=False)[:-2]
    cli.env(**ANTHROPIC_KEY).serve(stream_then_fail(parts, Cancelled(signal.SIGINT)),
                                   stream_then_fail(parts, Cancelled(signal.SIGINT)))
    r = cli.run("--jsonl", "hi")
    assert died == [signal.SIGINT] and r.code == 130
    assert r.types == ["start", "text", "usage", "end"]
    assert r.events[-1]["status"] == "cancelled" and r.events[-1]["exit_code"] == 130
    assert "cancelled" in r.err
    t = cli.run("hi")  # text mode: what was printed is kept and ends with a newline
    assert t.code == 130 and t.out == b"so far\n"


ODD_SHAPES = {
    # valid JSON, unexpected shapes: a delta that is not an object, choices that are not a list
    "anthropic": (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c"}}\n\n'
                  b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":"oops"}\n\n'
                  b'event: message_stop\ndata: {"type":"message_stop"}\n\n'),
    "openai": (b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
               b'data: {"id":"x","choices":"bad"}\n\ndata: [DONE]\n\n'),
    # a text delta that is a list, where a string belongs
    "openai-responses": (b'event: response.created\ndata: {"type":"response.created","response":{"id":"r"}}\n\n'
                         b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":["x"]}\n\n'
                         b'event: response.completed\ndata: {"type":"response.completed","response":{"id":"r"}}\n\n'),
}


@pytest.mark.parametrize("provider", list(ODD_SHAPES))
def test_jsonl_ends_with_end_even_after_an_internal_error(cli, tmp_path, provider):
    path = tmp_path / "odd.sse"
    path.write_bytes(ODD_SHAPES[provider])
    r = cli.run("--jsonl", "--replay", str(path))
    assert r.code in (1, 9)
    assert r.types[-1] == "end"  # jsonl_events checks start first and end last


@pytest.mark.parametrize("provider", list(ODD_SHAPES))
def test_unexpected_event_shape_is_a_malformed_stream(cli, tmp_path, provider):
    path = tmp_path / "odd.sse"
    path.write_bytes(ODD_SHAPES[provider])
    r = cli.run("--replay", str(path))
    assert r.code == 9
    assert "internal error" not in r.err


DEEP = b"[" * 100000 + b"]" * 100000  # valid JSON nested past what json.loads can read


@pytest.mark.parametrize("body", [
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":' + DEEP + b"}\n\n",
    b'data: {"id":"x","choices":' + DEEP + b"}\n\n",
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":'
    + DEEP + b"}\n\n",
    b'{"object":"response","output":' + DEEP + b"}",
], ids=["anthropic", "openai", "openai-responses", "saved-response"])
def test_json_nested_too_deep_is_malformed_not_a_crash(cli, tmp_path, body):
    path = tmp_path / "deep.sse"
    path.write_bytes(body)
    for mode in ([], ["--jsonl"], ["--no-stream"]):
        r = cli.run("--replay", str(path), *mode)
        assert r.code == 9, (mode, r.err)
        assert "internal error" not in r.err


def test_jsonl_one_write_per_network_read(cli):
    parts = anthropic_sse(["a", "b", "c", "d"])
    reads = [b"".join(parts[:5]), b"".join(parts[5:7]), b"".join(parts[7:])]
    cli.env(**ANTHROPIC_KEY).serve(sse(reads))
    r = cli.run("--jsonl", "hi")
    writes = [d for op, d in r.stdout.log if op == "write"]
    # start+a+b | c+d | (nothing from the read that ends the stream) + usage+end at finish
    assert [[json.loads(x)["type"] for x in w.decode().splitlines()] for w in writes] == [
        ["start", "text", "text"], ["text", "text"], ["usage", "end"]]
    assert r.stdout.flushes >= len(writes)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_jsonl_over_every_recording(cli, path):
    """The whole corpus through --jsonl --show-thinking: schema-valid lines (checked by the
    harness), the same text as text mode, and the exit status of the recording."""
    r = cli.run("--jsonl", "--show-thinking", "--replay", str(path))
    assert r.code == RECORDING_EXIT.get(path.stem, 0)
    expected = path.with_name(path.stem + ".expected.txt").read_text(encoding="utf-8")
    assert texts_of(r.events) == expected
    assert r.events[0]["provider"] == KIND_OF_DIR[path.parent.name]
    assert r.events[-1]["status"] == ("ok" if r.code == 0 else "error")


# =========================================================================== --no-stream

ANTHROPIC_MESSAGE = {
    "id": "msg_ns", "type": "message", "role": "assistant", "model": "claude-x",
    "content": [{"type": "thinking", "thinking": "ponder", "signature": "s"},
                {"type": "text", "text": "Héllo "}, {"type": "text", "text": "world"},
                {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris"}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 7},
}
OPENAI_COMPLETION = {
    "id": "chatcmpl-ns", "object": "chat.completion", "created": 0, "model": "gpt-4o-2024",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Héllo world", "refusal": None,
        "tool_calls": [{"id": "call_9", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def test_no_stream_anthropic(cli):
    cli.env(**ANTHROPIC_KEY).serve(json_response(200, ANTHROPIC_MESSAGE))
    r = cli.run("--no-stream", "hi")
    assert r.code == 0
    req = cli.requests[0]
    assert cli.body.get("stream") in (None, False)
    assert req.headers["accept"] == "application/json"
    obj = r.result
    assert obj["provider"] == "anthropic" and obj["model"] == "claude-x" and obj["id"] == "msg_ns"
    assert obj["text"] == "Héllo world" and obj["thinking"] == "ponder"
    assert obj["tool_calls"] == [{"id": "toolu_9", "name": "get_weather", "arguments": {"city": "Paris"},
                                  "raw_arguments": '{"city": "Paris"}', "invalid": False}]
    assert (obj["stop_reason"], obj["stop_reason_raw"]) == ("tool_use", "tool_use")
    assert (obj["usage"]["input_tokens"], obj["usage"]["output_tokens"]) == (5, 7)
    assert obj["error"] is None and obj["status"] == "ok"
    assert obj["duration_ms"] >= 0


def test_no_stream_openai(cli):
    cli.env(**OPENAI_KEY).serve(json_response(200, OPENAI_COMPLETION))
    r = cli.run("--no-stream", "-m", "gpt-4o", "hi")
    assert r.code == 0
    assert "stream_options" not in cli.body
    assert cli.body.get("stream") in (None, False)
    obj = r.result
    assert obj["provider"] == "openai" and obj["model"] == "gpt-4o-2024" and obj["id"] == "chatcmpl-ns"
    assert obj["text"] == "Héllo world" and obj["thinking"] is None
    assert [(t["id"], t["arguments"]) for t in obj["tool_calls"]] == [("call_9", {"city": "Paris"})]
    assert (obj["stop_reason"], obj["stop_reason_raw"]) == ("tool_use", "tool_calls")
    assert obj["usage"]["raw"] == OPENAI_COMPLETION["usage"]
    assert obj["error"] is None


@pytest.mark.parametrize("argv", [["hi"], ["-m", "gpt-4o", "hi"]])
def test_no_stream_sends_stream_false(cli, argv):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(
        json_response(200, ANTHROPIC_MESSAGE if len(argv) == 1 else OPENAI_COMPLETION))
    assert cli.run("--no-stream", *argv).code == 0
    assert cli.body["stream"] is False


def test_no_stream_same_shape_across_providers(cli):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    cli.serve(json_response(200, ANTHROPIC_MESSAGE), json_response(200, OPENAI_COMPLETION))
    a = cli.run("--no-stream", "hi").result
    o = cli.run("--no-stream", "-m", "gpt-4o", "hi").result
    assert list(a) == list(o)
    for key in ("text", "stop_reason", "error", "status", "exit_code"):
        assert a[key] == o[key]
    assert [t["arguments"] for t in a["tool_calls"]] == [t["arguments"] for t in o["tool_calls"]]


@pytest.mark.parametrize("response, code, kind, status, etype", [
    (anthropic_error(400, "invalid_request_error", "max_tokens: too large"), 3, "invalid_request", 400,
     "invalid_request_error"),
    (anthropic_error(403, "permission_error", "no access"), 4, "auth", 403, "permission_error"),
    (anthropic_error(529, "overloaded_error", "Overloaded"), 6, "server", 529, "overloaded_error"),
    (json_response(200, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
     6, "server", None, "overloaded_error"),
    (sse([b"<html>not json</html>"]), 9, "malformed", None, None),
    (httpx2.ConnectError("refused"), 7, "connection", None, None),
])
def test_no_stream_failure_same_shape_with_error_filled(cli, response, code, kind, status, etype):
    cli.env(**ANTHROPIC_KEY).serve(response)
    r = cli.run("--no-stream", "--retries", "0", "hi")
    assert r.code == code
    obj = r.result
    assert obj["status"] == "error" and obj["exit_code"] == code
    err = obj["error"]
    assert (err["kind"], err["status"], err["type"]) == (kind, status, etype)
    assert err["message"] and err["message"] in r.err
    assert obj["text"] == "" and obj["tool_calls"] == []


def test_no_stream_usage_error_prints_the_object_too(cli):
    r = cli.run("--no-stream", "-m", "gpt-4o", "hi")
    assert r.code == 2
    assert r.result["error"]["kind"] == "usage" and "OPENAI_API_KEY" in r.result["error"]["message"]


def test_no_stream_retry_does_not_duplicate(cli):
    cli.env(**ANTHROPIC_KEY).serve(
        anthropic_error(529, "overloaded_error", headers={"retry-after-ms": "0"}),
        json_response(200, ANTHROPIC_MESSAGE))
    r = cli.run("--no-stream", "hi")
    assert r.code == 0
    assert r.result["text"] == "Héllo world" and len(r.result["tool_calls"]) == 1
    assert len(cli.requests) == 2


def test_no_stream_large_answer_comes_out_whole(cli):
    text = ("0123456789abcdef" * 4096 + "é\U0001f600\n") * 80  # > 5 MiB
    assert len(text.encode()) > 5 * 1024 * 1024
    msg = dict(ANTHROPIC_MESSAGE, content=[{"type": "text", "text": text}], stop_reason="end_turn")
    cli.env(**ANTHROPIC_KEY).serve(json_response(200, msg, chunk=65536))
    r = cli.run("--no-stream", "hi")
    assert r.code == 0
    assert r.result["text"] == text
    assert r.stdout.writes == 1  # one object, written at once


# =========================================================================== --raw-sse


ANTHROPIC_BODY = b"".join(anthropic_sse(["caf\u00e9 ", "\U0001f600 ", "\u65e5\u672c\u8a9e"]))
OPENAI_BODY = b"".join(openai_sse(["caf\u00e9 ", "\U0001f600 ", "\u65e5\u672c\u8a9e"]))
AWKWARD = {
    "one-byte-per-read": ("anthropic", bytewise(ANTHROPIC_BODY)),
    "crlf-cr-lf-split": ("anthropic", crlf_split(ANTHROPIC_BODY)),
    "leading-bom-split": ("anthropic", bytewise(b"\xef\xbb\xbf" + ANTHROPIC_BODY[:40]) + [ANTHROPIC_BODY[40:]]),
    "keep-alive-comments": ("anthropic", [b": keep-alive\n\n" + p + b":\n\n" for p in anthropic_sse(["a", "b"])]),
    "multibyte-split": ("anthropic", cycling_sizes(ANTHROPIC_BODY)),
    "openai-bytewise": ("openai", bytewise(OPENAI_BODY)),
    "openai-crlf-comments": ("openai", crlf_split(b": ok\n\n" + OPENAI_BODY)),
    "trailing-bytes-after-terminal": ("openai", [OPENAI_BODY, b": bye\n\n", b"\n"]),
}


def _run_provider(cli, provider, *argv):
    if provider == "anthropic":
        return cli.run(*argv, "hi")
    return cli.run(*argv, "-m", "gpt-4o", "hi")


@pytest.mark.parametrize("name", list(AWKWARD))
def test_raw_sse_is_byte_for_byte(cli, name):
    provider, reads = AWKWARD[name]
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(sse(reads))
    r = _run_provider(cli, provider, "--raw-sse")
    assert r.code == 0, r.err
    assert r.out == b"".join(reads)
    assert r.stdout.writes == len(reads)  # one write (and flush) per read, nothing else
    assert r.err == ""


def test_raw_sse_through_a_real_local_server(cli):
    cli.real_network()
    body = b"\xef\xbb\xbf" + b": keep-alive\r\n\r\n" + ANTHROPIC_BODY.replace(b"\n", b"\r\n")
    with FakeServer() as srv:
        srv.enqueue(Reply(body=bytewise(body)))
        cli.env(**ANTHROPIC_KEY)
        r = cli.run("--raw-sse", "--base-url", srv.url, "-m", "claude-test", "--connect-timeout", "5",
                    "--idle-timeout", "10", "hi")
        (req,) = srv.wait_requests(1)
    assert r.code == 0, r.err
    assert r.out == body
    assert req.path == "/v1/messages" and req.json["stream"] is True


@pytest.mark.parametrize("fixture, code", [
    ("anthropic/midstream_overloaded_error", 6),
    ("anthropic/truncated_no_message_stop", 9),
    ("openai/midstream_error_object", 6),
    ("openai/vllm_style_midstream_error", 3),
    ("openai/truncated_no_done", 9),
])
def test_raw_sse_exit_status_follows_the_parsed_stream(cli, fixture, code):
    body = (FIXTURES / f"{fixture}.sse").read_bytes()
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(sse(cycling_sizes(body, (64, 1, 200))))
    r = _run_provider(cli, fixture.split("/")[0], "--raw-sse")
    assert r.code == code
    assert r.out == body  # everything that arrived, even after the error
    assert "error" in r.err
    assert len(cli.requests) == 1  # output was committed: never retried


def test_raw_sse_dropped_connection_is_exit_7(cli):
    parts = anthropic_sse(["a"], terminal=False)[:3]
    cli.env(**ANTHROPIC_KEY).serve(stream_then_fail(parts, httpx2.RemoteProtocolError("peer closed")))
    r = cli.run("--raw-sse", "hi")
    assert r.code == 7
    assert r.out == b"".join(parts)


@pytest.mark.parametrize("status, etype, code", [(401, "authentication_error", 4), (529, "overloaded_error", 6),
                                                 (404, "not_found_error", 3)])
def test_raw_sse_non_2xx_prints_nothing(cli, status, etype, code):
    cli.env(**ANTHROPIC_KEY).serve(anthropic_error(status, etype, "nope"))
    r = cli.run("--raw-sse", "--retries", "0", "hi")
    assert r.code == code
    assert r.out == b""
    assert "nope" in r.err


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_raw_sse_round_trip_through_replay(cli, tmp_path, provider):
    reads = AWKWARD["crlf-cr-lf-split" if provider == "anthropic" else "openai-crlf-comments"][1]
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(sse(reads), sse(reads))
    captured = _run_provider(cli, provider, "--raw-sse")
    direct = _run_provider(cli, provider)
    assert captured.code == direct.code == 0
    cap = tmp_path / "cap.sse"
    cap.write_bytes(captured.out)
    replayed = cli.run("--replay", str(cap))
    assert replayed.code == 0
    assert replayed.out == direct.out == "caf\u00e9 \U0001f600 \u65e5\u672c\u8a9e\n".encode()
    again = cli.run("--replay", str(cap), "--raw-sse")
    assert again.code == 0
    assert again.out == cap.read_bytes()
    assert len(cli.requests) == 2  # replays use no network


# =========================================================================== --replay


def _source_fixture(example: Path) -> Path:
    data = example.read_bytes()
    matches = [p for p in RECORDINGS if p.read_bytes() == data]
    assert matches, f"{example.name} is not a copy of any tests/fixtures recording"
    return matches[0]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_replay_every_example(cli, example):
    source = _source_fixture(example)
    expected = source.with_name(source.stem + ".expected.txt").read_bytes()
    r = cli.run("--replay", str(example), "-n")
    assert r.code == 0
    assert r.out == expected
    j = cli.run("--replay", str(example), "--jsonl")
    assert j.events[0]["provider"] == KIND_OF_DIR[source.parent.name]  # told from the content
    assert j.code == 0
    assert cli.requests == []


def test_replay_needs_no_key_and_no_prompt(cli):
    r = cli.run("--replay", str(EXAMPLES[0]))
    assert r.code == 0 and r.out
    assert cli.requests == []


@pytest.mark.parametrize("fixture", ["anthropic/truncated_no_message_stop", "openai/truncated_no_done",
                                     "anthropic/sdk_basic_response.no-final-blank-line"])
def test_replay_truncated_recording_is_exit_9(cli, fixture):
    path = FIXTURES / f"{fixture}.sse"
    r = cli.run("--replay", str(path))
    assert r.code == 9
    assert "incomplete" in r.err
    expected = path.with_name(path.stem + ".expected.txt").read_bytes()
    assert r.out == expected + b"\n"  # what arrived is kept, and the line is ended


@pytest.mark.parametrize("fixture, code", [
    ("anthropic/midstream_overloaded_error", 6), ("openai/midstream_error_object", 6),
    ("openai/vllm_style_midstream_error", 3)])
def test_replay_in_stream_error_gives_its_exit_status(cli, fixture, code):
    r = cli.run("--replay", str(FIXTURES / f"{fixture}.sse"))
    assert r.code == code
    assert "error" in r.err


def test_replay_missing_file_is_a_usage_error(cli, tmp_path):
    r = cli.run("--replay", str(tmp_path / "nope.sse"))
    assert r.code == 2
    assert "nope.sse" in r.err
    assert r.out == b""


def test_replay_in_every_mode(cli):
    path = FIXTURES / "anthropic" / "docs_tool_use.sse"
    text = cli.run("--replay", str(path))
    jsonl = cli.run("--replay", str(path), "--jsonl")
    raw = cli.run("--replay", str(path), "--raw-sse")
    assert text.code == jsonl.code == raw.code == 0
    assert raw.out == path.read_bytes()
    assert text.out.decode() == texts_of(jsonl.events) + "\n"
    assert [e["name"] for e in jsonl.events if e["type"] == "tool_call"] == ["get_weather"]
