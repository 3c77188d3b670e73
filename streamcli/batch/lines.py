"""One output line per item: the --no-stream object with `id`, `index`, `response_id`.

One output line per item, whatever ran it: the --no-stream object with `id` the item's
id, `index` its position, and the provider's response id moved to `response_id`
(`$defs/batch_line` of streamcli/jsonl.schema.json).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from streamcli.errors import MalformedStream, SchemaMismatch, StreamcliError
from streamcli.events import Usage, normalize_stop
from streamcli.outcome import Outcome
from streamcli.redact import current
from streamcli.sinks import encode_text
from streamcli.sinks.result import ResultSink, result_fields
from streamcli.transcript import Transcript


class ItemCancelled(StreamcliError):
    """A request of a provider batch that was cancelled before it ran (the batch item's
    own status; no process exits with it)."""

    exit_code = 130
    kind = "cancelled"


class Done(NamedTuple):
    """A finished item: its output line, and what the summary counts."""

    line: bytes
    ok: bool
    kind: str | None  # the error kind of a failed item
    output_tokens: int


def outcome(status: str, err: StreamcliError | None, *, mapper=None, provider=None,
            model=None, duration_ms: float | None = None, schema: bool = False,
            value=None) -> Outcome:
    """How an item ended; `mapper`: the provider's mapper of its response, if any;
    `schema`: the answer was checked against one (`value`: its JSON, when it matched)."""
    code = 0 if status == "ok" else (err.exit_code if err is not None else 1)
    return Outcome(
        status=status, exit_code=int(code), error=err,
        provider=getattr(mapper, "provider", None) or provider,
        model=getattr(mapper, "model", None) or model,
        id=getattr(mapper, "id", None), stop_raw=getattr(mapper, "stop_raw", None),
        usage=mapper.usage() if mapper is not None else None,
        ttft_ms=None, duration_ms=duration_ms, schema=schema, json=value)


def answered(item_id: str, index: int, mapper, transcript: Transcript, *, provider=None,
             model=None, duration_ms: float | None = None, schema=None) -> Done:
    """An item the provider answered: ok, or exit 10 when the answer does not match its
    schema (a schema.Schema, or None)."""
    status, err, value = "ok", None, None
    if schema is not None:
        from streamcli import schema as schemas
        try:
            value = schemas.check(schema, transcript.text, normalize_stop(mapper.stop_raw))
        except SchemaMismatch as mismatch:
            status, err = "error", mismatch
    result = outcome(status, err, mapper=mapper, provider=provider, model=model,
                     duration_ms=duration_ms, schema=schema is not None, value=value)
    return done(item_id, index, result, transcript, provider, model)


def done(item_id: str, index: int, result: Outcome, transcript: Transcript | None = None,
         provider: str | None = None, model: str | None = None) -> Done:
    fields = result_fields(result, transcript or Transcript(), provider, model)
    del fields["conversation_id"]  # batch items are not conversations of the log
    # The run's secrets never reach the lines (a file, often kept), even when a server
    # echoes a key into an answer: as in the log. The id is the item's own.
    obj = {"id": item_id, "index": index,
           **current().deep({"response_id": fields.pop("id"), **fields})}
    line = encode_text(json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n")
    usage: Usage | None = result.usage
    tokens = usage.output_tokens if usage is not None and usage.output_tokens else 0
    return Done(line, result.status == "ok", result.error.kind if result.error else None,
                tokens if isinstance(tokens, int) else 0)


def failed(item_id: str, index: int, err: StreamcliError, *, provider=None, model=None,
           duration_ms: float | None = None) -> Done:
    status = "cancelled" if isinstance(err, ItemCancelled) else "error"
    return done(item_id, index, outcome(status, err, provider=provider, model=model,
                                        duration_ms=duration_ms), None, provider, model)


def from_response(item_id: str, index: int, prov, obj: dict, *, schema=None) -> Done:
    """A whole response object of the provider (a batch result's message or body)."""
    sink = ResultSink(None)
    out: list = []
    try:
        mapper = prov.parse_message(obj, out)
    except StreamcliError as err:
        return failed(item_id, index, err, provider=prov.NAME)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
        return failed(item_id, index, MalformedStream(f"unexpected response shape ({exc})"),
                      provider=prov.NAME)
    sink.write(out)
    return answered(item_id, index, mapper, sink.transcript, provider=prov.NAME, schema=schema)
