"""The OpenAI Responses API protocol (streamcli/providers/responses): constructed streams
through the mapper, request building, error classification, non-streaming responses, the
choice of the protocol (--api, a config kind, the Responses-only models), and the output
modes over it in-process.

The recorded streams of tests/fixtures/responses run through the parametrized tests of
test_providers.py (every split), test_modes.py (--jsonl, replay), test_fastpath.py and
test_sdk_agreement.py beside the other protocols'.
"""

from __future__ import annotations

import json

import pytest

from streamcli import replay
from streamcli.errors import InvalidRequestError, MalformedStream, RateLimitError, ServerError
from streamcli.events import OutputItem, Stop, Text, Thinking, ToolCall, normalize_stop
from streamcli.providers import load, responses
from streamcli.request import Request
from streamcli.sinks import encode_text
from tests.helpers import mapping
from tests.helpers.cli import json_response, ohello, sse
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import FIXTURES
from tests.helpers.sse import (bytewise, openai_sse, response_object, responses_error_event,
                               responses_event, responses_failed_event, responses_sse)

RECORDED = FIXTURES / "responses"


def drive(reads) -> mapping.Mapped:
    """The Responses API's decoder + mapper, as the pump runs them."""
    return mapping.drive(responses.NAME, reads)


def ev(etype: str, **fields) -> bytes:
    return responses_event({"type": etype, **fields})


CREATED = ev("response.created", response=response_object(status="in_progress", output=[]))


def completed(output=(), **kw) -> bytes:
    return ev("response.completed", response=response_object(output=list(output), **kw))


def call_added(item_id, call_id, name, index) -> bytes:
    return ev("response.output_item.added", output_index=index, item={
        "id": item_id, "type": "function_call", "status": "in_progress", "arguments": "",
        "call_id": call_id, "name": name})


def args_delta(item_id, index, delta) -> bytes:
    return ev("response.function_call_arguments.delta", item_id=item_id, output_index=index,
              delta=delta)


def call_done(item_id, call_id, name, index, arguments) -> bytes:
    return ev("response.output_item.done", output_index=index, item={
        "id": item_id, "type": "function_call", "status": "completed", "arguments": arguments,
        "call_id": call_id, "name": name})


# --------------------------------------------------------------------------- stream mapping


def test_parallel_calls_interleaved_are_kept_apart_by_item_id():
    body = b"".join([
        CREATED, call_added("fc_a", "call_a", "get_weather", 0), call_added("fc_b", "call_b", "now", 1),
        args_delta("fc_a", 0, '{"city":'), args_delta("fc_b", 1, '{"tz":'),
        args_delta("fc_a", 0, '"Paris"}'), args_delta("fc_b", 1, '"UTC"}'),
        ev("response.output_item.done", output_index=1, item={
            "id": "fc_b", "type": "function_call", "call_id": "call_b", "name": "now"}),
        call_done("fc_a", "call_a", "get_weather", 0, '{"city":"Paris"}'),
        completed()])
    got = drive([body])
    assert got.error is None
    # Reported as each call is done; the item without `arguments` keeps the deltas.
    assert got.of(ToolCall) == [ToolCall("call_b", "now", {"tz": "UTC"}, '{"tz":"UTC"}', False),
                                ToolCall("call_a", "get_weather", {"city": "Paris"},
                                         '{"city":"Paris"}', False)]
    assert got.mapper.stop_raw == "function_call" and normalize_stop("function_call") == "tool_use"


def test_call_cut_off_by_max_output_tokens_is_reported_raw_and_flagged():
    body = b"".join([CREATED, call_added("fc_a", "call_a", "write", 0),
                     args_delta("fc_a", 0, '{"text": "unfini'),
                     ev("response.incomplete", response=response_object(
                         status="incomplete", reason="max_output_tokens", output=[]))])
    got = drive([body])
    assert got.error is None and got.mapper.complete
    assert got.of(ToolCall) == [ToolCall("call_a", "write", None, '{"text": "unfini', True)]
    assert got.mapper.stop_raw == "max_output_tokens"
    assert normalize_stop(got.mapper.stop_raw) == "max_tokens"


def test_argument_deltas_without_their_item_still_make_a_call():
    body = b"".join([CREATED, args_delta("fc_x", 0, "{}"), completed()])
    got = drive([body])
    assert got.of(ToolCall) == [ToolCall(None, None, {}, "{}", False)]
    assert got.mapper.stop_raw == "function_call"


def test_completed_output_with_a_function_call_is_tool_use_even_unstreamed():
    body = b"".join([CREATED, completed(output=[{"type": "function_call", "id": "fc",
                                                 "call_id": "c", "name": "f", "arguments": "{}"}])])
    assert drive([body]).mapper.stop_raw == "function_call"


@pytest.mark.parametrize("reason, normalized", [
    ("max_output_tokens", "max_tokens"), ("content_filter", "content_filter"),
    ("max_messages", "other"), (None, "other")])
def test_incomplete_reasons(reason, normalized):
    body = b"".join(responses_sse(["a"], status="incomplete", reason=reason))
    got = drive([body])
    assert got.error is None and got.text == "a"
    assert got.mapper.stop_raw == (reason or "incomplete")
    assert normalize_stop(got.mapper.stop_raw) == normalized


def test_unknown_events_and_items_are_ignored_and_start_comes_from_the_first_lifecycle_event():
    body = b"".join([
        ev("response.queued", response=response_object(resp_id="resp_q", model="m-q",
                                                       status="queued", output=[])),
        CREATED, ev("response.future_thing", x=1), ev("response.output_text.annotation.added"),
        ev("response.output_text.delta", item_id="m", output_index=0, content_index=0,
           delta="hi"),
        ev("response.output_item.added", output_index=1, item=None),  # an empty added event
        completed()])
    got = drive([body])
    assert got.error is None and got.text == "hi"
    assert (got.mapper.id, got.mapper.model) == ("resp_q", "m-q")


def test_a_stream_without_response_created_still_starts_at_its_end():
    got = drive([b"".join([ev("response.output_text.delta", delta="x"), completed()])])
    assert got.error is None and got.mapper.id == "resp_test"


def test_reasoning_summary_parts_are_paragraphs():
    parts = [ev("response.reasoning_summary_part.added", summary_index=0),
             ev("response.reasoning_summary_text.delta", delta="one"),
             ev("response.reasoning_summary_part.added", summary_index=1),
             ev("response.reasoning_summary_text.delta", delta="two"),
             ev("response.reasoning_text.delta", delta=" raw")]
    got = drive([b"".join([CREATED, *parts, completed()])])
    assert "".join(t.text for t in got.of(Thinking)) == "one\n\ntwo raw"
    assert got.text == ""


def test_items_streamcli_does_not_run_are_output_items():
    items = [{"id": "ws_1", "type": "web_search_call", "status": "completed",
              "action": {"type": "search", "query": "q"}},
             {"id": "cu_1", "type": "computer_call", "call_id": "c", "status": "completed",
              "action": {"type": "click", "x": 1, "y": 2}},
             {"id": "ci_1", "type": "code_interpreter_call", "status": "completed", "code": "1+1"}]
    body = b"".join([CREATED, *(ev("response.output_item.done", output_index=i, item=item)
                                for i, item in enumerate(items)), completed()])
    got = drive([body])
    assert got.of(OutputItem) == [OutputItem(i["type"], i["id"], i["status"], i) for i in items]
    assert got.of(ToolCall) == [] and got.mapper.stop_raw == "completed"


@pytest.mark.parametrize("event, cls, etype, exit_code", [
    (responses_error_event("invalid_prompt", "bad prompt"), InvalidRequestError, "invalid_prompt", 3),
    (responses_error_event("rate_limit_exceeded", "slow", nested=True, etype="tokens"),
     RateLimitError, "rate_limit_exceeded", 5),
    (responses_error_event("server_error", "oops"), ServerError, "server_error", 6),
    (responses_error_event("context_length_exceeded", "long", nested=True,
                           etype="invalid_request_error"),
     InvalidRequestError, "context_length_exceeded", 3),
    (responses_error_event("insufficient_quota", "pay", nested=True, etype="insufficient_quota"),
     None, "insufficient_quota", 4),
    (responses_error_event("brand_new_code", "?"), ServerError, "brand_new_code", 6),
    (responses_error_event(None, "no code"), ServerError, None, 6),
    (responses_failed_event("server_error", "failed"), ServerError, "server_error", 6),
    (responses_failed_event("rate_limit_exceeded", "limited"), RateLimitError,
     "rate_limit_exceeded", 5),
    (responses_failed_event("invalid_prompt", "flagged"), InvalidRequestError, "invalid_prompt", 3),
    (responses_failed_event("image_too_large", "big"), InvalidRequestError, "image_too_large", 3),
    (responses_failed_event("vector_store_timeout", "slow store"), ServerError,
     "vector_store_timeout", 6),
])
def test_in_stream_errors_are_classified_by_code(event, cls, etype, exit_code):
    got = drive([b"".join([CREATED, ev("response.output_text.delta", delta="x"), event])])
    assert got.text == "x"  # what came before the error was mapped
    assert got.error.exit_code == exit_code
    assert cls is None or type(got.error) is cls
    assert got.error.type == etype and got.error.status is None


@pytest.mark.parametrize("code, status, exit_code", [(429, 429, 5), ("400", 400, 3), (503, 503, 6)])
def test_a_numeric_error_code_is_an_http_status(code, status, exit_code):
    body = responses_event({"type": "error", "code": code, "message": "m"})
    got = drive([CREATED + body])
    assert (got.error.status, got.error.exit_code) == (status, exit_code)


def test_failed_without_an_error_object_is_a_server_error():
    failed = ev("response.failed", response={**response_object(status="failed"), "error": None})
    got = drive([CREATED + failed])
    assert isinstance(got.error, ServerError) and "response.failed" in got.error.message


@pytest.mark.parametrize("terminal", [False, True])
def test_a_body_without_a_terminal_event_is_incomplete(terminal):
    parts = responses_sse(["a", "b"], terminal=terminal)
    got = drive([b"".join(parts)])
    if terminal:
        assert got.error is None
    else:
        assert isinstance(got.error, MalformedStream) and got.error.exit_code == 9
        assert "response.completed" in got.error.message and got.text == "ab"


def test_wrong_shapes_are_malformed_not_crashes():
    for bad in (b"event: response.output_text.delta\ndata: [1]\n\n",
                b"event: response.output_text.delta\ndata: {nope\n\n"):
        got = drive([CREATED + bad])
        assert isinstance(got.error, MalformedStream), bad


@pytest.mark.parametrize("mode", ["--jsonl", "--no-stream"])
def test_fields_of_the_wrong_type_never_break_the_output_schema(cli, tmp_path, mode):
    """Ids, names and token counts that are not what the API documents: the output stays
    schema-valid (the harness validates every line)."""
    call = {"id": 7, "type": "function_call", "call_id": ["c"], "name": {"n": 1}, "arguments": "{}"}
    response = {"id": 12, "model": 3.5, "status": "completed", "output": [call],
                "usage": {"input_tokens": "12", "output_tokens": -1, "total_tokens": True}}
    if mode == "--jsonl":
        body = b"".join([ev("response.created", response=response),
                         ev("response.output_item.done", output_index=0, item=call),
                         ev("response.completed", response=response)])
        path = tmp_path / "odd.sse"
        path.write_bytes(body)
        r = cli.run("--replay", str(path), "--jsonl")
        end = r.events[-1]
    else:
        path = tmp_path / "odd.json"
        path.write_text(json.dumps({"object": "response", **response}), encoding="utf-8")
        r = cli.run("--replay", str(path), "--no-stream")
        end = r.result
    assert r.code == 0
    assert end["usage"]["input_tokens"] is None and end["usage"]["output_tokens"] is None
    assert end["id"] == "12"


def test_surrogate_halves_split_across_deltas_are_joined_at_every_split():
    body = (b"".join(responses_sse(["<HI>", "<LO>!"])).replace(b"<HI>", b"\\ud83d")
            .replace(b"<LO>", b"\\ude00"))
    whole = drive([body])
    assert encode_text(whole.text) == "\U0001f600!".encode()  # what every sink writes
    assert drive(bytewise(body)).events == whole.events


# --------------------------------------------------------------------------- requests


TOOLS = ({"name": "get_weather", "description": "Weather", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}}},
    {"name": "strict_one", "strict": True}, {"type": "web_search"})


def request(**kw) -> Request:
    args = dict(provider="openai-responses", model="gpt-x", prompt="Q ü",
                base_url="https://api.openai.com/v1", api_key="sk-test")
    return Request(**{**args, **kw})


def test_request_body_and_headers():
    http = responses.build_request(request(system="be brief", max_tokens=64, temperature=0.5,
                                           tools=TOOLS, extra={"reasoning": {"summary": "auto"}}))
    assert http.url == "https://api.openai.com/v1/responses" and http.method == "POST"
    assert http.headers["authorization"] == "Bearer sk-test"
    assert http.headers["accept"] == "text/event-stream"
    assert json.loads(http.body) == {
        "model": "gpt-x", "input": "Q ü", "instructions": "be brief", "max_output_tokens": 64,
        "temperature": 0.5, "store": False, "stream": True,
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather",
                   "parameters": TOOLS[0]["input_schema"], "strict": False},
                  {"type": "function", "name": "strict_one",
                   "parameters": {"type": "object", "properties": {}}, "strict": True},
                  {"type": "web_search"}],
        "reasoning": {"summary": "auto"}}
    assert "Q ü".encode() in http.body


def test_request_minimal_non_streaming_and_overrides():
    http = responses.build_request(request(stream=False, api_key=None,
                                           base_url="http://127.0.0.1:8080/v1/",
                                           extra={"store": True}))
    assert http.url == "http://127.0.0.1:8080/v1/responses"
    assert "authorization" not in http.headers and http.headers["accept"] == "application/json"
    assert json.loads(http.body) == {"model": "gpt-x", "input": "Q ü", "store": True,
                                     "stream": False}


def test_input_items_where_the_conversation_is_more_than_the_prompt(monkeypatch):
    from streamcli.providers.responses import request as module
    monkeypatch.setattr(module, "messages", lambda req: [
        {"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"},
        {"role": "user", "content": module.user_content(req)}])
    assert json.loads(responses.build_request(request()).body)["input"] == [
        {"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "Q ü"}]


@pytest.mark.parametrize("model, only", [
    ("o1-pro", True), ("o3-pro-2025-06-10", True), ("o3-deep-research", True),
    ("o4-mini-deep-research-2025-06-26", True), ("computer-use-preview", True),
    ("codex-mini-latest", True), ("gpt-5-pro", True), ("gpt-5.2-pro-2025-12-11", True),
    ("gpt-5-codex", True), ("gpt-5.1-codex-max", True),
    ("gpt-5", False), ("gpt-5.2", False), ("o3", False), ("o1", False), ("gpt-4o", False),
    ("gpt-5-mini", False), ("o4-mini", False), (None, False), ("", False)])
def test_the_responses_only_models(model, only):
    assert responses.responses_only(model) is only


# --------------------------------------------------------------------------- whole responses


def parse(obj):
    out: list = []
    try:
        mapper = responses.parse_message(obj, out)
    except Exception as exc:  # noqa: BLE001
        return out, None, exc
    return out, mapper, None


def test_parse_a_whole_response():
    output = [
        {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "a"},
                                                      {"type": "summary_text", "text": "b"}]},
        {"type": "web_search_call", "id": "ws", "status": "completed"},
        {"type": "message", "id": "m", "content": [{"type": "output_text", "text": "Hé"},
                                                   {"type": "output_text", "text": "llo"}]},
        {"type": "function_call", "id": "fc", "call_id": "call_1", "name": "f",
         "arguments": '{"x": 1}'}]
    out, mapper, error = parse(response_object(output=output, resp_id="resp_w", model="m-w"))
    assert error is None
    assert "".join(e.text for e in out if type(e) is Text) == "Héllo"
    assert "".join(e.text for e in out if type(e) is Thinking) == "a\n\nb"
    assert [e for e in out if type(e) is ToolCall] == [
        ToolCall("call_1", "f", {"x": 1}, '{"x": 1}', False)]
    assert [e.item_type for e in out if type(e) is OutputItem] == ["web_search_call"]
    assert (mapper.id, mapper.model, mapper.stop_raw) == ("resp_w", "m-w", "function_call")
    assert mapper.usage().input_tokens == 10 and mapper.complete


def test_parse_refusal_and_incomplete():
    output = [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]
    out, mapper, _ = parse(response_object(output=output, status="incomplete",
                                           reason="content_filter"))
    assert [e for e in out if type(e) is Stop] == [Stop("content_filter")]
    assert [e.text for e in out if type(e).__name__ == "Refusal"] == ["No."]


@pytest.mark.parametrize("obj, cls, exit_code", [
    ({**response_object(status="failed"), "error": {"code": "server_error", "message": "x"}},
     ServerError, 6),
    ({"error": {"message": "bad", "type": "invalid_request_error", "code": None}},
     InvalidRequestError, 3),
    ({**response_object(status="failed"), "error": None}, ServerError, 6),
    (response_object(status="queued", output=[]), MalformedStream, 9),
])
def test_parse_failures(obj, cls, exit_code):
    _, _, error = parse(obj)
    assert type(error) is cls and error.exit_code == exit_code


# --------------------------------------------------------------------------- replay detection


@pytest.mark.parametrize("body", [
    b"".join(responses_sse(["x"])),
    responses_error_event("server_error", "m"),
    responses_error_event("server_error", "m", nested=True),
    b"data: " + json.dumps({"type": "response.created", "response": {}}).encode() + b"\n\n",
])
def test_replay_recognises_a_responses_stream_from_its_first_event(body):
    assert replay.sse_protocol(body) == "openai-responses"


def test_replay_recognises_a_saved_response_object():
    assert replay.json_protocol(json.dumps(response_object("x")).encode()) == "openai-responses"


# --------------------------------------------------------------------------- choosing the protocol (in-process)


def hello(texts=("Hello", " world"), **kw):
    return sse(responses_sse(list(texts), **kw))


@pytest.mark.parametrize("argv, path", [
    (["-m", "gpt-4o", "--api", "responses"], "/v1/responses"),
    (["-m", "gpt-5-pro"], "/v1/responses"),  # Responses-only, on OpenAI's own URL
    (["-m", "codex-mini-latest"], "/v1/responses"),  # an OpenAI name, by its prefix
    (["-m", "o3-pro", "--api", "chat"], "/v1/chat/completions"),  # --api overrides
    (["-m", "gpt-4o"], "/v1/chat/completions"),
    (["--provider", "openai-responses", "-m", "anything"], "/v1/responses"),
])
def test_the_protocol_is_chosen_by_api_or_by_the_model(cli, argv, path):
    cli.env(**OPENAI_KEY).serve(hello() if path.endswith("responses") else ohello())
    r = cli.run(*argv, "hi")
    assert r.code == 0, r.err
    assert r.out == b"Hello world\n"
    assert cli.requests[0].url.path == path
    assert cli.requests[0].url.host == "api.openai.com"


def test_a_compatible_server_speaks_chat_unless_told(cli):
    """On another URL a Responses-only name says nothing about the server (a local
    model may be called anything): chat, unless --api or the provider's kind says so."""
    from tests.helpers.cli import ohello
    cli.serve(ohello(), hello())
    assert cli.run("--base-url", "http://127.0.0.1:9/v1", "-m", "gpt-5-pro", "hi").code == 0
    assert cli.run("--base-url", "http://127.0.0.1:9/v1", "-m", "gpt-5-pro", "--api",
                   "responses", "hi").code == 0
    assert [r.url.path for r in cli.requests] == ["/v1/chat/completions", "/v1/responses"]
    assert "authorization" not in cli.requests[1].headers  # keyless, like chat


def test_a_named_provider_of_kind_openai_responses(cli):
    cli.config('[providers.llama]\nkind = "openai-responses"\n'
               'base_url = "http://127.0.0.1:8080/v1"\nmodel = "qwen3"\n')
    cli.serve(hello(), sse(openai_sse(["ok"])))
    r = cli.run("-m", "llama:", "hi")
    assert r.code == 0 and r.out == b"Hello world\n"
    assert cli.requests[0].url.path == "/v1/responses"
    assert json.loads(cli.requests[0].content)["model"] == "qwen3"
    assert cli.run("--provider", "llama", "--api", "chat", "hi").code == 0
    assert cli.requests[1].url.path == "/v1/chat/completions"


def test_the_responses_api_on_openai_needs_the_key(cli):
    r = cli.run("-m", "gpt-5-pro", "hi")
    assert r.code == 2 and "OPENAI_API_KEY" in r.err and cli.requests == []


@pytest.mark.parametrize("argv, message", [
    (["-m", "claude-x", "--api", "responses"], "Anthropic Messages"),
    (["-m", "gpt-5-pro", "--stop", "END"], "--stop"),
    (["-m", "gpt-4o", "--api", "both"], "--api"),
])
def test_usage_errors(cli, argv, message):
    r = cli.env(**OPENAI_KEY, **ANTHROPIC_KEY).run(*argv, "--jsonl", "hi")
    assert r.code == 2 and message in r.err and cli.requests == []
    assert r.events[-1]["exit_code"] == 2


# --------------------------------------------------------------------------- output modes (in-process)


def test_jsonl_events_over_the_responses_api(cli):
    cli.env(**OPENAI_KEY).serve(hello(thinking=["hm"]))
    r = cli.run("--jsonl", "--show-thinking", "-m", "gpt-5-pro", "hi")
    assert r.code == 0
    assert r.types == ["start", "thinking", "text", "text", "usage", "end"]
    start, end = r.events[0], r.events[-1]
    assert (start["provider"], start["id"], start["model"]) == ("openai-responses", "resp_test",
                                                                "gpt-test")
    assert (end["stop_reason"], end["stop_reason_raw"]) == ("end", "completed")
    assert end["usage"]["output_tokens"] == 2
    body = cli.body
    assert body["input"] == "hi" and body["store"] is False and body["stream"] is True


def test_jsonl_output_item_event_and_text_mode_stderr_line(cli):
    path = RECORDED / "web_search.sse"
    r = cli.run("--replay", str(path), "--jsonl")
    items = [e for e in r.events if e["type"] == "output_item"]
    assert [(i["item_type"], i["status"]) for i in items] == [("web_search_call", "completed")]
    assert items[0]["item"]["action"]["query"] == "positive news story today"
    t = cli.run("--replay", str(path))
    assert t.code == 0 and "output item: web_search_call (completed)" in t.err
    assert "positive news story today" in t.err and b"output item" not in t.out


def test_output_item_line_shows_no_control_characters(cli, tmp_path):
    item = {"id": "x", "type": "evil\x1b[2J", "status": "done\x07"}
    body = b"".join([CREATED, ev("response.output_item.done", output_index=0, item=item),
                     completed()])
    path = tmp_path / "evil.sse"
    path.write_bytes(body)
    r = cli.run("--replay", str(path))
    assert r.code == 0 and "\x1b" not in r.err and "\x07" not in r.err


def test_no_stream_over_the_responses_api(cli):
    obj = response_object(output=[
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
        {"type": "message", "content": [{"type": "output_text", "text": "Héllo"}]},
        {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": '{"a": 1}'}],
        resp_id="resp_ns", model="gpt-5-pro-2025")
    cli.env(**OPENAI_KEY).serve(json_response(200, obj))
    r = cli.run("--no-stream", "-m", "gpt-5-pro", "hi")
    assert r.code == 0
    assert cli.body["stream"] is False and cli.requests[0].url.path == "/v1/responses"
    res = r.result
    assert (res["provider"], res["id"], res["model"]) == ("openai-responses", "resp_ns",
                                                          "gpt-5-pro-2025")
    assert (res["text"], res["thinking"]) == ("Héllo", "think")
    assert [(t["id"], t["arguments"]) for t in res["tool_calls"]] == [("call_9", {"a": 1})]
    assert (res["stop_reason"], res["stop_reason_raw"]) == ("tool_use", "function_call")
    assert res["usage"]["raw"] == obj["usage"]


def test_no_stream_failed_response_fills_the_error(cli):
    obj = {**response_object(status="failed"),
           "error": {"code": "rate_limit_exceeded", "message": "slow down"}}
    cli.env(**OPENAI_KEY).serve(json_response(200, obj))
    r = cli.run("--no-stream", "--retries", "0", "-m", "gpt-5-pro", "hi")
    assert r.code == 5
    assert r.result["error"]["type"] == "rate_limit_exceeded"
    assert r.result["error"]["message"] == "slow down"


def test_raw_sse_then_replay_round_trip(cli, tmp_path):
    cli.env(**OPENAI_KEY).serve(hello(["caf\u00e9 ", "\U0001f600"]), hello(["caf\u00e9 ", "\U0001f600"]))
    raw = cli.run("--raw-sse", "-m", "gpt-5-pro", "hi")
    direct = cli.run("-m", "gpt-5-pro", "hi")
    assert raw.code == direct.code == 0
    assert raw.out == b"".join(responses_sse(["caf\u00e9 ", "\U0001f600"]))
    cap = tmp_path / "cap.sse"
    cap.write_bytes(raw.out)
    again = cli.run("--replay", str(cap))
    assert again.out == direct.out == "caf\u00e9 \U0001f600\n".encode()
    assert cli.run("--replay", str(cap), "--raw-sse").out == raw.out
    assert len(cli.requests) == 2


def test_replay_of_a_saved_non_streaming_response(cli, tmp_path):
    path = tmp_path / "resp.json"
    path.write_text(json.dumps(response_object("saved answer")), encoding="utf-8")
    r = cli.run("--replay", str(path), "--jsonl")
    assert r.code == 0 and r.events[0]["provider"] == "openai-responses"
    assert "".join(e["text"] for e in r.events if e["type"] == "text") == "saved answer"


@pytest.mark.parametrize("argv, provider", [(["--api", "chat"], "openai"),
                                            (["--provider", "openai-responses"], "openai-responses"),
                                            (["--api", "responses"], "openai-responses")])
def test_replay_protocol_named_by_the_flags(cli, argv, provider):
    path = RECORDED / "text_basic.sse"
    r = cli.run("--replay", str(path), "--jsonl", *argv)
    if provider == "openai":
        # The chat mapper finds no chunk and no terminal event in a Responses stream.
        assert r.code == 9 and "[DONE]" in r.err
    else:
        assert r.code == 0 and r.events[0]["provider"] == provider


def test_the_provider_package_is_found_by_its_kind():
    assert load("openai-responses") is responses
    assert responses.NAME == "openai-responses"
