"""The progress line of `batch wait` on stderr: redrawn in place on a terminal, else one
line each time the counts change; nothing with -q."""

from __future__ import annotations


class Display:
    def __init__(self, ui, *, quiet: bool) -> None:
        self.ui = ui
        self.quiet = quiet
        try:
            tty = ui.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.live = tty and not quiet
        self._said: str | None = None
        self._drawn = False

    def show(self, statuses: list, next_check: float | None) -> None:
        """`next_check`: seconds until the next poll, None once every batch has ended."""
        if self.quiet:
            return
        text = summary(statuses)
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
