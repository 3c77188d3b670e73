"""The Anthropic Message Batches API: create, status, results, cancel, list.

The Anthropic Message Batches API: `POST /v1/messages/batches` (the requests as one
JSON body), `GET .../{id}`, `GET .../{id}/results` (JSONL, in any order),
`POST .../{id}/cancel`.
"""

from __future__ import annotations

import json
import re

from streamcli import providers
from streamcli.batch import lines
from streamcli.batch.api import Status, plain_id, request_body, with_headers
from streamcli.batch.api.ids import CustomIds
from streamcli.errors import MalformedStream, ServerError, TimeoutExpired
from streamcli.redact import clip
from streamcli.providers.errors import error_from_event

NAME = "anthropic"
MAX_REQUESTS = 100_000  # documented limits of one batch
MAX_BYTES = 256_000_000
LINE_OVERHEAD = 1  # the comma between two requests
_HEAD, _TAIL = b'{"requests":[', b"]}"
# The limit is on the whole body: its head and tail count too (one comma fewer than
# requests, hence the -1).
BATCH_OVERHEAD = len(_HEAD) + len(_TAIL) - LINE_OVERHEAD
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_PROV = providers.load(NAME)


def custom_ids() -> CustomIds:
    return CustomIds(CUSTOM_ID)


def line(custom_id: str, request) -> bytes:
    params = request_body(_PROV, request)
    params.pop("stream", None)
    return json.dumps({"custom_id": custom_id, "params": params}, ensure_ascii=False).encode()


def _url(target, *parts: str) -> str:
    return "/".join((target.base_url.rstrip("/") + "/v1/messages/batches", *parts))


def _headers(target) -> dict:
    headers = {"anthropic-version": _PROV.API_VERSION, "accept": "application/json"}
    if target.api_key:
        headers["x-api-key"] = target.api_key
    return with_headers(headers, target)


def create(api, target, spool, count: int, size: int, model=None) -> Status:
    """`spool`: a file of `count` request lines (each ending in a newline, `size` bytes
    without them), sent as one JSON body without holding it in memory."""
    def body():
        spool.seek(0)

        def chunks():
            yield _HEAD
            for i, raw in enumerate(spool):
                yield (b"," if i else b"") + raw.rstrip(b"\n")
            yield _TAIL
        return chunks(), "application/json", len(_HEAD) + size + count - 1 + len(_TAIL)
    return status(api.json(_PROV, "POST", _url(target), _headers(target), body))


def retrieve(api, target, batch_id: str) -> Status:
    return status(api.json(_PROV, "GET", _url(target, batch_id), _headers(target)))


def cancel(api, target, batch_id: str) -> Status:
    return status(api.json(_PROV, "POST", _url(target, batch_id, "cancel"), _headers(target)))


def results(api, target, batch: Status, spool) -> None:
    # The results_url is followed only on the configured server: the key goes nowhere else.
    url = batch.raw.get("results_url")
    if not isinstance(url, str) or not url.startswith(target.base_url.rstrip("/") + "/"):
        url = _url(target, batch.id, "results")
    api.download(_PROV, url, _headers(target), spool)


def status(obj: dict) -> Status:
    state, ident = obj.get("processing_status"), plain_id(obj.get("id"), "a batch id")
    if not isinstance(ident, str) or not isinstance(state, str):
        raise MalformedStream(f"not a message batch: {clip(json.dumps(obj), 120)}")
    rc = obj.get("request_counts") if isinstance(obj.get("request_counts"), dict) else {}
    counts = {"processing": rc.get("processing", 0), "succeeded": rc.get("succeeded", 0),
              "failed": rc.get("errored", 0), "cancelled": rc.get("canceled", 0),
              "expired": rc.get("expired", 0)}
    return Status(ident, state, state == "ended", counts, obj)


def custom_id_of(obj: dict) -> str | None:
    value = obj.get("custom_id")
    return value if isinstance(value, str) else None


def to_line(item_id: str, index: int, obj: dict, batch: Status, schema=None) -> lines.Done:
    """One line of the results file as the item's output line."""
    result = obj.get("result") if isinstance(obj.get("result"), dict) else {}
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), dict):
        return lines.from_response(item_id, index, _PROV, result["message"], schema=schema)
    if kind == "errored":
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        request_id = error.get("request_id")
        err = error_from_event(error, request_id=request_id if isinstance(request_id, str)
                               else None)
    elif kind == "expired":
        err = TimeoutExpired("the batch ended (24 h) before this request was processed",
                             type="expired")
    elif kind == "canceled":
        err = lines.ItemCancelled("the batch was cancelled before this request was "
                                  "processed", type="canceled")
    else:
        err = MalformedStream(f"unexpected result: {clip(json.dumps(result), 120)}")
    return lines.failed(item_id, index, err, provider=NAME)


def missing(batch: Status) -> ServerError:
    return ServerError(f"batch {batch.id} has no result for this request")
