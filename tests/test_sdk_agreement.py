"""Agreement with the official SDKs: the reference for what a stream means.

Every recorded stream of tests/fixtures/anthropic and tests/fixtures/openai (plus a few
constructed ones, below) is served byte for byte by the local FakeServer, cut into seeded
random pieces, to two clients:

  * the official SDK's own stream accumulator: anthropic `client.messages.stream(...)`
    (`MessageStream`, `.text_stream` then `.get_final_message()`), openai
    `client.chat.completions.stream(...)` (`ChatCompletionStream`, `.get_final_completion()`)
    and, for tests/fixtures/responses, openai `client.responses.stream(...)`
    (`ResponseStream`: its events, then `.get_final_response()`);
  * the real command, `python -m streamcli --jsonl --show-thinking --base-url URL ...` in a
    subprocess with a clean environment.

and their results are compared: final text (choice 0), the raw stop/finish reason, usage
(Anthropic input/output tokens, OpenAI prompt/completion tokens, Responses input/output
tokens), tool calls (id, name, parsed and raw arguments), thinking/reasoning, refusal,
message id and model; for the Responses API also the response's status. Where both fail
(in-stream errors), both must fail, and streamcli with the DESIGN.md exit status.

The SDKs are test-only dependencies, imported here and nowhere in streamcli.

Where they disagree, the API documentation and the WHATWG SSE spec decide; each row is
asserted below (streamcli's behaviour as correct, the SDK's as observed with anthropic 2.12
and openai 3.54: a test fails if an SDK changes, so that this table is revisited):

| stream | official SDK | streamcli | verdict |
|---|---|---|---|
| anthropic/sdk_basic_response.no-final-blank-line | final message looks complete (text, end_turn), no error | exit 9, incomplete | streamcli: WHATWG drops an unterminated last event, so `message_stop` never arrived; the SDK never checks for it |
| anthropic/truncated_no_message_stop | returns "Hello", stop_reason None, no error | exit 9 | streamcli: the stream ended before `message_stop` |
| openai/truncated_no_done | returns "I'm unable", finish_reason None, no error | exit 9 | streamcli: no `[DONE]` and no `finish_reason` |
| anthropic/sdk_incomplete_partial_json_response | tool input = jiter partial parse `{filename, lines_of_text: [4 items]}`: the cut string "Filing taxes" silently dropped, looks valid | (intended) raw string + `invalid: true` | streamcli: a max_tokens cut is not valid JSON; never hand a script a silently truncated object. |
| anthropic/docs_extended_thinking | crashes (AttributeError): the docs example has no `usage` in message_start/message_delta | exit 0, text + thinking, usage null | streamcli: the docs example is abbreviated (the API always sends usage); tolerating a missing optional field beats a crash |
| anthropic/sdk_fable_stream-a-toolrefusal | `server_tool_use` + `web_search_tool_result` blocks in content | no `tool_call` for them; same text | streamcli: a server tool is run by the API, not a call for the client to answer |
| anthropic/sdk_compaction_response, sdk_fallback_response | keeps `compaction` / `fallback` blocks | ignores unknown block types; same text | agree on everything compared |
| openai/chat_finish_length | `get_final_completion()` raises LengthFinishReasonError (its parse step always does on `length`); the accumulated completion (on the exception) agrees | exit 0 + stderr warning | streamcli per DESIGN.md: a `length` stop is a complete answer |
| openai/chat_n3_multiple_choices | three choices | index 0 only | agree on choice 0 (DESIGN.md: text mode prints index 0) |
| openai/chat_refusal, chat_refusal_logprobs | `message.refusal`, content None | `refusal` event (stderr in text mode), no text | agree |
| constructed BOM + Anthropic stream | crashes (AssertionError): `\\ufeffevent` is an unknown field, so message_start is lost | BOM stripped, exit 0 | streamcli: WHATWG strips one leading BOM |
| constructed BOM + OpenAI stream | loses the first chunk (`\\ufeffdata` is an unknown field): text starts late | BOM stripped, full text | streamcli (WHATWG) |
| constructed Anthropic cache usage | `usage.input_tokens` excludes cache reads/writes (separate fields) | `input_tokens` = input + cache_creation + cache_read (raw kept) | design choice, compared as the sum; message_start cache counts kept when a cumulative message_delta omits them |
| request headers (Anthropic) | `Authorization: Bearer KEY`, `anthropic-version: 2026-10-21` (SDK 2.12's own choice) | `x-api-key: KEY`, `anthropic-version: 2023-06-01` | streamcli follows the issue's contract and the documented header; path, method and body agree |
| anthropic/midstream_overloaded_error, openai/midstream_error_object, vllm_style_midstream_error | raise (APIStatusError / APIError) | exit 6 / 6 / 3, same partial text | agree |
| responses/text_basic, reasoning_summary, parallel_function_calls, refusal, web_search; constructed interleaved calls | final response: text, function calls (call_id, name, arguments), usage, status completed, reasoning summary, refusal | the same (stop `completed`, or `function_call` for the calls); web_search_call as an `output_item` event | agree |
| responses/incomplete_max_output_tokens | `get_final_response()` raises RuntimeError (no response.completed); the response.incomplete event carries text, usage, status incomplete, reason max_output_tokens | exit 0 + the token-limit warning, stop_reason max_tokens (raw max_output_tokens) | agree on text, usage and status (read from the event); the final-response call fails by design, streamcli per DESIGN.md (a token-limit stop is an answer) |
| responses/failed | raises nothing: response.failed is an event (status failed, error server_error), then `get_final_response()` raises RuntimeError | exit 6, error_type server_error, the same partial text | agree that it failed; streamcli classifies the error by its code |
| responses/error_event_flat (the documented shape) | raises nothing: an ErrorEvent (code invalid_prompt) among the events, then `get_final_response()` raises RuntimeError | exit 3 (invalid_prompt), the same partial text | streamcli: the documented `error` event is an error whatever its shape; the SDK raises only for the nested shape |
| responses/error_event_nested (the shape seen from the API) | raises APIError (body: the nested error) | exit 5 (rate_limit_exceeded) | agree |
| responses/truncated_no_terminal_event | `get_final_response()` raises RuntimeError | exit 9 | agree (unlike the Chat Completions accumulator, this one notices) |
| request (Responses) | `{model, input, max_output_tokens, stream}` to /v1/responses | the same, plus `store: false` | streamcli keeps its own log (the issue's contract); path, method and the shared fields agree |
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest

import anthropic as anthropic_sdk  # test-only: never imported by streamcli itself
import openai as openai_sdk

from tests.helpers.cli import Processes
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.paths import FIXTURES
from tests.helpers.schema import EVENT_VALIDATOR
from tests.helpers.sse import random_sizes, responses_event, sse_body

RUN_TIMEOUT = 30  # seconds, per streamcli subprocess
ANTHROPIC_MODEL = "claude-test-model"
OPENAI_MODEL = "gpt-test-model"
MAX_TOKENS = 100
KEYS = {"ANTHROPIC_API_KEY": "test-key", "OPENAI_API_KEY": "test-key"}


# --------------------------------------------------------------------------- the streams


@dataclass
class Case:
    name: str
    kind: str
    body: bytes
    expected_text: str | None = None


def _cache_usage_stream(delta_usage: dict) -> bytes:
    return sse_body(
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_cache", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 5, "cache_creation_input_tokens": 20,
                      "cache_read_input_tokens": 100, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "cached"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                              "stop_sequence": None},
                           "usage": delta_usage}),
        ("message_stop", {"type": "message_stop"}),
        compact=False,
    )


def _interleaved_calls_stream() -> bytes:
    """Two function calls whose argument deltas interleave (kept apart by item id)."""
    def call(letter, done=False, arguments=""):
        return {"id": f"fc_{letter}", "type": "function_call",
                "status": "completed" if done else "in_progress", "arguments": arguments,
                "call_id": f"call_{letter}", "name": f"tool_{letter}"}
    args = {"a": '{"x": [1, 2]}', "b": '{"y": "é"}'}
    response = {"id": "resp_ilv", "object": "response", "created_at": 0, "status": "in_progress",
                "model": "gpt-ilv", "output": [], "usage": None}
    events = [{"type": "response.created", "response": response}]
    events += [{"type": "response.output_item.added", "output_index": i, "item": call(k)}
               for i, k in enumerate("ab")]
    for piece in range(3):
        for i, k in enumerate("ab"):
            chunk = args[k][piece * 5:(piece + 1) * 5 if piece < 2 else None]
            events.append({"type": "response.function_call_arguments.delta", "item_id": f"fc_{k}",
                           "output_index": i, "delta": chunk})
    events += [{"type": "response.output_item.done", "output_index": i,
                "item": call(k, True, args[k])} for i, k in enumerate("ab")]
    usage = {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 60}
    events.append({"type": "response.completed", "response": {
        **response, "status": "completed", "usage": usage,
        "output": [call(k, True, args[k]) for k in "ab"]}})
    return b"".join(responses_event({**e, "sequence_number": n}) for n, e in enumerate(events))


def _cases() -> list[Case]:
    cases = []
    for kind, folder in (("anthropic", "anthropic"), ("openai", "openai"),
                         ("openai-responses", "responses")):
        for path in sorted((FIXTURES / folder).glob("*.sse")):
            name = path.name[: -len(".sse")]
            expected = (FIXTURES / folder / f"{name}.expected.txt").read_text(encoding="utf-8")
            cases.append(Case(f"{folder}/{name}", kind, path.read_bytes(), expected))
    cases.append(Case("constructed/responses_interleaved_calls", "openai-responses",
                      _interleaved_calls_stream(), ""))
    bom = b"\xef\xbb\xbf"
    cases.append(Case("constructed/anthropic_bom", "anthropic",
                      bom + (FIXTURES / "anthropic/docs_basic.sse").read_bytes(), "Hello!"))
    # The recorded first chunk carries only the role; drop it so that the first chunk
    # after the BOM carries text, as many servers send it.
    basic = (FIXTURES / "openai/chat_text_basic.sse").read_bytes()
    cases.append(Case("constructed/openai_bom", "openai", bom + basic.split(b"\n\n", 1)[1],
                      (FIXTURES / "openai/chat_text_basic.expected.txt").read_text("utf-8")))
    cases.append(Case("constructed/anthropic_cache_usage", "anthropic",
                      _cache_usage_stream({"output_tokens": 9}), "cached"))
    # Usage on message_delta is cumulative; optional fields are omitted when they do not
    # apply, and then the message_start values stand (as the SDK's accumulator reads it).
    cases.append(Case("constructed/anthropic_cumulative_usage", "anthropic",
                      _cache_usage_stream({"input_tokens": 5, "output_tokens": 9}), "cached"))
    return cases


CASES = {case.name: case for case in _cases()}


def pieces(case: Case) -> list[bytes]:
    """The body cut into seeded random pieces (1..150 bytes), one server write each."""
    out = random_sizes(case.body, case.name, largest=150)
    assert b"".join(out) == case.body
    return out


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """What one client made of a stream, in comparable terms."""

    error: BaseException | dict | None = None
    text: str = ""
    stop: str | None = None
    usage: tuple | None = None
    tools: list = field(default_factory=list)  # (id, name, parsed arguments, raw arguments)
    thinking: str = ""
    refusal: str = ""
    id: str | None = None
    model: str | None = None
    extra: dict = field(default_factory=dict)  # what only one side has
    exit_code: int | None = None
    stderr: str = ""


def sdk_anthropic(client, case: Case) -> Result:
    res = Result()
    streamed = []
    message = None
    try:
        with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS,
                                    messages=[{"role": "user", "content": "hi"}]) as stream:
            for delta in stream.text_stream:
                streamed.append(delta)
            message = stream.get_final_message()
    except Exception as exc:  # noqa: BLE001 - the SDK's failure is the result
        res.error = exc
    res.extra["streamed_text"] = "".join(streamed)
    if message is None:
        res.text = res.extra["streamed_text"]
        return res
    blocks = message.content
    res.text = "".join(b.text for b in blocks if b.type == "text")
    res.thinking = "".join(b.thinking for b in blocks if b.type == "thinking")
    res.tools = [(b.id, b.name, b.input, None) for b in blocks if b.type == "tool_use"]
    res.extra["block_types"] = [b.type for b in blocks]
    res.extra["server_tools"] = [(b.id, b.name, b.input) for b in blocks
                                 if b.type == "server_tool_use"]
    res.stop, res.id, res.model = message.stop_reason, message.id, message.model
    u = message.usage
    # streamcli's input_tokens is all input: uncached + cache writes + cache reads.
    res.usage = (u.input_tokens + (u.cache_creation_input_tokens or 0)
                 + (u.cache_read_input_tokens or 0), u.output_tokens)
    return res


def sdk_openai(client, case: Case) -> Result:
    res = Result()
    completion = None
    stream = None
    try:
        with client.chat.completions.stream(
                model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}]) as stream:
            completion = stream.get_final_completion()
    except openai_sdk.LengthFinishReasonError as exc:
        # Raised by the SDK's parse step on any `length` stop; the accumulated
        # completion travels on the exception.
        res.extra["length_error"] = exc
        completion = exc.completion
    except Exception as exc:  # noqa: BLE001
        res.error = exc
        try:
            completion = stream.current_completion_snapshot if stream is not None else None
        except AssertionError:  # no chunk arrived
            completion = None
    if completion is None:
        return res
    res.id, res.model = completion.id, completion.model
    res.extra["choices"] = len(completion.choices)
    if completion.usage is not None:
        res.usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
    if not completion.choices:
        return res
    choice = next(c for c in completion.choices if c.index == 0)
    message = choice.message
    res.text = message.content or ""
    res.refusal = message.refusal or ""
    extra = message.model_extra or {}
    res.thinking = extra.get("reasoning_content") or extra.get("reasoning") or ""
    res.stop = choice.finish_reason
    res.tools = [(t.id, t.function.name, json.loads(t.function.arguments), t.function.arguments)
                 for t in message.tool_calls or []]
    return res


def sdk_responses(client, case: Case) -> Result:
    """The Responses accumulator: its events as they come (the terminal one carries the
    response also when it is not `completed`), then `get_final_response()`."""
    res = Result()
    deltas: list[str] = []
    final = None
    try:
        with client.responses.stream(model=OPENAI_MODEL, input="hi",
                                     max_output_tokens=MAX_TOKENS) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
                elif event.type in ("response.completed", "response.incomplete",
                                    "response.failed"):
                    final = event.response
                elif event.type == "error":
                    res.extra["error_event"] = event
            try:
                res.extra["final"] = stream.get_final_response()
            except RuntimeError as exc:  # no response.completed
                res.extra["final_error"] = exc
    except Exception as exc:  # noqa: BLE001 - the SDK's failure is the result
        res.error = exc
    res.extra["streamed_text"] = "".join(deltas)
    if final is None:
        res.text = res.extra["streamed_text"]
        return res
    res.extra["status"] = final.status
    res.id, res.model = final.id, final.model
    res.text = final.output_text
    items = final.output or []
    res.tools = [(i.call_id, i.name, json.loads(i.arguments), i.arguments)
                 for i in items if i.type == "function_call"]
    res.thinking = "\n\n".join(p.text for i in items if i.type == "reasoning" for p in i.summary)
    res.refusal = "".join(c.refusal for i in items if i.type == "message" for c in i.content
                          if c.type == "refusal")
    res.extra["other_items"] = [(i.type, i.id, i.status) for i in items
                                if i.type not in ("message", "reasoning", "function_call")]
    if final.status == "incomplete":
        res.stop = final.incomplete_details.reason
    elif final.status == "completed":
        res.stop = "function_call" if res.tools else "completed"
    if final.usage is not None:
        res.usage = (final.usage.input_tokens, final.usage.output_tokens)
    return res


def run_streamcli(case: Case, url: str, processes: Processes) -> Result:
    model = ANTHROPIC_MODEL if case.kind == "anthropic" else OPENAI_MODEL
    base = url if case.kind == "anthropic" else url + "/v1"
    api = ["--api", "responses"] if case.kind == "openai-responses" else []
    proc = processes.run(
        ["--jsonl", "--show-thinking", "--no-stdin", "--retries", "0", *api,
         "--max-tokens", str(MAX_TOKENS), "-m", model, "--base-url", base, "hi"],
        env=KEYS, timeout=RUN_TIMEOUT)
    lines = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    for line in lines:  # every line the tests produce is held to the published schema
        EVENT_VALIDATOR.validate(line)
    res = Result(exit_code=proc.returncode, stderr=proc.stderr.decode("utf-8", "replace"))
    res.extra["lines"] = lines
    assert lines and lines[0]["type"] == "start" and lines[-1]["type"] == "end", proc
    start, end = lines[0], lines[-1]
    res.id, res.model = end["id"], start["model"]
    res.text = "".join(e["text"] for e in lines if e["type"] == "text")
    res.thinking = "".join(e["text"] for e in lines if e["type"] == "thinking")
    res.refusal = "".join(e["text"] for e in lines if e["type"] == "refusal")
    res.tools = [(e["id"], e["name"], e["arguments"], e["raw_arguments"])
                 for e in lines if e["type"] == "tool_call"]
    res.extra["tool_lines"] = [e for e in lines if e["type"] == "tool_call"]
    res.stop = end["stop_reason_raw"]
    res.extra["output_items"] = [e for e in lines if e["type"] == "output_item"]
    if end["usage"] is not None:
        res.usage = (end["usage"]["input_tokens"], end["usage"]["output_tokens"])
    errors = [e for e in lines if e["type"] == "error"]
    res.error = errors[0] if errors else None
    assert end["exit_code"] == proc.returncode
    return res


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> "Runs":
    """Every case through both clients, once per module: {name: (sdk, cli, sdk requests,
    cli requests)}. The streamcli subprocesses run concurrently, each against its own
    server; the SDK runs in this process meanwhile."""
    processes = Processes(tmp_path_factory.mktemp("sdk-agreement") / "home")
    results: dict = {}
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=8) as pool:
        stack.callback(processes.close)
        cli_servers = {}
        futures = {}
        for name, case in CASES.items():
            srv = stack.enter_context(FakeServer())
            srv.enqueue(Reply(body=pieces(case)))
            cli_servers[name] = srv
            futures[name] = pool.submit(run_streamcli, case, srv.url, processes)
        sdk_srv = stack.enter_context(FakeServer())
        a_client = anthropic_sdk.Anthropic(api_key="test-key", base_url=sdk_srv.url,
                                           max_retries=0, timeout=RUN_TIMEOUT)
        o_client = openai_sdk.OpenAI(api_key="test-key", base_url=sdk_srv.url + "/v1",
                                     max_retries=0, timeout=RUN_TIMEOUT)
        sdk = {}
        for name, case in CASES.items():
            sdk_srv.enqueue(Reply(body=pieces(case)))
            before = len(sdk_srv.requests)
            client = {"anthropic": sdk_anthropic, "openai": sdk_openai,
                      "openai-responses": sdk_responses}[case.kind]
            sdk[name] = (client(a_client if case.kind == "anthropic" else o_client, case),
                         sdk_srv.requests[before:])
        for name in CASES:
            try:
                cli = futures[name].result(timeout=RUN_TIMEOUT + 5)
            except Exception as exc:  # noqa: BLE001 - reported by the tests of that case
                cli = exc
            results[name] = (sdk[name][0], cli, sdk[name][1], list(cli_servers[name].requests))
    return Runs(results)


class Runs(dict):
    """{name: (sdk, cli, sdk requests, cli requests)}; a streamcli run that broke (no
    JSON lines, a timeout) fails the tests of its own case only."""

    def __getitem__(self, name):
        sdk, cli, sdk_reqs, cli_reqs = super().__getitem__(name)
        if isinstance(cli, BaseException):
            raise AssertionError(f"the streamcli run of {name} broke: {cli!r}") from cli
        return sdk, cli, sdk_reqs, cli_reqs


# --------------------------------------------------------------------------- agreement


# Streams that both clients take as a complete, successful answer.
AGREE = [
    "anthropic/docs_basic", "anthropic/docs_tool_use", "anthropic/sdk_basic_response",
    "anthropic/sdk_compaction_response", "anthropic/sdk_fable_stream-a-refusal",
    "anthropic/sdk_fable_stream-a-toolrefusal", "anthropic/sdk_fable_stream-b-fallback",
    "anthropic/sdk_fallback_response", "anthropic/sdk_refusal_response",
    "anthropic/sdk_tool_use_response",
    "openai/chat_content_logprobs", "openai/chat_json_response_format",
    "openai/chat_long_text_json", "openai/chat_n3_multiple_choices", "openai/chat_refusal",
    "openai/chat_refusal_logprobs", "openai/chat_text_basic", "openai/chat_tool_call_nonstrict",
    "openai/chat_tool_call_single", "openai/chat_tool_call_strict",
    "openai/chat_tool_calls_parallel", "openai/compat_reasoning_content",
    "openai/compat_reasoning_field_ollama_style",
    "openai/chat_finish_length",  # the SDK raises after accumulating: see its own test
    "anthropic/sdk_incomplete_partial_json_response",  # tools compared in their own test
    "constructed/anthropic_cache_usage",
    "constructed/anthropic_cumulative_usage",
    "responses/text_basic", "responses/reasoning_summary", "responses/parallel_function_calls",
    "responses/refusal", "responses/web_search", "constructed/responses_interleaved_calls",
    "responses/incomplete_max_output_tokens",  # get_final_response() raises: own test below
]
# Streams that are not a complete answer; the SDK's and streamcli's handling is asserted
# case by case below.
DIVERGE_OR_FAIL = [
    "anthropic/docs_extended_thinking", "anthropic/midstream_overloaded_error",
    "anthropic/sdk_basic_response.no-final-blank-line", "anthropic/truncated_no_message_stop",
    "openai/midstream_error_object", "openai/truncated_no_done", "openai/vllm_style_midstream_error",
    "constructed/anthropic_bom", "constructed/openai_bom",
    "responses/failed", "responses/error_event_flat", "responses/error_event_nested",
    "responses/truncated_no_terminal_event",
]


def test_every_case_is_classified():
    names = {p if isinstance(p, str) else p.values[0] for p in AGREE}
    assert sorted(names | set(DIVERGE_OR_FAIL)) == sorted(CASES)
    assert not names & set(DIVERGE_OR_FAIL)


def assert_agree(sdk: Result, cli: Result, *, tools: bool = True) -> None:
    assert cli.text == sdk.text
    assert cli.stop == sdk.stop
    assert cli.usage == sdk.usage
    assert cli.thinking == sdk.thinking
    assert cli.refusal == sdk.refusal
    assert (cli.id, cli.model) == (sdk.id, sdk.model)
    if tools:
        # Same calls in the same order: id, name, parsed arguments (and, for OpenAI,
        # the raw argument string the SDK accumulated).
        assert [t[:3] for t in cli.tools] == [t[:3] for t in sdk.tools]
        if all(t[3] is not None for t in sdk.tools):  # the Anthropic SDK keeps no raw string
            assert [t[3] for t in cli.tools] == [t[3] for t in sdk.tools]


@pytest.mark.parametrize("name", AGREE)
def test_streamcli_agrees_with_the_sdk(runs, name):
    sdk, cli, _, _ = runs[name]
    assert sdk.error is None, f"the SDK failed: {sdk.error!r}"
    assert cli.exit_code == 0, cli.stderr
    assert cli.error is None
    assert cli.text == CASES[name].expected_text
    assert_agree(sdk, cli, tools=name != "anthropic/sdk_incomplete_partial_json_response")


def test_tool_streams_really_compare_tools(runs):
    """Guard against a vacuous comparison: the tool streams yield calls on both sides."""
    for name, count in [("anthropic/docs_tool_use", 1), ("anthropic/sdk_tool_use_response", 1),
                        ("openai/chat_tool_call_single", 1), ("openai/chat_tool_calls_parallel", 2),
                        ("openai/chat_tool_call_strict", 1), ("openai/chat_tool_call_nonstrict", 1)]:
        sdk, cli, _, _ = runs[name]
        assert len(sdk.tools) == len(cli.tools) == count, name
        assert all(line["invalid"] is False for line in cli.extra["tool_lines"])
    sdk, cli, _, _ = runs["anthropic/sdk_fable_stream-a-refusal"]
    assert sdk.thinking and cli.thinking == sdk.thinking
    sdk, cli, _, _ = runs["openai/compat_reasoning_content"]
    assert sdk.thinking and cli.thinking == sdk.thinking
    sdk, cli, _, _ = runs["openai/chat_refusal"]
    assert sdk.refusal and cli.refusal == sdk.refusal and cli.text == ""


# --------------------------------------------------------------------------- documented differences


def test_server_tool_use_is_not_a_client_tool_call(runs):
    sdk, cli, _, _ = runs["anthropic/sdk_fable_stream-a-toolrefusal"]
    assert sdk.extra["server_tools"] and sdk.extra["server_tools"][0][1] == "web_search"
    assert sdk.extra["server_tools"][0][2] == {"query": "solar eclipse viewing safety news 2026"}
    assert cli.tools == [] and sdk.tools == []


def test_unknown_block_types_are_skipped_with_the_same_text(runs):
    for name, block in [("anthropic/sdk_compaction_response", "compaction"),
                        ("anthropic/sdk_fallback_response", "fallback")]:
        sdk, cli, _, _ = runs[name]
        assert block in sdk.extra["block_types"]
        assert cli.text == sdk.text == "Hello there!"


def test_multiple_choices_streamcli_keeps_choice_zero(runs):
    sdk, cli, _, _ = runs["openai/chat_n3_multiple_choices"]
    assert sdk.extra["choices"] == 3
    assert cli.text == sdk.text  # choice 0, not a mix of the three


def test_length_stop_is_success_though_the_sdk_parser_raises(runs):
    sdk, cli, _, _ = runs["openai/chat_finish_length"]
    assert isinstance(sdk.extra.get("length_error"), openai_sdk.LengthFinishReasonError)
    assert cli.exit_code == 0 and cli.stop == sdk.stop == "length"
    assert "token limit" in cli.stderr  # the one-line warning


def test_max_tokens_cut_tool_input_is_flagged_not_silently_truncated(runs):
    sdk, cli, _, _ = runs["anthropic/sdk_incomplete_partial_json_response"]
    raw = json.loads((FIXTURES / "anthropic/sdk_incomplete_partial_json_response.summary.json")
                     .read_text())["tool_input_json"]["1"]
    # The SDK: jiter's partial mode closes the JSON and drops the unfinished string.
    (call_id, name, sdk_input, _), = sdk.tools
    assert sdk_input["lines_of_text"][-1] == "" and "Filing taxes" not in json.dumps(sdk_input)
    assert sdk.stop == "max_tokens"
    # streamcli: the raw string, flagged invalid, the same id and name.
    line, = cli.extra["tool_lines"]
    assert (line["id"], line["name"]) == (call_id, name)
    assert line["raw_arguments"] == raw and line["invalid"] is True and line["arguments"] is None
    assert cli.exit_code == 0


def test_sdk_partial_parse_of_the_cut_tool_input(runs):
    """The SDK side of the row above, asserted on its own so that it holds today."""
    sdk, cli, _, _ = runs["anthropic/sdk_incomplete_partial_json_response"]
    (_, name, sdk_input, _), = sdk.tools
    assert name == "make_file"
    assert sdk_input == {"filename": "taxes.txt", "lines_of_text": [
        "# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s", "", "## INTRODUCTION", ""]}


@pytest.mark.parametrize("name, text, stop", [
    ("anthropic/sdk_basic_response.no-final-blank-line", "Hello there!", "end_turn"),
    ("anthropic/truncated_no_message_stop", "Hello", None),
    ("openai/truncated_no_done", "I'm unable", None),
])
def test_truncated_stream_is_an_error_though_the_sdk_accepts_it(runs, name, text, stop):
    sdk, cli, _, _ = runs[name]
    assert sdk.error is None  # the SDK returns the partial message as if it were whole
    assert sdk.text == cli.text == CASES[name].expected_text == text
    assert sdk.stop == cli.stop == stop
    assert cli.usage == sdk.usage and cli.id == sdk.id
    assert cli.exit_code == 9
    assert cli.error["kind"] == "malformed" and "incomplete" in cli.error["message"]


@pytest.mark.parametrize("name, exit_code, etype, sdk_error", [
    ("anthropic/midstream_overloaded_error", 6, "overloaded_error", anthropic_sdk.APIStatusError),
    ("openai/midstream_error_object", 6, "server_error", openai_sdk.APIError),
    ("openai/vllm_style_midstream_error", 3, "BadRequestError", openai_sdk.APIError),
])
def test_in_stream_error_fails_both(runs, name, exit_code, etype, sdk_error):
    sdk, cli, _, _ = runs[name]
    summary = json.loads((FIXTURES / f"{name}.summary.json").read_text())
    assert isinstance(sdk.error, sdk_error)
    body = sdk.error.body
    body = body.get("error", body) if isinstance(body, dict) else body
    assert body["type"] == etype and body["message"] == summary["error"]["message"]
    assert cli.exit_code == exit_code
    assert cli.error["error_type"] == etype
    assert cli.error["message"] == summary["error"]["message"]
    # What arrived before the error is the same on both sides.
    assert cli.text == sdk.text == CASES[name].expected_text
    assert cli.text  # not vacuous: some text came first


def test_docs_example_without_usage(runs):
    name = "anthropic/docs_extended_thinking"
    sdk, cli, _, _ = runs[name]
    assert isinstance(sdk.error, AttributeError)  # usage None in message_start
    assert cli.exit_code == 0 and cli.error is None
    assert cli.text == CASES[name].expected_text
    assert cli.stop == "end_turn" and cli.usage is None
    summary = json.loads((FIXTURES / f"{name}.summary.json").read_text())
    assert len(cli.thinking) == summary["thinking_chars"] > 0


def test_leading_bom_is_stripped(runs):
    sdk, cli, _, _ = runs["constructed/anthropic_bom"]
    assert isinstance(sdk.error, AssertionError)  # the SDK never saw message_start
    assert cli.exit_code == 0 and cli.text == "Hello!" and cli.stop == "end_turn"
    assert cli.usage == (25, 15)

    sdk, cli, _, _ = runs["constructed/openai_bom"]
    expected = CASES["constructed/openai_bom"].expected_text
    assert sdk.error is None
    assert expected.endswith(sdk.text) and sdk.text != expected  # the first delta is lost
    assert cli.exit_code == 0 and cli.text == expected


# --------------------------------------------------------------------------- requests


@pytest.mark.parametrize("name", ["anthropic/docs_basic", "openai/chat_text_basic"])
def test_request_matches_the_sdk_request(runs, name):
    _, _, sdk_reqs, cli_reqs = runs[name]
    (sdk_req,), (cli_req,) = sdk_reqs, cli_reqs
    assert (cli_req.method, cli_req.path) == (sdk_req.method, sdk_req.path)
    assert cli_req.headers["content-type"] == sdk_req.headers["content-type"] == "application/json"
    if name.startswith("openai"):
        assert cli_req.headers["authorization"] == sdk_req.headers["authorization"] == "Bearer test-key"
    else:
        # The documented Anthropic key header and API version (the contract). The
        # installed SDK (2.12) sends `Authorization: Bearer KEY` and `anthropic-version:
        # 2026-10-21` instead: an SDK-version choice, not compared (see the table).
        assert cli_req.headers["x-api-key"] == "test-key"
        assert cli_req.headers["anthropic-version"] == "2023-06-01"
        assert sdk_req.headers.get("x-api-key") or sdk_req.headers.get("authorization")
    for key in ("model", "messages", "stream", "max_tokens"):
        assert cli_req.json.get(key) == sdk_req.json.get(key) or (
            key == "max_tokens" and "max_tokens" not in sdk_req.json), key
    if name.startswith("anthropic"):
        assert cli_req.json["max_tokens"] == sdk_req.json["max_tokens"] == MAX_TOKENS
    else:
        assert cli_req.json["stream_options"] == {"include_usage": True}


# --------------------------------------------------------------------------- the Responses API


RESPONSES_COMPLETED = ["responses/text_basic", "responses/reasoning_summary",
                       "responses/parallel_function_calls", "responses/refusal",
                       "responses/web_search", "constructed/responses_interleaved_calls"]


@pytest.mark.parametrize("name", RESPONSES_COMPLETED)
def test_responses_status_and_output_items_agree(runs, name):
    sdk, cli, _, _ = runs[name]
    assert sdk.extra["status"] == "completed"
    final = sdk.extra["final"]  # get_final_response() is the terminal event's response
    assert (final.id, final.output_text) == (sdk.id, sdk.text)
    assert cli.stop == sdk.stop in ("completed", "function_call")
    assert [(e["item_type"], e["id"], e["status"]) for e in cli.extra["output_items"]] == \
        sdk.extra["other_items"]
    assert cli.extra["lines"][0]["provider"] == "openai-responses"


def test_responses_streams_really_compare_things(runs):
    for name, calls in [("responses/parallel_function_calls", 2),
                        ("constructed/responses_interleaved_calls", 2)]:
        sdk, cli, _, _ = runs[name]
        assert len(sdk.tools) == len(cli.tools) == calls, name
        assert cli.stop == "function_call" and cli.extra["lines"][-1]["stop_reason"] == "tool_use"
    sdk, cli, _, _ = runs["responses/reasoning_summary"]
    assert sdk.thinking.count("\n\n**") == 1 and cli.thinking == sdk.thinking
    sdk, cli, _, _ = runs["responses/refusal"]
    assert sdk.refusal and cli.refusal == sdk.refusal and cli.text == ""
    sdk, cli, _, _ = runs["responses/web_search"]
    assert sdk.extra["other_items"] == [("web_search_call", sdk.extra["other_items"][0][1],
                                         "completed")]
    sdk, cli, _, _ = runs["responses/text_basic"]
    assert cli.usage == sdk.usage == (36, 29) and "🌧" in cli.text


def test_responses_incomplete_is_an_answer_with_a_warning(runs):
    sdk, cli, _, _ = runs["responses/incomplete_max_output_tokens"]
    # The SDK: no response.completed, so get_final_response() raises; the
    # response.incomplete event carries the response.
    assert isinstance(sdk.extra["final_error"], RuntimeError)
    assert sdk.extra["status"] == "incomplete" and sdk.stop == "max_output_tokens"
    assert cli.exit_code == 0 and cli.stop == "max_output_tokens"
    assert cli.extra["lines"][-1]["stop_reason"] == "max_tokens"
    assert "token limit" in cli.stderr


@pytest.mark.parametrize("name, exit_code, code", [
    ("responses/failed", 6, "server_error"),
    ("responses/error_event_flat", 3, "invalid_prompt"),
    ("responses/error_event_nested", 5, "rate_limit_exceeded"),
])
def test_responses_failures(runs, name, exit_code, code):
    sdk, cli, _, _ = runs[name]
    summary = json.loads((FIXTURES / f"{name}.summary.json").read_text())
    assert cli.exit_code == exit_code
    assert (cli.error["error_type"], cli.error["message"]) == (code, summary["error"]["message"])
    assert cli.text == sdk.text == CASES[name].expected_text  # what came before, both sides
    if name == "responses/error_event_nested":
        # The only shape the SDK raises for: `error` nested in the event's data.
        assert isinstance(sdk.error, openai_sdk.APIError)
        assert sdk.error.body["code"] == code
    elif name == "responses/error_event_flat":
        # The documented shape: the SDK hands it over as an event and raises nothing.
        assert sdk.error is None and sdk.extra["error_event"].code == code
        assert isinstance(sdk.extra["final_error"], RuntimeError)
    else:
        assert sdk.error is None and sdk.extra["status"] == "failed"
        assert isinstance(sdk.extra["final_error"], RuntimeError)


def test_responses_truncated_stream_fails_both(runs):
    sdk, cli, _, _ = runs["responses/truncated_no_terminal_event"]
    assert sdk.error is None and isinstance(sdk.extra["final_error"], RuntimeError)
    assert cli.exit_code == 9 and cli.text == sdk.text == "Once upon a"
    assert "response.completed" in cli.error["message"]


def test_responses_request_matches_the_sdk_request(runs):
    _, _, sdk_reqs, cli_reqs = runs["responses/text_basic"]
    (sdk_req,), (cli_req,) = sdk_reqs, cli_reqs
    assert (cli_req.method, cli_req.path) == (sdk_req.method, sdk_req.path) == ("POST", "/v1/responses")
    assert cli_req.headers["authorization"] == sdk_req.headers["authorization"] == "Bearer test-key"
    for key in ("model", "input", "stream", "max_output_tokens"):
        assert cli_req.json[key] == sdk_req.json[key], key
    assert cli_req.json["store"] is False and "store" not in sdk_req.json
