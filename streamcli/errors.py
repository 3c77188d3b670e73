"""The one error tree of streamcli; each class carries the exit status a script sees.

    StreamcliError ............... 1  internal error (a bug)
     ├── UsageError .............. 2  bad option, no prompt, missing key, unreadable file,
     │                                bad attachment (type, limit), schema or header
     ├── ApiError                     the API said no (HTTP status or in-stream error)
     │    ├── InvalidRequestError  3  400, 404, 409, 413, 422, a redirect, invalid_request_error
     │    ├── AuthError .......... 4  401, 402, 403, billing, quota
     │    ├── RateLimitError ..... 5  429, retry-after above --max-retry-wait
     │    └── ServerError ........ 6  5xx, 529, overloaded_error, api_error
     ├── ConnectionFailed ........ 7  DNS, refused, TLS, reset, dropped mid-stream
     ├── TimeoutExpired .......... 8  connect, idle, total (--timeout), 408
     ├── MalformedStream ......... 9  no terminal event, invalid JSON, not SSE
     ├── SchemaMismatch ......... 10  the answer does not match --schema
     └── OutputError ............ 11  stdout or --output cannot be written (disk full, I/O)

    BaseException (never caught as errors):
     ├── Cancelled .......... 130/143 SIGINT / SIGTERM: cleanup, then death by the signal
     └── TotalTimeout                 --timeout fired; the session turns it into 8
    StdoutClosed ............... 141  EPIPE: quiet cleanup, then death by SIGPIPE

    Not an error of its own: 12, `streamcli batch` ran and some of its items failed.

Foreign exceptions (httpx2, OSError, json) are translated into this tree where they
enter (transport, providers, plan); `entry` is the only place that turns them into an
exit. Whether an error is retried is decided by `retry`, from the fields kept here.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID_REQUEST = 3
    AUTH = 4
    RATE_LIMITED = 5
    SERVER = 6
    CONNECTION = 7
    TIMEOUT = 8
    MALFORMED = 9
    SCHEMA_MISMATCH = 10
    OUTPUT = 11
    BATCH_ITEMS_FAILED = 12
    SIGINT = 130
    SIGPIPE = 141
    SIGTERM = 143


class StreamcliError(Exception):
    """internal error (a bug; traceback only with --debug)"""

    exit_code = ExitStatus.INTERNAL
    kind = "internal"

    def __init__(self, message: str, *, status: int | None = None, type: str | None = None,
                 request_id: str | None = None, retry_after: float | None = None,
                 should_retry: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # HTTP status, when there was one
        self.type = type  # the provider's own error type/code, when it sent one
        self.request_id = request_id
        self.retry_after = retry_after  # seconds the server asked us to wait
        self.should_retry = should_retry  # the server's x-should-retry, when it sent one

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
    """usage or configuration error (bad option, no prompt, missing API key, unreadable file, bad attachment, schema or header)"""

    exit_code = ExitStatus.USAGE
    kind = "usage"


class ApiError(StreamcliError):
    """The API answered with an error (an HTTP status or an in-stream error event)."""


class InvalidRequestError(ApiError):
    """API rejected the request (400, 404, 409, 413, 422, a redirect, invalid_request_error)"""

    exit_code = ExitStatus.INVALID_REQUEST
    kind = "invalid_request"


class AuthError(ApiError):
    """authentication, permission, billing or quota (401, 402, 403; never retried)"""

    exit_code = ExitStatus.AUTH
    kind = "auth"


class RateLimitError(ApiError):
    """rate limited (429 after the retries, or retry-after above --max-retry-wait)"""

    exit_code = ExitStatus.RATE_LIMITED
    kind = "rate_limit"


class ServerError(ApiError):
    """server error or overloaded (5xx, 529, in-stream error) after the retries"""

    exit_code = ExitStatus.SERVER
    kind = "server"


class ConnectionFailed(StreamcliError):
    """connection error (DNS, refused, TLS, reset, dropped mid-stream)"""

    exit_code = ExitStatus.CONNECTION
    kind = "connection"


class TimeoutExpired(StreamcliError):
    """timeout (connect, idle, total --timeout, 408 after the retries)"""

    exit_code = ExitStatus.TIMEOUT
    kind = "timeout"

    def __init__(self, message: str, *, limit: str | None = None, **fields) -> None:
        super().__init__(message, **fields)
        self.limit = limit  # "connect", "idle" or "total"; None for an HTTP 408


class MalformedStream(StreamcliError):
    """malformed or incomplete stream (no terminal event, invalid JSON, wrong field types, not SSE)"""

    exit_code = ExitStatus.MALFORMED
    kind = "malformed"


class SchemaMismatch(StreamcliError):
    """the answer does not match --schema (not JSON, not valid against it, or cut off)"""

    exit_code = ExitStatus.SCHEMA_MISMATCH
    kind = "schema"


class OutputError(StreamcliError):
    """stdout cannot be written (closed, disk full, I/O error)"""

    exit_code = ExitStatus.OUTPUT
    kind = "output"

    @classmethod
    def of(cls, exc: Exception | None) -> "OutputError":
        """The error for what writing to stdout raised (None: there is no stdout)."""
        if exc is None or isinstance(exc, ValueError):  # ValueError: a closed file object
            return cls("cannot write the output: stdout is closed")
        return cls(f"cannot write the output to stdout: {exc.strerror or exc}")


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


_SIGNAL_ROWS = (
    (ExitStatus.SIGINT, "interrupted by SIGINT (Ctrl-C); partial output kept"),
    (ExitStatus.SIGPIPE, "stdout closed early (SIGPIPE), e.g. piped into head"),
    (ExitStatus.SIGTERM, "terminated by SIGTERM; partial output kept"),
)
# The classes whose status a user can meet today (a feature adds its class here as it lands).
_CLASSES = (StreamcliError, UsageError, InvalidRequestError, AuthError, RateLimitError,
            ServerError, ConnectionFailed, TimeoutExpired, MalformedStream, SchemaMismatch,
            OutputError)
# Statuses that no single error carries: the sum of many runs.
_SUMMARY_ROWS = (
    (ExitStatus.BATCH_ITEMS_FAILED,
     "some batch items failed (streamcli batch); each item's output line says why"),
)


def _exit_table() -> tuple[tuple[int, str], ...]:
    rows = [(ExitStatus.OK, "success (a max_tokens/length stop too, with a warning on stderr)")]
    rows += [(cls.exit_code, cls.__doc__.strip()) for cls in _CLASSES]
    rows += _SUMMARY_ROWS
    rows += _SIGNAL_ROWS
    return tuple(sorted((int(code), text) for code, text in rows))


# The exit status table of --help, the man page and the README, built from the classes.
EXIT_STATUS_TABLE = _exit_table()
