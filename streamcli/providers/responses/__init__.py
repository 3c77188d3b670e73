"""The OpenAI Responses API (POST /responses): the interface of `streamcli.providers`."""

from streamcli.providers.responses.request import (
    NAME, AUTH_HEADER, DEFAULT_BASE_URL, KEY_ENV, URL_ENV, REQUEST_ID_HEADER, build_request,
    responses_only,
)
from streamcli.providers.responses.errors import error_from_response
from streamcli.providers.responses.message import parse_message
from streamcli.providers.responses.stream import StreamMapper

__all__ = [
    "NAME", "AUTH_HEADER", "DEFAULT_BASE_URL", "KEY_ENV", "URL_ENV", "REQUEST_ID_HEADER",
    "build_request", "responses_only", "StreamMapper", "error_from_response", "parse_message"
]
