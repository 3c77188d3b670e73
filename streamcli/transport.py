"""HTTP through httpx2: timeouts, and httpx2's exceptions translated where they enter.

Imported only when a request goes to the network (--replay never loads httpx2).
Proxies come from HTTPS_PROXY/NO_PROXY through httpx2's own trust_env handling.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import httpx2

from streamcli import __version__
from streamcli.errors import (ConnectionFailed, MalformedStream, StreamcliError,
                              TimeoutExpired, UsageError)
from streamcli.redact import without_password
from streamcli.request import HttpRequest

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _client_settings(url: str, environ) -> dict:
    """trust_env and verify for one target URL, without paying for what cannot apply.

    httpx2's defaults (trust_env=True, verify=True) cost ~60 ms at start-up to load the
    certificate store, and a filter run in a shell loop pays that every time. A plain
    http:// URL (a local server) reached without a proxy never does TLS, since
    redirects are not followed: it needs neither the store nor the environment.
    Everything else keeps httpx2's defaults, so HTTPS_PROXY/NO_PROXY/SSL_CERT_FILE apply.
    """
    proxied = any(k.lower() in _PROXY_VARS for k in environ)
    if url.startswith("https:") or proxied:
        return {"trust_env": True, "verify": True}
    return {"trust_env": False, "verify": False}


class Transport:
    def __init__(self, *, url: str, connect_timeout: float, idle_timeout: float,
                 environ, transport=None, pool: int | None = None,
                 observe: Callable | None = None) -> None:
        """`transport`: an httpx2 transport to use instead of httpx2's own (the tests' mock);
        `environ`: the variables that decide proxies and certificates; `pool`: connections
        kept open for reuse (many requests at once share them); `observe(status,
        headers)`: called as each response's headers arrive, before its body is read."""
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.observe = observe
        self.url = url  # the request's URL once one is sent, for messages
        # The read timeout is the idle limit: a socket silent that long is stalled for sure.
        # (Pings keep a socket busy; the session checks for content-free stretches.)
        timeout = httpx2.Timeout(connect=connect_timeout, read=idle_timeout,
                                 write=idle_timeout, pool=connect_timeout)
        limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool) \
            if pool else None
        try:
            self.client = self._client(timeout, url, environ, transport, limits)
        except ImportError as exc:  # e.g. a socks:// proxy without httpx2's socks extra
            raise UsageError(f"cannot use the configured proxy: {exc}") from None
        except (ValueError, httpx2.InvalidURL) as exc:  # a malformed proxy URL (InvalidURL
            raise UsageError(f"bad proxy setting: {exc}") from None  # is no ValueError)

    @staticmethod
    def _client(timeout, url: str, environ, transport, limits=None):
        # Redirects are not followed: an API endpoint that redirects a POST is
        # misconfigured, and following one could carry the key elsewhere.
        extra = {"limits": limits} if limits is not None else {}
        return httpx2.Client(timeout=timeout, follow_redirects=False,
                             transport=transport, **_client_settings(url, environ),
                             headers={"user-agent": f"streamcli/{__version__}"}, **extra)

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def stream(self, req: HttpRequest) -> Iterator["httpx2.Response"]:
        """Send (a POST, or req.method) and yield the response with headers read and the
        body not yet read."""
        self.url = req.url
        headers = req.headers
        if req.method != "GET" and not isinstance(req.body, bytes):
            # A body streamed from disk (attachments): with its exact length, httpx2 sends
            # it as is instead of chunked, which servers and gateways often refuse.
            headers = {**headers, "content-length": str(req.body.length)}
        try:
            request = self.client.build_request(req.method, req.url, headers=headers,
                                                content=None if req.method == "GET" else req.body)
            response = self.client.send(request, stream=True)
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:  # InvalidURL is no HTTPError
            raise self.translate(exc, started=False) from None
        try:
            if self.observe is not None:
                self.observe(response.status_code, response.headers)
            yield response
        finally:
            response.close()

    def post(self, req: HttpRequest, limit: int) -> tuple[int, "httpx2.Headers", bytes]:
        """A non-streaming request (a POST, or req.method): status, headers, and the body
        read `limit` bytes far (more than `limit` bytes back: it was larger, not read on)."""
        with self.stream(req) as response:
            return response.status_code, response.headers, self.read_all(response, limit)

    def read_all(self, response, limit: int) -> bytes:
        """The body, read at most `limit` + 1 bytes far: a body that never ends must not
        grow memory without bound. More than `limit` bytes back: it was larger."""
        parts, size = [], 0
        for chunk in self.chunks(response):
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(parts)[:limit + 1]
        return b"".join(parts)

    def chunks(self, response) -> Iterator[bytes]:
        """The body as it arrives, one item per network read."""
        # iter_raw() skips httpx2's decoder and re-chunking layers; only a compressed
        # body needs iter_bytes(). Both are public API.
        encoding = response.headers.get("content-encoding", "identity").lower()
        reader = response.iter_raw() if encoding in ("identity", "") else response.iter_bytes()
        try:
            yield from reader
        except httpx2.HTTPError as exc:
            raise self.translate(exc, started=True) from None

    def translate(self, exc: Exception, *, started: bool) -> StreamcliError:
        """httpx2's exceptions, as the error tree (and so the exit status) sees them."""
        reason = _reason(exc)
        if isinstance(exc, httpx2.ConnectTimeout):
            return TimeoutExpired(f"could not connect to {without_password(self.url)} within "
                                  f"{self.connect_timeout:g} s (--connect-timeout): {reason}",
                                  limit="connect")
        if isinstance(exc, (httpx2.ReadTimeout, httpx2.WriteTimeout, httpx2.PoolTimeout)):
            return TimeoutExpired(f"no data from the server for {self.idle_timeout:g} s "
                                  f"(--idle-timeout)", limit="idle")
        if isinstance(exc, (httpx2.UnsupportedProtocol, httpx2.InvalidURL)):
            return UsageError(f"bad URL: {reason}")
        if isinstance(exc, httpx2.DecodingError):
            return MalformedStream(f"could not decode the response body: {reason}")
        url = without_password(self.url)
        if isinstance(exc, httpx2.ConnectError):
            return ConnectionFailed(f"cannot connect to {url}: {reason}")
        if started:
            return ConnectionFailed(f"connection to {url} dropped mid-stream: {reason}")
        return ConnectionFailed(f"connection to {url} failed: {reason}")


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
