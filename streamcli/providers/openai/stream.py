"""OpenAI Chat Completions: its chunks (and whole responses) as normalized events."""

from __future__ import annotations

import json

from streamcli import safejson
from streamcli.errors import MalformedStream
from streamcli.events import (DONE, Refusal, Start, Stop, SurrogateJoin, Text, Thinking, Usage,
                              tool_call)
from streamcli.providers import fields
from streamcli.providers.errors import error_from_body, error_from_event
from streamcli.providers.fields import WrongType
from streamcli.providers.openai.request import NAME, REQUEST_ID_HEADER
from streamcli.redact import excerpt
from streamcli.sse import STRAY_ERROR

_COUNTS = ("prompt_tokens", "completion_tokens")


def error_from_response(status: int, body: bytes, headers):
    return error_from_body(status, body, headers, REQUEST_ID_HEADER)


class StreamMapper:
    """Turns chat.completion.chunk objects into normalized events.

    One answer is requested; if a server sends several choices anyway, index 0 is the
    answer and the others only count for the "finish_reason on every choice" end rule.
    Every field it reads is type-checked where it is read (`fields`).
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
        self.raw_usage: dict | None = None
        self.stray_error: str | None = None  # an `error:` field before the terminal event
        self._tools: dict = {}  # slot -> [id, name, [argument parts]], in arrival order
        self._slot_of: dict = {}  # tool_calls index -> its current slot

    def feed(self, ev, out: list) -> None:
        data = ev.data
        if ev.event is STRAY_ERROR:  # before the terminal event, or the mapper is not fed
            self.stray_error = data
            return
        if data == "[DONE]":
            self.complete = True
            self.join.flush(out)
            self._flush_tools(out)
            out.append(DONE)
            return
        obj = fields.parse(data, ev.event)
        if obj.get("error") or ev.event == "error":
            raise error_from_event(obj)
        try:
            self._chunk(obj, out)
        except WrongType as exc:
            raise fields.malformed(exc, f"a {ev.event!r} event", data) from None

    def _chunk(self, obj: dict, out: list) -> None:
        choices = fields.array(obj.get("choices"), "choices")
        if not self.started and (obj.get("id") or choices):
            # Azure opens with a chunk of prompt filter results: no id, no model, no
            # choices. The answer starts with the first chunk that has one of them.
            self.id = fields.string(obj.get("id"), "id") or None
            self.model = fields.string(obj.get("model"), "model") or None
            self.started = True
            out.append(Start(NAME, self.model, self.id))
        if choices:
            for choice in choices:
                self._choice(choice, out)
        usage = obj.get("usage")
        if usage is not None:
            self.raw_usage = _merged(self.raw_usage, usage)

    def _choice(self, choice, out: list) -> None:
        if choice.__class__ is not dict:
            raise WrongType("choices[]", choice, "an object")
        index = fields.index(choice.get("index"), "choices[].index") or 0
        delta = fields.obj(choice.get("delta"), "delta")
        reason = fields.string(choice.get("finish_reason"), "finish_reason")
        if index == 0 and delta:
            # Inline type checks for the per-delta fields: this runs once per delta.
            content = delta.get("content")
            if content is not None:
                if content.__class__ is not str:
                    raise WrongType("delta.content", content, "a string")
                if content:
                    self.join.add(Text, content, out)
            if content is None or len(delta) > 1 + ("role" in delta):  # more than those
                self._delta_rest(delta, out)
        if reason:
            self.finished[index] = reason
            if index == 0:
                self.join.flush(out)
                self._flush_tools(out)
                self.stop_raw = reason
                out.append(Stop(reason))
        elif index not in self.finished:
            self.finished[index] = None

    def _delta_rest(self, delta: dict, out: list) -> None:
        """A delta's reasoning, refusal and tool calls."""
        reasoning = (fields.string(delta.get("reasoning_content"), "delta.reasoning_content")
                     or fields.string(delta.get("reasoning"), "delta.reasoning"))
        if reasoning:
            self.join.add(Thinking, reasoning, out)
        refusal = fields.string(delta.get("refusal"), "delta.refusal")
        if refusal:
            self.join.add(Refusal, refusal, out)
        calls = fields.array(delta.get("tool_calls"), "delta.tool_calls")
        if calls:
            self._tool_deltas(calls)

    def _tool_deltas(self, calls: list) -> None:
        for call in calls:
            call_id, name, arguments, index = _call_fields(call, "delta.tool_calls[]")
            slot = self._tools.get(self._slot_of.get(index, index))
            if slot is None or (call_id and slot[0] and call_id != slot[0]):
                # A new call. Some compatible servers (Gemini) send parallel calls all
                # at index 0, told apart only by their ids: give each its own slot.
                key = index if slot is None else (index, len(self._tools))
                slot = self._tools[key] = [None, None, []]
                self._slot_of[index] = key
            if call_id:
                slot[0] = call_id
            if name:
                slot[1] = name
            if arguments:
                slot[2].append(arguments)

    def _flush_tools(self, out: list) -> None:
        for call_id, name, parts in self._tools.values():
            out.append(tool_call(call_id, name, "".join(parts)))
        self._tools.clear()
        self._slot_of.clear()

    def usage(self) -> Usage | None:
        raw = self.raw_usage
        if raw is None:
            return None
        return Usage(raw.get("prompt_tokens"), raw.get("completion_tokens"), dict(raw))

    def check_end(self, stray_error: bytes | str | None = None) -> None:
        """Called at a clean end of the body: was the answer complete? `stray_error`: the
        decoder's, for a caller whose decoder does not report them as events."""
        if self.complete and any(self.finished.values()):
            return
        stray = self.stray_error if self.stray_error is not None else stray_error
        if stray:
            # Old llama.cpp sent mid-stream errors as a non-standard `error:` SSE field,
            # which SSE parsers ignore; surface it instead of calling the answer complete.
            try:
                obj = safejson.loads(stray)
            except ValueError:
                obj = {"message": stray if isinstance(stray, str)
                       else stray.decode("utf-8", "replace")}
            if isinstance(obj, dict):
                raise error_from_event(obj)
        if self.complete:
            return
        if self.finished and all(self.finished.values()):
            return
        raise MalformedStream("the stream ended without [DONE] or a finish_reason: "
                              "the answer is incomplete")


def _merged(raw: dict | None, usage) -> dict | None:
    """`raw` with a usage object merged in (None while no usage field was ever sent;
    servers that stream usage in every chunk send it cumulative, null when unknown)."""
    merged = dict(raw) if raw else {}
    fields.merge_usage(merged, usage, _COUNTS)
    return merged or raw


def _call_fields(call, what: str) -> tuple:
    """(id, name, arguments, index) of a tool call object, type-checked."""
    if call.__class__ is not dict:
        raise WrongType(what, call, "an object")
    function = fields.obj(call.get("function"), f"{what}.function") or {}
    return (fields.string(call.get("id"), f"{what}.id"),
            fields.string(function.get("name"), f"{what}.function.name"),
            fields.string(function.get("arguments"), f"{what}.function.arguments"),
            fields.index(call.get("index"), f"{what}.index") or 0)


def is_message(obj: dict) -> bool:
    """A whole chat.completion (or an error object) rather than something else."""
    return isinstance(obj.get("choices"), list) or bool(obj.get("error"))


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming chat.completion, mapped to the same events a stream would give."""
    if obj.get("error"):
        raise error_from_event(obj)
    try:
        return _parse_message(obj, out)
    except WrongType as exc:
        raise fields.malformed(exc, "the response", json.dumps(obj)) from None


def _parse_message(obj: dict, out: list) -> StreamMapper:
    choices = fields.array(obj.get("choices"), "choices")
    if choices is None:
        raise MalformedStream(f"the response is not a chat.completion: "
                              f"{excerpt(json.dumps(obj))}")
    mapper = StreamMapper()
    mapper.id = fields.string(obj.get("id"), "id")
    mapper.model = fields.string(obj.get("model"), "model")
    out.append(Start(NAME, mapper.model, mapper.id))
    for choice in choices:
        if choice.__class__ is not dict:
            raise WrongType("choices[]", choice, "an object")
    choice = next((c for c in choices if not fields.index(c.get("index"), "choices[].index")),
                  choices[0] if choices else {})
    message = fields.obj(choice.get("message"), "message") or {}
    reasoning = (fields.string(message.get("reasoning_content"), "message.reasoning_content")
                 or fields.string(message.get("reasoning"), "message.reasoning"))
    if reasoning:
        out.append(Thinking(reasoning))
    content = fields.string(message.get("content"), "message.content")
    if content:
        out.append(Text(content))
    refusal = fields.string(message.get("refusal"), "message.refusal")
    if refusal:
        out.append(Refusal(refusal))
    for call in fields.array(message.get("tool_calls"), "message.tool_calls") or []:
        call_id, name, arguments, _ = _call_fields(call, "message.tool_calls[]")
        out.append(tool_call(call_id, name, arguments or ""))
    reason = fields.string(choice.get("finish_reason"), "finish_reason")
    if reason:
        mapper.stop_raw = reason
        out.append(Stop(reason))
    mapper.raw_usage = _merged(None, obj.get("usage"))
    mapper.complete = True
    out.append(DONE)
    return mapper
