"""The providers' Batch APIs: Anthropic Message Batches (`anthropic`) and OpenAI Batch
(`openai`), behind the same names:

  NAME, MAX_REQUESTS, MAX_BYTES (one batch's documented limits), LINE_OVERHEAD
  custom_ids(): a CustomIds that maps item ids the API would refuse
  line(custom_id, request) -> bytes (one request of the batch input, no newline)
  create(api, target, lines, count, size, model) -> Status
  retrieve(api, target, batch_id) -> Status; cancel(api, target, batch_id) -> Status
  results(api, target, status, spool) -> the result lines, written to `spool`
  custom_id_of(obj) -> str | None; to_line(item_id, index, obj, status) -> lines.Done
  missing(status) -> StreamcliError: why an item has no result line
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple


class Status(NamedTuple):
    """A provider batch as the API last described it, with counts in one vocabulary:
    processing, succeeded, failed, cancelled, expired."""

    id: str
    state: str  # the provider's own status
    ended: bool  # final: every request succeeded, failed, expired or was cancelled
    counts: dict
    raw: dict  # the provider's batch object


def load(kind: str) -> ModuleType:
    return importlib.import_module(f"streamcli.batch.api.{kind}")
