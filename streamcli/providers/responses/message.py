"""The OpenAI Responses API: a whole (non-streaming) response to normalized events."""

from __future__ import annotations

import json

from streamcli.errors import MalformedStream, ServerError
from streamcli.events import DONE, Refusal, Stop, Text, Thinking, tool_call
from streamcli.providers.responses.errors import classify
from streamcli.providers.responses.stream import StreamMapper, output_item, stop_reason
from streamcli.providers.responses.values import arguments_of, str_of, text_of
from streamcli.redact import excerpt


def parse_message(obj: dict, out: list) -> StreamMapper:
    """A non-streaming response object, mapped to the same events a stream would give; a
    value of the wrong type is a malformed response, said as body.parse_whole's last
    resort would say it, so that nothing else is raised whoever calls it."""
    try:
        return _parse(obj, out)
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise MalformedStream(f"unexpected response shape ({exc}): "
                              f"{excerpt(json.dumps(obj))}") from None


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
    output = obj.get("output") or []
    for item in output:
        _output_item(mapper, item, out)
    mapper._take_usage(obj)
    mapper.stop_raw = stop_reason(obj, status == "incomplete", mapper._called)
    out.append(Stop(mapper.stop_raw))
    mapper.complete = True
    out.append(DONE)
    return mapper


def _output_item(mapper: StreamMapper, item: dict, out: list) -> None:
    kind = item.get("type")
    if kind == "message":
        for part in item.get("content") or []:
            if part.get("type") == "output_text" and part.get("text"):
                out.append(Text(text_of(part["text"])))
            elif part.get("type") == "refusal" and part.get("refusal"):
                out.append(Refusal(text_of(part["refusal"])))
    elif kind == "reasoning":
        parts = [p.get("text") for p in [*(item.get("summary") or []), *(item.get("content") or [])]]
        for text in filter(None, parts):
            out.append(Thinking(("\n\n" if mapper._thought else "") + text_of(text)))
            mapper._thought = True
    elif kind == "function_call":
        mapper._called = True
        arguments = item.get("arguments")  # a string of JSON; anything else is malformed
        out.append(tool_call(str_of(item.get("call_id") or item.get("id")), str_of(item.get("name")),
                             "" if arguments is None else arguments_of(arguments)))
    else:
        out.append(output_item(item))
