"""The OpenAI Responses API's errors, classified by their code.

HTTP error bodies, `error` events in both shapes, and the error object of a failed response.
"""

from __future__ import annotations

from streamcli.providers.errors import error_from_body, make_error
from streamcli.providers.responses.request import REQUEST_ID_HEADER
from streamcli.providers.responses.values import str_of


def error_from_response(status: int, body: bytes, headers):
    return error_from_body(status, body, headers, REQUEST_ID_HEADER)


def event_error(obj: dict):
    """An `error` event, in either shape: documented flat ({"type": "error", "code",
    "message", "param"}) or, as the API has been seen to send it, nested under `error`."""
    error = obj.get("error")
    if isinstance(error, dict):
        return classify(error.get("code"), str_of(error.get("type")), error.get("message"))
    return classify(obj.get("code"), None, obj.get("message"))


def classify(code, etype: str | None, message):
    """An in-stream error by its code (rate_limit_exceeded 5; invalid_prompt and the
    other request-side codes 3; server_error 6; an unknown code 6). A numeric code that
    is an HTTP status (100 to 599, a number or three ASCII digits) counts as one, as some
    compatible servers send it; any other is a code like the rest."""
    status = None
    if code.__class__ is str and code.isascii() and code.isdigit() and len(code) == 3:
        code = int(code)  # only ASCII digits: "²".isdigit() too, and int() refuses it
    if code.__class__ is int and 100 <= code <= 599:
        status, code = code, None
    code = str_of(code)
    message = str_of(message) or "error in stream"
    return make_error(status, etype or code, message, code=code)
