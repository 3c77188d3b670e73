"""The Anthropic Messages API: the protocol interface of `streamcli.providers`."""

from streamcli.providers.anthropic.request import (
    API_VERSION, AUTH_HEADER, DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS, KEY_ENV, NAME,
    REQUEST_ID_HEADER, URL_ENV, build_request,
)
from streamcli.providers.anthropic.stream import (
    StreamMapper, error_from_response, parse_message,
)

__all__ = [
    "NAME", "AUTH_HEADER", "DEFAULT_BASE_URL", "API_VERSION", "KEY_ENV", "URL_ENV",
    "REQUEST_ID_HEADER", "DEFAULT_MAX_TOKENS", "build_request", "StreamMapper",
    "error_from_response", "parse_message",
]
