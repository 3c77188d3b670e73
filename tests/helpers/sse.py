"""The one builder of what the APIs send, for every test: SSE events, whole Anthropic,
OpenAI Chat Completions and OpenAI Responses streams (one bytes part per event), error bodies and events, non-streaming
response bodies, and the ways a test cuts a body into network reads.

JSON in events is compact UTF-8 (`{"a":1}`, as the APIs send it) unless a builder is
given compact=False: then json.dumps' defaults (`{"a": 1}`, non-ASCII as \\u escapes).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, Iterable, Sequence

DONE = b"data: [DONE]\n\n"  # the end of an OpenAI stream


# --------------------------------------------------------------------------- events


def dumps(obj: Any, compact: bool = True) -> str:
    if compact:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj)


def sse_event(data: Any, event: str | None = None, *, compact: bool = True) -> bytes:
    """One SSE event: optional `event:` line, one `data:` line (JSON unless str), blank line."""
    text = data if isinstance(data, str) else dumps(data, compact)
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {text}\n\n".encode("utf-8")


def sse_body(*events: Any, done: bool = False, compact: bool = True) -> bytes:
    """Several events as one body. Each is the data of an event (a JSON object or a str),
    or an (event name, data) pair; done=True adds OpenAI's `data: [DONE]`."""
    out = b""
    for item in events:
        name, data = item if isinstance(item, tuple) else (None, item)
        out += sse_event(data, name, compact=compact)
    return out + (DONE if done else b"")


# --------------------------------------------------------------------------- Anthropic


def anthropic_event(obj: dict[str, Any]) -> bytes:
    """A Messages API event: its `event:` name is its `type`."""
    return sse_event(obj, obj["type"])


def anthropic_message_start(msg_id: str = "msg_test", model: str = "claude-test",
                            input_tokens: int = 10) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }


def anthropic_block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def anthropic_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def anthropic_block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def anthropic_message_delta(stop_reason: str | None, output_tokens: int,
                            stop_sequence: str | None = None) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": output_tokens},
    }


ANTHROPIC_PING = {"type": "ping"}
ANTHROPIC_MESSAGE_STOP = {"type": "message_stop"}


def anthropic_sse(
    texts: Sequence[str],
    stop_reason: str | None = "end_turn",
    model: str = "claude-test",
    msg_id: str = "msg_test",
    input_tokens: int = 10,
    output_tokens: int | None = None,
    thinking: Sequence[str] | None = None,
    ping_after_start: bool = True,
    terminal: bool = True,
    *,
    signature: str = "sig_test",
    stop_sequence: str | None = None,
) -> list[bytes]:
    """A Messages API stream, one bytes part per event: message_start, [a thinking block
    of `thinking` deltas and a signature], a text block of `texts` deltas (a ping after the
    first block start), message_delta (output_tokens defaults to one per text delta),
    message_stop unless terminal=False."""
    events = [anthropic_message_start(msg_id, model, input_tokens)]
    index = 0
    if thinking is not None:
        events.append(anthropic_block_start(index, {"type": "thinking", "thinking": ""}))
        if ping_after_start:
            events.append(ANTHROPIC_PING)
        events += [anthropic_delta(index, {"type": "thinking_delta", "thinking": t})
                   for t in thinking]
        events.append(anthropic_delta(index, {"type": "signature_delta", "signature": signature}))
        events.append(anthropic_block_stop(index))
        index += 1
    events.append(anthropic_block_start(index, {"type": "text", "text": ""}))
    if ping_after_start and thinking is None:
        events.append(ANTHROPIC_PING)
    events += [anthropic_delta(index, {"type": "text_delta", "text": t}) for t in texts]
    events.append(anthropic_block_stop(index))
    events.append(anthropic_message_delta(
        stop_reason, output_tokens if output_tokens is not None else len(texts), stop_sequence))
    if terminal:
        events.append(ANTHROPIC_MESSAGE_STOP)
    return [anthropic_event(e) for e in events]


def anthropic_tool_stream(texts: Sequence[str], tool_json_parts: Sequence[str], *,
                          stop_reason: str = "tool_use", block_stop: bool = True,
                          output_tokens: int = 9) -> list[bytes]:
    """A Messages API stream: one text block, then one tool_use block (toolu_1,
    get_weather) fed by input_json_delta parts; block_stop=False leaves it unclosed."""
    events = [
        anthropic_message_start("msg_tool", input_tokens=20),
        anthropic_block_start(0, {"type": "text", "text": ""}),
        *(anthropic_delta(0, {"type": "text_delta", "text": t}) for t in texts),
        anthropic_block_stop(0),
        anthropic_block_start(1, {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                  "input": {}}),
        *(anthropic_delta(1, {"type": "input_json_delta", "partial_json": p})
          for p in tool_json_parts),
    ]
    if block_stop:
        events.append(anthropic_block_stop(1))
    events += [anthropic_message_delta(stop_reason, output_tokens), ANTHROPIC_MESSAGE_STOP]
    return [anthropic_event(e) for e in events]


def anthropic_error_body(type: str, message: str) -> dict[str, Any]:
    """The JSON body of a Messages API error, e.g. for Reply.json(529, ...)."""
    return {"type": "error", "error": {"type": type, "message": message}}


def anthropic_error_event(type: str, message: str) -> bytes:
    """An `event: error` SSE event as the Messages API sends mid-stream."""
    return sse_event(anthropic_error_body(type, message), "error")


def anthropic_message(text: str, *, msg_id: str = "msg_test", model: str = "claude-test",
                      input_tokens: int = 10, output_tokens: int = 2) -> dict[str, Any]:
    """A complete non-streaming Messages API response with one text block."""
    return {"id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


# --------------------------------------------------------------------------- OpenAI


def chat_chunk(choices: list[dict[str, Any]], *, chunk_id: str = "chatcmpl-test",
               model: str = "gpt-test", created: int | None = 0, **extra: Any) -> dict[str, Any]:
    """One Chat Completions chunk object (created=None leaves the field out, as some
    compatible servers do); extra fields (usage=...) go last."""
    obj: dict[str, Any] = {"id": chunk_id, "object": "chat.completion.chunk"}
    if created is not None:
        obj["created"] = created
    obj.update(model=model, choices=choices, **extra)
    return obj


def openai_sse(
    texts: Sequence[str],
    finish_reason: str | None = "stop",
    model: str = "gpt-test",
    chunk_id: str = "chatcmpl-test",
    usage: bool = True,
    done: bool = True,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int | None = None,
) -> list[bytes]:
    """A Chat Completions stream, one bytes part per chunk: the role chunk, one chunk per
    text, the finish chunk, [a usage chunk], [`data: [DONE]`]."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse_event(chat_chunk(choices, chunk_id=chunk_id, model=model, **extra))

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    events = [chunk([choice({"role": "assistant", "content": ""})])]
    events.extend(chunk([choice({"content": t})]) for t in texts)
    events.append(chunk([choice({}, finish_reason)]))
    if usage:
        n = completion_tokens if completion_tokens is not None else len(texts)
        events.append(chunk([], usage={"prompt_tokens": prompt_tokens, "completion_tokens": n,
                                       "total_tokens": prompt_tokens + n}))
    if done:
        events.append(DONE)
    return events


def openai_tool_stream(texts: Sequence[str], calls: Iterable[tuple], *,
                       finish: str = "tool_calls", output_tokens: int = 9) -> list[bytes]:
    """A Chat Completions stream: text deltas, then tool call deltas [(index, id, name,
    args)] in the order given (so parallel calls can interleave; id None: a later delta of
    that call), then finish, usage, [DONE]."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse_event(chat_chunk(choices, chunk_id="chatcmpl-tool", **extra))

    events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                      "finish_reason": None}])]
    events += [chunk([{"index": 0, "delta": {"content": t}, "finish_reason": None}])
               for t in texts]
    for index, call_id, name, args in calls:
        call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
        if call_id:
            call.update(id=call_id, type="function")
            call["function"]["name"] = name
        events.append(chunk([{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]))
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
    events.append(chunk([], usage={"prompt_tokens": 20, "completion_tokens": output_tokens,
                                   "total_tokens": 20 + output_tokens}))
    events.append(DONE)
    return events


def openai_error_body(
    message: str, type: str = "server_error", code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The JSON body of a Chat Completions error, e.g. for Reply.json(429, ...)."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def openai_error_event(message: str, type: str = "server_error", code: str | None = None) -> bytes:
    """A `data: {"error": ...}` SSE event as OpenAI sends when a stream fails midway."""
    return sse_event(openai_error_body(message, type, code))


def chat_completion(text: str, *, completion_id: str = "chatcmpl-test", model: str = "gpt-test",
                    prompt_tokens: int = 10, completion_tokens: int = 2) -> dict[str, Any]:
    """A complete non-streaming Chat Completions response with one choice."""
    return {"id": completion_id, "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


# --------------------------------------------------------------------------- OpenAI Responses API


def responses_event(obj: dict[str, Any]) -> bytes:
    """A Responses API event: its `event:` name is its `type`."""
    return sse_event(obj, obj["type"])


def response_object(text: str = "", *, resp_id: str = "resp_test", model: str = "gpt-test",
                    status: str = "completed", output: list | None = None,
                    input_tokens: int = 10, output_tokens: int = 2,
                    reason: str | None = None) -> dict[str, Any]:
    """A Response object (the body of a non-streaming request, and what the lifecycle
    events carry): one message item with `text` unless `output` is given."""
    if output is None:
        output = [{"id": "msg_test", "type": "message", "status": status, "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": []}]}] if text else []
    usage = None if status == "in_progress" else {
        "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens}
    return {"id": resp_id, "object": "response", "created_at": 0, "status": status,
            "error": None, "incomplete_details": {"reason": reason} if reason else None,
            "model": model, "output": output, "usage": usage}


def responses_sse(texts: Sequence[str], *, status: str = "completed", reason: str | None = None,
                  model: str = "gpt-test", resp_id: str = "resp_test", input_tokens: int = 10,
                  output_tokens: int | None = None, terminal: bool = True,
                  thinking: Sequence[str] | None = None) -> list[bytes]:
    """A Responses API stream, one bytes part per event: response.created, [a reasoning
    item of `thinking` summary deltas], a message item (output_item.added,
    content_part.added, one output_text.delta per text, the .done events), then
    response.completed (or response.incomplete with `reason`) unless terminal=False.
    output_tokens defaults to one per text delta."""
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_object(
            resp_id=resp_id, model=model, status="in_progress", output=[])}]
    index = 0
    if thinking is not None:
        events += [
            {"type": "response.output_item.added", "output_index": 0,
             "item": {"id": "rs_test", "type": "reasoning", "summary": []}},
            {"type": "response.reasoning_summary_part.added", "item_id": "rs_test",
             "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
            *({"type": "response.reasoning_summary_text.delta", "item_id": "rs_test",
               "output_index": 0, "summary_index": 0, "delta": t} for t in thinking),
            {"type": "response.output_item.done", "output_index": 0,
             "item": {"id": "rs_test", "type": "reasoning",
                      "summary": [{"type": "summary_text", "text": "".join(thinking)}]}}]
        index = 1
    text = "".join(texts)
    item_status = "incomplete" if status == "incomplete" else "completed"
    message = {"id": "msg_test", "type": "message", "status": item_status, "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    where = {"item_id": "msg_test", "output_index": index, "content_index": 0}
    events += [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**message, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **where,
         "part": {"type": "output_text", "text": "", "annotations": []}},
        *({"type": "response.output_text.delta", **where, "delta": t, "logprobs": []}
          for t in texts),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": message["content"][0]},
        {"type": "response.output_item.done", "output_index": index, "item": message}]
    if terminal:
        final = response_object(
            resp_id=resp_id, model=model, status=status, reason=reason, output=[message],
            input_tokens=input_tokens,
            output_tokens=output_tokens if output_tokens is not None else len(texts))
        events.append({"type": f"response.{status}", "response": final})
    return [responses_event({**e, "sequence_number": n}) for n, e in enumerate(events)]


def responses_error_event(code: str | None, message: str, *, nested: bool = False,
                          etype: str | None = None) -> bytes:
    """An `error` event: documented flat (code, message at the top) or nested under
    `error`, as the API has been seen to send it."""
    if nested:
        obj = {"type": "error", "sequence_number": 99,
               "error": {"type": etype, "code": code, "message": message, "param": None}}
    else:
        obj = {"type": "error", "sequence_number": 99, "code": code, "message": message,
               "param": None}
    return responses_event(obj)


def responses_failed_event(code: str, message: str, *, resp_id: str = "resp_test") -> bytes:
    """response.failed with its error object."""
    response = {**response_object(resp_id=resp_id, status="failed"),
                "error": {"code": code, "message": message}, "usage": None}
    return responses_event({"type": "response.failed", "sequence_number": 98,
                            "response": response})


# --------------------------------------------------------------------------- any provider


def provider_sse(provider: str, texts: Sequence[str] = ("Hel", "lo"), **kw: Any) -> list[bytes]:
    """anthropic_sse, openai_sse or responses_sse, by provider (protocol) name."""
    build = {"anthropic": anthropic_sse, "openai": openai_sse,
             "openai-responses": responses_sse}[provider]
    return build(list(texts), **kw)


def first_text_index(provider: str) -> int:
    """Index of the first text delta in provider_sse(): after message_start,
    content_block_start and ping (Anthropic), after the role chunk (OpenAI), after
    response.created, output_item.added and content_part.added (Responses)."""
    return {"anthropic": 3, "openai": 1, "openai-responses": 3}[provider]


def partial_sse(provider: str) -> list[bytes]:
    """The start of provider_sse(provider), up to and including the deltas "Hel" and "lo"."""
    return provider_sse(provider)[:first_text_index(provider) + 2]


def message(provider: str, text: str, **kw: Any) -> dict[str, Any]:
    """anthropic_message, chat_completion or response_object, by provider name."""
    return {"anthropic": anthropic_message, "openai": chat_completion,
            "openai-responses": response_object}[provider](text, **kw)


# --------------------------------------------------------------------------- cutting into reads


def bytewise(body: bytes) -> list[bytes]:
    """One read per byte."""
    return [body[i:i + 1] for i in range(len(body))]


def split_at(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Reads that end at each of the (sorted) cut positions; equal cuts give empty reads."""
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:])]


def fixed_size(body: bytes, size: int) -> list[bytes]:
    """Reads of `size` bytes (the last one shorter)."""
    return [body[i:i + size] for i in range(0, len(body), size)]


def cycling_sizes(body: bytes, sizes: Sequence[int] = (1, 2, 3, 5, 7, 11)) -> list[bytes]:
    """Reads whose sizes go round `sizes`, so multi-byte characters and line ends are cut
    at every offset."""
    out, i, k = [], 0, 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        out.append(body[i:i + n])
        i, k = i + n, k + 1
    return out


def random_sizes(body: bytes, seed: Any, largest: int = 150) -> list[bytes]:
    """Reads of seeded random sizes from 1 to `largest` bytes."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(body):
        n = rng.randint(1, largest)
        out.append(body[i:i + n])
        i += n
    return out


def crlf_split(body: bytes) -> list[bytes]:
    """CRLF line ends, with every CR at the end of one read and its LF at the start of the next."""
    body = body.replace(b"\n", b"\r\n")
    parts = body.split(b"\r")
    return [p + b"\r" for p in parts[:-1]] + [parts[-1]]


def per_event(body: bytes) -> list[bytes]:
    """The body cut after every blank line (an event's end): one event per read, as the
    APIs frame their streams."""
    cuts = [m.end() for m in re.finditer(rb"\r\n\r\n|\n\n|\r\r", body)]
    return split_at(body, [c for c in cuts if c < len(body)])


def lines(body: bytes) -> list[bytes]:
    """The body cut after every LF: reads that end inside an event."""
    return split_at(body, [m.end() for m in re.finditer(rb"\n", body) if m.end() < len(body)])


def before_data_lines(body: bytes) -> list[bytes]:
    """The body cut before every `data:` line: an `event:` line arrives alone, and the
    decoder holds it when the data line comes."""
    return split_at(body, [m.start() + 1 for m in re.finditer(rb"\ndata:", body)])


# --------------------------------------------------------------------------- model listings


def anthropic_models_page(ids: Sequence[str], *, has_more: bool) -> dict[str, Any]:
    """One page of Anthropic's GET /v1/models (newest first; `last_id` is the cursor)."""
    data = [{"type": "model", "id": i, "display_name": i.replace("-", " ").title(),
             "created_at": "2026-01-01T00:00:00Z"} for i in ids]
    return {"data": data, "has_more": has_more, "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None}


def openai_models_list(ids: Sequence[str]) -> dict[str, Any]:
    """OpenAI's (and compatible servers') GET /models body."""
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 0,
                                        "owned_by": "system"} for i in ids]}
