"""One rate-limit budget for every worker of a batch run.

A 429 pauses every worker for its retry-after (nothing is sent until it has passed), and
the concurrency backs off: halved on a 429, grown again by one per success up to -j.
The providers' remaining/reset headers are honoured before a 429 happens: once the
server says no request is left in its window, nothing is sent until the window resets.

`observe` is called by the transport as each response's headers arrive (before its body
is read, so before the connection closes): a worker that sees a 429 pauses the others
before any of them can send again.
"""

from __future__ import annotations

import re
import threading
import time

from streamcli.retry import BACKOFF_START, parse_retry_after

# (remaining, reset) header pairs: Anthropic's reset is an RFC 3339 time, OpenAI's a
# duration ("1s", "6m0s", "20ms").
REQUEST_HEADERS = (("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset"),
                   ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"))
TOKEN_HEADERS = (("anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset"),
                 ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"))
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Budget:
    def __init__(self, jobs: int, *, max_wait: float, clock=time.monotonic) -> None:
        """`max_wait`: the longest pause any header may impose (--max-retry-wait)."""
        self.jobs = jobs
        self.limit = jobs  # requests allowed in flight now
        self.in_flight = 0
        self.max_wait = max_wait
        self.clock = clock
        self.pause_until = 0.0  # nothing is sent before this time
        self.left: int | None = None  # requests the server still allows in its window
        self.window_end = 0.0  # when that window resets
        self.stopped = False
        self.throttled = 0  # 429s seen (for the summary)
        self._cond = threading.Condition()

    # -- the workers' side ----------------------------------------------------------------

    def acquire(self) -> bool:
        """Wait for the right to send one request; False once the run stops dispatching."""
        with self._cond:
            while True:
                if self.stopped:
                    return False
                wait = self._wait(self.clock())
                if wait <= 0 and self.in_flight < self.limit:
                    self.in_flight += 1
                    if self.left is not None:
                        self.left -= 1
                    return True
                self._cond.wait(wait if wait > 0 else None)

    def release(self, ok: bool) -> None:
        """The request is over; a success lets one more run at once (up to -j)."""
        with self._cond:
            self.in_flight -= 1
            if ok and self.limit < self.jobs:
                self.limit += 1
            self._cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        """A worker's wait before a retry; False if the run stopped meanwhile."""
        deadline = self.clock() + seconds
        with self._cond:
            while not self.stopped:
                left = deadline - self.clock()
                if left <= 0:
                    return True
                self._cond.wait(left)
        return False

    def stop(self) -> None:
        """Dispatch nothing more: waiting workers give their item back unrun."""
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    # -- what the server said -------------------------------------------------------------

    def observe(self, status: int, headers) -> None:
        now = self.clock()
        with self._cond:
            if status == 429:
                self._throttle(now, parse_retry_after(headers))
            self._remaining(now, headers)
            self._cond.notify_all()

    def _throttle(self, now: float, retry_after: float | None) -> None:
        self.throttled += 1
        if now >= self.pause_until:  # one halving per pause, however many 429s arrive
            self.limit = max(1, self.limit // 2)
        wait = BACKOFF_START if retry_after is None else min(retry_after, self.max_wait)
        self.pause_until = max(self.pause_until, now + wait)

    def _remaining(self, now: float, headers) -> None:
        for left_name, reset_name in REQUEST_HEADERS:
            left, reset = _int(headers.get(left_name)), headers.get(reset_name)
            if left is None or not reset:
                continue
            end = now + min(_seconds_until(reset), self.max_wait)
            if self.left is not None and now < self.window_end:
                left = min(left, self.left)  # replies arrive out of order: the lowest counts
            self.left, self.window_end = left, end
        for left_name, reset_name in TOKEN_HEADERS:
            if _int(headers.get(left_name)) == 0 and headers.get(reset_name):
                until = now + min(_seconds_until(headers[reset_name]), self.max_wait)
                self.pause_until = max(self.pause_until, until)

    def _wait(self, now: float) -> float:
        wait = self.pause_until - now
        if self.left is not None:
            if now >= self.window_end:
                self.left = None  # a new window: its allowance is unknown until a reply says
            elif self.left <= 0:
                wait = max(wait, self.window_end - now)
        return wait


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds_until(reset: str) -> float:
    """An RFC 3339 time (Anthropic) or a duration such as 6m0s (OpenAI), as seconds from
    now; 0 for what cannot be read."""
    parts = _DURATION.findall(reset)
    if parts and "".join(n + u for n, u in parts) == reset.strip():
        return sum(float(n) * _UNIT[u] for n, u in parts)
    try:
        from datetime import datetime, timezone
        when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - time.time())
    except (ValueError, OverflowError):
        return 0.0
