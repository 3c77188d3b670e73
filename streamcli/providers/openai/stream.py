"""OpenAI Chat Completions (and compatible servers): stream events (and whole responses) to normalized events."""

from __future__ import annotations

import json

from streamcli.errors import MalformedStream
from streamcli.events import (DONE, Refusal, Start, Stop, SurrogateJoin, Text, Thinking, Usage,
                              tool_call)
from streamcli.redact import excerpt
from streamcli.providers.errors import error_from_body, error_from_event
from streamcli.providers.openai.request import NAME, REQUEST_ID_HEADER


def error_from_response(status: int, body: bytes, headers):
    return error_from_body(status, body, headers, REQUEST_ID_HEADER)


class StreamMapper:
    """Turns chat.completion.chunk objects into normalized events.

    One answer is requested; if a server sends several choices anyway, index 0 is the
    answer and the others only count for the "finish_reason on every choice" end rule.
    """

    provider = NAME

    def __init__(self) -> None:
        self.complete = False  # [DONE] seen
        self.join = SurrogateJoin()
        self.started = False
        self.id: str | None = None
        self.model: str | None = None
        self.stop_raw: str | None = None
        self.finished: dict[int, str | None] = {}  # choice index -> finish_reason
        self._usage: Usage | None = None
        self._tools: dict = {}  # slot -> [id, name, [argument parts]], in arrival order
        self._slot_of: dict = {}  # tool_calls index -> its current slot

    def feed(self, ev, out: list) -> None:
        data = ev.data
        if data == "[DONE]":
            self.complete = True
            self.join.flush(out)
            self._flush_tools(out)
            out.append(DONE)
            return
        try:
            obj = json.loads(data)
        except ValueError:
            raise MalformedStream(f"invalid JSON in a data line: {excerpt(data)}") from None
        if not isinstance(obj, dict):
            raise MalformedStream(f"unexpected data line: {excerpt(data)}")
        if obj.get("error") or ev.event == "error":
            raise error_from_event(obj)
        if not self.started and (obj.get("id") or obj.get("choices")):
            # Azure opens with a chunk of prompt filter results: no id, no model, no
            # choices. The answer starts with the first chunk that has one of them.
            self.started = True
            self.id = obj.get("id") or None
            self.model = obj.get("model") or None
            out.append(Start(NAME, self.model, self.id))
        choices = obj.get("choices")
        if choices:
            for choice in choices:
                self._choice(choice, out)
        usage = obj.get("usage")
        if usage:
            self._usage = _usage(usage)

    def _choice(self, choice: dict, out: list) -> None:
        index = choice.get("index") or 0
        delta = choice.get("delta")
        if index == 0 and delta:
            content = delta.get("content")
            if content:
                self.join.add(Text, content, out)
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                self.join.add(Thinking, reasoning, out)
            refusal = delta.get("refusal")
            if refusal:
                self.join.add(Refusal, refusal, out)
            calls = delta.get("tool_calls")
            if calls:
                self._tool_deltas(calls)
        reason = choice.get("finish_reason")
        if reason:
            self.finished[index] = reason
            if index == 0:
                self.join.flush(out)
                self._flush_tools(out)
                self.stop_raw = reason
                out.append(Stop(reason))
        elif index not in self.finished:
            self.finished[index] = None

    def _tool_deltas(self, calls: list) -> None:
        for call in calls:
            index = call.get("index") or 0
            slot = self._tools.get(self._slot_of.get(index, index))
            call_id = call.get("id")
            if slot is None or (call_id and slot[0] and call_id != slot[0]):
                # A new call. Some compatible servers (Gemini) send parallel calls all
                # at index 0, told apart only by their ids: give each its own slot.
                key = index if slot is None else (index, len(self._tools))
                slot = self._tools[key] = [None, None, []]
                self._slot_of[index] = key
            if call_id:
                slot[0] = call_id
            function = call.get("function") or {}
            if function.get("name"):
                slot[1] = function["name"]
            if function.get("arguments"):
                slot[2].append(function["arguments"])

    def _flush_tools(self, out: list) -> None:
        for call_id, name, parts in self._tools.values():
            out.append(tool_call(call_id, name, "".join(parts)))
        self._tools.clear()
        self._slot_of.clear()

    def usage(self) -> Usage | None:
        return self._usage

    def check_end(self, stray_error: bytes | None = None) -> None:
        """Called at a clean end of the body: was the answer complete?"""
        if self.complete and any(self.finished.values()):
            return
        if stray_error:
            # Old llama.cpp sent mid-stream errors as a non-standard `error:` SSE field,
            # which SSE parsers ignore; surface it instead of calling the answer complete.
            try:
                obj = json.loads(stray_error)
            except ValueError:
                obj = {"message": stray_error.decode("utf-8", "replace")}
            if isinstance(obj, dict):
                raise error_from_event(obj)
        if self.complete:
            return
        if self.finished and all(self.finished.values()):
            return
        raise MalformedStream("the stream ended without [DONE] or a finish_reason: "
                              "the answer is incomplete")


def _usage(usage: dict) -> Usage:
    return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"), usage)


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming chat.completion, mapped to the same events a stream would give."""
    if obj.get("error"):
        raise error_from_event(obj)
    mapper = StreamMapper()
    mapper.id, mapper.model = obj.get("id"), obj.get("model")
    out.append(Start(NAME, mapper.model, mapper.id))
    choices = obj.get("choices") or [{}]
    choice = next((c for c in choices if (c.get("index") or 0) == 0), choices[0])
    message = choice.get("message") or {}
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        out.append(Thinking(reasoning))
    if message.get("content"):
        out.append(Text(message["content"]))
    if message.get("refusal"):
        out.append(Refusal(message["refusal"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        out.append(tool_call(call.get("id"), function.get("name"), function.get("arguments") or ""))
    if choice.get("finish_reason"):
        mapper.stop_raw = choice["finish_reason"]
        out.append(Stop(choice["finish_reason"]))
    if obj.get("usage"):
        mapper._usage = _usage(obj["usage"])
    mapper.complete = True
    out.append(DONE)
    return mapper
