"""The stderr side of a run's end: the error, the cancellation, warnings, --usage."""

from __future__ import annotations

from streamcli.errors import AuthError
from streamcli.events import normalize_stop
from streamcli.outcome import Outcome
from streamcli.redact import clip

# Below this much streaming time (first token to end), a tokens/s figure measures the
# network's buffering rather than the model: a replay, a cached or a two-token answer.
MIN_RATE_WINDOW_S = 0.5

# Stop reasons that leave the answer short of what was asked, said on stderr in every mode
# (the --jsonl and --no-stream output carry them in stop_reason too).
_STOP_WARNINGS = {
    "max_tokens": "the answer was cut off at the token limit (stop reason {raw}); raise "
                  "--max-tokens for more",
    "content_filter": "the answer was stopped by the provider's content filter (stop reason "
                      "{raw}); it may be incomplete",
    "refusal": "the model declined to answer (stop reason {raw})",
    "pause": "the server paused the turn (stop reason {raw}); the answer is incomplete",
}


def end(ui, outcome: Outcome, *, usage: bool, printed: bool = True) -> None:
    """`printed`: some of the answer reached the output (so a cancellation kept it)."""
    if outcome.status == "cancelled":
        kept = "; partial output kept" if printed else ""
        ui.line(f"streamcli: cancelled ({outcome.signal_name}){kept}")
    elif outcome.error is not None:
        ui.error(outcome.error.describe())
    warning = _STOP_WARNINGS.get(normalize_stop(outcome.stop_raw))
    if warning:
        ui.warn(warning.format(raw=outcome.stop_raw))
    if usage:
        ui.line(usage_line(outcome))


def usage_line(o: Outcome) -> str:
    u = o.usage
    inp = u.input_tokens if u and u.input_tokens is not None else "?"
    out = u.output_tokens if u and u.output_tokens is not None else "?"
    ttft = f"{o.ttft_ms:.0f} ms" if o.ttft_ms is not None else "-"
    rate = "-"
    if (u and isinstance(u.output_tokens, int) and u.output_tokens > 0
            and o.ttft_ms is not None
            and o.duration_ms - o.ttft_ms >= MIN_RATE_WINDOW_S * 1000):
        rate = f"{u.output_tokens / ((o.duration_ms - o.ttft_ms) / 1000):.1f}"
    return (f"usage: {inp} input tokens, {out} output tokens; first token after {ttft}; "
            f"total {o.duration_ms / 1000:.2f} s; {rate} output tokens/s")


def retry_reason(err) -> str:
    """A retried error in a few words (`HTTP 429 rate_limit_error`, `idle timeout`): the
    notice repeats once per attempt, the whole message comes once, at the end."""
    # clip(): the running command's secrets masked before the cut, never after it
    words = " ".join(w for w in (f"HTTP {err.status}" if err.status else None,
                                 clip(err.type, 60) if err.type else None) if w)
    if words:
        return words
    limit = getattr(err, "limit", None)
    return f"{limit} timeout" if limit else f"{err.kind.replace('_', ' ')} error"


_BAD_KEY_TYPES = ("authentication_error", "invalid_api_key")  # a 401 inside a stream


def advise(err, request):
    """A rejected key (401) says where it came from, or that none was sent (in place)."""
    rejected = err.status == 401 or (err.status is None and err.type in _BAD_KEY_TYPES)
    if isinstance(err, AuthError) and rejected and request is not None:
        source = request.key_source
        err.message += (f" (the API key came from {source})" if request.api_key and source
                        else "" if request.api_key else " (no API key was sent)")
    return err
