"""`streamcli batch submit`: items grouped and cut into provider batches within limits.

`streamcli batch submit`: the items grouped by where they go (and, for OpenAI, by model:
one model per batch file), cut into provider batches within each API's documented limits
(requests and bytes), submitted, and recorded in the ledger with each item's id, input
position and custom_id. Everything is built (and every key found) before the first batch
is sent; the requests wait in temporary files, never all in memory.
"""

from __future__ import annotations

import json
import tempfile
from typing import NamedTuple

from streamcli.batch import api as apis
from streamcli.batch import endpoints, lines
from streamcli.batch.api import Status
from streamcli.batch.ledger import LedgerError
from streamcli.batch.requests import KeyMissing
from streamcli.batch.worker import at_line
from streamcli.errors import StreamcliError, UsageError

LEDGER_ROWS = 5000  # item rows written to the ledger at a time


class Chunk:
    """The requests of one provider batch, spooled to a temporary file."""

    def __init__(self, group: "Group", position: int) -> None:
        self.group = group
        self.position = position  # among the submission's batches, from 0
        self.spool = tempfile.TemporaryFile()
        self.count = 0
        self.size = 0  # bytes of the request lines, newlines not counted
        self.custom_ids = group.api.custom_ids()

    def fits(self, line: bytes) -> bool:
        api = self.group.api
        size = self.size + len(line) + (self.count + 1) * api.LINE_OVERHEAD \
            + api.BATCH_OVERHEAD
        return self.count < api.MAX_REQUESTS and size <= api.MAX_BYTES

    def add(self, line: bytes) -> None:
        self.spool.write(line + b"\n")
        self.count += 1
        self.size += len(line)


class Group(NamedTuple):
    api: object  # the Batch API module
    target: object  # config.Target
    model: str | None  # OpenAI: the one model of its batches


class Sent(NamedTuple):
    chunk: Chunk
    status: Status


def prepare(source, defaults, ledger, submission: str, skip: set[str]) -> tuple[list, int]:
    """Spool every item into its chunk and record it; (the chunks, items not sendable).
    A missing key (KeyMissing) ends it before anything is sent."""
    groups: dict = {}
    chunks: list[Chunk] = []
    rows: list = []
    schemas: dict = {}  # JSON Schema text -> its number in the ledger
    new_schemas: dict = {}
    unsent = 0
    for item in source.items():
        if item.id in skip:
            continue
        try:
            chunk, custom_id, schema = _place(item, defaults, groups, chunks)
            n = _number_of(schema, schemas, new_schemas)
            rows.append((item.index, item.id, item.line, chunk.position, custom_id, None, n))
        except KeyMissing:
            raise
        except UsageError as err:
            unsent += 1
            failed = lines.failed(item.id, item.index, at_line(item, err)).line.decode("utf-8")
            rows.append((item.index, item.id, item.line, None, None, failed, None))
        if len(rows) >= LEDGER_ROWS:
            ledger.add_items(submission, rows, new_schemas)
            rows, new_schemas = [], {}
    if rows or new_schemas:
        ledger.add_items(submission, rows, new_schemas)
    for chunk in chunks:
        if not chunk.count:  # begun for an item that turned out too large for any batch
            chunk.spool.close()
    return [c for c in chunks if c.count], unsent


def _number_of(schema, known: dict, new: dict) -> int | None:
    """The ledger's number for an item's schema (the same schema once per submission)."""
    if schema is None:
        return None
    text = json.dumps(schema.json, sort_keys=True)
    if text not in known:
        known[text] = new[text] = len(known)
    return known[text]


def _place(item, defaults, groups: dict, chunks: list) -> tuple[Chunk, str, object]:
    target, request = defaults.plan(item)
    api = apis.load(target.kind)
    model = request.model if target.kind == "openai" else None
    key = (target.name, target.kind, target.base_url, model)
    group = groups.get(key)
    if group is None:
        group = groups[key] = [Group(api, target, model), None]
    chunk = group[1]
    try:
        if chunk is None:
            chunk = group[1] = _new(group[0], chunks)
        custom_id = chunk.custom_ids(item.id, item.index)
        line = api.line(custom_id, request)
        if not chunk.fits(line):
            if len(line) + api.LINE_OVERHEAD + api.BATCH_OVERHEAD > api.MAX_BYTES:
                raise UsageError(f"line {item.line}: the request is too large for a batch "
                                 f"({len(line)} bytes; at most {api.MAX_BYTES})")
            chunk = group[1] = _new(group[0], chunks)
            custom_id = chunk.custom_ids(item.id, item.index)
            line = api.line(custom_id, request)
    except (UnicodeEncodeError, RecursionError) as exc:
        raise UsageError(f"line {item.line}: the request cannot be encoded ({exc})") from None
    chunk.add(line)
    return chunk, custom_id, request.schema


def _new(group: Group, chunks: list) -> Chunk:
    chunk = Chunk(group, len(chunks))
    chunks.append(chunk)
    return chunk


def send(chunks: list[Chunk], remote, ledger, submission: str):
    """Create the provider batches, recording each as soon as it exists: (the batches
    sent, the error that stopped the sending or None)."""
    sent = []
    for chunk in chunks:
        group = chunk.group
        try:
            status = group.api.create(remote.api(group.target.base_url), group.target,
                                      chunk.spool, chunk.count, chunk.size, group.model)
        except StreamcliError as err:
            return sent, err
        chunk.spool.close()
        sent.append(Sent(chunk, status))  # printed whatever happens next: it exists
        try:
            ledger.add_batch(submission, chunk.position, status, kind=group.target.kind,
                             provider=group.target.name,
                             base_url=endpoints.recorded(group.target.base_url),
                             model=group.model or group.target.model, requests=chunk.count)
        except LedgerError as err:
            return sent, LedgerError(
                f"batch {status.id} was submitted, but {err.message[0].lower()}"
                f"{err.message[1:]}: streamcli cannot follow it or map its results back "
                f"(cancel it with the provider's own tools if it is not wanted)")
    return sent, None
