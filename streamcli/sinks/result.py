"""--no-stream: one JSON object on stdout once the answer is complete (or failed)."""

from __future__ import annotations

import json

from streamcli.events import Start, normalize_stop, usage_dict
from streamcli.redact import Redactor, current
from streamcli.sinks import encode_text, write_all
from streamcli.transcript import Transcript


class ResultSink:
    committed = False  # nothing reaches stdout before the end, so a retry is always safe

    def __init__(self, out, *, provider: str | None = None, model: str | None = None,
                 redact=None) -> None:
        self.out = out
        # The run's Redactor, for what a server says of itself (id, model, usage); the
        # answer's own fields are the payload, written exactly.
        self.redact = redact or Redactor()
        self.provider = provider  # what was asked for, until the response tells
        self.model = model
        self.conversation_id: str | None = None
        self.transcript = Transcript()
        self.transcript.stay_in_memory()  # the object holds the answer whole anyway

    def write(self, events: list) -> None:
        self.transcript.add(events)
        for ev in events:
            if type(ev) is Start:
                self.provider, self.model = ev.provider, ev.model or self.model

    def begin(self, provider: str | None, model: str | None, *,
              conversation_id: str | None = None) -> None:
        self.provider, self.model = provider, model
        self.conversation_id = conversation_id

    def write_plain_text(self, data: bytes) -> None:
        self.transcript.add_text(data.decode())

    def raw(self, chunk: bytes) -> None:
        pass

    def retry(self, r) -> None:
        self.transcript.clear()

    def finish(self, outcome) -> None:
        obj = result_fields(outcome, self.transcript, self.provider, self.model,
                            self.conversation_id, redact=self.redact)
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False)  # RFC 8259: no NaN
        write_all(self.out, encode_text(text + "\n"))
        self.out.flush()


def result_fields(outcome, transcript: Transcript, provider: str | None,
                  model: str | None, conversation_id: str | None = None, *,
                  redact: Redactor | None = None) -> dict:
    """The --no-stream object (also the body of each `streamcli batch` output line):
    `provider`/`model` are what was asked for, used when the response did not say.
    `redact`: the run's Redactor (default: the running command's), for what the server
    says of itself (id, model, usage, stop reason), which could echo a secret; the
    answer's own fields are the payload."""
    redact = redact or current()
    obj = {
        "provider": outcome.provider or provider,
        "model": redact(outcome.model or model),
        "id": redact(outcome.id),
        "conversation_id": conversation_id,
        "text": transcript.text,
        "thinking": transcript.thinking,
        "refusal": transcript.refusal,
        "tool_calls": transcript.tool_calls,
        "stop_reason": normalize_stop(outcome.stop_raw),
        "stop_reason_raw": redact(outcome.stop_raw),
        "usage": redact.deep(usage_dict(outcome.usage)),
        "duration_ms": outcome.duration_ms,
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "error": outcome.error.as_dict() if outcome.error is not None else None,
    }
    if outcome.schema:  # --schema: the answer's value, or null when it did not match
        obj["json"] = outcome.json
    return obj
