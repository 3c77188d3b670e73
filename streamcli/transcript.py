"""What the answer said (text, thinking, refusal, tool calls), in every output mode.

Recorded as the events pass to the sink; the end of a run reads it (the --no-stream
object, the local log, a check against --schema).
"""

from __future__ import annotations

from streamcli.events import Refusal, Retry, Text, Thinking, ToolCall
from streamcli.textspool import COMPACT_AT, SpooledText


def tool_call_fields(ev: ToolCall) -> dict:
    """A tool call as --jsonl and --no-stream write it."""
    return {"id": ev.id, "name": ev.name, "arguments": ev.arguments,
            "raw_arguments": ev.raw_arguments, "invalid": ev.invalid}


class Transcript:
    def __init__(self) -> None:
        # Text and thinking can be long: past a size they wait on disk (textspool).
        self.text_parts = SpooledText()
        self.thinking_parts = SpooledText()
        self.refusal_parts: list[str] = []
        self.tool_calls: list[dict] = []

    def stay_in_memory(self) -> None:
        """For a reader of the whole text (--no-stream, --schema): nothing moves to disk."""
        self.text_parts.stay_in_memory()
        self.thinking_parts.stay_in_memory()

    def add(self, events: list) -> None:
        # Once per network read, for every event of it: the commonest case (text) costs
        # one list append and one length check, no call.
        text = self.text_parts
        recent = text.recent
        for ev in events:
            kind = type(ev)
            if kind is Text:
                recent.append(ev.text)
                if len(recent) >= COMPACT_AT:
                    text.compact()
            elif kind is Thinking:
                self.thinking_parts.append(ev.text)
            elif kind is ToolCall:
                self.tool_calls.append(tool_call_fields(ev))
            elif kind is Refusal:
                self.refusal_parts.append(ev.text)

    def add_text(self, text: str) -> None:
        self.text_parts.append(text)

    def clear(self) -> None:
        """A retried attempt starts from scratch: what a failed one delivered is void."""
        self.text_parts.clear()
        self.thinking_parts.clear()
        self.refusal_parts.clear()
        self.tool_calls.clear()

    def said_anything(self) -> bool:
        return bool(self.text_parts or self.thinking_parts or self.refusal_parts
                    or self.tool_calls)

    @property
    def text(self) -> str:
        return str(self.text_parts)

    @property
    def thinking(self) -> str | None:
        return str(self.thinking_parts) if self.thinking_parts else None

    @property
    def refusal(self) -> str | None:
        return "".join(self.refusal_parts) if self.refusal_parts else None


class Recorder:
    """A Sink that records into a Transcript and passes everything on to the mode's sink."""

    def __init__(self, sink, transcript: Transcript) -> None:
        self.sink = sink
        self.transcript = transcript

    @property
    def committed(self) -> bool:
        return self.sink.committed

    def write(self, events: list) -> None:
        self.transcript.add(events)
        self.sink.write(events)

    def write_plain_text(self, data: bytes) -> None:
        self.transcript.add_text(data.decode())
        self.sink.write_plain_text(data)

    def raw(self, chunk: bytes) -> None:
        self.sink.raw(chunk)

    def retry(self, retry: Retry) -> None:
        self.transcript.clear()
        self.sink.retry(retry)

    def begin(self, provider, model, *, conversation_id=None) -> None:
        self.sink.begin(provider, model, conversation_id=conversation_id)

    def finish(self, outcome) -> None:
        self.sink.finish(outcome)
