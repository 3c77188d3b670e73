"""The Anthropic Messages API: its events (and whole responses) as normalized events."""

from __future__ import annotations

import json

from streamcli.errors import MalformedStream
from streamcli.events import (DONE, Start, Stop, SurrogateJoin, Text, Thinking, ToolCall, Usage,
                              tool_call)
from streamcli.providers import fields
from streamcli.providers.errors import error_from_body, error_from_event
from streamcli.providers.fields import WrongType
from streamcli.providers.anthropic.request import NAME, REQUEST_ID_HEADER
from streamcli.redact import excerpt
from streamcli.sse import STRAY_ERROR

_COUNTS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
           "cache_read_input_tokens")


def error_from_response(status: int, body: bytes, headers):
    return error_from_body(status, body, headers, REQUEST_ID_HEADER)


class StreamMapper:
    """Turns Anthropic SSE events into normalized events; remembers what the end needs.

    Every field it reads is type-checked where it is read (`fields`): valid JSON of the
    wrong shape is a malformed stream, never an exception of another kind."""

    provider = NAME

    def __init__(self) -> None:
        self.complete = False  # message_stop seen
        self.started = False  # message_start seen
        self.join = SurrogateJoin()
        self.id: str | None = None
        self.model: str | None = None
        self.stop_raw: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.raw_usage: dict = {}
        self._tools: dict[int, list] = {}  # block index -> [id, name, [json parts]]

    def feed(self, ev, out: list) -> None:
        """Map one SSE event, appending normalized events to `out`."""
        if ev.event is STRAY_ERROR:  # a non-standard `error:` field: not the Messages API's
            return
        obj = fields.parse(ev.data, ev.event)
        try:
            self._event(obj.get("type") or ev.event, obj, out)
        except WrongType as exc:
            raise fields.malformed(exc, f"a {ev.event!r} event", ev.data) from None

    def _event(self, kind, obj: dict, out: list) -> None:
        if kind == "content_block_delta":
            delta = fields.obj(obj.get("delta"), "delta")
            if delta is None:
                return
            dtype = delta.get("type")
            if dtype == "text_delta":
                text = fields.string(delta.get("text"), "delta.text")
                if text is not None:
                    self.join.add(Text, text, out)
            elif dtype == "thinking_delta":
                text = fields.string(delta.get("thinking"), "delta.thinking")
                if text is not None:
                    self.join.add(Thinking, text, out)
            elif dtype == "input_json_delta":
                tool = self._tools.get(fields.index(obj.get("index")))
                part = fields.string(delta.get("partial_json"), "delta.partial_json")
                if tool is not None and part:
                    tool[2].append(part)
        elif kind == "message_start":
            self._message_start(fields.obj(obj.get("message"), "message") or {}, out)
        elif kind == "content_block_start":
            self._block_start(fields.index(obj.get("index")),
                              fields.obj(obj.get("content_block"), "content_block") or {}, out)
        elif kind == "content_block_stop":
            if self.join.held:
                self.join.flush(out)
            tool = self._tools.pop(fields.index(obj.get("index")), None)
            if tool is not None:
                out.append(tool_call(tool[0], tool[1], "".join(tool[2])))
        elif kind == "message_delta":
            delta = fields.obj(obj.get("delta"), "delta") or {}
            reason = fields.string(delta.get("stop_reason"), "delta.stop_reason")
            self._usage(obj.get("usage"))
            # A tool block cut off by max_tokens gets no content_block_stop: report it now.
            self.join.flush(out)
            self._flush_tools(out)
            if reason:
                self.stop_raw = reason
                out.append(Stop(reason))
        elif kind == "message_stop":
            self.join.flush(out)
            self._flush_tools(out)
            self.complete = True
            out.append(DONE)
        elif kind == "error":
            raise error_from_event(obj, request_id=obj.get("request_id"))
        elif kind.__class__ is not str:
            raise WrongType("type", kind, "a string")
        # ping and unknown event types are ignored: the API may add new ones at any time.

    def _message_start(self, message: dict, out: list) -> None:
        self.id = fields.string(message.get("id"), "message.id")
        self.model = fields.string(message.get("model"), "message.model")
        self._usage(message.get("usage"))
        self.started = True
        out.append(Start(NAME, self.model, self.id))

    def _block_start(self, index: int | None, block: dict, out: list) -> None:
        btype = block.get("type")
        if btype == "text":
            text = fields.string(block.get("text"), "content_block.text")
            if text:
                self.join.add(Text, text, out)
        elif btype == "thinking":
            text = fields.string(block.get("thinking"), "content_block.thinking")
            if text:
                self.join.add(Thinking, text, out)
        elif btype == "tool_use":
            tool_id = fields.string(block.get("id"), "content_block.id")
            name = fields.string(block.get("name"), "content_block.name")
            initial = fields.obj(block.get("input"), "content_block.input")
            if index is None:
                raise WrongType("index", index, "an integer")
            self._tools[index] = [tool_id, name, [json.dumps(initial)] if initial else []]

    def _flush_tools(self, out: list) -> None:
        for index in sorted(self._tools):
            tool_id, name, parts = self._tools[index]
            out.append(tool_call(tool_id, name, "".join(parts)))
        self._tools.clear()

    def _usage(self, usage) -> None:
        # Later events repeat some counts (cumulative) and may leave others out, or send
        # them as null ("not sent"): merge, keeping what an earlier event gave.
        fields.merge_usage(self.raw_usage, usage, _COUNTS)
        raw = self.raw_usage
        if raw.get("input_tokens") is not None:
            # The API bills cache reads and writes as input too; count them in.
            self.input_tokens = min(fields.MAX_COUNT, raw["input_tokens"] + sum(
                raw.get(k) or 0 for k in ("cache_creation_input_tokens",
                                          "cache_read_input_tokens")))
        self.output_tokens = raw.get("output_tokens")

    def usage(self) -> Usage | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return Usage(self.input_tokens, self.output_tokens, dict(self.raw_usage))

    def check_end(self, stray_error: bytes | str | None = None) -> None:
        """Called at a clean end of the body."""
        if not self.complete:
            raise MalformedStream("the stream ended before message_stop: the answer is incomplete")


def is_message(obj: dict) -> bool:
    """A whole Messages API response (or an error object) rather than something else."""
    return (obj.get("type") in ("message", "error") or isinstance(obj.get("content"), list)
            or bool(obj.get("error")))


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming response, mapped to the same events a stream would give."""
    if obj.get("type") == "error" or obj.get("error"):
        raise error_from_event(obj, request_id=obj.get("request_id"))
    try:
        return _parse_message(obj, out)
    except WrongType as exc:
        raise fields.malformed(exc, "the response", json.dumps(obj)) from None


def _parse_message(obj: dict, out: list) -> StreamMapper:
    content = fields.array(obj.get("content"), "content")
    if content is None or obj.get("type", "message") != "message":
        raise MalformedStream(f"the response is not a Messages API message: "
                              f"{excerpt(json.dumps(obj))}")
    mapper = StreamMapper()
    mapper._message_start(obj, out)
    for block in content:
        block = fields.obj(block, "content[]") or {}
        btype = block.get("type")
        if btype == "text":
            out.append(Text(fields.string(block.get("text"), "content[].text") or ""))
        elif btype == "thinking":
            out.append(Thinking(fields.string(block.get("thinking"), "content[].thinking") or ""))
        elif btype == "tool_use":
            inp = fields.obj(block.get("input"), "content[].input")
            inp = {} if inp is None else inp
            out.append(ToolCall(fields.string(block.get("id"), "content[].id"),
                                fields.string(block.get("name"), "content[].name"),
                                inp, json.dumps(inp), False))
    reason = fields.string(obj.get("stop_reason"), "stop_reason")
    if reason:
        mapper.stop_raw = reason
        out.append(Stop(reason))
    mapper.complete = True
    out.append(DONE)
    return mapper
