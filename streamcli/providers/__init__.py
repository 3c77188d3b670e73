"""Providers: build the HTTP request, and turn wire events into normalized events.

Each provider module offers the same functions:
  build_request(Request) -> HttpRequest
  StreamMapper()          .feed(SSEEvent, out) / .complete / .check_end()
  parse_message(obj, out) for a non-streaming response
  error_from_response(status, body, headers) -> ApiError
"""

from __future__ import annotations

import importlib
from types import ModuleType

KINDS = ("anthropic", "openai")


def load(kind: str) -> ModuleType:
    return importlib.import_module(f"streamcli.providers.{kind}")


def detect_kind(first_bytes: bytes) -> str:
    """Which provider wrote a captured SSE body (for --replay): Anthropic events carry a
    `"type"` such as message_start; OpenAI chunks carry `choices` or `chat.completion`."""
    head = first_bytes[:4096]
    for marker in (b'"message_start"', b"event: message_start", b'"type":"error"',
                   b'"type": "error"', b"event: error", b"event: ping"):
        if marker in head:
            return "anthropic"
    return "openai"
