"""The Anthropic Messages API: stream events (and whole responses) to normalized events."""

from __future__ import annotations

import json

from streamcli.errors import MalformedStream
from streamcli.events import (DONE, Start, Stop, SurrogateJoin, Text, Thinking, ToolCall, Usage,
                              tool_call)
from streamcli.redact import excerpt
from streamcli.providers.errors import error_from_body, error_from_event
from streamcli.providers.anthropic.request import NAME, REQUEST_ID_HEADER


def error_from_response(status: int, body: bytes, headers):
    return error_from_body(status, body, headers, REQUEST_ID_HEADER)


class StreamMapper:
    """Turns Anthropic SSE events into normalized events; remembers what the end needs."""

    provider = NAME

    def __init__(self) -> None:
        self.complete = False  # message_stop seen
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
        data = ev.data
        try:
            obj = json.loads(data)
        except ValueError:
            raise MalformedStream(f"invalid JSON in a {ev.event!r} event: {excerpt(data)}") from None
        if not isinstance(obj, dict):
            raise MalformedStream(f"unexpected data in a {ev.event!r} event: {excerpt(data)}")
        kind = obj.get("type") or ev.event
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                self.join.add(Text, delta.get("text", ""), out)
            elif dtype == "thinking_delta":
                self.join.add(Thinking, delta.get("thinking", ""), out)
            elif dtype == "input_json_delta":
                tool = self._tools.get(obj.get("index"))
                if tool is not None:
                    tool[2].append(delta.get("partial_json", ""))
        elif kind == "message_start":
            self._message_start(obj.get("message") or {}, out)
        elif kind == "content_block_start":
            self._block_start(obj.get("index"), obj.get("content_block") or {}, out)
        elif kind == "content_block_stop":
            tool = self._tools.pop(obj.get("index"), None)
            if tool is not None:
                out.append(tool_call(tool[0], tool[1], "".join(tool[2])))
        elif kind == "message_delta":
            # A tool block cut off by max_tokens gets no content_block_stop: report it now.
            self.join.flush(out)
            self._flush_tools(out)
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                self.stop_raw = reason
                out.append(Stop(reason))
            self._usage(obj.get("usage"))
        elif kind == "message_stop":
            self.join.flush(out)
            self._flush_tools(out)
            self.complete = True
            out.append(DONE)
        elif kind == "error":
            raise error_from_event(obj, request_id=obj.get("request_id"))
        # ping and unknown event types are ignored: the API may add new ones at any time.

    def _message_start(self, message: dict, out: list) -> None:
        self.id = message.get("id")
        self.model = message.get("model")
        out.append(Start(NAME, self.model, self.id))
        self._usage(message.get("usage"))

    def _block_start(self, index, block: dict, out: list) -> None:
        btype = block.get("type")
        if btype == "text":
            if block.get("text"):
                self.join.add(Text, block["text"], out)
        elif btype == "thinking":
            if block.get("thinking"):
                self.join.add(Thinking, block["thinking"], out)
        elif btype == "tool_use":
            initial = block.get("input")
            parts = [json.dumps(initial)] if initial and isinstance(initial, dict) else []
            self._tools[index] = [block.get("id"), block.get("name"), parts]

    def _flush_tools(self, out: list) -> None:
        for index in sorted(self._tools):
            tool_id, name, parts = self._tools[index]
            out.append(tool_call(tool_id, name, "".join(parts)))
        self._tools.clear()

    def _usage(self, usage) -> None:
        if not isinstance(usage, dict):
            return
        # Later events repeat some counts (cumulative) and may leave others out: merge.
        self.raw_usage.update(usage)
        raw = self.raw_usage
        if isinstance(raw.get("input_tokens"), int):
            # The API bills cache reads and writes as input too; count them in.
            self.input_tokens = raw["input_tokens"] + sum(
                raw[k] for k in ("cache_creation_input_tokens", "cache_read_input_tokens")
                if isinstance(raw.get(k), int))
        if isinstance(usage.get("output_tokens"), int):
            self.output_tokens = usage["output_tokens"]

    def usage(self) -> Usage | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return Usage(self.input_tokens, self.output_tokens, dict(self.raw_usage))

    def check_end(self, stray_error: bytes | None = None) -> None:
        """Called at a clean end of the body."""
        if not self.complete:
            raise MalformedStream("the stream ended before message_stop: the answer is incomplete")


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming response, mapped to the same events a stream would give."""
    if obj.get("type") == "error":
        raise error_from_event(obj)
    mapper = StreamMapper()
    mapper._message_start(obj, out)
    for block in obj.get("content") or []:
        btype = block.get("type")
        if btype == "text":
            out.append(Text(block.get("text", "")))
        elif btype == "thinking":
            out.append(Thinking(block.get("thinking", "")))
        elif btype == "tool_use":
            inp = block.get("input")
            out.append(ToolCall(block.get("id"), block.get("name"), inp, json.dumps(inp), False))
    if obj.get("stop_reason"):
        mapper.stop_raw = obj["stop_reason"]
        out.append(Stop(obj["stop_reason"]))
    mapper.complete = True
    out.append(DONE)
    return mapper
