"""Unit tests of streamcli/providers: stream event mapping, request building, error
classification.

Event mapping runs every recorded stream of tests/fixtures/anthropic, tests/fixtures/openai and
tests/fixtures/responses (provenance: tests/fixtures/SOURCES.md) through `SSEDecoder` + the provider's `StreamMapper`,
driven the way `Session._pump` drives them in text and --jsonl modes (stop at the terminal
event; at a clean end of the body `decoder.finish()` then `mapper.check_end()`), and checks
the normalized events against the fixture's `*.expected.txt` and `*.summary.json`. The
summaries were written from the raw JSON by the corpus author, independently of streamcli.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx2
import pytest

from streamcli import providers, replay
from streamcli.errors import (AuthError, InvalidRequestError, MalformedStream, RateLimitError,
                              ServerError, TimeoutExpired)
from streamcli.events import DONE, Refusal, Start, Stop, Thinking, ToolCall
from streamcli.providers import anthropic, openai
from streamcli.providers.errors import (error_from_body, error_from_event, make_error,
                                        parse_retry_after)
from streamcli.request import Request
from streamcli import retry
from tests.helpers.mapping import drive
from tests.helpers.paths import FIXTURE_DIRS, FIXTURES, KIND_OF_DIR
from tests.helpers.sse import bytewise, chat_chunk, split_at, sse_body

STREAMS = sorted(f"{p.parent.name}/{p.name[: -len('.sse')]}"
                 for kind in providers.KINDS for p in (FIXTURES / FIXTURE_DIRS[kind]).glob("*.sse"))

# Exit status of an in-stream error, by the error's own `type` or code (DESIGN.md table).
ERROR_EXIT = {"overloaded_error": 6, "server_error": 6, "BadRequestError": 3,
              "invalid_prompt": 3, "rate_limit_exceeded": 5}


def test_the_recorded_streams_are_there():
    """An empty glob would turn every parametrized test of this module into none."""
    assert len(STREAMS) >= 40, STREAMS
    assert {KIND_OF_DIR[s.split("/")[0]] for s in STREAMS} == set(providers.KINDS)
    assert len([s for s in STREAMS if s.startswith("responses/")]) >= 7


# --------------------------------------------------------------------------- helpers


def fixture(stream: str) -> tuple[str, bytes, str, dict]:
    kind = KIND_OF_DIR[stream.split("/")[0]]
    return (kind, (FIXTURES / f"{stream}.sse").read_bytes(),
            (FIXTURES / f"{stream}.expected.txt").read_text(encoding="utf-8"),
            json.loads((FIXTURES / f"{stream}.summary.json").read_text(encoding="utf-8")))


def wire_objects(body: bytes) -> list[dict]:
    """The JSON of every `data:` line, read naively (the recorded streams are all LF-ended,
    one data line per event): an oracle independent of streamcli's decoder."""
    objs = []
    for line in body.decode("utf-8").split("\n"):
        if line.startswith("data:"):
            data = line[5:].strip()
            if data != "[DONE]":
                objs.append(json.loads(data))
    return objs


def expected_tool_calls(kind: str, body: bytes, summary: dict) -> list[ToolCall]:
    if kind == "openai-responses":  # by call_id, the id a function_call_output answers
        return [ToolCall(c["call_id"], c["name"], json.loads(c["arguments"]), c["arguments"], False)
                for c in summary["function_calls"]]
    if kind == "openai":
        return [ToolCall(c["id"], c["name"], json.loads(c["arguments"]), c["arguments"], False)
                for c in summary["tool_calls"].get("0", [])]
    blocks = {o["index"]: o["content_block"] for o in wire_objects(body)
              if o.get("type") == "content_block_start"}
    invalid = set(summary.get("tool_input_json_invalid", []))
    calls = []
    for index, raw in sorted(summary["tool_input_json"].items(), key=lambda kv: int(kv[0])):
        block = blocks[int(index)]
        # Only client tools (`tool_use`) are calls for the caller to answer. A
        # `server_tool_use` block (web search run by the API itself, in
        # sdk_fable_stream-a-toolrefusal) is not a tool call: streamcli ignores it.
        if block["type"] != "tool_use":
            continue
        if index in invalid:
            calls.append(ToolCall(block["id"], block["name"], None, raw, True))
        else:
            calls.append(ToolCall(block["id"], block["name"], json.loads(raw), raw, False))
    return calls


# --------------------------------------------------------------------------- recorded streams


@pytest.mark.parametrize("stream", STREAMS)
def test_text_equals_expected(stream):
    kind, body, expected, _ = fixture(stream)
    assert drive(kind, [body]).text == expected


@pytest.mark.parametrize("stream", STREAMS)
def test_stop_usage_completeness_and_error(stream):
    kind, body, _, summary = fixture(stream)
    got = drive(kind, [body])
    m = got.mapper
    stops = [ev.raw for ev in got.of(Stop)]
    usage = m.usage()
    if kind == "anthropic":
        stop = summary["stop_reason"]
        complete = summary["complete"]
        want_usage = summary["usage"]
        if want_usage:
            cache = sum(want_usage.get(k, 0) for k in ("cache_creation_input_tokens",
                                                        "cache_read_input_tokens"))
            assert usage is not None
            assert (usage.input_tokens, usage.output_tokens) == (
                want_usage["input_tokens"] + cache, want_usage["output_tokens"])
        else:
            assert usage is None
    elif kind == "openai":
        stop = summary["finish_reason"].get("0")
        complete = summary["done_sentinel"]
        want_usage = summary["usage"]
        if want_usage:
            assert (usage.input_tokens, usage.output_tokens) == (
                want_usage["prompt_tokens"], want_usage["completion_tokens"])
            assert usage.raw == want_usage
        else:
            assert usage is None
    else:
        # The stop value is the incomplete reason, or function_call when the completed
        # output holds function calls, or the status completed; a failed response has none.
        status = summary["status"]
        stop = {"completed": "function_call" if summary["function_calls"] else "completed",
                "incomplete": summary["incomplete_reason"]}.get(status)
        complete = status in ("completed", "incomplete")
        want_usage = summary["usage"]
        if want_usage:  # input and output tokens; cached and reasoning details in raw
            assert (usage.input_tokens, usage.output_tokens) == (
                want_usage["input_tokens"], want_usage["output_tokens"])
            assert usage.raw == want_usage
        else:
            assert usage is None
    assert m.stop_raw == stop
    assert stops == ([stop] if stop else [])
    assert m.complete is complete
    assert (DONE in got.events) is complete
    # Start comes first, once, with the message id from the wire.
    first = wire_objects(body)[0]
    msg_id = {"anthropic": lambda: first["message"]["id"], "openai": lambda: first["id"],
              "openai-responses": lambda: first["response"]["id"]}[kind]()
    starts = got.of(Start)
    assert got.events[0] == starts[0] and len(starts) == 1
    assert starts[0].provider == kind and starts[0].id == msg_id == m.id

    if summary["error"]:
        assert got.error is not None, "an in-stream error must fail the run"
        etype = summary["error"]["code" if kind == "openai-responses" else "type"]
        assert got.error.type == etype
        assert got.error.message == summary["error"]["message"]
        assert got.error.exit_code == ERROR_EXIT[etype]
    elif not complete:
        assert isinstance(got.error, MalformedStream)
        assert got.error.exit_code == 9
    else:
        assert got.error is None


@pytest.mark.parametrize("stream", STREAMS)
def test_tool_calls(stream):
    kind, body, _, summary = fixture(stream)
    got = drive(kind, [body])
    assert got.of(ToolCall) == expected_tool_calls(kind, body, summary)


def test_the_cut_tool_input_is_invalid_json():
    """The oracle of the test above: the recorded input really is cut off."""
    _, body, _, summary = fixture("anthropic/sdk_incomplete_partial_json_response")
    raw = summary["tool_input_json"]["1"]
    with pytest.raises(ValueError):
        json.loads(raw)
    assert summary["stop_reason"] == "max_tokens"


@pytest.mark.parametrize("stream", STREAMS)
def test_thinking_and_refusal_are_not_text(stream):
    kind, body, expected, summary = fixture(stream)
    got = drive(kind, [body])
    thinking = "".join(ev.text for ev in got.of(Thinking))
    refusal = "".join(ev.text for ev in got.of(Refusal))
    if kind == "anthropic":
        assert len(thinking) == summary["thinking_chars"]
        assert refusal == ""
    elif kind == "openai-responses":  # summary parts are paragraphs, a blank line apart
        assert thinking == "\n\n".join(summary["reasoning_summary_parts"])
        assert refusal == summary["refusal"]
    else:
        assert len(thinking) == summary["reasoning_chars"].get("0", 0)
        assert refusal == summary["refusal"].get("0", "")
    if thinking:
        assert thinking not in got.text
    if refusal:
        assert got.text == "" and refusal not in got.text


@pytest.mark.parametrize("stream", STREAMS)
def test_every_byte_split_gives_the_same_events(stream):
    kind, body, _, _ = fixture(stream)
    whole = drive(kind, [body])
    one_by_one = drive(kind, bytewise(body))
    assert one_by_one.events == whole.events
    assert repr(one_by_one.error) == repr(whole.error)
    rng = random.Random(stream)
    cuts = sorted(rng.sample(range(1, len(body)), min(40, len(body) - 1)))
    assert drive(kind, split_at(body, cuts)).events == whole.events


@pytest.mark.parametrize("stream", STREAMS)
def test_replay_detects_the_provider(stream):
    kind, body, _, _ = fixture(stream)
    assert replay.sse_protocol(body[:64 * 1024]) == kind


# --------------------------------------------------------------------------- constructed streams


def sse(*objs, done=False) -> bytes:
    """A body of events in json.dumps' default format (spaces, \\u escapes): the
    streams below are constructed that way, unlike the APIs' compact UTF-8."""
    return sse_body(*objs, done=done, compact=False)


def a_start(usage=None):
    return ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
        "stop_reason": None, "usage": usage or {"input_tokens": 3, "output_tokens": 1}}})


def a_stop():
    return ("message_stop", {"type": "message_stop"})


def a_delta(reason="end_turn", usage=None):
    return ("message_delta", {"type": "message_delta", "delta": {"stop_reason": reason},
                              "usage": usage or {"output_tokens": 2}})


def test_anthropic_unknown_events_and_blocks_are_ignored():
    body = sse(a_start(),
               ("content_block_start", {"type": "content_block_start", "index": 0,
                                        "content_block": {"type": "hologram", "x": 1}}),
               ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "hologram_delta", "x": 2}}),
               ("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("future_event", {"type": "future_event"}),
               ("content_block_start", {"type": "content_block_start", "index": 1,
                                        "content_block": {"type": "text", "text": "Hi"}}),
               ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                        "delta": {"type": "text_delta", "text": " there"}}),
               a_delta(), a_stop())
    got = drive("anthropic", [body])
    assert got.error is None
    assert got.text == "Hi there"  # the block's initial text counts too
    assert got.mapper.complete


def test_anthropic_tool_input_from_the_block_start_and_empty_input():
    body = sse(a_start(),
               ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
                   "type": "tool_use", "id": "t0", "name": "now", "input": {}}}),
               ("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
                   "type": "tool_use", "id": "t1", "name": "given", "input": {"a": [1, "é"]}}}),
               ("content_block_stop", {"type": "content_block_stop", "index": 1}),
               a_delta("tool_use"), a_stop())
    calls = drive("anthropic", [body]).of(ToolCall)
    assert calls[0] == ToolCall("t0", "now", {}, "", False)
    assert calls[1][:3] == ("t1", "given", {"a": [1, "é"]})
    assert json.loads(calls[1].raw_arguments) == {"a": [1, "é"]} and not calls[1].invalid


def test_anthropic_cumulative_usage_keeps_cache_tokens_from_message_start():
    body = sse(a_start({"input_tokens": 5, "cache_read_input_tokens": 100,
                        "cache_creation_input_tokens": 20, "output_tokens": 1}),
               a_delta(usage={"input_tokens": 5, "output_tokens": 9}), a_stop())
    usage = drive("anthropic", [body]).mapper.usage()
    assert (usage.input_tokens, usage.output_tokens) == (125, 9)


def test_anthropic_usage_counts_cache_tokens_as_input():
    body = sse(a_start({"input_tokens": 5, "cache_read_input_tokens": 100,
                        "cache_creation_input_tokens": 20, "output_tokens": 1}),
               a_delta(usage={"output_tokens": 9}), a_stop())
    usage = drive("anthropic", [body]).mapper.usage()
    assert (usage.input_tokens, usage.output_tokens) == (125, 9)
    assert usage.raw["cache_read_input_tokens"] == 100


@pytest.mark.parametrize("etype, exit_code", [
    ("overloaded_error", 6), ("api_error", 6), ("invalid_request_error", 3),
    ("authentication_error", 4), ("permission_error", 4), ("billing_error", 4),
    ("rate_limit_error", 5), ("not_found_error", 3), ("request_too_large", 3),
    ("timeout_error", 8), ("brand_new_error", 6),
])
def test_anthropic_in_stream_error_classified_by_type(etype, exit_code):
    body = sse(a_start(), ("error", {"type": "error", "error": {"type": etype, "message": "boom"},
                                     "request_id": "req_9"}))
    got = drive("anthropic", [body])
    assert got.error.exit_code == exit_code
    assert (got.error.type, got.error.message, got.error.request_id) == (etype, "boom", "req_9")
    assert got.error.status is None  # HTTP 200: the status says nothing


@pytest.mark.parametrize("kind", providers.KINDS)
def test_invalid_json_in_data_is_malformed(kind):
    body = (sse(a_start()) if kind == "anthropic" else b"") + b"data: {not json\n\n"
    got = drive(kind, [body])
    assert isinstance(got.error, MalformedStream) and got.error.exit_code == 9


def chunk(choices, usage=None, cid="c1"):
    extra = {} if usage is None else {"usage": usage}
    return chat_chunk(choices, chunk_id=cid, model="m", created=None, **extra)


def test_openai_finish_reason_without_done_is_complete():
    """A server that sends no [DONE]: finish_reason on every choice + a clean end."""
    body = sse(chunk([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]),
               chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
               chunk([], usage={"prompt_tokens": 4, "completion_tokens": 1}))
    got = drive("openai", [body])
    assert got.error is None and got.text == "Hi"
    assert got.mapper.usage().input_tokens == 4  # the usage chunk after finish_reason is read


def test_openai_unfinished_extra_choice_without_done_is_incomplete():
    body = sse(chunk([{"index": 0, "delta": {"content": "A"}, "finish_reason": "stop"},
                      {"index": 1, "delta": {"content": "B"}, "finish_reason": None}]))
    got = drive("openai", [body])
    assert isinstance(got.error, MalformedStream)
    assert got.text == "A"


def test_openai_parallel_tool_calls_interleaved_by_index():
    def call(i, **fn):
        d = {"index": i, "function": fn}
        if "name" in fn:
            d.update(id=f"call_{i}", type="function")
        return d
    body = sse(
        chunk([{"index": 0, "delta": {"tool_calls": [call(0, name="a", arguments="")]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [call(1, name="b", arguments='{"y"')]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [call(0, arguments='{"x": 1}')]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [call(1, arguments=": 2}")]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [call(2, name="c", arguments="")]}}]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]), done=True)
    assert drive("openai", [body]).of(ToolCall) == [
        ToolCall("call_0", "a", {"x": 1}, '{"x": 1}', False),
        ToolCall("call_1", "b", {"y": 2}, '{"y": 2}', False),
        ToolCall("call_2", "c", {}, "", False),
    ]


def test_openai_length_cut_tool_arguments_are_flagged():
    body = sse(chunk([{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_0", "type": "function",
         "function": {"name": "f", "arguments": '{"text": "unfini'}}]}}]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "length"}]), done=True)
    got = drive("openai", [body])
    assert got.error is None
    assert got.of(ToolCall) == [ToolCall("call_0", "f", None, '{"text": "unfini', True)]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_openai_compatible_reasoning_is_thinking(field):
    body = sse(chunk([{"index": 0, "delta": {field: "hmm"}}]),
               chunk([{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]), done=True)
    got = drive("openai", [body])
    assert got.of(Thinking) == [Thinking("hmm")] and got.text == "ok"


@pytest.mark.parametrize("obj, etype, exit_code, status", [
    ({"error": {"message": "m", "type": "server_error", "code": None}}, "server_error", 6, None),
    ({"error": {"message": "m", "type": "BadRequestError", "code": 400}}, "BadRequestError", 3, 400),
    ({"error": {"message": "m", "type": "invalid_request_error", "code": "context_length_exceeded"}},
     "context_length_exceeded", 3, None),
    ({"error": {"message": "m", "type": "requests", "code": "429"}}, "requests", 5, 429),
])
def test_openai_in_stream_error_object(obj, etype, exit_code, status):
    got = drive("openai", [sse(chunk([{"index": 0, "delta": {"content": "x"}}]), obj)])
    assert (got.error.type, got.error.exit_code, got.error.status) == (etype, exit_code, status)
    assert got.text == "x"  # what came before the error was already mapped


def test_openai_legacy_llamacpp_error_field_explains_an_incomplete_end():
    body = (sse(chunk([{"index": 0, "delta": {"content": "x"}}]))
            + b'error: {"code": 500, "message": "slot unavailable", "type": "server_error"}\n\n')
    got = drive("openai", [body])
    assert isinstance(got.error, ServerError) and got.error.message == "slot unavailable"


# --------------------------------------------------------------------------- request building


TOOLS = ({"name": "get_weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}},
         {"name": "noargs"})


def req(provider, **kw) -> Request:
    base = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}[provider]
    args = dict(provider=provider, model="m-1", prompt="Q ü", base_url=base, api_key="sk-test")
    args.update(kw)
    return Request(**args)


def test_anthropic_request():
    http = anthropic.build_request(req(
        "anthropic", base_url="http://127.0.0.1:9/", system="be brief", stop=("END", "\n\n"),
        temperature=0.2, tools=TOOLS, extra={"top_k": 5, "metadata": {"user_id": "u"}}))
    assert http.url == "http://127.0.0.1:9/v1/messages"
    assert http.headers["x-api-key"] == "sk-test"
    assert http.headers["anthropic-version"] == "2023-06-01"
    assert http.headers["content-type"] == "application/json"
    assert "authorization" not in {k.lower() for k in http.headers}
    body = json.loads(http.body)
    assert body == {
        "model": "m-1", "max_tokens": anthropic.DEFAULT_MAX_TOKENS, "stream": True,
        "messages": [{"role": "user", "content": "Q ü"}], "system": "be brief",
        "stop_sequences": ["END", "\n\n"], "temperature": 0.2,
        "tools": [{"name": "get_weather", "description": "Weather in a city",
                   "input_schema": TOOLS[0]["input_schema"]},
                  {"name": "noargs", "input_schema": {"type": "object"}}],
        "top_k": 5, "metadata": {"user_id": "u"},
    }
    assert "Q ü".encode() in http.body  # UTF-8, not \\u escapes


def test_anthropic_request_minimal_and_overrides():
    body = json.loads(anthropic.build_request(req("anthropic", max_tokens=7)).body)
    assert body["max_tokens"] == 7 and "system" not in body and "tools" not in body
    assert "stop_sequences" not in body and "temperature" not in body
    assert anthropic.DEFAULT_MAX_TOKENS >= 1024
    # -o wins over what streamcli built: "passed into the request body untouched".
    body = json.loads(anthropic.build_request(req("anthropic", max_tokens=7,
                                                  extra={"max_tokens": 9, "stream": False})).body)
    assert body["max_tokens"] == 9 and body["stream"] is False
    # --no-stream
    http = anthropic.build_request(req("anthropic", stream=False))
    assert json.loads(http.body)["stream"] is False and http.headers["accept"] == "application/json"


def test_anthropic_request_without_key_sends_no_key_header():
    http = anthropic.build_request(req("anthropic", api_key=None))
    assert "x-api-key" not in http.headers


def test_openai_request():
    http = openai.build_request(req(
        "openai", system="be brief", stop=("END",), temperature=0, max_tokens=50, tools=TOOLS,
        extra={"seed": 1, "n": 1}))
    assert http.url == "https://api.openai.com/v1/chat/completions"
    assert http.headers["authorization"] == "Bearer sk-test"
    assert "x-api-key" not in http.headers
    body = json.loads(http.body)
    assert body == {
        "model": "m-1", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Q ü"}],
        "stop": ["END"], "temperature": 0, "max_completion_tokens": 50,
        "tools": [{"type": "function", "function": {
                      "name": "get_weather", "description": "Weather in a city",
                      "parameters": TOOLS[0]["input_schema"]}},
                  {"type": "function", "function": {
                      "name": "noargs", "parameters": {"type": "object", "properties": {}}}}],
        "seed": 1, "n": 1,
    }


def test_openai_compatible_server_gets_max_tokens_and_no_key():
    http = openai.build_request(req("openai", base_url="http://127.0.0.1:8080/v1/",
                                    max_tokens=50, api_key=None))
    assert http.url == "http://127.0.0.1:8080/v1/chat/completions"
    assert "authorization" not in http.headers
    body = json.loads(http.body)
    assert body["max_tokens"] == 50 and "max_completion_tokens" not in body
    assert body["messages"] == [{"role": "user", "content": "Q ü"}]


def test_openai_request_without_max_tokens_leaves_it_to_the_server():
    body = json.loads(openai.build_request(req("openai")).body)
    assert "max_tokens" not in body and "max_completion_tokens" not in body
    body = json.loads(openai.build_request(req("openai", stream=False)).body)
    assert body["stream"] is False and "stream_options" not in body


# --------------------------------------------------------------------------- errors


def headers(**kv) -> httpx2.Headers:
    return httpx2.Headers({k.replace("_", "-"): v for k, v in kv.items()})


def body_of(etype=None, message="msg", code=None, shape="anthropic") -> bytes:
    if shape == "anthropic":
        return json.dumps({"type": "error", "error": {"type": etype, "message": message},
                           "request_id": "req_body"}).encode()
    return json.dumps({"error": {"message": message, "type": etype, "param": None,
                                 "code": code}}).encode()


@pytest.mark.parametrize("status, etype, code, cls, exit_code, retryable", [
    (400, "invalid_request_error", None, InvalidRequestError, 3, False),
    (401, "authentication_error", None, AuthError, 4, False),
    (402, "billing_error", None, AuthError, 4, False),
    (403, "permission_error", None, AuthError, 4, False),
    (404, "not_found_error", None, InvalidRequestError, 3, False),
    (408, None, None, TimeoutExpired, 8, True),
    (409, None, None, InvalidRequestError, 3, True),
    (413, "request_too_large", None, InvalidRequestError, 3, False),
    (422, None, None, InvalidRequestError, 3, False),
    (429, "rate_limit_error", None, RateLimitError, 5, True),
    (429, "billing_error", None, AuthError, 4, False),
    (429, "insufficient_quota", "insufficient_quota", AuthError, 4, False),
    (429, "requests", "rate_limit_exceeded", RateLimitError, 5, True),
    (500, "api_error", None, ServerError, 6, True),
    (502, None, None, ServerError, 6, True),
    (503, None, None, ServerError, 6, True),
    (529, "overloaded_error", None, ServerError, 6, True),
    (418, None, None, InvalidRequestError, 3, False),
])
def test_http_error_classification(status, etype, code, cls, exit_code, retryable):
    shape = "openai" if code else "anthropic"
    body = body_of(etype, "it failed", code, shape) if etype else b"<html>Bad Gateway</html>"
    err = error_from_body(status, body, headers(request_id="req_hdr"), "request-id")
    assert type(err) is cls
    assert (err.exit_code, retry.retryable(err), err.status) == (exit_code, retryable, status)
    assert err.request_id == "req_hdr"
    if etype:
        assert err.message == "it failed"
        assert err.type in (etype, code)
    else:
        assert str(status) in err.message and "Bad Gateway" in err.message


def test_openai_quota_type_is_shown_by_code():
    err = error_from_body(429, body_of("insufficient_quota", "no money", "insufficient_quota", "openai"),
                          headers(), "x-request-id")
    assert err.type == "insufficient_quota" and err.exit_code == 4 and not retry.retryable(err)


def test_error_body_that_is_not_json_or_empty():
    err = error_from_body(503, b"", headers(), "request-id")
    assert err.exit_code == 6 and "503" in err.message
    err = error_from_body(400, b'{"message": "flat"}', headers(x_request_id="r2"), "x-request-id")
    assert (err.message, err.request_id, err.exit_code) == ("flat", "r2", 3)
    err = error_from_body(401, b'{"error": "bad key"}', headers(), "x-request-id")
    assert (err.message, err.exit_code) == ("bad key", 4)


def test_request_id_from_body_when_no_header():
    err = error_from_body(400, body_of("invalid_request_error"), headers(), "request-id")
    assert err.request_id == "req_body"


@pytest.mark.parametrize("hdrs, expected", [
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the precise one wins
    ({"retry-after": "7"}, 7.0),
    ({"retry-after": "2.5"}, 2.5),
    ({"retry-after": "-3"}, 0.0),
    ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
    ({"retry-after": "whenever"}, None),
    ({}, None),
    ({"Retry-After": "3"}, 3.0),  # header names are case-insensitive
])
def test_parse_retry_after(hdrs, expected):
    assert parse_retry_after(httpx2.Headers(hdrs)) == expected


def test_parse_retry_after_http_date():
    future = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    got = parse_retry_after(httpx2.Headers({"retry-after": future}))
    assert 100 < got <= 120  # a date has one-second resolution; wide margin, no timing claim
    past = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=120), usegmt=True)
    assert parse_retry_after(httpx2.Headers({"retry-after": past})) == 0.0


def test_retry_after_reaches_the_error():
    err = error_from_body(429, body_of("rate_limit_error"), headers(retry_after="12"), "request-id")
    assert err.retry_after == 12.0 and retry.retryable(err)


@pytest.mark.parametrize("status, etype, should, retryable", [
    (400, "invalid_request_error", "true", True),
    (503, None, "false", False),
    (529, "overloaded_error", "false", False),
    (401, "authentication_error", "true", False),  # auth never becomes retryable
    (429, "rate_limit_error", "maybe", True),  # an unknown value changes nothing
])
def test_x_should_retry_overrides(status, etype, should, retryable):
    body = body_of(etype) if etype else b""
    err = error_from_body(status, body, headers(x_should_retry=should), "request-id")
    assert retry.retryable(err) is retryable


def test_make_error_prefers_the_type_over_the_status():
    # Anthropic sends errors on HTTP 200: the type decides.
    assert type(make_error(200, "overloaded_error", "x")) is ServerError
    assert type(make_error(200, "invalid_request_error", "x")) is InvalidRequestError
    # An unknown type falls back to the status.
    assert type(make_error(403, "new_kind", "x")) is AuthError
    assert type(make_error(None, None, "x")) is ServerError
    assert make_error(400, "invalid_request_error", "").message == "no message"


def test_error_from_event_shapes():
    err = error_from_event({"type": "error", "error": {"type": "api_error", "message": "m"}})
    assert (type(err), err.type, err.status) == (ServerError, "api_error", None)
    err = error_from_event({"message": "flat", "type": "rate_limit_error"})  # no wrapper
    assert (type(err), err.message) == (RateLimitError, "flat")
    err = error_from_event({"error": {"message": "x", "code": 503}})
    assert (type(err), err.status) == (ServerError, 503)
    assert error_from_event({"error": {}}).message == "error in stream"
