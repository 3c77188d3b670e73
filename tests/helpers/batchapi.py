"""A local fake of both providers' Batch APIs, and of the non-streaming endpoints that
`streamcli batch run` calls once per item, served by the one FakeServer (its handler).

Anthropic Message Batches (base URL: the server's): POST /v1/messages/batches,
GET /v1/messages/batches[?limit=N], GET .../{id}, GET .../{id}/results (JSONL),
POST .../{id}/cancel. OpenAI (base URL: the server's + /v1): POST /v1/files (multipart,
purpose batch), GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches[?limit=N],
GET .../{id}, POST .../{id}/cancel.

The shapes follow the documentation and the official SDKs' types (tests/test_batch_api.py
has the SDK clients parse every one of them). Results come back in a shuffled order, as
the real services promise nothing about it.

Tests steer it:
  * `polls_to_end`: how many retrievals of a batch show it still in progress before it
    ends (0: the first retrieval after creation shows it ended); `hold = True` never ends;
  * `outcome[custom_id]`: "expired", "cancelled", or ("error", status, type, message) for
    one request (default: succeeded, answering "answer to <last user text>");
  * `limits[kind] = (requests, bytes)`: what one batch may hold (a larger one is refused
    with a 400, as the services do);
  * `key`: the API key every request must carry (None: any);
  * `validation_error`: an OpenAI batch fails validation with this message;
  * `max_batches`: creating more batches than this is refused with a 400;
  * `texts[custom_id]`: the answer's text (default "answer to <last user text>").
Everything it was sent is in `created` (each batch's requests, parsed) and `server.requests`.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlsplit

from tests.helpers import sse
from tests.helpers.fakeserver import FakeServer, Recorded, Reply

ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
CREATED_AT = "2026-11-21T10:00:00Z"
EXPIRES_AT = "2026-11-22T10:00:00Z"
T0 = 1_790_000_000  # a Unix time for OpenAI's timestamps


class FakeBatchAPI:
    def __init__(self, server: FakeServer, *, key: str | None = None) -> None:
        self.server = server
        self.key = key
        self.polls_to_end = 0
        self.hold = False
        self.outcome: dict = {}
        self.limits = {"anthropic": (100_000, 256_000_000), "openai": (50_000, 200_000_000)}
        self.validation_error: str | None = None  # OpenAI: the batch fails validation
        self.max_batches: int | None = None  # more batches than this are refused (400)
        self.texts: dict[str, str] = {}  # custom_id -> the text of its answer
        self.batches: dict[str, dict] = {}  # id -> {"kind", "obj", "requests", "polls"}
        self.files: dict[str, bytes] = {}
        self.created: list[dict] = []  # {"kind", "id", "requests": [...]} in creation order
        self._lock = threading.Lock()
        self._random = random.Random(7)
        server.handler = self.handle

    @property
    def anthropic_url(self) -> str:
        return self.server.url

    @property
    def openai_url(self) -> str:
        return self.server.url + "/v1"

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, req: Recorded) -> Reply:
        path = urlsplit(req.path).path.rstrip("/")
        with self._lock:
            if path.startswith("/v1/messages/batches"):
                # x-api-key, as streamcli sends it; the SDK sends the key as a bearer token.
                bearer = req.headers.get("authorization", "").removeprefix("Bearer ")
                if not self._authorized(req.headers.get("x-api-key") or bearer or None):
                    return _anthropic_error(401, "authentication_error", "invalid x-api-key")
                return self._anthropic(req, path[len("/v1/messages/batches"):])
            if path.startswith(("/v1/files", "/v1/batches")):
                auth = req.headers.get("authorization", "")
                if not self._authorized(auth.removeprefix("Bearer ") if auth else None):
                    return _openai_error(401, "invalid_request_error", "Incorrect API key",
                                         "invalid_api_key")
                return self._openai(req, path[len("/v1"):])
        return Reply.json(404, {"error": {"message": f"no route {req.method} {req.path}"}})

    def _authorized(self, key) -> bool:
        return self.key is None or key == self.key

    # -- Anthropic --------------------------------------------------------------------------

    def _anthropic(self, req: Recorded, rest: str) -> Reply:
        parts = [p for p in rest.split("/") if p]
        if req.method == "POST" and not parts:
            return self._anthropic_create(req)
        if req.method == "GET" and not parts:
            return Reply.json(200, self._page("anthropic", req, anthropic=True))
        batch = self.batches.get(parts[0]) if parts else None
        if batch is None or batch["kind"] != "anthropic":
            return _anthropic_error(404, "not_found_error", "no such batch")
        if req.method == "GET" and len(parts) == 1:
            self._poll(batch)
            return Reply.json(200, batch["obj"])
        if req.method == "POST" and parts[1:] == ["cancel"]:
            self._cancel(batch)
            return Reply.json(200, batch["obj"])
        if req.method == "GET" and parts[1:] == ["results"]:
            if batch["obj"]["processing_status"] != "ended":
                return _anthropic_error(400, "invalid_request_error", "batch still processing")
            lines = [json.dumps(self._anthropic_result(batch, r)) for r in batch["requests"]]
            self._random.shuffle(lines)
            body = ("\n".join(lines) + "\n").encode()
            return Reply(200, body=[body], framing="length", content_type="application/binary")
        return _anthropic_error(404, "not_found_error", "no such route")

    def _anthropic_create(self, req: Recorded) -> Reply:
        requests = (req.json or {}).get("requests")
        count, size = self.limits["anthropic"]
        if not isinstance(requests, list) or not requests:
            return _anthropic_error(400, "invalid_request_error", "requests: a non-empty list")
        if len(requests) > count or len(req.body) > size:
            return _anthropic_error(413 if len(req.body) > size else 400,
                                    "invalid_request_error", "too many requests or bytes")
        if self._refused():
            return _anthropic_error(400, "invalid_request_error", "too many batches")
        ids = [r.get("custom_id") for r in requests]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and ANTHROPIC_ID.fullmatch(i)
                                                for i in ids):
            return _anthropic_error(400, "invalid_request_error", "custom_id: bad or repeated")
        for r in requests:
            params = r.get("params") or {}
            if not {"model", "max_tokens", "messages"} <= set(params) or "stream" in params:
                return _anthropic_error(400, "invalid_request_error", "params: bad request")
        ident = "msgbatch_" + secrets.token_hex(12)
        obj = {"id": ident, "type": "message_batch", "processing_status": "in_progress",
               "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0,
                                  "canceled": 0, "expired": 0},
               "ended_at": None, "created_at": CREATED_AT, "expires_at": EXPIRES_AT,
               "archived_at": None, "cancel_initiated_at": None, "results_url": None}
        self._new(ident, "anthropic", obj, requests)
        return Reply.json(200, obj)

    def _anthropic_result(self, batch: dict, request: dict) -> dict:
        custom_id = request["custom_id"]
        outcome = self._outcome_of(batch, custom_id)
        if outcome == "expired":
            result = {"type": "expired"}
        elif outcome == "cancelled":
            result = {"type": "canceled"}
        elif isinstance(outcome, tuple):
            _, _status, etype, message = outcome
            result = {"type": "errored", "error": {"type": "error", "request_id": "req_x",
                                                   "error": {"type": etype, "message": message}}}
        else:
            params = request["params"]
            text = self.texts.get(custom_id, answer_to(params["messages"]))
            result = {"type": "succeeded", "message": sse.anthropic_message(
                text, msg_id="msg_" + custom_id, model=params["model"], output_tokens=3)}
        return {"custom_id": custom_id, "result": result}

    # -- OpenAI -------------------------------------------------------------------------------

    def _openai(self, req: Recorded, rest: str) -> Reply:
        parts = [p for p in rest.split("/") if p]
        if parts[:1] == ["files"]:
            if req.method == "POST" and len(parts) == 1:
                return self._upload(req)
            if req.method == "GET" and len(parts) == 3 and parts[2] == "content" \
                    and parts[1] in self.files:
                return Reply(200, body=[self.files[parts[1]]], framing="length",
                             content_type="application/octet-stream")
            return _openai_error(404, "invalid_request_error", "No such file")
        if req.method == "POST" and len(parts) == 1:
            return self._openai_create(req)
        if req.method == "GET" and len(parts) == 1:
            return Reply.json(200, self._page("openai", req, anthropic=False))
        batch = self.batches.get(parts[1]) if len(parts) > 1 else None
        if batch is None or batch["kind"] != "openai":
            return _openai_error(404, "invalid_request_error", "No such batch")
        if req.method == "GET" and len(parts) == 2:
            self._poll(batch)
            return Reply.json(200, batch["obj"])
        if req.method == "POST" and parts[2:] == ["cancel"]:
            self._cancel(batch)
            return Reply.json(200, batch["obj"])
        return _openai_error(404, "invalid_request_error", "no such route")

    def _upload(self, req: Recorded) -> Reply:
        fields = multipart(req.headers.get("content-type", ""), req.body)
        if fields.get("purpose") != b"batch" or "file" not in fields:
            return _openai_error(400, "invalid_request_error", "purpose batch and a file")
        ident = "file-" + secrets.token_hex(12)
        self.files[ident] = fields["file"]
        return Reply.json(200, {"id": ident, "object": "file", "bytes": len(fields["file"]),
                                "created_at": T0, "filename": "input.jsonl", "purpose": "batch",
                                "status": "processed", "expires_at": None,
                                "status_details": None})

    def _openai_create(self, req: Recorded) -> Reply:
        body = req.json or {}
        data = self.files.get(body.get("input_file_id"))
        if data is None or body.get("endpoint") not in ("/v1/chat/completions", "/v1/responses") \
                or body.get("completion_window") != "24h":
            return _openai_error(400, "invalid_request_error", "bad batch parameters")
        requests = [json.loads(line) for line in data.splitlines() if line.strip()]
        count, size = self.limits["openai"]
        models = {(r.get("body") or {}).get("model") for r in requests}
        ids = [r.get("custom_id") for r in requests]
        bad = (len(requests) > count or len(data) > size or len(models) != 1
               or len(set(ids)) != len(ids)
               or any(r.get("method") != "POST" or r.get("url") != body["endpoint"]
                      or "stream" in (r.get("body") or {}) for r in requests))
        if bad:
            return _openai_error(400, "invalid_request_error", "the input file is not valid")
        ident = "batch_" + secrets.token_hex(12)
        obj = {"id": ident, "object": "batch", "endpoint": body["endpoint"], "errors": None,
               "input_file_id": body["input_file_id"], "completion_window": "24h",
               "status": "validating", "output_file_id": None, "error_file_id": None,
               "created_at": T0, "in_progress_at": None, "expires_at": T0 + 86400,
               "finalizing_at": None, "completed_at": None, "failed_at": None,
               "expired_at": None, "cancelling_at": None, "cancelled_at": None,
               "request_counts": {"total": len(requests), "completed": 0, "failed": 0},
               "metadata": None, "model": models.pop()}
        self._new(ident, "openai", obj, requests)
        return Reply.json(200, obj)

    def _openai_finish(self, batch: dict) -> None:
        obj, out, err = batch["obj"], [], []
        for request in batch["requests"]:
            custom_id = request["custom_id"]
            outcome = self._outcome_of(batch, custom_id)
            line = {"id": "batch_req_" + secrets.token_hex(8), "custom_id": custom_id,
                    "response": None, "error": None}
            if outcome in ("expired", "cancelled"):
                line["error"] = {"code": f"batch_{outcome}", "message": "not run"}
                err.append(line)
            elif isinstance(outcome, tuple):
                _, status, etype, message = outcome
                line["response"] = {"status_code": status, "request_id": "req_x", "body": {
                    "error": {"message": message, "type": etype, "param": None, "code": None}}}
                err.append(line)
            else:
                body = openai_answer(custom_id, request["body"], obj["endpoint"],
                                     self.texts.get(custom_id))
                line["response"] = {"status_code": 200, "request_id": "req_x", "body": body}
                out.append(line)
        for key, lines in (("output_file_id", out), ("error_file_id", err)):
            if lines:
                self._random.shuffle(lines)
                ident = "file-" + secrets.token_hex(12)
                self.files[ident] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                obj[key] = ident
        obj["request_counts"] = {"total": len(batch["requests"]), "completed": len(out),
                                 "failed": len(err)}
        if obj["status"] == "cancelling":
            obj["status"], obj["cancelled_at"] = "cancelled", T0 + 60
        elif any(self.outcome.get(r["custom_id"]) == "expired" for r in batch["requests"]):
            obj["status"], obj["expired_at"] = "expired", T0 + 86400
        else:
            obj["status"], obj["completed_at"] = "completed", T0 + 60

    # -- lifecycle --------------------------------------------------------------------------

    def _refused(self) -> bool:
        return self.max_batches is not None and len(self.created) >= self.max_batches

    def _new(self, ident: str, kind: str, obj: dict, requests: list) -> None:
        self.batches[ident] = {"kind": kind, "obj": obj, "requests": requests, "polls": 0,
                               "cancelled": False}
        self.created.append({"kind": kind, "id": ident, "requests": requests})

    def _poll(self, batch: dict) -> None:
        if self.hold or self._ended(batch):
            return
        if batch["kind"] == "openai" and self.validation_error:
            batch["obj"].update(status="failed", failed_at=T0 + 1, errors={
                "object": "list", "data": [{"code": "invalid_request", "line": 1,
                                            "message": self.validation_error, "param": None}]})
            return
        batch["polls"] += 1
        if batch["polls"] > self.polls_to_end:
            self.end(batch)
        elif batch["kind"] == "openai" and batch["obj"]["status"] == "validating":
            batch["obj"]["status"] = "in_progress"

    def _cancel(self, batch: dict) -> None:
        if self._ended(batch):
            return
        batch["cancelled"] = True
        if batch["kind"] == "anthropic":
            batch["obj"]["processing_status"] = "canceling"
            batch["obj"]["cancel_initiated_at"] = CREATED_AT
        else:
            batch["obj"]["status"], batch["obj"]["cancelling_at"] = "cancelling", T0 + 30

    def end(self, batch: dict) -> None:
        if batch["kind"] == "openai":
            self._openai_finish(batch)
            return
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for request in batch["requests"]:
            outcome = self._outcome_of(batch, request["custom_id"])
            if outcome in ("expired", "cancelled"):
                counts["expired" if outcome == "expired" else "canceled"] += 1
            else:
                counts["errored" if outcome else "succeeded"] += 1
        obj = batch["obj"]
        obj.update(processing_status="ended", ended_at=CREATED_AT, request_counts=counts,
                   results_url=f"{self.server.url}/v1/messages/batches/{obj['id']}/results")

    def _ended(self, batch: dict) -> bool:
        obj = batch["obj"]
        return obj.get("processing_status") == "ended" or obj.get("status") in (
            "completed", "failed", "expired", "cancelled")

    def _outcome_of(self, batch: dict, custom_id: str):
        outcome = self.outcome.get(custom_id)
        if batch["cancelled"] and outcome is None:
            return "cancelled"
        return outcome

    def _page(self, kind: str, req: Recorded, *, anthropic: bool) -> dict:
        limit = int(parse_qs(urlsplit(req.path).query).get("limit", ["20"])[0])
        data = [b["obj"] for b in reversed(self.batches.values()) if b["kind"] == kind][:limit]
        first = data[0]["id"] if data else None
        last = data[-1]["id"] if data else None
        page = {"data": data, "has_more": False, "first_id": first, "last_id": last}
        return page if anthropic else {"object": "list", **page}


def last_user_text(body: dict) -> str:
    """The last user turn of a request body (Messages, Chat Completions or Responses):
    its text, or its content parts as JSON."""
    turns = body.get("messages")
    if turns is None:
        turns = body.get("input")
        if isinstance(turns, str):
            return turns
    text = ""
    for turn in turns or []:
        content = turn.get("content")
        if turn.get("role") == "user":
            text = content if isinstance(content, str) else json.dumps(content)
    return text


def answer_to(messages) -> str:
    """The fake's answer: it names the last user text, so a test can tell items apart."""
    return f"answer to {last_user_text({'messages': messages})}"


def openai_answer(custom_id: str, body: dict, endpoint: str, text: str | None) -> dict:
    """The body of a Chat Completions or Responses answer (`text`, else "answer to ...")."""
    text = text if text is not None else f"answer to {last_user_text(body)}"
    if endpoint == "/v1/responses":
        return sse.response_object(text, resp_id="resp_" + custom_id, model=body.get("model"),
                                   output_tokens=3)
    return sse.chat_completion(text, completion_id="chatcmpl-" + custom_id,
                               model=body.get("model"), completion_tokens=3)


class FakeMessages:
    """The non-streaming endpoints one item of `batch run` calls, on a FakeServer:
    Anthropic POST /v1/messages, OpenAI POST /v1/chat/completions and /v1/responses, answering
    "answer to <last user text>" (the response id names it too: msg_<text>).

    `script[text]`: Replies served (in order) to the requests whose last user text is
    `text`, before it gets the normal answer; `before`: Pause/Gate parts waited out
    before every normal answer (a slow server); `held[text]`: a Gate the normal answer
    to `text` waits for.
    """

    def __init__(self, server: FakeServer, *, before=()) -> None:
        self.server = server
        self.before = tuple(before)
        self.script: dict[str, list[Reply]] = {}
        self.held: dict = {}
        self._lock = threading.Lock()
        server.handler = self.handle

    @property
    def url(self) -> str:
        return self.server.url

    def handle(self, req: Recorded) -> Reply:
        body = req.json if isinstance(req.json, dict) else {}
        text = last_user_text(body)
        with self._lock:
            queued = self.script.get(text)
            if queued:
                return queued.pop(0)
        path = urlsplit(req.path).path
        if path.endswith("/chat/completions"):
            obj = sse.chat_completion(f"answer to {text}", completion_id=f"chatcmpl_{text}",
                                      model=body.get("model"), completion_tokens=3)
        elif path.endswith("/v1/messages"):
            obj = sse.anthropic_message(f"answer to {text}", msg_id=f"msg_{text}",
                                        model=body.get("model"), output_tokens=3)
        elif path.endswith("/responses"):
            obj = sse.response_object(f"answer to {text}", resp_id=f"resp_{text}",
                                      model=body.get("model"), output_tokens=3)
        else:
            return Reply.json(404, {"error": {"message": f"no route {req.path}"}})
        gate = self.held.get(text)
        return Reply.json(200, obj, before=self.before + ((gate,) if gate else ()))


def multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = part.get_payload(decode=True)
    return fields


def _anthropic_error(status: int, etype: str, message: str) -> Reply:
    return Reply.json(status, {"type": "error", "error": {"type": etype, "message": message},
                               "request_id": "req_fake"})


def _openai_error(status: int, etype: str, message: str, code: str | None = None) -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": etype, "param": None,
                                         "code": code}})


def jsonl(*objs) -> str:
    """Objects as JSON lines: a batch's input."""
    return "".join(json.dumps(o) + "\n" for o in objs)
