"""--jsonl: one provider-neutral JSON object per line (schema: streamcli/jsonl.schema.json).

The first line is always `start`, the last always `end`, whatever happened (only a closed
stdout can prevent that).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C string encoder json.dumps uses

from streamcli.events import (OutputItem, Refusal, Start, Text, Thinking, ToolCall,
                              normalize_stop, usage_dict)
from streamcli.redact import Redactor
from streamcli.sinks import encode_text, write_all
from streamcli.transcript import tool_call_fields

SCHEMA_VERSION = 1


def _dumps(obj: dict) -> str:
    # allow_nan=False: never NaN or Infinity, which are no JSON (RFC 8259); what comes
    # from a server is read by safejson, which lets no such number in.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class JsonlSink:
    def __init__(self, out, *, show_thinking: bool = False, provider: str | None = None,
                 model: str | None = None, redact=None) -> None:
        self.out = out
        # The run's Redactor: the lines about the answer (start, end) hold what a server
        # says of itself (ids, model, usage), which could echo a secret; the answer's own
        # lines are the payload, written exactly.
        self.redact = redact or Redactor()
        self.provider = provider  # what was asked for, until the response tells
        self.model = model
        self.conversation_id: str | None = None
        self.show_thinking = show_thinking
        self.committed = False
        self._started = False  # the start line was handed to stdout
        self._midline = False  # a write was interrupted: stdout may end inside a line

    def write(self, events: list) -> None:
        lines = []
        start = None
        for ev in events:
            kind = type(ev)
            if kind is Text:
                # Hand-built: this line is written once per delta, on the hot path.
                lines.append('{"type":"text","text":' + encode_basestring(ev.text) + "}")
            elif kind is Start:
                # Only before any line of this read: a Start after text (a stream out of
                # order) must give the start line the read's split would have given it.
                if not lines:
                    start = start or ev
            elif kind is Thinking:
                if self.show_thinking:
                    lines.append(_dumps({"type": "thinking", "text": ev.text}))
            elif kind is ToolCall:
                lines.append(_dumps({"type": "tool_call", **tool_call_fields(ev)}))
            elif kind is Refusal:
                lines.append(_dumps({"type": "refusal", "text": ev.text}))
            elif kind is OutputItem:
                lines.append(_dumps({"type": "output_item", "item_type": ev.item_type,
                                     "id": ev.id, "status": ev.status, "item": ev.raw}))
        if lines:
            self.committed = True  # answer output: a retry now would duplicate it
        if lines or (start and not self._started):
            self._emit(lines, start)

    def begin(self, provider: str | None, model: str | None, *,
              conversation_id: str | None = None) -> None:
        self.provider, self.model = provider, model
        self.conversation_id = conversation_id

    def write_plain_text(self, data: bytes) -> None:
        """Answer text already in UTF-8 with nothing to escape (the pump's fast path)."""
        if not self._started:
            return self.write([Text(data.decode())])
        self.committed = True
        line = b'{"type":"text","text":"' + data + b'"}\n'
        if self._midline:
            line = b"\n" + line
        self._midline = True  # as in _emit: a signal may cut this write short
        write_all(self.out, line)
        self._midline = False
        self.out.flush()

    def _emit(self, lines: list, start: Start | None = None) -> None:
        """Write one batch; `start` goes first unless it is already out (the real one
        when the provider has told, else one with what was asked for and no id)."""
        if not self._started:
            provider, model, msg_id = start or (self.provider, self.model, None)
            lines.insert(0, _dumps({"type": "start", "v": SCHEMA_VERSION, "provider": provider,
                                    "model": self.redact(model), "id": self.redact(msg_id),
                                    "conversation_id": self.conversation_id}))
        data = encode_text("\n".join(lines) + "\n")
        if self._midline:
            data = b"\n" + data
        # Flags around the write: a signal may interrupt a large write blocked on a full
        # pipe; the cancellation's lines must then start on a line of their own, and
        # `end` must not go out without a `start` before it.
        self._midline = True
        write_all(self.out, data)
        self._midline = False
        self._started = True
        self.out.flush()

    def raw(self, chunk: bytes) -> None:
        pass

    def retry(self, r) -> None:
        self._emit([_dumps({"type": "retry", "attempt": r.attempt, "delay_s": round(r.delay_s, 3),
                            "reason": r.reason, "status": r.status})])

    def finish(self, outcome) -> None:
        lines = []
        if outcome.error is not None:
            err = outcome.error.as_dict()
            err["error_type"] = err.pop("type")
            lines.append(_dumps({"type": "error", **err}))
        usage = self.redact.deep(usage_dict(outcome.usage))
        if usage is not None:
            lines.append(_dumps({"type": "usage", **usage}))
        if outcome.schema:  # --schema: the answer's value, or null when it did not match
            lines.append(_dumps({"type": "json", "json": outcome.json}))
        lines.append(_dumps({
            "type": "end", "status": outcome.status,
            "stop_reason": normalize_stop(outcome.stop_raw),
            "stop_reason_raw": self.redact(outcome.stop_raw),
            "id": self.redact(outcome.id), "usage": usage, "ttft_ms": outcome.ttft_ms,
            "duration_ms": outcome.duration_ms, "exit_code": outcome.exit_code,
        }))
        self._emit(lines)
