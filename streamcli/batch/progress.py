"""A batch's progress on stderr: redrawn on a terminal, else one summary line.

A batch's progress on stderr: a line redrawn in place when stderr is a terminal
(done/total, ok/failed, requests and tokens per second, time left), and one summary line
at the end whatever stderr is (`980 ok, 20 failed: 12 rate limited, 8 server error`).
"""

from __future__ import annotations

import time
from collections import Counter

# How the summary names each error kind.
KIND_PHRASES = {
    "usage": "bad input", "invalid_request": "rejected", "auth": "auth error",
    "rate_limit": "rate limited", "server": "server error", "connection": "connection error",
    "timeout": "timed out", "malformed": "malformed response", "internal": "internal error",
    "schema": "not matching the schema", "output": "output error", "cancelled": "cancelled",
}
REDRAW_EVERY = 0.2  # seconds


class Progress:
    def __init__(self, ui, total: int, *, quiet: bool, clock=time.monotonic) -> None:
        self.ui = ui
        self.total = total  # items to run (resume's skipped ones excluded)
        self.clock = clock
        self.started = clock()
        self.ok = 0
        self.failed = Counter()  # error kind -> items
        self.tokens = 0
        self.skipped = 0  # already done (--resume)
        self.unrun = 0  # not run: the run stopped dispatching
        self._drawn = 0.0
        self.live = not quiet and ui.erasable  # a terminal that can redraw a line

    @property
    def done(self) -> int:
        return self.ok + sum(self.failed.values())

    def add(self, result) -> None:
        """A finished item (lines.Done), or None: an item that was not run."""
        if result is None:
            self.unrun += 1
            return
        if result.ok:
            self.ok += 1
        else:
            self.failed[result.kind or "internal"] += 1
        self.tokens += result.output_tokens
        self.tick()

    def tick(self) -> None:
        now = self.clock()
        if self.live and now - self._drawn >= REDRAW_EVERY:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        left = self.total - self.skipped - self.done
        eta = f"{left / rate:.0f} s left" if rate > 0 and left > 0 else "-"
        failed = sum(self.failed.values())
        text = (f"\r\x1b[K{self.done}/{self.total - self.skipped} done, {self.ok} ok, "
                f"{failed} failed, "
                f"{rate:.1f} req/s, {self.tokens / elapsed:.0f} tokens/s, {eta}")
        try:
            self.ui.stream.write(text)
            self.ui.stream.flush()
        except (OSError, ValueError):
            self.live = False

    def end(self, *, note: str = "") -> None:
        """The summary line (after clearing the live one)."""
        if self.live:
            try:
                self.ui.stream.write("\r\x1b[K")
            except (OSError, ValueError):
                pass
        self.ui.line(f"streamcli: {self.summary()}{note}")

    def summary(self) -> str:
        failed = sum(self.failed.values())
        text = f"{self.ok} ok, {failed} failed"
        if failed:
            parts = [f"{n} {KIND_PHRASES.get(k, k)}" for k, n in self.failed.most_common()]
            text += ": " + ", ".join(parts)
        if self.unrun:
            text += f"; {self.unrun} not run"
        if self.skipped:
            text += f"; {self.skipped} already done"
        elapsed = max(self.clock() - self.started, 1e-6)
        return text + f" ({elapsed:.1f} s, {self.done / elapsed:.1f} requests/s)"
