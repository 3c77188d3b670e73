"""The OpenAI Responses API: a whole (non-streaming) response to normalized events."""

from __future__ import annotations

import json

from streamcli.errors import MalformedStream, ServerError
from streamcli.events import DONE, Refusal, Stop, Text, Thinking, tool_call
from streamcli.providers import fields
from streamcli.providers.fields import WrongType
from streamcli.providers.responses.errors import classify
from streamcli.providers.responses.stream import StreamMapper, output_item, stop_reason
from streamcli.providers.responses.values import str_of


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming response object, mapped to the same events a stream would give;
    a field of the wrong type is a malformed response (exit 9)."""
    try:
        return _parse(obj, out)
    except WrongType as exc:
        raise fields.malformed(exc, "the response", json.dumps(obj)) from None


def _parse(obj: dict, out: list) -> StreamMapper:
    error = obj.get("error")
    if error or obj.get("status") == "failed":
        error = error if isinstance(error, dict) else {}
        raise (classify(error.get("code"), str_of(error.get("type")), error.get("message"))
               if error else ServerError("the response failed, with no error object"))
    status = obj.get("status")
    if status not in (None, "completed", "incomplete"):
        raise MalformedStream(f"the response is not finished (status {status!r}): streamcli "
                              f"does not wait for background responses")
    mapper = StreamMapper()
    mapper._start(obj, out)
    for item in fields.array(obj.get("output"), "output") or []:
        _output_item(mapper, fields.obj(item, "output[]") or {}, out)
    mapper._take_usage(obj)
    mapper.stop_raw = stop_reason(obj, status == "incomplete", mapper._called)
    out.append(Stop(mapper.stop_raw))
    mapper.complete = True
    out.append(DONE)
    return mapper


def _output_item(mapper: StreamMapper, item: dict, out: list) -> None:
    kind = fields.string(item.get("type"), "output[].type")
    if kind == "message":
        for part in _parts(item.get("content"), "content"):
            if part.get("type") == "output_text" and part.get("text"):
                out.append(Text(fields.string(part["text"], "content[].text")))
            elif part.get("type") == "refusal" and part.get("refusal"):
                out.append(Refusal(fields.string(part["refusal"], "content[].refusal")))
    elif kind == "reasoning":
        parts = [*_parts(item.get("summary"), "summary"), *_parts(item.get("content"), "content")]
        for text in filter(None, (fields.string(p.get("text"), "text") for p in parts)):
            out.append(Thinking(("\n\n" if mapper._thought else "") + text))
            mapper._thought = True
    elif kind == "function_call":
        mapper._called = True
        arguments = item.get("arguments")
        out.append(tool_call(str_of(item.get("call_id") or item.get("id")), str_of(item.get("name")),
                             arguments if isinstance(arguments, str) else ""))
    else:
        out.append(output_item(item))


def _parts(value, what: str) -> list[dict]:
    """The parts of an item's `content` or `summary`, each an object."""
    return [fields.obj(part, f"{what}[]") or {} for part in fields.array(value, what) or []]
