"""The one error tree of streamcli. Each leaf carries the exit status a script sees.

Foreign exceptions (httpx2, OSError, json) are translated into these where they enter
(transport, providers, prompt); `entry` is the only place that turns them into an exit.
"""

from __future__ import annotations


class StreamcliError(Exception):
    exit_code = 1
    kind = "internal"

    def __init__(self, message: str, *, status: int | None = None, type: str | None = None,
                 request_id: str | None = None, retry_after: float | None = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # HTTP status, when there was one
        self.type = type  # the provider's own error type/code, when it sent one
        self.request_id = request_id
        self.retry_after = retry_after  # seconds the server asked us to wait
        if retryable is not None:
            self.retryable = retryable

    retryable = False

    def describe(self) -> str:
        """One readable line: the provider's message, then type, HTTP status and request id."""
        details = [d for d in (self.type, f"HTTP {self.status}" if self.status else None,
                               f"request id {self.request_id}" if self.request_id else None) if d]
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def as_dict(self) -> dict:
        """The `error` object of --jsonl and --no-stream."""
        return {"kind": self.kind, "status": self.status, "type": self.type,
                "message": self.message, "request_id": self.request_id}


class UsageError(StreamcliError):
    exit_code = 2
    kind = "usage"


class ApiError(StreamcliError):
    """The API answered with an error (an HTTP status or an in-stream error event)."""


class InvalidRequestError(ApiError):
    exit_code = 3
    kind = "invalid_request"


class AuthError(ApiError):
    """Auth, permission, billing or quota: retrying cannot help."""
    exit_code = 4
    kind = "auth"


class RateLimitError(ApiError):
    exit_code = 5
    kind = "rate_limit"
    retryable = True


class ServerError(ApiError):
    exit_code = 6
    kind = "server"
    retryable = True


class ConnectionFailed(StreamcliError):
    exit_code = 7
    kind = "connection"
    retryable = True


class TimeoutExpired(StreamcliError):
    exit_code = 8
    kind = "timeout"
    retryable = True  # only the connect and idle limits; --timeout is marked not retryable


class MalformedStream(StreamcliError):
    exit_code = 9
    kind = "malformed"


class Cancelled(BaseException):
    """SIGINT or SIGTERM arrived; raised from the signal handler, never caught as an error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class TotalTimeout(BaseException):
    """--timeout expired. Raised from the alarm handler wherever the program is, so it is
    a BaseException that no library `except Exception` can swallow; the session turns it
    into TimeoutExpired."""


class StdoutClosed(Exception):
    """The reader of stdout went away (EPIPE): clean up quietly and die by SIGPIPE."""


EXIT_STATUS_TABLE = (
    (0, "success (a max_tokens/length stop too, with a warning on stderr)"),
    (1, "internal error (a bug; traceback only with --debug)"),
    (2, "usage or configuration error (bad option, no prompt, missing API key)"),
    (3, "API rejected the request (400, 404, 409, 413, 422, invalid_request_error)"),
    (4, "authentication, permission, billing or quota (401, 402, 403)"),
    (5, "rate limited (429 after the retries, or retry-after above --max-retry-wait)"),
    (6, "server error or overloaded (5xx, 529, in-stream error) after the retries"),
    (7, "connection error (DNS, refused, TLS, reset, dropped mid-stream)"),
    (8, "timeout (connect, idle, total --timeout, 408 after the retries)"),
    (9, "malformed or incomplete stream (no terminal event, invalid JSON, not SSE)"),
    (130, "interrupted by SIGINT (Ctrl-C); partial output kept"),
    (141, "stdout closed early (SIGPIPE), e.g. piped into head"),
    (143, "terminated by SIGTERM; partial output kept"),
)
