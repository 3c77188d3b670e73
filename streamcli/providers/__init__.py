"""The wire protocols: request building and wire events to normalized events.

Each protocol module offers the same names:
  NAME, DEFAULT_BASE_URL, KEY_ENV, URL_ENV, REQUEST_ID_HEADER
  AUTH_HEADER             the header that carries the key (-H naming it makes the key optional)
  build_request(Request) -> HttpRequest   (body: bytes, or jsonbody.StreamedBody with attachments)
  StreamMapper()          .feed(SSEEvent, out) / .complete / .check_end(stray_error=None)
                          (a decoder's `error:` fields arrive as sse.STRAY_ERROR events)
                          .join (events.SurrogateJoin: what a shortcut must not overtake)
                          .id / .model / .stop_raw / .usage()
  parse_message(obj, out) -> StreamMapper, for a non-streaming response
  error_from_response(status, body, headers) -> StreamcliError

`listing(kind)` is the module of a protocol's model listing (`list_models_request(base_url,
api_key, after)`, `models_page(obj)`), imported only for `streamcli models`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# The wire protocols, by the names the config file's `kind` and --provider use.
KINDS = ("anthropic", "openai", "openai-responses")
_PACKAGES = {"openai-responses": "responses"}  # a kind whose package is named otherwise


def load(kind: str) -> ModuleType:
    return importlib.import_module(f"streamcli.providers.{_PACKAGES.get(kind, kind)}")


def listing(kind: str) -> ModuleType:
    """The model listing of a protocol's servers (the Responses API's are OpenAI's)."""
    package = "openai" if kind == "openai-responses" else _PACKAGES.get(kind, kind)
    return importlib.import_module(f"streamcli.providers.{package}.models")
