"""Calls to a Batch API: JSON in and out, uploads and downloads, each retried with the
policy of single runs (a body to upload is made again for each attempt)."""

from __future__ import annotations

import json
import time
from typing import Callable

from streamcli.errors import MalformedStream, StreamcliError
from streamcli.request import HttpRequest
from streamcli.retry import RetryPolicy


class Api:
    def __init__(self, transport, policy: RetryPolicy, ui=None) -> None:
        self.transport = transport
        self.policy = policy
        self.ui = ui

    def json(self, prov, method: str, url: str, headers: dict, body=None) -> dict:
        """The response's JSON object; `body`: a dict (sent as JSON), or a function
        returning (bytes or byte chunks, content type, length) for each attempt."""
        data = self.call(prov, method, url, headers, body)
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            raise MalformedStream(f"{method} {url}: the response is not a JSON object: "
                                  f"{data[:120]!r}")
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
            content, ctype, length = body()
            headers.update({"content-type": ctype, "content-length": str(length)})
        request = HttpRequest(url, headers, content, method=method)
        with self.transport.stream(request) as response:
            if response.status_code >= 300:
                data = self.transport.read_all(response, limit=1024 * 1024)
                raise prov.error_from_response(response.status_code, data, response.headers)
            if spool is None:
                return self.transport.read_all(response)
            spool, start = spool
            spool.seek(start)
            spool.truncate()
            for chunk in self.transport.chunks(response):
                spool.write(chunk)
            spool.flush()
            return None
