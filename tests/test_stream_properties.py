"""Property tests (issue 10): the SSE decoder and the three wire protocols' mappers
(Anthropic Messages, OpenAI Chat Completions, the OpenAI Responses API) on random bytes
and random chunkings.

Bodies are drawn from a grammar of what servers send (SSE fields with every line end,
comments, a BOM, provider events and chunks with any field replaced by any JSON value,
numbers JSON cannot carry, deep nesting, invalid UTF-8, surrogate escapes) and from plain
random bytes, then cut into random reads. For every body:

  * the only exceptions are the documented ones: the decoder's SSEError, and from the
    mappers and the pump the error classes with an exit status of their own
    (MalformedStream, the API errors); never a TypeError, KeyError, RecursionError...
    (the mappers are called directly here, not through the pump's last resort);
  * the output is identical for every split of the same bytes: the decoder's events,
    and every mode's stdout bytes through the pump with its shortcuts on and off, the
    end of the run (usage, stop reason) included;
  * what is written is valid (strict RFC 8259) JSON that the published schema accepts.

Bounded (max_examples, no deadline, no example database) so that the whole module runs
in a few seconds.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamcli import body, providers, report, safejson
from streamcli.errors import StreamcliError
from streamcli.outcome import Outcome
from streamcli.pump import Progress, pump
from streamcli.sinks import make_sink
from streamcli.sse import SSEDecoder, SSEError
from streamcli.ui import Stderr
from tests.helpers.schema import jsonl_events, result_object
from tests.helpers.sse import response_object, responses_sse, split_at

PROPERTIES = settings(max_examples=100, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- the grammar

# Raw JSON texts Python's json would accept but no output can carry, or that break limits.
ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 4400, "1" * 40,
               "-1", "0.5", "true", '"12"', "[" * 1200 + "]" * 1200, '"\\ud83d"', '"\\ude00"']

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


def anthropic_templates() -> list[dict]:
    usage = {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 2}
    return [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "model": "m",
                                              "content": [], "usage": usage}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "thinking", "thinking": "t"}},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a b"}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 2,
         "delta": {"type": "input_json_delta", "partial_json": '{"a": 1'}},
        {"type": "content_block_delta", "index": 2,
         "delta": {"type": "input_json_delta", "partial_json": "}"}},
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 5, "input_tokens": None}},
        {"type": "message_stop"},
        {"type": "ping"},
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    ]


def openai_templates() -> list[dict]:
    def chunk(delta, finish=None, **extra):
        return {"id": "c1", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": '{"a": '}}
    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hi"}), chunk({"content": "a b"}),
        chunk({"reasoning_content": "hm"}), chunk({"refusal": "no"}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({}, "stop"),
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
        {"error": {"message": "boom", "type": "server_error", "code": "503"}},
    ]


def responses_templates() -> list[dict]:
    """The Responses API's events: a whole stream (reasoning, text), a function call, the
    ways it fails."""
    stream = [json.loads(part.split(b"data: ", 1)[1])
              for part in responses_sse(["Hi", "a b"], thinking=["hm"])]
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f",
            "arguments": ""}
    return [
        *stream,
        {"type": "response.output_item.added", "output_index": 2, "item": call},
        {"type": "response.function_call_arguments.delta", "output_index": 2,
         "item_id": "fc_1", "delta": '{"a": 1'},
        {"type": "response.function_call_arguments.delta", "output_index": 2,
         "item_id": "fc_1", "delta": "}"},
        {"type": "response.output_item.done", "output_index": 2,
         "item": {**call, "arguments": '{"a": 1}', "status": "completed"}},
        {"type": "response.refusal.delta", "output_index": 0, "item_id": "msg_test",
         "content_index": 0, "delta": "no"},
        {"type": "response.incomplete", "response": response_object(
            "Hi", status="incomplete", reason="max_output_tokens")},
        {"type": "error", "code": "server_error", "message": "boom", "param": None},
        {"type": "response.failed", "response": {**response_object(status="failed"),
                                                 "error": {"code": "server_error",
                                                           "message": "boom"}}},
    ]


TEMPLATES = {"anthropic": anthropic_templates(), "openai": openai_templates(),
             "openai-responses": responses_templates()}
PROTOCOLS = list(TEMPLATES)


def paths(obj, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from paths(value, (*prefix, i))


@st.composite
def event_data(draw, protocol: str) -> str:
    """The data of one event: a template, perhaps with one value replaced by a random
    JSON value or by an odd raw text; or [DONE]; or anything at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return "[DONE]"
    if kind == 1:
        return draw(st.text(max_size=20))
    template = json.loads(json.dumps(draw(st.sampled_from(TEMPLATES[protocol]))))
    if kind >= 6:
        return json.dumps(template, ensure_ascii=draw(st.booleans()))
    path = draw(st.sampled_from(list(paths(template))[1:]))
    marker = "\x00ODD\x00"
    value = draw(st.sampled_from(ODD_NUMBERS)) if kind == 2 else draw(json_values)
    target = template
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker if kind == 2 else value
    text = json.dumps(template)
    return text.replace(json.dumps(marker), value) if kind == 2 else text


LINE_ENDS = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def sse_body(draw, protocol: str) -> bytes:
    """A body of SSE blocks; the event name (Anthropic) is the data's type or another."""
    out = [b"\xef\xbb\xbf"] if draw(st.integers(0, 9)) == 0 else []
    for _ in range(draw(st.integers(0, 8))):
        end = draw(LINE_ENDS)
        extra = draw(st.sampled_from([b"", b": keep-alive", b"id: 7", b"retry: 1500",
                                      b"retry: " + b"9" * 4400, b"error: {\"message\": \"x\"}",
                                      b"bogus", b"data:", b"event:ping"]))
        if extra:
            out.append(extra + end)
        data = draw(event_data(protocol))
        name = None
        if protocol != "openai" or draw(st.booleans()):
            try:
                name = json.loads(data).get("type")
            except (ValueError, AttributeError, RecursionError):
                name = None
            if not isinstance(name, str) or draw(st.integers(0, 5)) == 0:
                name = draw(st.sampled_from(["ping", "error", "message_stop", "x"]))
        if name is not None and draw(st.integers(0, 4)):
            out.append(b"event: " + name.encode("utf-8", "surrogatepass") + end)
        raw = data.encode("utf-8", "surrogatepass")
        if draw(st.integers(0, 9)) == 0:
            raw = raw.replace(b"a", b"\xff", 1)  # invalid UTF-8
        out.append(b"data: " + raw + end + end)
    if draw(st.integers(0, 9)) == 0:
        out.append(draw(st.binary(max_size=30)))  # an unterminated tail, or noise
    return b"".join(out)


def bodies(protocol: str):
    return sse_body(protocol) | st.binary(max_size=200)


@st.composite
def body_and_cuts(draw, protocol: str):
    data = draw(bodies(protocol))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    return data, split_at(data, cuts)


# --------------------------------------------------------------------------- the checks


def documented(exc: BaseException) -> bool:
    """An error with an exit status of its own (not the internal error, 1)."""
    return isinstance(exc, StreamcliError) and type(exc) is not StreamcliError


def decode(reads: list[bytes]):
    decoder = SSEDecoder()
    events = []
    try:
        for chunk in reads:
            events += decoder.feed(chunk)
        events += decoder.finish()
    except SSEError as exc:
        return events, ("SSEError", str(exc))
    return events, (decoder.retry, decoder.stray_error, decoder.last_id, decoder.pending)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPERTIES
@given(data=st.data())
def test_the_decoder_gives_the_same_events_for_every_split(protocol, data):
    body_bytes, reads = data.draw(body_and_cuts(protocol))
    assert decode(reads) == decode([body_bytes])


def map_events(protocol: str, events) -> tuple:
    """Feed the mapper directly (no last resort): (events out, the error, the end state)."""
    mapper = providers.load(protocol).StreamMapper()
    out: list = []
    error = None
    try:
        for ev in events:
            mapper.feed(ev, out)
            if mapper.complete:
                break
        else:
            mapper.check_end(None)
    except Exception as exc:  # noqa: BLE001 - what is raised is the point
        assert documented(exc), f"{type(exc).__name__}: {exc}"
        error = (type(exc).__name__, str(exc))
    usage = mapper.usage()
    if usage is not None:
        json.dumps(usage.raw, allow_nan=False)
        for count in (usage.input_tokens, usage.output_tokens):
            assert count is None or (type(count) is int and 0 <= count < 2 ** 63)
    assert mapper.stop_raw is None or type(mapper.stop_raw) is str
    return out, error, usage, mapper.stop_raw


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPERTIES
@given(data=st.data())
def test_the_mappers_raise_only_documented_errors(protocol, data):
    events, _ = decode([data.draw(bodies(protocol))])
    map_events(protocol, events)


def outcome_of(mapper, error) -> Outcome:
    return Outcome(status="error" if error else "ok",
                   exit_code=int(error.exit_code) if error else 0, error=error,
                   provider=mapper.provider, model=mapper.model, id=mapper.id,
                   stop_raw=mapper.stop_raw, usage=mapper.usage(), ttft_ms=1.0,
                   duration_ms=2.0)


def run_pump(protocol: str, reads: list[bytes], mode: str, shortcuts: bool,
             check: bool = False) -> tuple:
    """stdout of the whole run in `mode` (its end included), the error, the usage line."""
    out, err = io.BytesIO(), io.StringIO()
    sink = make_sink(mode, out, Stderr(err), show_thinking=True, newline=True)
    prov = providers.load(protocol)
    mapper = prov.StreamMapper()
    error = None
    try:
        pump(reads, mapper, sink, Progress(), idle_timeout=1e9, raw_mode=mode == "raw",
             protocol=protocol, shortcuts=shortcuts)
    except StreamcliError as exc:
        assert documented(exc), f"{type(exc).__name__}: {exc}"
        error = exc
    outcome = outcome_of(mapper, error)
    sink.finish(outcome)
    line = report.usage_line(outcome)
    if check and mode == "jsonl":
        jsonl_events(out.getvalue())
    elif check and mode == "json":
        result_object(out.getvalue())
    return out.getvalue(), err.getvalue(), (type(error).__name__, str(error)), line


@pytest.mark.parametrize("mode", ["text", "jsonl", "raw", "json"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPERTIES
@given(data=st.data())
def test_every_mode_writes_the_same_bytes_for_every_split(protocol, mode, data):
    body_bytes, reads = data.draw(body_and_cuts(protocol))
    whole = run_pump(protocol, [body_bytes], mode, shortcuts=False, check=True)
    assert run_pump(protocol, reads, mode, shortcuts=True) == whole
    assert run_pump(protocol, reads, mode, shortcuts=False) == whole


@st.composite
def whole_response(draw, protocol: str) -> bytes:
    """A whole (non-streaming) response with one value replaced, or odd bytes."""
    if protocol == "anthropic":
        template = {"id": "msg_1", "type": "message", "model": "m", "stop_reason": "end_turn",
                    "content": [{"type": "text", "text": "Hi"},
                                {"type": "thinking", "thinking": "hm"},
                                {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}],
                    "usage": {"input_tokens": 1, "output_tokens": 2}}
    elif protocol == "openai-responses":
        template = response_object("Hi", output=[
            {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text",
                                                             "text": "hm"}]},
            {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
            {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f",
             "arguments": "{}"}])
    else:
        template = {"id": "c1", "object": "chat.completion", "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "content": "Hi", "reasoning_content": "hm", "refusal": None,
                        "tool_calls": [{"id": "t", "function": {"name": "f",
                                                                "arguments": "{}"}}]}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=60))
    path = draw(st.sampled_from(list(paths(template))[1:]))
    target = template
    for key in path[:-1]:
        target = target[key]
    if draw(st.booleans()):
        target[path[-1]] = "\x00ODD\x00"
        return json.dumps(template).replace('"\\u0000ODD\\u0000"',
                                            draw(st.sampled_from(ODD_NUMBERS))).encode()
    target[path[-1]] = draw(json_values)
    return json.dumps(template).encode()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPERTIES
@given(data=st.data())
def test_whole_responses_raise_only_documented_errors(protocol, data):
    """parse_message called directly (no last resort), then the --no-stream object."""
    raw = data.draw(whole_response(protocol))
    prov = providers.load(protocol)
    try:
        body.parse_whole(prov, raw)  # through its last resort: the documented errors only
    except StreamcliError as exc:
        assert documented(exc)
    try:
        obj = safejson.loads(raw)
    except ValueError:
        return
    if not isinstance(obj, dict):
        return
    out: list = []
    try:
        mapper = prov.parse_message(obj, out)
    except Exception as exc:  # noqa: BLE001 - what is raised is the point
        assert documented(exc), f"{type(exc).__name__}: {exc}"
        return
    stdout = io.BytesIO()
    sink = make_sink("json", stdout, Stderr(io.StringIO()))
    sink.write(out)
    sink.finish(outcome_of(mapper, None))
    result_object(stdout.getvalue())


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPERTIES
@given(data=st.data())
def test_telling_the_protocol_of_a_capture_never_fails(protocol, data):
    """--replay tells a capture's protocol from its first events (or its JSON): on any
    body it names one, whose mapper then says what is wrong; it never raises."""
    from streamcli import replay
    raw = data.draw(bodies(protocol) | whole_response(protocol))
    assert replay.sse_protocol(raw) in PROTOCOLS
    assert replay.json_protocol(raw) in PROTOCOLS
