"""The progress line of `batch wait` on stderr.

The progress line of `batch wait` on stderr: redrawn in place on a terminal, else one
line each time the counts change; nothing with -q.
"""

from __future__ import annotations

from streamcli.redact import visible


class Display:
    def __init__(self, ui, *, quiet: bool) -> None:
        self.ui = ui
        self.quiet = quiet
        self.live = ui.erasable and not quiet  # a terminal that can redraw a line
        self._said: str | None = None
        self._drawn = False

    def show(self, statuses: list, next_check: float | None) -> None:
        """`next_check`: seconds until the next poll, None once every batch has ended."""
        if self.quiet:
            return
        # A server's state and ids, drawn raw on the terminal: its control characters
        # as escapes, the run's secrets masked (ui.notice does both for the plain lines).
        text = visible(self.ui.redact(summary(statuses)), one_line=True)
        if self.live:
            more = f"; next check in {next_check:.0f} s" if next_check is not None else ""
            self._write(f"\r\x1b[K{text}{more}" + ("\n" if next_check is None else ""))
            self._drawn = next_check is not None
        elif text != self._said:
            self.ui.notice(text)
        self._said = text

    def clear(self) -> None:
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    def _write(self, text: str) -> None:
        try:
            self.ui.stream.write(text)
            self.ui.stream.flush()
        except (OSError, ValueError):
            self.live = False


def summary(statuses: list) -> str:
    counts: dict = {}
    for status in statuses:
        for key, value in status.counts.items():
            counts[key] = counts.get(key, 0) + (value if isinstance(value, int) else 0)
    total = sum(counts.values())
    done = total - counts.get("processing", 0)
    if len(statuses) == 1:
        head = f"{statuses[0].id} {statuses[0].state}"
    else:
        head = f"{sum(s.ended for s in statuses)}/{len(statuses)} batches ended"
    parts = [f"{counts[k]} {k}" for k in ("succeeded", "failed", "cancelled", "expired")
             if counts.get(k)]
    return f"{head}: {done}/{total} requests done" + (f" ({', '.join(parts)})" if parts else "")
