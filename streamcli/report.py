"""The stderr side of a run's end: the error, the cancellation, warnings, --usage."""

from __future__ import annotations

from streamcli.events import normalize_stop
from streamcli.outcome import Outcome


def end(ui, outcome: Outcome, *, usage: bool) -> None:
    if outcome.status == "cancelled":
        ui.line(f"streamcli: cancelled ({outcome.signal_name}); partial output kept")
    elif outcome.error is not None:
        ui.error(outcome.error.describe())
    if normalize_stop(outcome.stop_raw) == "max_tokens":
        ui.warn(f"the answer was cut off at the token limit (stop reason "
                f"{outcome.stop_raw}); raise --max-tokens for more")
    if usage:
        ui.line(usage_line(outcome))


def usage_line(o: Outcome) -> str:
    u = o.usage
    inp = u.input_tokens if u and u.input_tokens is not None else "?"
    out = u.output_tokens if u and u.output_tokens is not None else "?"
    ttft = f"{o.ttft_ms:.0f} ms" if o.ttft_ms is not None else "-"
    rate = "-"
    if u and u.output_tokens and o.ttft_ms is not None and o.duration_ms > o.ttft_ms:
        rate = f"{u.output_tokens / ((o.duration_ms - o.ttft_ms) / 1000):.1f}"
    return (f"usage: {inp} input tokens, {out} output tokens; first token after {ttft}; "
            f"total {o.duration_ms / 1000:.2f} s; {rate} output tokens/s")
