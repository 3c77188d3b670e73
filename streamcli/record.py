"""The exchange a run leaves in the log, written once the answer is out: built from the
request, the conversation, the transcript and the outcome. A log that cannot be written
costs one warning line on stderr, never the answer or the exit status.

Never stored: the API key (removed wherever it appears), request headers, and the
credentials of a URL (`https://user:secret@host`).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from streamcli import logbook
from streamcli.conversation import stored
from streamcli.events import normalize_stop, usage_dict
from streamcli.sinks import encode_text


def exchange(environ, ui, request, conversation, transcript, outcome, *, started_at: float,
             request_id: str | None) -> None:
    try:
        row = build(request, conversation, transcript, outcome, started_at=started_at,
                    request_id=request_id)
        logbook.write(environ, row)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the answer is already out
        ui.warn(f"this exchange was not logged: {_one_line(exc)} (--no-log or "
                f"STREAMCLI_LOG=0 turns the log off)")


def build(request, conversation, transcript, outcome, *, started_at: float,
          request_id: str | None) -> dict:
    error = outcome.error
    usage = usage_dict(outcome.usage)
    row = {
        "id": logbook.new_id(),
        "conversation_id": conversation.id,
        "time": logbook.utc(started_at),
        "provider": conversation.provider or request.provider,
        "protocol": request.provider,
        "model": request.model,
        "base_url": without_credentials(request.base_url),
        "system": request.system,
        "prior": stored(conversation.prior),
        "prompt": request.prompt,
        "attachments": attachments(request),
        "text": transcript.text,
        "thinking": transcript.thinking,
        "refusal": transcript.refusal,
        "tool_calls": transcript.tool_calls or None,
        "stop_reason": normalize_stop(outcome.stop_raw),
        "stop_reason_raw": outcome.stop_raw,
        "usage": usage,
        "input_tokens": usage["input_tokens"] if usage else None,
        "output_tokens": usage["output_tokens"] if usage else None,
        "ttft_ms": outcome.ttft_ms,
        "duration_ms": outcome.duration_ms,
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "response_id": outcome.id,
        "request_id": (error.request_id if error is not None else None) or request_id,
        "error": error.as_dict() if error is not None else None,
    }
    return _redacted(row, request.api_key)


def attachments(request) -> list[dict] | None:
    """Attachments by name, size and digest, never their content."""
    found = [{"name": getattr(a, "name", None), "size": getattr(a, "size", None),
              "sha256": getattr(a, "sha256", None)}
             for a in getattr(request, "attachments", ()) or ()]
    return found or None


def without_credentials(url: str | None) -> str | None:
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


MIN_SECRET = 8  # a shorter "key" (a local server's placeholder) would mangle every field


def _redacted(value, key: str | None):
    """Every string, however deep, as it was printed (a lone surrogate of a broken JSON
    escape as U+FFFD, as the sinks write it) and without the key (a server may echo it)."""
    if isinstance(value, str):
        if not value.isascii():
            value = encode_text(value).decode("utf-8")
        return value.replace(key, "***") if key and len(key) >= MIN_SECRET else value
    if isinstance(value, dict):
        return {k: _redacted(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, key) for v in value]
    return value


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
