"""--no-stream: one JSON object on stdout once the answer is complete (or failed)."""

from __future__ import annotations

import json

from streamcli.events import Refusal, Start, Text, Thinking, ToolCall, normalize_stop, usage_dict
from streamcli.sinks import encode_text, write_all
from streamcli.sinks.jsonl import tool_call_fields


class ResultSink:
    committed = False  # nothing reaches stdout before the end, so a retry is always safe

    def __init__(self, out, *, provider: str | None = None, model: str | None = None) -> None:
        self.out = out
        self.provider = provider  # what was asked for, until the response tells
        self.model = model
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._refusal: list[str] = []
        self._tools: list[dict] = []

    def write(self, events: list) -> None:
        for ev in events:
            kind = type(ev)
            if kind is Text:
                self._text.append(ev.text)
            elif kind is Thinking:
                self._thinking.append(ev.text)
            elif kind is ToolCall:
                self._tools.append(tool_call_fields(ev))
            elif kind is Refusal:
                self._refusal.append(ev.text)
            elif kind is Start:
                self.provider, self.model = ev.provider, ev.model or self.model

    def begin(self, provider: str | None, model: str | None) -> None:
        self.provider, self.model = provider, model

    def write_plain_text(self, data: bytes) -> None:
        self._text.append(data.decode())

    def raw(self, chunk: bytes) -> None:
        pass

    def retry(self, r) -> None:
        # A retried attempt starts from scratch: forget what a failed one delivered.
        self._text.clear(), self._thinking.clear(), self._refusal.clear(), self._tools.clear()

    def finish(self, outcome) -> None:
        obj = {
            "provider": outcome.provider or self.provider,
            "model": outcome.model or self.model,
            "id": outcome.id,
            "text": "".join(self._text),
            "thinking": "".join(self._thinking) if self._thinking else None,
            "refusal": "".join(self._refusal) if self._refusal else None,
            "tool_calls": self._tools,
            "stop_reason": normalize_stop(outcome.stop_raw),
            "stop_reason_raw": outcome.stop_raw,
            "usage": usage_dict(outcome.usage),
            "duration_ms": outcome.duration_ms,
            "status": outcome.status,
            "exit_code": outcome.exit_code,
            "error": outcome.error.as_dict() if outcome.error is not None else None,
        }
        write_all(self.out, encode_text(json.dumps(obj, ensure_ascii=False) + "\n"))
        self.out.flush()
