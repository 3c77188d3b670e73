"""One HTTP attempt: send the request, turn a failed response into an error, and run the
body through the pump (streamed) or the provider's parser (whole)."""

from __future__ import annotations

import json
import time

from streamcli.errors import MalformedStream, StreamcliError
from streamcli.providers.errors import error_from_event, request_id_of
from streamcli.pump import Progress, pump
from streamcli.redact import excerpt

ERROR_BODY_LIMIT = 1024 * 1024  # an error body is read this far, never further


def stream_once(transport, prov, request, sink, progress: Progress, *, idle_timeout: float,
                raw_mode: bool) -> None:
    with transport.stream(prov.build_request(request)) as response:
        status = response.status_code
        if status >= 300:
            body = transport.read_all(response, limit=ERROR_BODY_LIMIT)
            raise prov.error_from_response(status, body, response.headers)
        try:
            ctype = response.headers.get("content-type", "text/event-stream").lower()
            if not ctype.startswith("text/event-stream"):
                not_sse(ctype, transport.read_all(response, limit=ERROR_BODY_LIMIT))
            pump(transport.chunks(response), prov.StreamMapper(), sink, progress,
                 idle_timeout=idle_timeout, raw_mode=raw_mode, protocol=prov.NAME)
        except StreamcliError as err:
            # Errors inside a 200 carry no request id of their own: the response's applies.
            err.request_id = err.request_id or request_id_of(response.headers,
                                                             prov.REQUEST_ID_HEADER)
            raise


def complete_once(transport, prov, request, sink, progress: Progress) -> None:
    status, headers, body = transport.post(prov.build_request(request))
    if status >= 300:
        raise prov.error_from_response(status, body, headers)
    try:
        parse_complete(prov, body, sink, progress)
    except StreamcliError as err:
        err.request_id = err.request_id or request_id_of(headers, prov.REQUEST_ID_HEADER)
        raise


def not_sse(ctype: str, body: bytes) -> None:
    """A 2xx that is not an event stream: an error object if it carries one, else 9."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if isinstance(obj, dict) and obj.get("error"):
        raise error_from_event(obj)  # classified by its own type, like an in-stream error
    raise MalformedStream(f"expected an event stream, but the server sent {ctype or 'no content type'}"
                          f" ({len(body)} bytes)")


def parse_complete(prov, body: bytes, sink, progress: Progress) -> None:
    """A whole (non-streaming) response, mapped to the events a stream would give."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedStream(f"the response is not JSON: {excerpt(body)}") from None
    if not isinstance(obj, dict):
        raise MalformedStream(f"unexpected response: {excerpt(body)}")
    out: list = []
    try:
        progress.mapper = prov.parse_message(obj, out)
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise MalformedStream(f"unexpected response shape ({exc}): {excerpt(body)}") from None
    progress.first_output = time.monotonic()
    sink.write(out)
