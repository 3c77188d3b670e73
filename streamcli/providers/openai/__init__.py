"""OpenAI Chat Completions: the protocol interface of `streamcli.providers`.

Compatible servers (vLLM, llama.cpp, Ollama, OpenRouter...) speak the same protocol.
"""

from streamcli.providers.openai.request import (
    NAME, AUTH_HEADER, DEFAULT_BASE_URL, KEY_ENV, URL_ENV, REQUEST_ID_HEADER, build_request,
    is_official,
)
from streamcli.providers.openai.stream import (
    StreamMapper, error_from_response, parse_message,
)

__all__ = [
    "NAME", "AUTH_HEADER", "DEFAULT_BASE_URL", "KEY_ENV", "URL_ENV", "REQUEST_ID_HEADER",
    "build_request",
    "is_official", "StreamMapper", "error_from_response", "parse_message"
]
