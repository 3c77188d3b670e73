"""The exchange a run leaves in the log, written once the answer is out.

The exchange a run leaves in the log, written once the answer is out: built from the
request, the conversation, the transcript and the outcome. A log that cannot be written
costs one warning line on stderr, never the answer or the exit status.

Never stored: the API key and credential-like header values (removed wherever they
appear), the request headers, and the credentials of a URL (`https://user:secret@host`).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from streamcli import logbook
from streamcli.conversation import new_id, stored
from streamcli.errors import StreamcliError
from streamcli.events import normalize_stop, usage_dict
from streamcli.redact import Redactor, proxy_secrets, url_secrets
from streamcli.sinks import encode_text
from streamcli.textspool import SpooledText


def after(session) -> None:
    """The session's exchange into the log, unless it is not to be logged (--no-log, a
    replay, a run that sent nothing)."""
    plan = session.plan
    conversation = plan.conversation if plan is not None else None
    if plan is None or plan.request is None or conversation is None or not conversation.record:
        return
    exchange(session.env.environ, session.ui, plan.request, conversation, session.transcript,
             session.outcome, started_at=session.started_at,
             request_id=session.progress.request_id)


def exchange(environ, ui, request, conversation, transcript, outcome, *, started_at: float,
             request_id: str | None) -> None:
    try:
        row = build(request, conversation, transcript, outcome, started_at=started_at,
                    request_id=request_id, environ=environ)
        logbook.write(environ, row)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the answer is already out
        ui.warn(f"this exchange was not logged: {_one_line(exc)} (--no-log or "
                f"STREAMCLI_LOG=0 turns the log off)")


def build(request, conversation, transcript, outcome, *, started_at: float,
          request_id: str | None, environ) -> dict:
    error = outcome.error
    usage = usage_dict(outcome.usage)
    row = {
        "id": new_id(),
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
        "text": _held_or_spooled(transcript.text_parts),
        "thinking": _held_or_spooled(transcript.thinking_parts) if transcript.thinking_parts
        else None,
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
    secrets = Redactor([*request.secrets(), *url_secrets(request.base_url),
                        *proxy_secrets(environ)])
    return {k: v if k in _NOT_REDACTED else _redacted(v, secrets) for k, v in row.items()}


def attachments(request) -> list[dict] | None:
    """Attachments by name, type, size and SHA-256 of their bytes, never their content
    (a URL's: its name only, as it was never read)."""
    found = [{"name": a.name, "type": a.mime, "size": None if a.url else a.size,
              "sha256": _digest(a)} for a in request.attachments]
    return found or None


def _digest(att) -> str | None:
    """The bytes as they were sent: read again from the file or the spooled copy (after
    the answer, so a large file costs here, never before the first byte)."""
    if att.url is not None:
        return None
    import hashlib
    digest = hashlib.sha256()
    try:
        if att.path is not None or att.spooled is not None:
            for piece in att.chunks():
                digest.update(piece)
        elif att.text is not None:
            digest.update(att.text.encode("utf-8"))
        else:
            return None
    except (OSError, StreamcliError):  # gone or changed since: no digest rather than a wrong one
        return None
    return digest.hexdigest()


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


# What identifies the exchange and where it went: never text a server could echo, and
# continuing needs it exactly.
_NOT_REDACTED = frozenset({"id", "conversation_id", "time", "provider", "protocol", "model"})
# Secrets shorter than redact.MIN_SECRET are left in the log: a local server's placeholder
# key "x" is no credential, and replacing it would change the turns that continuing sends
# back ("solve for x" becoming "solve for ***"). Keys and tokens are far longer.


def _held_or_spooled(parts: SpooledText):
    """A text as a string, or, when it waits on disk, as itself: the log then reads it in
    pieces (a long answer never held whole)."""
    parts.compact()  # the last deltas may be the ones that take it past memory's share
    return parts if parts.spilled else str(parts)


class LongText:
    """A text on disk as the log gets it: in pieces, printable and masked (`pieces()`)."""

    def __init__(self, spooled: SpooledText, secrets: Redactor) -> None:
        self.spooled = spooled
        self.secrets = secrets

    def pieces(self):
        # textspool's pieces never split a surrogate pair: one by one, they convert as
        # the whole would; masking in pieces equals masking the whole (Redactor.stream).
        printable = (_printable(p) for p in self.spooled.pieces())
        return self.secrets.stream(printable)


def _printable(text: str) -> str:
    """As the sinks print it: a lone surrogate (a broken JSON escape) as U+FFFD."""
    return text if text.isascii() else encode_text(text).decode("utf-8")


def _redacted(value, secrets: Redactor):
    """Every string, however deep, as it was printed (a lone surrogate of a broken JSON
    escape as U+FFFD, as the sinks write it) and without a secret (a server may echo one)."""
    if isinstance(value, SpooledText):
        return LongText(value, secrets)
    if isinstance(value, str):
        return secrets(_printable(value))
    if isinstance(value, dict):  # keys too: a server's usage or error object may echo one
        return {_redacted(k, secrets): _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, secrets) for v in value]
    return value


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
