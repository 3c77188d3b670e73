"""The providers' Batch APIs (Anthropic Message Batches, OpenAI Batch) behind one interface.

The providers' Batch APIs: Anthropic Message Batches (`anthropic`) and OpenAI Batch
(`openai`), behind the same names:

  NAME, MAX_REQUESTS, MAX_BYTES (one batch's documented limits), LINE_OVERHEAD (bytes
      each request adds beside its line), BATCH_OVERHEAD (bytes the batch adds beside them)
  custom_ids(): a CustomIds that maps item ids the API would refuse
  line(custom_id, request) -> bytes (one request of the batch input, no newline)
  create(api, target, lines, count, size, model) -> Status
  retrieve(api, target, batch_id) -> Status; cancel(api, target, batch_id) -> Status
  results(api, target, status, spool) -> the result lines, written to `spool`
  custom_id_of(obj) -> str | None
  to_line(item_id, index, obj, status, schema=None) -> lines.Done (checked against the
      item's schema.Schema, if it had one)
  missing(status) -> StreamcliError: why an item has no result line
"""

from __future__ import annotations

import importlib
import json
import re
from typing import NamedTuple

# An id a Batch API gives (a batch, a file) goes into the URLs of later calls, which carry
# the key, and onto stdout: one that is not a plain path segment ("../files", "a/b?c",
# control characters) is refused rather than followed.
_SEGMENT = re.compile(r"(?!\.{1,2}\Z)[A-Za-z0-9._~:-]{1,256}\Z")


class Status(NamedTuple):
    """A provider batch as the API last described it, with counts in one vocabulary:
    processing, succeeded, failed, cancelled, expired."""

    id: str
    state: str  # the provider's own status
    ended: bool  # final: every request succeeded, failed, expired or was cancelled
    counts: dict
    raw: dict  # the provider's batch object


def load(kind: str):
    """The Batch API of wire protocol `kind` (a module, or an object with its names)."""
    if kind == "anthropic":
        return importlib.import_module("streamcli.batch.api.anthropic")
    from streamcli.batch.api import openai
    return openai.flavor(kind)


def request_body(prov, request) -> dict:
    """The JSON body a single request of `request` would send (its attachments read)."""
    body = prov.build_request(request).body
    data = body if isinstance(body, bytes) else body.read_all()
    return json.loads(data)


def with_headers(own: dict, target) -> dict:
    """streamcli's headers, with the target's extra ones (-H, the config's) over them."""
    from streamcli import headers
    return headers.apply(own, target.headers)


def plain_id(value, what: str) -> str | None:
    """`value` if it is a string that can be a path segment; None if it is no string;
    MalformedStream (the server's answer is wrong) for any other string."""
    if not isinstance(value, str):
        return None
    if _SEGMENT.match(value) is None:
        from streamcli.errors import MalformedStream
        from streamcli.redact import clip
        raise MalformedStream(f"the Batch API gave {what} {clip(repr(value), 80)}, which "
                              f"is not a plain id: refused")
    return value
