"""What the answer said, whatever the output mode: its text, thinking, refusal and tool
calls, recorded as the events pass to the sink. The end of a run reads it (the
--no-stream object, the local log, a check against --schema)."""

from __future__ import annotations

from streamcli.events import Refusal, Retry, Text, Thinking, ToolCall


def tool_call_fields(ev: ToolCall) -> dict:
    """A tool call as --jsonl and --no-stream write it."""
    return {"id": ev.id, "name": ev.name, "arguments": ev.arguments,
            "raw_arguments": ev.raw_arguments, "invalid": ev.invalid}


class Transcript:
    def __init__(self) -> None:
        self.text_parts: list[str] = []
        self.thinking_parts: list[str] = []
        self.refusal_parts: list[str] = []
        self.tool_calls: list[dict] = []

    def add(self, events: list) -> None:
        for ev in events:
            kind = type(ev)
            if kind is Text:
                self.text_parts.append(ev.text)
            elif kind is Thinking:
                self.thinking_parts.append(ev.text)
            elif kind is ToolCall:
                self.tool_calls.append(tool_call_fields(ev))
            elif kind is Refusal:
                self.refusal_parts.append(ev.text)

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
        return "".join(self.text_parts)

    @property
    def thinking(self) -> str | None:
        return "".join(self.thinking_parts) if self.thinking_parts else None

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
        self.transcript.text_parts.append(data.decode())
        self.sink.write_plain_text(data)

    def raw(self, chunk: bytes) -> None:
        self.sink.raw(chunk)

    def retry(self, retry: Retry) -> None:
        self.transcript.clear()
        self.sink.retry(retry)

    def begin(self, provider, model) -> None:
        self.sink.begin(provider, model)

    def finish(self, outcome) -> None:
        self.sink.finish(outcome)
