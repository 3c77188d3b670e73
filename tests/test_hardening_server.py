"""Issue 10, what a server (or a capture) can send: items 4-12 and 27, and their siblings.

Every test here failed on the commit before the fix unless its docstring says it guards
something that already held (items 8 and 10 were fixed earlier and are verified here).
Runs are in-process (tests/helpers/cli.py), against scripted responses; every --jsonl
and --no-stream output is validated against the schema and parsed as strict RFC 8259
JSON by the runner.
"""

from __future__ import annotations

import copy
import json
import re

import httpx2
import pytest

from streamcli import safejson
from streamcli.sse import SSEDecoder
from tests.helpers.cli import json_response, sse
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import FIXTURES
from tests.helpers.sse import (ANTHROPIC_MESSAGE_STOP, DONE, anthropic_block_start,
                               anthropic_block_stop, anthropic_delta, anthropic_event,
                               anthropic_message, anthropic_message_delta,
                               anthropic_message_start, anthropic_sse, chat_chunk,
                               chat_completion, openai_sse, per_event, sse_event)

PROVIDER_ARGS = {"anthropic": ("-m", "claude-test"), "openai": ("-m", "gpt-test")}
MODE_FLAGS = {"text": (), "jsonl": ("--jsonl",), "raw": ("--raw-sse",), "json": ("--no-stream",)}
STREAM_MODES = ("text", "jsonl", "raw")


def run(cli, provider: str, *responses, flags=(), retries: int = 0):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(*responses)
    return cli.run(*PROVIDER_ARGS[provider], "--retries", str(retries), *flags, "hi")


def assert_failed(r, mode: str, code: int, kind: str, message: str | None = None) -> None:
    """Exit `code`, and the mode's own end: one stderr error line; --jsonl ends with
    `error` then `end`; --no-stream prints its one object with the error."""
    assert r.code == code, (r.code, r.err)
    assert r.err.count("streamcli: error: ") == 1, r.err
    if message is not None:
        assert message in r.err, r.err
    if mode == "jsonl":
        events = r.events
        tail = [e["type"] for e in events if e["type"] in ("error", "usage", "end")]
        assert tail in (["error", "end"], ["error", "usage", "end"]), events
        error = next(e for e in events if e["type"] == "error")
        assert error["kind"] == kind and events[-1]["exit_code"] == code
    elif mode == "json":
        obj = r.result
        assert obj["status"] == "error" and obj["error"]["kind"] == kind, obj


def timeless(out: bytes) -> bytes:
    """Output with its timings (which differ from run to run) set to 0, and its
    conversation id (a live run is logged, a replay is not) to null."""
    out = re.sub(rb'"conversation_id": ?"[0-9a-z]*"', rb'"conversation_id":null', out)
    return re.sub(rb'"(duration_ms|ttft_ms)": ?[0-9.]+', rb'"\1":0', out)


def encode_anthropic(events: list[dict]) -> list[bytes]:
    return [anthropic_event(e) for e in events]


def encode_openai(chunks: list[dict]) -> list[bytes]:
    return [sse_event(c) for c in chunks] + [DONE]


def put(obj, path: tuple, value):
    """A deep copy of `obj` with the item at `path` set to `value`."""
    obj = copy.deepcopy(obj)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


# =========================================================================== item 4


def anthropic_text_events() -> list[dict]:
    return [anthropic_message_start(), anthropic_block_start(0, {"type": "text", "text": ""}),
            anthropic_delta(0, {"type": "text_delta", "text": "Hel"}),
            anthropic_delta(0, {"type": "text_delta", "text": "lo"}),
            anthropic_block_stop(0), anthropic_message_delta("end_turn", 2),
            ANTHROPIC_MESSAGE_STOP]


def anthropic_tool_events() -> list[dict]:
    return [anthropic_message_start(),
            anthropic_block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f",
                                      "input": {}}),
            anthropic_delta(0, {"type": "input_json_delta", "partial_json": '{"a": 1}'}),
            anthropic_block_stop(0), anthropic_message_delta("tool_use", 3),
            ANTHROPIC_MESSAGE_STOP]


def openai_text_chunks() -> list[dict]:
    def choice(delta, finish=None):
        return [{"index": 0, "delta": delta, "finish_reason": finish}]
    return [chat_chunk(choice({"role": "assistant", "content": ""})),
            chat_chunk(choice({"content": "Hel"})), chat_chunk(choice({"content": "lo"})),
            chat_chunk(choice({}, "stop")),
            chat_chunk([], usage={"prompt_tokens": 3, "completion_tokens": 2,
                                  "total_tokens": 5})]


def openai_tool_chunks() -> list[dict]:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": '{"a": 1}'}}
    return [chat_chunk([{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]},
                         "finish_reason": None}]),
            chat_chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])]


TOOL_CALL = ("choices", 0, "delta", "tool_calls", 0)
# (name, provider, events builder, event index, path, wrong value)
WRONG_TYPES_IN_STREAMS = [
    ("stop_reason-object", "anthropic", anthropic_text_events, 5, ("delta", "stop_reason"),
     {"x": 1}),
    ("text-number", "anthropic", anthropic_text_events, 2, ("delta", "text"), 42),
    ("thinking-number", "anthropic", anthropic_text_events, 2, ("delta",),
     {"type": "thinking_delta", "thinking": 5}),
    ("message-number", "anthropic", anthropic_text_events, 0, ("message",), 5),
    ("output_tokens-string", "anthropic", anthropic_text_events, 5, ("usage", "output_tokens"),
     "12"),
    ("input_tokens-string", "anthropic", anthropic_text_events, 0,
     ("message", "usage", "input_tokens"), "10"),
    ("output_tokens-negative", "anthropic", anthropic_text_events, 5,
     ("usage", "output_tokens"), -1),
    ("output_tokens-huge", "anthropic", anthropic_text_events, 5, ("usage", "output_tokens"),
     10 ** 400),
    ("output_tokens-fraction", "anthropic", anthropic_text_events, 5,
     ("usage", "output_tokens"), 1.5),
    ("output_tokens-boolean", "anthropic", anthropic_text_events, 5,
     ("usage", "output_tokens"), True),
    ("usage-array", "anthropic", anthropic_text_events, 5, ("usage",), [1, 2]),
    ("delta-array", "anthropic", anthropic_text_events, 2, ("delta",), ["x"]),
    ("content_block-string", "anthropic", anthropic_text_events, 1, ("content_block",), "x"),
    ("index-array", "anthropic", anthropic_text_events, 4, ("index",), [0]),
    ("type-object", "anthropic", anthropic_text_events, 3, ("type",), {"x": 1}),
    ("model-number", "anthropic", anthropic_text_events, 0, ("message", "model"), 7),
    ("id-object", "anthropic", anthropic_text_events, 0, ("message", "id"), {"x": 1}),
    ("tool-name-object", "anthropic", anthropic_tool_events, 1, ("content_block", "name"),
     {"a": 1}),
    ("tool-id-number", "anthropic", anthropic_tool_events, 1, ("content_block", "id"), 5),
    ("tool-input-string", "anthropic", anthropic_tool_events, 1, ("content_block", "input"),
     "x"),
    ("tool-index-string", "anthropic", anthropic_tool_events, 1, ("index",), "0"),
    ("tool-index-missing", "anthropic", anthropic_tool_events, 1, ("index",), None),
    ("partial_json-number", "anthropic", anthropic_tool_events, 2, ("delta", "partial_json"), 5),
    ("finish_reason-list", "openai", openai_text_chunks, 3, ("choices", 0, "finish_reason"),
     ["stop"]),
    ("content-number", "openai", openai_text_chunks, 1, ("choices", 0, "delta", "content"), 42),
    ("choices-string", "openai", openai_text_chunks, 1, ("choices",), "x"),
    ("choices-object", "openai", openai_text_chunks, 1, ("choices",), {}),
    ("delta-empty-array", "openai", openai_text_chunks, 1, ("choices", 0, "delta"), []),
    ("delta-array", "openai", openai_text_chunks, 1, ("choices", 0, "delta"), [1]),
    ("choice-number", "openai", openai_text_chunks, 1, ("choices", 0), 5),
    ("choice-index-string", "openai", openai_text_chunks, 1, ("choices", 0, "index"), "0"),
    ("choice-index-list", "openai", openai_text_chunks, 1, ("choices", 0, "index"), [0]),
    ("usage-array", "openai", openai_text_chunks, 4, ("usage",), [1]),
    ("prompt_tokens-string", "openai", openai_text_chunks, 4, ("usage", "prompt_tokens"), "3"),
    ("completion_tokens-huge", "openai", openai_text_chunks, 4,
     ("usage", "completion_tokens"), 10 ** 30),
    ("id-number", "openai", openai_text_chunks, 0, ("id",), 5),
    ("model-list", "openai", openai_text_chunks, 0, ("model",), ["x"]),
    ("reasoning-number", "openai", openai_text_chunks, 1, ("choices", 0, "delta"),
     {"reasoning_content": 5}),
    ("refusal-object", "openai", openai_text_chunks, 1, ("choices", 0, "delta"), {"refusal": {}}),
    ("tool_calls-object", "openai", openai_tool_chunks, 0,
     ("choices", 0, "delta", "tool_calls"), {"a": 1}),
    ("tool-call-number", "openai", openai_tool_chunks, 0, TOOL_CALL, 5),
    ("function-string", "openai", openai_tool_chunks, 0, (*TOOL_CALL, "function"), "f"),
    ("tool-call-index-list", "openai", openai_tool_chunks, 0, (*TOOL_CALL, "index"), [0]),
    ("tool-call-id-number", "openai", openai_tool_chunks, 0, (*TOOL_CALL, "id"), 5),
    ("arguments-number", "openai", openai_tool_chunks, 0, (*TOOL_CALL, "function", "arguments"),
     5),
    ("tool-name-list", "openai", openai_tool_chunks, 0, (*TOOL_CALL, "function", "name"), ["f"]),
]


def wrong_type_stream(provider, build, index, path, value) -> list[bytes]:
    events = build()
    events[index] = put(events[index], path, value)
    return (encode_anthropic if provider == "anthropic" else encode_openai)(events)


@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("case", WRONG_TYPES_IN_STREAMS, ids=lambda c: f"{c[1]}-{c[0]}")
def test_a_field_of_the_wrong_type_in_a_stream_is_malformed(cli, case, mode):
    """Item 4: exit 9 in every mode, never 1; --jsonl ends with error and end."""
    _, provider, build, index, path, value = case
    r = run(cli, provider, sse(wrong_type_stream(provider, build, index, path, value)),
            flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed")


@pytest.mark.parametrize("case", WRONG_TYPES_IN_STREAMS, ids=lambda c: f"{c[1]}-{c[0]}")
def test_a_field_of_the_wrong_type_reaches_usage_never(cli, case):
    """Item 6: --usage after the answer was printed (string or huge token counts) is
    exit 9 with the usage line, never a TypeError or an OverflowError."""
    _, provider, build, index, path, value = case
    r = run(cli, provider, sse(wrong_type_stream(provider, build, index, path, value)),
            flags=("--usage",))
    assert_failed(r, "text", 9, "malformed")
    assert "usage: " in r.err


def anthropic_tool_message() -> dict:
    message = anthropic_message("Hello")
    message["content"].append({"type": "tool_use", "id": "toolu_1", "name": "f",
                               "input": {"a": 1}})
    return message


def openai_tool_message() -> dict:
    message = chat_completion("Hello")
    message["choices"][0]["message"]["tool_calls"] = [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    return message


# (name, provider, message builder, path, wrong value)
WRONG_TYPES_IN_MESSAGES = [
    ("content-number", "anthropic", anthropic_tool_message, ("content",), 42),
    ("content-of-strings", "anthropic", anthropic_tool_message, ("content",), ["x"]),
    ("text-number", "anthropic", anthropic_tool_message, ("content", 0, "text"), 42),
    ("stop_reason-object", "anthropic", anthropic_tool_message, ("stop_reason",), {"x": 1}),
    ("usage-array", "anthropic", anthropic_tool_message, ("usage",), [1]),
    ("input_tokens-string", "anthropic", anthropic_tool_message,
     ("usage", "input_tokens"), "3"),
    ("tool-input-string", "anthropic", anthropic_tool_message, ("content", 1, "input"), "x"),
    ("tool-name-number", "anthropic", anthropic_tool_message, ("content", 1, "name"), 1),
    ("id-number", "anthropic", anthropic_tool_message, ("id",), 5),
    ("choices-string", "openai", openai_tool_message, ("choices",), "x"),
    ("choice-number", "openai", openai_tool_message, ("choices", 0), 5),
    ("message-number", "openai", openai_tool_message, ("choices", 0, "message"), 5),
    ("content-number", "openai", openai_tool_message, ("choices", 0, "message", "content"), 42),
    ("finish_reason-list", "openai", openai_tool_message, ("choices", 0, "finish_reason"),
     ["stop"]),
    ("usage-array", "openai", openai_tool_message, ("usage",), [1, 2]),
    ("completion_tokens-string", "openai", openai_tool_message,
     ("usage", "completion_tokens"), "2"),
    ("tool_calls-string", "openai", openai_tool_message,
     ("choices", 0, "message", "tool_calls"), "x"),
    ("function-string", "openai", openai_tool_message,
     ("choices", 0, "message", "tool_calls", 0, "function"), "f"),
    ("arguments-number", "openai", openai_tool_message,
     ("choices", 0, "message", "tool_calls", 0, "function", "arguments"), 5),
]


@pytest.mark.parametrize("mode", ["json", "text", "jsonl"])
@pytest.mark.parametrize("case", WRONG_TYPES_IN_MESSAGES, ids=lambda c: f"{c[1]}-{c[0]}")
def test_a_field_of_the_wrong_type_in_a_whole_response_is_malformed(cli, case, mode):
    """Item 4, whole responses: --no-stream (and a streaming request answered with a
    whole message, item 27) prints its one object / ends its output, exit 9."""
    _, provider, build, path, value = case
    r = run(cli, provider, json_response(200, put(build(), path, value)),
            flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed")


# =========================================================================== item 5

DEEP = "[" * 1000 + "]" * 1000


def deep_anthropic_stream() -> list[bytes]:
    parts = anthropic_sse(["Hel", "lo"])
    parts[3] = parts[3].replace(b'"index":0,', f'"index":0,"x":{DEEP},'.encode())
    return parts


@pytest.mark.parametrize("mode", STREAM_MODES)
def test_json_nested_1000_deep_in_a_data_line_is_malformed(cli, mode):
    """Item 5: RecursionError (exit 1) before; now a malformed stream."""
    r = run(cli, "anthropic", sse(deep_anthropic_stream()), flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed", "nested")


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_503_with_a_deeply_nested_body_is_a_server_error_and_retried(cli, provider):
    """Item 5: classified by its status (6) and retried as a 503 is."""
    body = '{"error": {"message": ' + DEEP + "}}"
    deep_503 = sse([body], status=503, content_type="application/json")
    r = run(cli, provider, deep_503, sse(openai_sse(["ok"]) if provider == "openai"
                                         else anthropic_sse(["ok"])), retries=1)
    assert r.code == 0 and r.out == b"ok\n", r.err
    assert len(r.requests) == 2
    r = run(cli, provider, deep_503, flags=("--jsonl",))
    assert_failed(r, "jsonl", 6, "server", "HTTP 503")


@pytest.mark.parametrize("mode", ["text", "jsonl", "json"])
def test_a_deeply_nested_whole_body_is_malformed(cli, mode):
    """Item 5: a non-SSE 200 (and a --no-stream answer) nested 1000 deep."""
    body = '{"error": ' + DEEP + "}"
    r = run(cli, "openai", sse([body], content_type="application/json"), flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed", "not JSON")


@pytest.mark.parametrize("body", [b"data: " + DEEP.encode() + b"\n\n",
                                  b'{"choices": ' + DEEP.encode() + b"}",
                                  b'event: message_start\ndata: {"type": "message_start", '
                                  b'"message": ' + DEEP.encode() + b"}\n\n"],
                         ids=["sse", "json", "anthropic-sse"])
@pytest.mark.parametrize("mode", ["text", "jsonl", "json", "raw"])
def test_a_deeply_nested_replay_file_is_malformed(cli, tmp_path, body, mode):
    """Item 5: a replay file nested 1000 deep (detection and playing)."""
    path = tmp_path / "deep.capture"
    path.write_bytes(body)
    r = cli.run("--replay", str(path), *MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed")


def test_a_deeply_nested_stray_error_field_is_still_an_error(cli):
    """Sibling of item 5: old llama.cpp's `error:` field, nested 1000 deep."""
    parts = openai_sse(["Hel"], finish_reason=None, usage=False, done=False)
    r = run(cli, "openai", sse([*parts, b"error: " + DEEP.encode() + b"\n\n"]),
            flags=("--jsonl",))
    assert_failed(r, "jsonl", 6, "server")


def test_deeply_nested_tool_arguments_are_kept_raw_and_flagged(cli):
    """Sibling of items 5 and 7: arguments the output could not carry are flagged
    invalid (arguments null) with the exact raw string, never exit 1."""
    chunks = openai_tool_chunks()
    chunks[0] = put(chunks[0], (*TOOL_CALL, "function", "arguments"), '{"a": ' + DEEP + "}")
    r = run(cli, "openai", sse(encode_openai(chunks)), flags=("--jsonl",))
    assert r.code == 0, r.err
    (call,) = [e for e in r.events if e["type"] == "tool_call"]
    assert call["invalid"] is True and call["arguments"] is None
    assert call["raw_arguments"] == '{"a": ' + DEEP + "}"


# =========================================================================== item 6


def test_a_retry_field_of_4400_digits_is_ignored():
    """Item 6: int() refuses more than 4300 digits; that was a ValueError (exit 1)."""
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: " + b"9" * 4400 + b"\ndata: x\n\nretry: 1500\n\n")
    assert [e.data for e in events] == ["x"] and decoder.retry == 1500


def test_a_retry_field_of_4400_digits_in_a_stream(cli):
    parts = anthropic_sse(["Hel", "lo"])
    parts.insert(1, b"retry: " + b"7" * 4400 + b"\n\n")
    r = run(cli, "anthropic", sse(parts))
    assert r.code == 0 and r.out == b"Hello\n", r.err


@pytest.mark.parametrize("code, status, exit_code", [
    ("\u00b2", None, 6),  # "²".isdigit() is True, int("²") a ValueError
    ("\u0663\u0660\u0660", None, 6),  # Arabic-Indic "300": isdigit, int() takes it
    ("9" * 5000, None, 6),  # past int()'s digit limit
    (10 ** 30, None, 6),  # not an HTTP status
    (True, None, 6),  # a boolean is no status
    ("429", 429, 5),  # vLLM's HTTP status as a string
    (503, 503, 6),
])
def test_an_in_stream_error_code_is_a_status_only_when_it_is_one(cli, code, status, exit_code):
    """Item 6: in-stream error codes are HTTP statuses only when they are 100-599."""
    event = sse_event({"error": {"message": "boom", "type": None, "code": code}})
    r = run(cli, "openai", sse([openai_sse(["Hel"])[0], event]), flags=("--jsonl",))
    assert r.code == exit_code, r.err
    (error,) = [e for e in r.events if e["type"] == "error"]
    assert error["status"] == status and error["message"] == "boom"


def test_an_error_message_given_as_a_string_is_shown(cli):
    """Sibling: {"error": "text"} (some compatible servers) says its text."""
    r = run(cli, "openai", sse([sse_event({"error": "model is loading"})]))
    assert r.code == 6 and "model is loading" in r.err, r.err


def test_an_error_event_with_a_request_id_that_is_no_string(cli):
    """Sibling: a request id of the wrong type is dropped, not written as an object."""
    event = anthropic_event({"type": "error", "request_id": {"x": 1},
                             "error": {"type": "overloaded_error", "message": "busy"}})
    r = run(cli, "anthropic", sse([anthropic_sse(["a"])[0], event]), flags=("--jsonl",))
    assert r.code == 6
    assert [e["request_id"] for e in r.events if e["type"] == "error"] == [None]


# =========================================================================== item 7


@pytest.mark.parametrize("arguments", ['{"x": 1e400}', '{"x": -1e999}', '{"x": NaN}',
                                       '{"x": Infinity}', '[-Infinity]'])
@pytest.mark.parametrize("mode", ["jsonl", "json", "text"])
def test_tool_arguments_beyond_a_double_are_kept_raw_and_flagged(cli, arguments, mode):
    """Item 7: `1e400` was written as `Infinity` (not JSON); now arguments null,
    invalid true and the raw string exact, in every mode (the runner parses the output
    as strict RFC 8259 JSON)."""
    if mode == "json":
        message = put(openai_tool_message(),
                      ("choices", 0, "message", "tool_calls", 0, "function", "arguments"),
                      arguments)
        r = run(cli, "openai", json_response(200, message), flags=MODE_FLAGS[mode])
        calls = r.result["tool_calls"]
    else:
        chunks = put(openai_tool_chunks(), (0, *TOOL_CALL, "function", "arguments"), arguments)
        r = run(cli, "openai", sse(encode_openai(chunks)), flags=MODE_FLAGS[mode])
        if mode == "text":
            assert r.code == 0 and f"tool call: f {arguments} (invalid JSON" in r.err, r.err
            return
        calls = [e for e in r.events if e["type"] == "tool_call"]
    assert r.code == 0, r.err
    assert [(c["arguments"], c["invalid"], c["raw_arguments"]) for c in calls] == [
        (None, True, arguments)]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_non_finite_number_in_usage_is_malformed(cli, provider, value):
    """Item 7 (and 6: NaN in usage): a server's JSON with NaN or a number beyond a
    double is not JSON this program can pass on; it was written out as NaN/Infinity."""
    if provider == "anthropic":
        parts = anthropic_sse(["Hel", "lo"])
        parts[-2] = parts[-2].replace(b'"usage":{', b'"usage":{"cost":' + value.encode() + b",")
    else:
        parts = openai_sse(["Hel", "lo"])
        parts[-2] = parts[-2].replace(b'"usage":{', b'"usage":{"cost":' + value.encode() + b",")
    r = run(cli, provider, sse(parts), flags=("--jsonl",))
    assert_failed(r, "jsonl", 9, "malformed")
    r = run(cli, provider, sse(parts), flags=("--jsonl", "--usage"))
    assert_failed(r, "jsonl", 9, "malformed")


def test_safejson_refuses_what_python_json_would_accept():
    for text in ("NaN", "[Infinity]", "-Infinity", "1e400", "[" * 300 + "]" * 300,
                 "1" * 5000, b"\xff"):
        with pytest.raises(ValueError):
            safejson.loads(text)
    assert safejson.loads(b"\xef\xbb\xbf{\"a\": [1e-400, 1.5]}") == {"a": [0.0, 1.5]}
    with pytest.raises(ValueError):
        safejson.dumps({"x": float("nan")})


# =========================================================================== item 9


def test_null_usage_fields_in_message_delta_keep_the_message_start_values(cli):
    """Item 9: null is "not sent": the earlier value stays, in usage and in raw."""
    start = anthropic_message_start(input_tokens=10)
    start["message"]["usage"]["cache_read_input_tokens"] = 5
    delta = anthropic_message_delta("end_turn", 7)
    delta["usage"].update(input_tokens=None, cache_read_input_tokens=None,
                          cache_creation_input_tokens=None)
    events = anthropic_text_events()
    events[0], events[5] = start, delta
    r = run(cli, "anthropic", sse(encode_anthropic(events)), flags=("--jsonl",))
    assert r.code == 0, r.err
    usage = r.events[-1]["usage"]
    assert usage["input_tokens"] == 15 and usage["output_tokens"] == 7
    assert usage["raw"] == {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7}


def test_null_usage_fields_in_a_later_openai_chunk_keep_the_earlier_values(cli):
    """Item 9, the OpenAI side: continuous usage stats (vLLM) with a null field."""
    chunks = openai_text_chunks()
    chunks[1]["usage"] = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    chunks[4]["usage"] = {"prompt_tokens": None, "completion_tokens": 2, "total_tokens": None}
    r = run(cli, "openai", sse(encode_openai(chunks)), flags=("--jsonl",))
    assert r.code == 0, r.err
    assert r.events[-1]["usage"] == {"input_tokens": 3, "output_tokens": 2, "raw": {
        "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 4}}


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_null_usage_fields_in_a_whole_response_are_not_sent(cli, provider):
    """Item 9, the non-streaming parsers: a null count is unknown, not in raw."""
    if provider == "anthropic":
        message = anthropic_message("Hi")
        message["usage"].update(cache_read_input_tokens=None, output_tokens=None)
        want = {"input_tokens": 10, "output_tokens": None, "raw": {"input_tokens": 10}}
    else:
        message = chat_completion("Hi")
        message["usage"].update(completion_tokens=None)
        want = {"input_tokens": 10, "output_tokens": None,
                "raw": {"prompt_tokens": 10, "total_tokens": 12}}
    r = run(cli, provider, json_response(200, message), flags=("--no-stream",))
    assert r.code == 0, r.err
    assert r.result["usage"] == want


# =========================================================================== item 8

EMOJI = "\U0001f600"


def split_pair(body: bytes) -> bytes:
    """<HI> and <LO> become the JSON escapes of the two halves of U+1F600."""
    return body.replace(b"<HI>", b"\\ud83d").replace(b"<LO>", b"\\ude00")


def pair_streams() -> dict[str, tuple[str, bytes]]:
    """A surrogate pair split across two deltas of every kind that carries text."""
    def anthropic(events):
        return split_pair(b"".join(encode_anthropic(events)))

    def openai(deltas, finish="stop"):
        chunks = [chat_chunk([{"index": 0, "delta": d, "finish_reason": None}]) for d in deltas]
        chunks.append(chat_chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
        return split_pair(b"".join(encode_openai(chunks)))

    thinking = [anthropic_message_start(), anthropic_block_start(0, {"type": "thinking",
                                                                     "thinking": ""}),
                anthropic_delta(0, {"type": "thinking_delta", "thinking": "a<HI>"}),
                anthropic_delta(0, {"type": "thinking_delta", "thinking": "<LO>b"}),
                anthropic_block_stop(0), *anthropic_text_events()[1:]]
    tool = anthropic_tool_events()
    tool[2:3] = [anthropic_delta(0, {"type": "input_json_delta", "partial_json": '{"a": "<HI>'}),
                 anthropic_delta(0, {"type": "input_json_delta", "partial_json": '<LO>"}'})]
    text = anthropic_text_events()
    text[2:4] = [anthropic_delta(0, {"type": "text_delta", "text": "a<HI>"}),
                 anthropic_delta(0, {"type": "text_delta", "text": "<LO>b"})]
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": '{"a": "<HI>'}}
    more = {"index": 0, "function": {"arguments": '<LO>"}'}}
    return {
        "anthropic-text": ("anthropic", anthropic(text)),
        "anthropic-thinking": ("anthropic", anthropic(thinking)),
        "anthropic-tool-arguments": ("anthropic", anthropic(tool)),
        "openai-text": ("openai", openai([{"content": "a<HI>"}, {"content": "<LO>b"}])),
        "openai-reasoning": ("openai", openai([{"reasoning_content": "a<HI>"},
                                               {"reasoning_content": "<LO>b"}, {"content": "x"}])),
        "openai-refusal": ("openai", openai([{"refusal": "a<HI>"}, {"refusal": "<LO>b"}])),
        "openai-tool-arguments": ("openai", openai([{"tool_calls": [call]},
                                                    {"tool_calls": [more]}], "tool_calls")),
    }


PAIRS = pair_streams()


@pytest.mark.parametrize("mode", ["text", "jsonl", "json", "raw"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_a_surrogate_pair_split_across_deltas_is_one_character_in_every_mode(cli, name, mode):
    """Item 8 (verified; the stderr side was a sibling still broken): the output is the
    same whether the two deltas arrive in one read or two, and the character is whole
    on stdout and on stderr (thinking, refusal, tool calls in text mode)."""
    provider, body = PAIRS[name]
    flags = (*MODE_FLAGS[mode], "--show-thinking") if mode != "raw" else MODE_FLAGS[mode]
    outputs = []
    for reads in (per_event(body), [body]):
        r = run(cli, provider, sse(reads), flags=flags)
        assert r.code == 0, r.err
        outputs.append((timeless(r.out), r.err))
    assert outputs[0] == outputs[1]
    out, err = outputs[0]
    if mode == "raw":
        assert out == body
        return
    shown = out.decode() + err
    assert EMOJI in shown and "\ufffd" not in shown and "\\ud83d" not in shown, (out, err)
    assert not any("\ud800" <= c <= "\udfff" for c in err), err


def test_a_lone_half_at_the_end_of_a_stream_is_a_replacement_character_everywhere(cli):
    """Sibling of item 8: a high half with nothing after it is U+FFFD on stdout and on
    stderr alike (it reached stderr as a lone surrogate)."""
    thinking = [anthropic_message_start(), anthropic_block_start(0, {"type": "thinking",
                                                                     "thinking": ""}),
                anthropic_delta(0, {"type": "thinking_delta", "thinking": "a<HI>"}),
                anthropic_block_stop(0), *anthropic_text_events()[1:]]
    body = split_pair(b"".join(encode_anthropic(thinking)))
    r = run(cli, "anthropic", sse([body]), flags=("--show-thinking",))
    assert r.code == 0 and "a\ufffd" in r.err, r.err


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_invalid_utf8_split_across_reads_gives_the_same_output(cli, provider):
    """Sibling of item 8: invalid UTF-8 and a multi-byte character cut at every byte
    (raw: the bytes as they came; text and jsonl: the same U+FFFD whatever the cut)."""
    build = anthropic_sse if provider == "anthropic" else openai_sse
    body = b"".join(build(["caf\u00e9 ", "XX", " \u65e5\u672c"])).replace(b"XX", b"\xff\xe6\x97")
    results = {}
    for mode in ("text", "jsonl", "raw"):
        seen = set()
        for reads in ([body], per_event(body), [body[i:i + 1] for i in range(len(body))]):
            r = run(cli, provider, sse(reads), flags=MODE_FLAGS[mode])
            assert r.code == 0, r.err
            seen.add(timeless(r.out))
        assert len(seen) == 1, (mode, seen)
        results[mode] = seen.pop()
    assert results["raw"] == body
    assert results["text"] == "caf\u00e9 \ufffd\ufffd \u65e5\u672c\n".encode()


# =========================================================================== item 10


def replay(cli, tmp_path, body: bytes, *flags):
    path = tmp_path / "capture"
    path.write_bytes(body)
    return cli.run("--replay", str(path), *flags)


def test_replay_of_an_openai_capture_whose_answer_says_event_ping(cli, tmp_path):
    """Item 10 (verified): byte patterns in the answer do not decide the protocol."""
    body = b"".join(openai_sse(["event: ping\n", "data: x\n\n", "event: message_start"]))
    r = replay(cli, tmp_path, body)
    assert r.code == 0 and r.out == b"event: ping\ndata: x\n\nevent: message_start\n", r.err


def test_replay_of_event_names_without_a_space(cli, tmp_path):
    """Item 10 (verified): `event:message_start` is as legal as `event: message_start`."""
    body = b"".join(anthropic_sse(["Hel", "lo"])).replace(b"event: ", b"event:")
    body = re.sub(rb'data: \{"type":"[a-z_]+",?', b"data: {", body)  # the name is all there is
    r = replay(cli, tmp_path, body, "--jsonl")
    assert r.code == 0 and r.events[0]["provider"] == "anthropic", r.err
    assert [e["text"] for e in r.events if e["type"] == "text"] == ["Hel", "lo"]


def test_replay_of_a_saved_openai_response_with_type_near_the_start(cli, tmp_path):
    """Item 10 (verified): a chat.completion whose tool call's "type" comes first is
    OpenAI's, and its tool call is kept."""
    message = openai_tool_message()
    ordered = {"choices": message["choices"], **message}
    ordered["choices"][0]["message"]["tool_calls"][0] = {
        "type": "function", "id": "call_1", "function": {"name": "f", "arguments": '{"a": 1}'}}
    r = replay(cli, tmp_path, json.dumps(ordered).encode(), "--jsonl")
    assert r.code == 0, r.err
    assert r.events[0]["provider"] == "openai"
    assert [(e["name"], e["arguments"]) for e in r.events if e["type"] == "tool_call"] == [
        ("f", {"a": 1})]


def test_replay_honours_provider(cli, tmp_path):
    """Item 10 (verified): --provider decides, whatever the capture looks like."""
    body = b"".join(openai_sse(["Hi"]))
    assert replay(cli, tmp_path, body, "--provider", "openai").code == 0
    r = replay(cli, tmp_path, body, "--provider", "anthropic", "--jsonl")
    assert r.code == 9 and r.events[0]["provider"] == "anthropic", r.err


# =========================================================================== item 11


class Endless:
    """A body that never ends: `head`, then `filler` forever; reading past `cap` bytes
    fails the test (the command had to stop long before)."""

    def __init__(self, head: bytes, filler: bytes, cap: int) -> None:
        self.head, self.filler, self.cap, self.sent = head, filler, cap, 0

    def __iter__(self):
        yield self.head
        while True:
            self.sent += len(self.filler)
            assert self.sent <= self.cap, f"read {self.sent} bytes of a body that never ends"
            yield self.filler

    def read(self, size: int = -1) -> bytes:  # as a stdin for --replay -
        if not self.sent:
            self.sent = 1
            return self.head
        self.sent += len(self.filler)
        assert self.sent <= self.cap, f"read {self.sent} bytes of a body that never ends"
        return self.filler


MIB = 1024 * 1024


def endless(status: int, head: bytes, cap: int, content_type="application/json"):
    def respond(request):
        return httpx2.Response(status, headers={"content-type": content_type},
                               content=iter(Endless(head, b"x" * (256 * 1024), cap)))
    return respond


@pytest.mark.parametrize("mode", ["json", "text", "jsonl", "raw"])
def test_an_error_body_that_never_ends_is_read_1_mib_far(cli, mode):
    """Item 11: --no-stream read an error body of any size (1.2 GB of RSS in 4 s); the
    status's class, with "response too large", and no further read."""
    r = run(cli, "anthropic", endless(503, b'{"error": {"message": "', 2 * MIB),
            flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 6, "server", "response too large")
    assert "HTTP 503" in r.err and r.out[:1] in (b"", b"{")


@pytest.mark.parametrize("mode", ["json", "text", "jsonl", "raw"])
def test_a_whole_response_that_never_ends_is_read_64_mib_far(cli, mode):
    """Item 11: a 200 whose JSON never ends: exit 9, "response too large"."""
    r = run(cli, "openai", endless(200, b'{"choices": [{"message": {"content": "', 66 * MIB),
            flags=MODE_FLAGS[mode])
    assert_failed(r, mode, 9, "malformed", "response too large")


def test_a_replay_of_a_json_body_that_never_ends(cli):
    """Sibling of item 11: `--replay -` read a JSON capture whole, however long."""
    stdin = Endless(b'{"choices": [{"message": {"content": "', b"x" * MIB, 66 * MIB)
    cli.stdin_override = stdin
    r = run_replay_stdin(cli, stdin)
    assert_failed(r, "text", 9, "malformed", "response too large")


def run_replay_stdin(cli, reader):
    """`--replay -` with `reader` as stdin's binary layer."""
    from tests.helpers.cli import run_in_process
    from tests.helpers.streams import PipeStdin, counting_stdout
    import io
    stdin = PipeStdin(b"")
    stdin.buffer = reader
    stdout, stderr = counting_stdout(), io.StringIO()
    code = run_in_process(["--replay", "-"], environ=cli.environ, stdin=stdin, stdout=stdout,
                          stderr=stderr, transport=cli.transport)
    from tests.helpers.cli import Result
    return Result(code, stdout.buffer.getvalue(), stderr.getvalue(), stdout.buffer)


# =========================================================================== item 12


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("mode", ["text", "jsonl", "json", "raw"])
def test_a_redirect_is_not_retried_and_names_its_location(cli, status, mode):
    """Item 12: a 3xx was a server error, retried; now exit 3 at once, with the
    Location (even when the server says x-should-retry: true)."""
    where = "https://api.example.com/v2/messages"
    redirect = sse([b"moved"], status=status, content_type="text/plain",
                   headers={"location": where, "x-should-retry": "true"})
    r = run(cli, "anthropic", redirect, flags=MODE_FLAGS[mode], retries=2)
    assert_failed(r, mode, 3, "invalid_request", where)
    assert len(r.requests) == 1
    assert "--base-url" in r.err
    if mode == "raw":
        assert r.out == b""


def test_a_redirect_without_a_location(cli):
    r = run(cli, "openai", sse([b""], status=302, content_type="text/plain"), retries=2)
    assert r.code == 3 and "without a Location" in r.err and len(r.requests) == 1, r.err


# =========================================================================== item 27

WHOLE = {"anthropic": anthropic_tool_message, "openai": openai_tool_message}


@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_whole_message_answering_a_streaming_request_is_printed(cli, provider, content_type):
    """Item 27: LiteLLM's proxy answers some streaming requests with one complete JSON
    message: printed in the requested mode, with one notice on stderr."""
    body = json.dumps(WHOLE[provider]()).encode()
    reply = sse([body[:40], body[40:]], content_type=content_type)
    text = run(cli, provider, reply)
    assert text.code == 0 and text.out == b"Hello\n", text.err
    assert text.err.count("did not stream") == 1 and "tool call: f" in text.err
    jsonl = run(cli, provider, reply, flags=("--jsonl",))
    assert jsonl.code == 0
    assert [e["type"] for e in jsonl.events] == ["start", "text", "tool_call", "usage", "end"]
    raw = run(cli, provider, reply, flags=("--raw-sse",))
    assert raw.code == 0 and raw.out == body  # --raw-sse: the body as it came
    quiet = run(cli, provider, reply, flags=("--quiet",))
    assert quiet.code == 0 and quiet.err.count("did not stream") == 0


@pytest.mark.parametrize("body", [b'{"foo": 1}', b'{"type": "message"}', b'{"choices": 5}',
                                  b"[1, 2]", b'{"id": "msg_1", "type": "mess',
                                  b"<html>login</html>", b"", b"  \n\n"])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_200_that_is_neither_a_stream_nor_a_message_is_malformed(cli, provider, body):
    """Item 27: only a body that is neither SSE nor a valid message stays exit 9."""
    r = run(cli, provider, sse([body], content_type="application/json"), flags=("--jsonl",))
    assert_failed(r, "jsonl", 9, "malformed")
    assert "did not stream" not in r.err


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_whole_error_object_in_a_200_is_classified_in_either_shape(cli, provider):
    """Sibling of item 27: a gateway's {"error": {...}} answers an Anthropic request too
    (it was printed as an empty answer, exit 0, by --no-stream)."""
    body = {"error": {"type": "rate_limit_error", "message": "slow down"}}
    for mode in ("json", "text"):
        r = run(cli, provider, json_response(200, body), flags=MODE_FLAGS[mode])
        assert_failed(r, mode, 5, "rate_limit", "slow down")


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_stream_answering_a_no_stream_request_is_printed(cli, provider):
    """Sibling of item 27: a server that streams although --no-stream asked for a whole
    answer (as a replay of that body would print it)."""
    parts = anthropic_sse(["Hel", "lo"]) if provider == "anthropic" else openai_sse(["Hel", "lo"])
    r = run(cli, provider, sse(parts), flags=("--no-stream",))
    assert r.code == 0 and r.result["text"] == "Hello", r.err
    assert "streamed its answer" in r.err


# =========================================================================== item 10:
# --replay agrees with live HTTP for every body

ASKED = {"anthropic": "claude-asked", "openai": "gpt-asked"}  # never a model in a body


def constructed_bodies() -> list[tuple[str, str | None, bytes]]:
    """(name, the protocol it is written in or None, body): the awkward bodies a server
    or a capture can hold, beside the recorded fixtures."""
    anthropic_json = json.dumps(anthropic_tool_message()).encode()
    openai_json = json.dumps(openai_tool_message()).encode()
    anthropic_body = b"".join(anthropic_sse(["Hel", "lo"]))
    openai_body = b"".join(openai_sse(["Hel", "lo"]))
    non_finite = openai_body.replace(b'"usage":{', b'"usage":{"cost":1e400,')
    huge_args = put(openai_tool_chunks(), (0, *TOOL_CALL, "function", "arguments"), '{"x": 1e400}')
    bodies = [
        ("anthropic-message", "anthropic", anthropic_json),
        ("openai-message", "openai", openai_json),
        ("anthropic-message-indented", "anthropic",
         json.dumps(anthropic_tool_message(), indent=2).replace("\n", "\r\n").encode()),
        ("anthropic-error-object", "anthropic",
         json.dumps({"type": "error", "error": {"type": "overloaded_error",
                                                "message": "busy"}}).encode()),
        ("openai-error-object", "openai",
         json.dumps({"error": {"message": "nope", "type": "invalid_request_error",
                               "code": None}}).encode()),
        ("bom-json", "anthropic", b"\xef\xbb\xbf" + anthropic_json),
        ("bom-sse", "anthropic", b"\xef\xbb\xbf" + anthropic_body),
        ("blank-lines-then-sse", "openai", b"\n\r\n" + openai_body),
        ("whitespace-then-json", "openai", b" \t\r\n" + openai_json),
        ("json-with-invalid-utf8", "openai", openai_json.replace(b"Hello", b"He\xffo")),
        ("sse-with-invalid-utf8", "openai", openai_body.replace(b"Hel", b"H\xffl")),
        ("two-json-objects", "openai", openai_json + openai_json),
        ("truncated-json", "anthropic", anthropic_json[:60]),
        ("json-array", None, b"[1, 2]"),
        ("json-not-a-message", None, b'{"foo": 1}'),
        ("not-json", None, b"this is not json"),
        ("html", None, b"<html><body>login</body></html>"),
        ("empty", None, b""),
        ("whitespace", None, b"  \n\n"),
        ("deep-json", None, b'{"a": ' + DEEP.encode() + b"}"),
        ("deep-sse", "anthropic", b"".join(deep_anthropic_stream())),
        ("only-pings", "anthropic", b"event: ping\ndata: {\"type\": \"ping\"}\n\n" * 3),
        ("comments-only", "openai", b": keep-alive\n\n" * 3),
        ("event-ping-in-answer", "openai", b"".join(openai_sse(["event: ping\n\n", "x"]))),
        ("event-names-without-space", "anthropic", anthropic_body.replace(b"event: ", b"event:")),
        ("crlf", "anthropic", anthropic_body.replace(b"\n", b"\r\n")),
        ("no-terminal-event", "openai", b"".join(openai_sse(["Hel"], done=False, usage=False,
                                                              finish_reason=None))),
        ("non-finite-usage", "openai", non_finite),
        ("tool-arguments-1e400", "openai", b"".join(encode_openai(huge_args))),
        ("retry-4400-digits", "anthropic", b"retry: " + b"9" * 4400 + b"\n\n" + anthropic_body),
    ]
    for case in WRONG_TYPES_IN_STREAMS[::4]:
        name, provider, build, index, path, value = case
        bodies.append((f"wrong-type-{provider}-{name}", provider,
                       b"".join(wrong_type_stream(provider, build, index, path, value))))
    for name, (provider, body) in PAIRS.items():
        bodies.append((f"split-pair-{name}", provider, body))
    return bodies


FIXTURE_BODIES = [(f"fixture-{kind}-{path.stem}", kind, path.read_bytes())
                  for kind, path in sorted((p.parent.name, p) for k in ("anthropic", "openai")
                                           for p in (FIXTURES / k).glob("*.sse"))]
EVERY_BODY = FIXTURE_BODIES + constructed_bodies()


def comparable(out: bytes, mode: str) -> bytes:
    """stdout without what legitimately differs between a live run and a replay: the
    timings, the model and provider that were asked for (a live run knows them, a replay
    does not), the conversation id (a live run is logged, a replay is not), and an
    error's wording (a live response also has a content type to name: the error's kind,
    status and type must agree)."""
    if mode in ("text", "raw") or not out:
        return out
    objects = [safejson.loads(line) for line in out.decode().splitlines()]
    for obj in objects:
        for key in ("duration_ms", "ttft_ms"):
            if key in obj:
                obj[key] = 0
        if "conversation_id" in obj:
            obj["conversation_id"] = None
        if obj.get("model") in ASKED.values():
            obj["model"] = None
        if obj.get("type", "start") == "start" and obj.get("id") is None:
            obj["provider"] = None
        error = obj if obj.get("type") == "error" else obj.get("error")
        if isinstance(error, dict):
            error["message"] = None
    return "\n".join(json.dumps(o) for o in objects).encode()


def live_and_replayed(cli, tmp_path, provider, body, mode, content_type):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(sse(per_event(body) or [b""],
                                                     content_type=content_type))
    live = cli.run("-m", ASKED[provider], "--provider", provider, "--retries", "0",
                   *MODE_FLAGS[mode], "hi")
    path = tmp_path / "capture"
    path.write_bytes(body)
    replayed = cli.run("--replay", str(path), "--provider", provider, *MODE_FLAGS[mode])
    return live, replayed


@pytest.mark.parametrize("mode", ["text", "jsonl", "raw", "json"])
@pytest.mark.parametrize("name, natural, body", EVERY_BODY, ids=[b[0] for b in EVERY_BODY])
def test_replay_agrees_with_live_http_for_every_body(cli, tmp_path, name, natural, body, mode):
    """Item 10: the same body, served (one event per read) or replayed: the same stdout
    and the same exit status, in every mode, for the protocol it is written in and for
    the other one (--provider); and a replay without --provider agrees with the live run
    of the protocol it detects. Constructed bodies are also served as application/json:
    the content type decides nothing but an error's wording."""
    for provider in ([natural] if name.startswith("fixture-") else ["anthropic", "openai"]):
        types = ["text/event-stream"] + ([] if name.startswith("fixture-")
                                         else ["application/json"])
        for content_type in types:
            live, replayed = live_and_replayed(cli, tmp_path, provider, body, mode, content_type)
            where = (provider, content_type, live.err, replayed.err)
            assert live.code == replayed.code, where
            assert comparable(live.out, mode) == comparable(replayed.out, mode), where
            assert live.code != 1 and "internal error" not in live.err + replayed.err, where
    if natural is not None:
        path = tmp_path / "capture"
        auto = cli.run("--replay", str(path), *MODE_FLAGS[mode])
        cli.serve(sse(per_event(body) or [b""]))
        live = cli.run("-m", ASKED[natural], "--provider", natural, "--retries", "0",
                       *MODE_FLAGS[mode], "hi")
        assert (auto.code, comparable(auto.out, mode)) == (live.code, comparable(live.out, mode))


@pytest.mark.parametrize("name", ["fixture-anthropic-docs_tool_use", "anthropic-message",
                                  "html", "split-pair-openai-refusal", "deep-sse",
                                  "event-ping-in-answer"])
def test_replay_agrees_with_a_real_local_server(cli, tmp_path, name):
    """Item 10 over real HTTP (the FakeServer on 127.0.0.1, one event per chunk)."""
    from tests.helpers.fakeserver import FakeServer, Reply
    natural, body = next((n, b) for case, n, b in EVERY_BODY if case == name)
    provider = natural or "openai"
    cli.real_network().env(**ANTHROPIC_KEY, **OPENAI_KEY)
    path = tmp_path / "capture"
    path.write_bytes(body)
    for mode in ("text", "jsonl", "raw"):
        with FakeServer() as srv:
            srv.enqueue(Reply(body=per_event(body) or [b""]))
            live = cli.run("-m", ASKED[provider], "--provider", provider, "--retries", "0",
                           "--base-url", srv.url, *MODE_FLAGS[mode], "hi")
        replayed = cli.run("--replay", str(path), "--provider", provider, *MODE_FLAGS[mode])
        assert live.code == replayed.code, (mode, live.err, replayed.err)
        assert comparable(live.out, mode) == comparable(replayed.out, mode), mode


# =========================================================================== found by the
# property tests (tests/test_stream_properties.py): output that depended on the reads


@pytest.mark.parametrize("mode", ["text", "jsonl", "raw"])
def test_an_error_field_after_done_changes_nothing_whatever_the_reads(cli, mode):
    """A llama.cpp `error:` field counts before [DONE] only; it counted after it too
    when both came in one read (exit 6 or 0 by the network's reads)."""
    body = b"".join(openai_sse(["Hi"], finish_reason=None, usage=False)) + \
        b'error: {"message": "late"}\n\n'
    for reads in ([body], per_event(body)):
        r = run(cli, "openai", sse(reads), flags=MODE_FLAGS[mode])
        assert r.code == 0, (reads, r.err)


def test_a_terminal_event_named_ping_ends_the_stream(cli):
    """[DONE] under `event: ping`: what followed in later reads was still parsed."""
    body = b"".join(openai_sse(["Hi"])[:-1]) + b"event: ping\ndata: [DONE]\n\n" + b"data: x\n\n"
    for reads in ([body], per_event(body)):
        r = run(cli, "openai", sse(reads), flags=("--jsonl",))
        assert r.code == 0, (len(reads), r.err)


@pytest.mark.parametrize("header", [{"retry-after": "inf"}, {"retry-after-ms": "1e400"},
                                    {"retry-after": "1e308"}])
def test_a_retry_after_no_run_can_wait_is_rate_limited_even_without_a_limit(cli, header):
    """Sibling of item 6: with --max-retry-wait inf, `retry-after: 1e308` reached
    time.sleep (OverflowError, exit 1) and inf a retry event's delay_s (not JSON)."""
    busy = json_response(429, {"error": {"message": "slow", "type": "rate_limit_error"}},
                         headers=header)
    r = run(cli, "openai", busy, flags=("--jsonl", "--max-retry-wait", "inf"), retries=2)
    assert_failed(r, "jsonl", 5, "rate_limit", "asked to wait")
    assert len(r.requests) == 1
