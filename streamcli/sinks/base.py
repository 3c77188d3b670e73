"""The `Sink` protocol: what every output mode's writer offers the session and the pump."""

from __future__ import annotations

from typing import Protocol

from streamcli.events import Retry
from streamcli.outcome import Outcome


class Sink(Protocol):
    # True once answer output reached stdout: from then on the run is never retried
    # (a retry would print the start of the answer twice).
    committed: bool

    def write(self, events: list) -> None:
        """The normalized events decoded from one network read: one stdout write and one
        flush for all of them (same latency as per delta, far fewer system calls)."""

    def write_plain_text(self, data: bytes) -> None:
        """Answer text as UTF-8 bytes that need no escaping anywhere (no quote, backslash
        or control character: `fastpath.plain_string` vouches for them). The fast path's
        form of `write([Text(data.decode())])`, and it must give the same bytes."""

    def raw(self, chunk: bytes) -> None:
        """The upstream bytes of one read, before they are parsed."""

    def retry(self, retry: Retry) -> None:
        """A retry is about to happen; what a failed attempt delivered is void."""

    def begin(self, provider: str | None, model: str | None, *,
              conversation_id: str | None = None) -> None:
        """What was asked for, once the plan is known (before any response): the `start`
        line of a request that fails before a response began names these. The
        conversation's id (null when it is not logged) is for a script to continue it."""

    def finish(self, outcome: Outcome) -> None:
        """The run is over (also after an error or a cancellation): the mode's last words."""
