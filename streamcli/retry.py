"""The whole retry policy: may this error be retried, how long to wait, `retry-after`.

Every decision about retrying is made here, from the fields an error carries (its class,
HTTP status, provider type, the server's `retry-after` and `x-should-retry`); nothing
else in streamcli decides it.
"""

from __future__ import annotations

import random
import time

from streamcli.errors import (AuthError, ConnectionFailed, RateLimitError, ServerError,
                              StreamcliError, TimeoutExpired)

BACKOFF_START = 0.5  # seconds; doubled per attempt, as the official SDKs do
BACKOFF_MAX = 8.0
LONGEST_WAIT = 365 * 86400.0  # a server's retry-after longer than this is never waited

# Quota and billing failures arrive as 429s but waiting will not help.
NOT_RETRIED_TYPES = frozenset(("insufficient_quota", "billing_error"))
# Statuses worth another try whatever class they were given: a 408 timeout and a 409
# conflict may clear on their own.
RETRIED_STATUSES = frozenset((408, 409))


def retryable(err: StreamcliError) -> bool:
    """Would another attempt of the same request have a chance?"""
    if isinstance(err, AuthError) or err.type in NOT_RETRIED_TYPES:
        return False
    if isinstance(err, TimeoutExpired) and err.limit == "total":
        return False  # --timeout is the user's limit for the whole run, retries included
    if err.should_retry is not None:  # the server's own x-should-retry wins
        return err.should_retry
    if isinstance(err, (RateLimitError, ServerError, ConnectionFailed, TimeoutExpired)):
        return True
    return err.status in RETRIED_STATUSES


class RetryPolicy:
    def __init__(self, retries: int, max_retry_wait: float) -> None:
        self.retries = retries
        self.max_retry_wait = max_retry_wait

    def delay(self, err: StreamcliError, attempt: int, *, committed: bool) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None: do not retry.

        Never after answer output (`committed`): a retry would print the start of the
        answer twice. A server asking for a longer wait than --max-retry-wait ends the run
        as rate limited (exit 5), whatever its status."""
        if committed or attempt >= self.retries or not retryable(err):
            return None
        asked = err.retry_after
        # `not <=`: a wait a server asks beyond what the user allows, beyond what a run
        # can sleep (time.sleep overflows), or no number at all, is not waited.
        if asked is not None and not asked <= min(self.max_retry_wait, LONGEST_WAIT):
            raise RateLimitError(
                f"{err.message} (the server asked to wait {asked:g} s, longer than "
                f"--max-retry-wait {self.max_retry_wait:g})",
                status=err.status, type=err.type, request_id=err.request_id)
        if asked is not None:
            return asked
        backoff = min(BACKOFF_START * 2 ** attempt, BACKOFF_MAX)
        return min(backoff * (1 - 0.25 * random.random()), self.max_retry_wait)


def parse_retry_after(headers) -> float | None:
    """`retry-after-ms` (Anthropic and OpenAI extension), then `retry-after` in seconds or
    as an HTTP date. Unparsable values are ignored."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # 5-10 ms: only for a dated retry-after
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def should_retry_header(headers) -> bool | None:
    """The server's `x-should-retry: true|false`, as the official SDKs read it."""
    value = headers.get("x-should-retry")
    return {"true": True, "false": False}.get(value)
