"""The OpenAI Responses API: its stream events as normalized events."""

from __future__ import annotations

from streamcli.errors import MalformedStream, ServerError
from streamcli.events import (DONE, OutputItem, Refusal, Start, Stop, SurrogateJoin, Text,
                              Thinking, Usage, tool_call)
from streamcli.providers.fields import parse
from streamcli.providers.responses.errors import classify, event_error
from streamcli.providers.responses.request import NAME
from streamcli.providers.responses.values import arguments_of, int_of, str_of
from streamcli.redact import excerpt
from streamcli.sse import STRAY_ERROR

# Output items that are part of the answer itself; any other item (web_search_call,
# file_search_call, code_interpreter_call, computer_call, mcp_call...) is something
# streamcli does not run, reported as an OutputItem when it is done.
_ANSWER_ITEMS = frozenset(("message", "reasoning", "function_call"))
_STARTS = frozenset(("response.created", "response.in_progress", "response.queued"))
_THINKING = frozenset(("response.reasoning_summary_text.delta", "response.reasoning_text.delta"))


class StreamMapper:
    """Turns Responses API stream events into normalized events; remembers what the end
    needs. The terminal events are response.completed, response.incomplete and
    response.failed; there is no [DONE]."""

    provider = NAME

    def __init__(self) -> None:
        self.complete = False  # response.completed or response.incomplete seen
        self.join = SurrogateJoin()
        self.started = False
        self.id: str | None = None
        self.model: str | None = None
        self.stop_raw: str | None = None
        self._usage: Usage | None = None
        # Function calls in progress, in order (parallel calls interleave their argument
        # deltas): [call id, name, [argument parts], item id, output index].
        self._calls: list = []
        self._done: set = set()  # the function call items already reported
        self._called = False  # the output holds a function call: the stop is tool use
        self._thought = False  # reasoning was shown: a new summary part starts a paragraph

    def feed(self, ev, out: list) -> None:
        """Map one SSE event, appending normalized events to `out`. A value of the wrong
        type is a malformed stream, said here as the pump's last resort would say it, so
        that the mapper raises nothing else whoever calls it."""
        if ev.event is STRAY_ERROR:  # a non-standard `error:` field: not this API's
            return
        # safejson, as the other protocols: NaN, 1e400 or a value nested too deep would
        # crash the JSON outputs and the log later.
        obj = parse(ev.data, ev.event)
        try:
            self._event(obj.get("type") or ev.event, obj, out)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise MalformedStream(f"unexpected {ev.event!r} event ({exc}): "
                                  f"{excerpt(ev.data)}") from None

    def _event(self, kind, obj: dict, out: list) -> None:
        if kind == "response.output_text.delta":
            delta = obj.get("delta")
            if delta:
                self.join.add(Text, delta, out)
        elif kind == "response.function_call_arguments.delta":
            delta = obj.get("delta")
            if delta:
                self._call(obj.get("item_id"), obj.get("output_index"))[2].append(
                    arguments_of(delta))
        elif kind in _THINKING:
            delta = obj.get("delta")
            if delta:
                self._thought = True
                self.join.add(Thinking, delta, out)
        elif kind == "response.refusal.delta":
            delta = obj.get("delta")
            if delta:
                self.join.add(Refusal, delta, out)
        elif kind == "response.output_item.added":
            self._item_added(obj.get("item"), obj.get("output_index"))
        elif kind == "response.output_item.done":
            self._item_done(obj.get("item"), obj.get("output_index"), out)
        elif kind == "response.reasoning_summary_part.added":
            if self._thought:  # parts are paragraphs: keep them apart
                self.join.add(Thinking, "\n\n", out)
        elif kind in _STARTS:
            self._start(obj.get("response") or {}, out)
        elif kind in ("response.completed", "response.incomplete"):
            self._end(obj.get("response") or {}, kind == "response.incomplete", out)
        elif kind == "response.failed":
            self._failed(obj.get("response") or {}, out)
        elif kind == "error":
            self.join.flush(out)
            raise event_error(obj)
        # Every other event (content_part.added, output_text.done, annotations, tool
        # progress...) repeats what the deltas said or is not part of the answer; the API
        # may add new ones at any time.

    def _start(self, response: dict, out: list) -> None:
        if not self.started:
            self.started = True
            self.id = str_of(response.get("id")) or None
            self.model = str_of(response.get("model")) or None
            out.append(Start(NAME, self.model, self.id))

    def _call(self, item_id, output_index) -> list:
        """The call in progress an event belongs to, by its item id, else by its output
        index (a server may name the item one way in some events, the other way in the
        rest); a new one for a delta before (or without) its output_item.added."""
        for call in self._calls:
            same_index = output_index is not None and call[4] == output_index
            if (item_id and call[3] == item_id) or (same_index and not (item_id and call[3])):
                call[3] = call[3] or item_id
                call[4] = call[4] if call[4] is not None else output_index
                return call
        call = [None, None, [], item_id or None, output_index]
        self._calls.append(call)
        self._called = True
        return call

    def _item_added(self, item, output_index) -> None:
        if isinstance(item, dict) and item.get("type") == "function_call":
            call = self._call(item.get("id"), output_index)
            call[0] = str_of(item.get("call_id") or item.get("id"))
            call[1] = str_of(item.get("name"))
            if item.get("arguments"):
                call[2].append(arguments_of(item["arguments"]))
            self._called = True

    def _item_done(self, item, output_index, out: list) -> None:
        if not isinstance(item, dict):
            return
        kind = item.get("type")
        if kind == "function_call":
            key = item.get("id") or ("#", output_index)
            if key in self._done:  # the same item done again: one call, as the SDK has it
                return
            self._done.add(key)
            call = self._call(item.get("id"), output_index)
            self._calls.remove(call)
            arguments = item.get("arguments")
            if not isinstance(arguments, str):  # the done item repeats them; else the deltas
                arguments = "".join(call[2])
            self.join.flush(out)
            out.append(tool_call(str_of(item.get("call_id")) or call[0] or str_of(item.get("id")),
                                 str_of(item.get("name")) or call[1], arguments))
            self._called = True
        elif kind not in _ANSWER_ITEMS:
            self.join.flush(out)
            out.append(output_item(item))

    def _flush_calls(self, out: list) -> None:
        """Calls that never got their output_item.done (cut off by max_output_tokens)."""
        for call_id, name, parts, *_ in self._calls:
            out.append(tool_call(call_id, name, "".join(parts)))
        self._calls.clear()

    def _take_usage(self, response: dict) -> None:
        usage = response.get("usage")
        if isinstance(usage, dict):
            self._usage = Usage(int_of(usage.get("input_tokens")), int_of(usage.get("output_tokens")),
                                usage)

    def _end(self, response: dict, incomplete: bool, out: list) -> None:
        self._start(response, out)
        self._take_usage(response)
        self.join.flush(out)
        self._flush_calls(out)
        self.stop_raw = stop_reason(response, incomplete or response.get("status") == "incomplete",
                                    self._called)
        out.append(Stop(self.stop_raw))
        self.complete = True
        out.append(DONE)

    def _failed(self, response: dict, out: list) -> None:
        self._start(response, out)
        self._take_usage(response)
        self.join.flush(out)
        self._flush_calls(out)
        error = response.get("error")
        if isinstance(error, dict):
            raise classify(error.get("code"), str_of(error.get("type")), error.get("message"))
        raise ServerError("the response failed (response.failed, with no error object)")

    def usage(self) -> Usage | None:
        return self._usage

    def check_end(self, stray_error: bytes | None = None) -> None:
        """Called at a clean end of the body."""
        if not self.complete:
            raise MalformedStream("the stream ended before response.completed (or "
                                  "response.incomplete): the answer is incomplete")


def stop_reason(response: dict, incomplete: bool, called: bool) -> str:
    """The provider's own stop value: for an incomplete response the reason it gives
    (max_output_tokens, content_filter...), else `function_call` when the output holds
    function calls (the caller has tools to run), else `completed`."""
    if incomplete:
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return reason if isinstance(reason, str) and reason else "incomplete"
    output = response.get("output")
    if called or (isinstance(output, list) and any(
            isinstance(item, dict) and item.get("type") == "function_call" for item in output)):
        return "function_call"
    return "completed"


def output_item(item: dict) -> OutputItem:
    return OutputItem(str_of(item.get("type")), str_of(item.get("id")), str_of(item.get("status")), item)
