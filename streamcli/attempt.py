"""One HTTP attempt: send, turn a failed response into an error, read the body.

A 2xx body goes through `body` (an event stream through the pump, a whole response
through the provider's parser), whatever was asked for.
"""

from __future__ import annotations

from streamcli import body
from streamcli.errors import StreamcliError
from streamcli.providers.errors import request_id_of
from streamcli.pump import Progress

ERROR_BODY_LIMIT = 1024 * 1024  # an error body is read this far, never further


def stream_once(transport, prov, request, sink, progress: Progress, *, idle_timeout: float,
                raw_mode: bool, notice=None) -> None:
    """A streaming request (`notice`: a stderr line, for a server that did not stream)."""
    _once(transport, prov, request, sink, progress, streamed=True, idle_timeout=idle_timeout,
          raw_mode=raw_mode, notice=notice)


def complete_once(transport, prov, request, sink, progress: Progress, notice=None) -> None:
    """A non-streaming request (--no-stream)."""
    _once(transport, prov, request, sink, progress, streamed=False,
          idle_timeout=transport.idle_timeout, raw_mode=False, notice=notice)


def _once(transport, prov, request, sink, progress, *, streamed, idle_timeout, raw_mode,
          notice) -> None:
    with transport.stream(prov.build_request(request)) as response:
        progress.request_id = request_id_of(response.headers, prov.REQUEST_ID_HEADER)
        status = response.status_code
        if status >= 300:
            raise error_response(transport, prov, response)
        try:
            body.play(transport.chunks(response), lambda data, whole: prov, sink, progress,
                      idle_timeout=idle_timeout, raw_mode=raw_mode, streamed=streamed,
                      content_type=response.headers.get("content-type", "text/event-stream"),
                      notice=notice)
        except StreamcliError as err:
            # Errors inside a 200 carry no request id of their own: the response's applies.
            err.request_id = err.request_id or request_id_of(response.headers,
                                                             prov.REQUEST_ID_HEADER)
            raise


def error_response(transport, prov, response) -> StreamcliError:
    """A response with a status of 300 or more, as an error of its status's class; its
    body is read ERROR_BODY_LIMIT far, never further (a body that never ends too)."""
    status, headers = response.status_code, response.headers
    data = transport.read_all(response, limit=ERROR_BODY_LIMIT)
    if len(data) <= ERROR_BODY_LIMIT:
        return prov.error_from_response(status, data, headers)
    err = prov.error_from_response(status, b"", headers)
    err.message = (f"{err.message}: response too large (an error body of more than "
                   f"{ERROR_BODY_LIMIT // 1024} KiB, not read further)")
    err.args = (err.message,)
    return err
