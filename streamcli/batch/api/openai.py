"""The OpenAI Batch API: a JSONL file uploaded, then a batch for one endpoint.

The OpenAI Batch API: the requests uploaded as a JSONL file (`POST /v1/files`, purpose
batch), then `POST /v1/batches` for one endpoint (/v1/chat/completions, or /v1/responses
for the Responses API) with a 24 h window; `GET` and `POST .../cancel` on the batch;
results from its output and error files (`GET /v1/files/{id}/content`), in any order.
One model per batch file. `flavor(kind)` gives the Batch API of one wire protocol.
"""

from __future__ import annotations

import json
import secrets

from streamcli import providers
from streamcli.batch import lines
from streamcli.batch.api import Status, plain_id, request_body, with_headers
from streamcli.batch.api.ids import CustomIds
from streamcli.errors import (InvalidRequestError, MalformedStream, ServerError,
                              StreamcliError, TimeoutExpired)
from streamcli.redact import clip
from streamcli.providers.errors import error_from_body, make_error

MAX_REQUESTS = 50_000  # documented limits of one batch input file
MAX_BYTES = 200_000_000
FINAL = frozenset(("completed", "failed", "expired", "cancelled"))
ENDPOINTS = {"openai": "/v1/chat/completions", "openai-responses": "/v1/responses"}


def flavor(kind: str) -> "Batches":
    return Batches(kind, ENDPOINTS[kind])


def _url(target, *parts: str) -> str:
    return "/".join((target.base_url.rstrip("/"), *parts))


def _headers(target) -> dict:
    headers = {"accept": "application/json"}
    if target.api_key:
        headers["authorization"] = f"Bearer {target.api_key}"
    return with_headers(headers, target)


class Batches:
    """The Batch API for requests of protocol `kind`, sent to `endpoint`."""

    LINE_OVERHEAD = 1  # the newline
    BATCH_OVERHEAD = 0  # the limit is on the file of lines alone

    def __init__(self, kind: str, endpoint: str) -> None:
        self.NAME = kind
        self.endpoint = endpoint
        self.prov = providers.load(kind)

    @property
    def MAX_REQUESTS(self) -> int:  # read at each use: the tests lower them
        return MAX_REQUESTS

    @property
    def MAX_BYTES(self) -> int:
        return MAX_BYTES

    def custom_ids(self) -> CustomIds:
        return CustomIds()

    def line(self, custom_id: str, request) -> bytes:
        body = request_body(self.prov, request)
        body.pop("stream", None)
        body.pop("stream_options", None)
        return json.dumps({"custom_id": custom_id, "method": "POST", "url": self.endpoint,
                           "body": body}, ensure_ascii=False).encode()

    def create(self, api, target, spool, count: int, size: int, model=None) -> Status:
        """Upload the `count` request lines of `spool` (`size` bytes without their
        newlines) as a batch input file, then start a batch on it."""
        boundary = "streamcli" + secrets.token_hex(12)
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
                f'batch\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="streamcli-batch.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n'
                ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body():
            spool.seek(0)

            def chunks():
                yield head
                yield from iter(lambda: spool.read(1 << 16), b"")
                yield tail
            return (chunks(), f"multipart/form-data; boundary={boundary}",
                    len(head) + size + count + len(tail))
        upload = api.json(self.prov, "POST", _url(target, "files"), _headers(target), body)
        if plain_id(upload.get("id"), "a file id") is None:
            raise MalformedStream(f"the file upload answered without an id: "
                                  f"{clip(json.dumps(upload), 120)}")
        create_body = {"input_file_id": upload["id"], "endpoint": self.endpoint,
                       "completion_window": "24h"}
        return status(api.json(self.prov, "POST", _url(target, "batches"), _headers(target),
                               create_body))

    def retrieve(self, api, target, batch_id: str) -> Status:
        return status(api.json(self.prov, "GET", _url(target, "batches", batch_id),
                               _headers(target)))

    def cancel(self, api, target, batch_id: str) -> Status:
        return status(api.json(self.prov, "POST", _url(target, "batches", batch_id, "cancel"),
                               _headers(target)))

    def results(self, api, target, batch: Status, spool) -> None:
        """The output file, then the error file (each request is in one of them)."""
        for key in ("output_file_id", "error_file_id"):
            file_id = plain_id(batch.raw.get(key) or None, "a file id")
            if file_id is not None:
                api.download(self.prov, _url(target, "files", file_id, "content"),
                             _headers(target), spool)
                spool.write(b"\n")  # a file whose last line has no newline ends here anyway

    def custom_id_of(self, obj: dict) -> str | None:
        value = obj.get("custom_id")
        return value if isinstance(value, str) else None

    def to_line(self, item_id: str, index: int, obj: dict, batch: Status,
                schema=None) -> lines.Done:
        """One line of the output or error file as the item's output line."""
        response = obj.get("response") if isinstance(obj.get("response"), dict) else None
        error = obj.get("error") if isinstance(obj.get("error"), dict) else None
        if response is not None and isinstance(response.get("status_code"), int):
            code, body = response["status_code"], response.get("body")
            if 200 <= code < 300 and isinstance(body, dict):
                return lines.from_response(item_id, index, self.prov, body, schema=schema)
            err = error_from_body(code, json.dumps(body).encode(), {},
                                  self.prov.REQUEST_ID_HEADER)
            request_id = response.get("request_id")
            err.request_id = err.request_id or (request_id if isinstance(request_id, str)
                                                else None)
        elif error is not None:
            err = _request_error(error.get("code"), error.get("message"))
        else:
            err = MalformedStream(f"unexpected result line: {clip(json.dumps(obj), 120)}")
        return lines.failed(item_id, index, err, provider=self.NAME)

    def missing(self, batch: Status) -> StreamcliError:
        """Why a request of an ended batch is in neither file."""
        if batch.state == "expired":
            return _request_error("batch_expired", None)
        if batch.state == "cancelled":
            return _request_error("batch_cancelled", None)
        if batch.state == "failed":
            errors = batch.raw.get("errors")
            data = errors.get("data") if isinstance(errors, dict) else None
            said = "; ".join(str(e.get("message")) for e in
                             (data[:3] if isinstance(data, list) else []) if isinstance(e, dict))
            return InvalidRequestError(f"the batch failed validation: "
                                       f"{said or 'no reason given'}", type="batch_failed")
        return ServerError(f"batch {batch.id} has no result for this request")


def status(obj: dict) -> Status:
    state, ident = obj.get("status"), plain_id(obj.get("id"), "a batch id")
    if not isinstance(ident, str) or not isinstance(state, str):
        raise MalformedStream(f"not a batch: {clip(json.dumps(obj), 120)}")
    rc = obj.get("request_counts") if isinstance(obj.get("request_counts"), dict) else {}
    total, done, failed = (rc.get(k) if isinstance(rc.get(k), int) else 0
                           for k in ("total", "completed", "failed"))
    rest = max(0, total - done - failed)
    ended = state in FINAL
    counts = {"processing": 0 if ended else rest, "succeeded": done,
              "failed": failed + (rest if state in ("failed", "completed") else 0),
              "cancelled": rest if state == "cancelled" else 0,
              "expired": rest if state == "expired" else 0}
    return Status(ident, state, ended, counts, obj)


def _request_error(code, message) -> StreamcliError:
    code = code if isinstance(code, str) else None
    message = message if isinstance(message, str) and message else None
    if code == "batch_expired":
        return TimeoutExpired(message or "the batch expired (24 h) before this request ran",
                              type=code)
    if code == "batch_cancelled":
        return lines.ItemCancelled(message or "the batch was cancelled before this request "
                                              "ran", type=code)
    return make_error(None, code, message or "the request failed")
