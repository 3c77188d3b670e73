"""Calls to a Batch API: JSON in and out, uploads and downloads, each retried.

Calls to a Batch API: JSON in and out, uploads and downloads, each retried with the
policy of single runs (a body to upload is made again for each attempt).
"""

from __future__ import annotations

import json
import time
from typing import Callable

from streamcli.attempt import error_response
from streamcli.errors import MalformedStream, StreamcliError
from streamcli.redact import Redactor, excerpt
from streamcli.request import HttpRequest
from streamcli.retry import RetryPolicy

JSON_LIMIT = 64 << 20  # a batch object or page is small: a larger answer is not one


class Upload:
    """A request body sent from an iterable of bytes, with its exact length (sent as the
    Content-Length: servers and gateways often refuse a chunked upload)."""

    def __init__(self, chunks, length: int) -> None:
        self.chunks = chunks
        self.length = length

    def __iter__(self):
        return iter(self.chunks)


class Api:
    def __init__(self, transport, policy: RetryPolicy, ui=None, redactor=None) -> None:
        """`redactor`: the run's redact.Redactor (the key never shows, even echoed)."""
        self.transport = transport
        self.policy = policy
        self.ui = ui
        self.redact = redactor or Redactor()

    def json(self, prov, method: str, url: str, headers: dict, body=None) -> dict:
        """The response's JSON object; `body`: a dict (sent as JSON), or a function
        returning (byte chunks, content type, their length) again for each attempt."""
        data = self.call(prov, method, url, headers, body)
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            raise MalformedStream(f"{method} {url}: the response is not a JSON object: "
                                  f"{excerpt(data)}")
        return obj

    def call(self, prov, method: str, url: str, headers: dict, body=None) -> bytes:
        return self._retried(lambda: self._once(prov, method, url, headers, body, None))

    def download(self, prov, url: str, headers: dict, spool) -> None:
        """GET `url`, appended to the file `spool` (a retry starts again where the first
        attempt began)."""
        start = spool.seek(0, 2)
        self._retried(lambda: self._once(prov, "GET", url, headers, None, (spool, start)))

    def _retried(self, attempt: Callable):
        tries = 0
        while True:
            try:
                return attempt()
            except StreamcliError as err:
                delay = self.policy.delay(err, tries, committed=False)
                if delay is None:
                    raise
                tries += 1
                if self.ui is not None:
                    self.ui.notice(f"retry {tries}/{self.policy.retries} in {delay:.1f} s: "
                                   f"{err.describe()}")
                time.sleep(delay)  # a Ctrl-C here raises Cancelled at once

    def _once(self, prov, method, url, headers, body, spool):
        headers = dict(headers)
        content = b""
        if isinstance(body, dict):
            content = json.dumps(body, ensure_ascii=False).encode()
            headers["content-type"] = "application/json"
        elif body is not None:
            chunks, headers["content-type"], length = body()
            content = Upload(chunks, length)
        request = HttpRequest(url, headers, content, method=method)
        with self.transport.stream(request) as response:
            if response.status_code >= 300:
                raise self.redact.error(error_response(self.transport, prov, response))
            if spool is None:
                data = self.transport.read_all(response, limit=JSON_LIMIT)
                if len(data) > JSON_LIMIT:
                    raise MalformedStream(f"{method} {url}: response too large (more than "
                                          f"{JSON_LIMIT >> 20} MiB)")
                return data
            spool, start = spool
            spool.seek(start)
            spool.truncate()
            for chunk in self.transport.chunks(response):
                spool.write(chunk)
            spool.flush()
            return None
