"""Turning what an API says about a failure into the error tree (and so an exit status)."""

from __future__ import annotations

import json

from streamcli.errors import (AuthError, InvalidRequestError, RateLimitError,
                              ServerError, StreamcliError, TimeoutExpired)
from streamcli.redact import clip
from streamcli.retry import parse_retry_after, should_retry_header

# Error `type`/`code` values, from either provider, that decide the class on their own.
_BY_TYPE: dict[str, type[StreamcliError]] = {
    "invalid_request_error": InvalidRequestError,
    "not_found_error": InvalidRequestError,
    "request_too_large": InvalidRequestError,
    "BadRequestError": InvalidRequestError,
    "NotFoundError": InvalidRequestError,
    "context_length_exceeded": InvalidRequestError,
    "authentication_error": AuthError,
    "permission_error": AuthError,
    "billing_error": AuthError,
    "insufficient_quota": AuthError,
    "invalid_api_key": AuthError,
    "AuthenticationError": AuthError,
    "PermissionDeniedError": AuthError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "RateLimitError": RateLimitError,
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "server_error": ServerError,
    "InternalServerError": ServerError,
    "timeout_error": TimeoutExpired,
}

def class_for_status(status: int) -> type[StreamcliError]:
    if status in (401, 402, 403):
        return AuthError
    if status == 408:
        return TimeoutExpired
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return InvalidRequestError


def make_error(status: int | None, etype: str | None, message: str, *,
               code: str | None = None, request_id: str | None = None,
               headers=None) -> StreamcliError:
    """An HTTP error status decides the class (OpenAI calls a 401 an
    invalid_request_error), refined only where the body says billing or quota: a 429 or
    400 that is really a billing failure is an auth error. Without a status (an error
    inside a 200 stream) the error's own type decides. `headers` bring retry-after and
    x-should-retry, which `retry` weighs."""
    by_type = _BY_TYPE.get(code or "") or _BY_TYPE.get(etype or "")
    if status and status >= 400:
        cls = class_for_status(status)
        if by_type is AuthError and cls in (RateLimitError, InvalidRequestError):
            cls = AuthError
    else:
        cls = by_type or ServerError
    shown_type = code if code and code != etype and code in _BY_TYPE else etype
    fields = {}
    if headers is not None:
        fields = {"retry_after": parse_retry_after(headers),
                  "should_retry": should_retry_header(headers)}
    return cls(message or "no message", status=status, type=shown_type,
               request_id=request_id, **fields)


def request_id_of(headers, preferred: str) -> str | None:
    """The provider's own request-id header first, then the other provider's name for it
    (gateways and compatible servers use either)."""
    return headers.get(preferred) or headers.get("request-id") or headers.get("x-request-id")


def error_from_body(status: int, body: bytes, headers, request_id_header: str) -> StreamcliError:
    """An HTTP error response: both providers wrap details in an `error` object."""
    request_id = request_id_of(headers, request_id_header)
    etype = code = None
    message = ""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if isinstance(obj, dict):
        request_id = request_id or _str(obj.get("request_id"))
        error = obj.get("error")
        if isinstance(error, dict):
            etype = _str(error.get("type"))
            code = _str(error.get("code"))
            message = _str(error.get("message")) or ""
        elif isinstance(error, str):
            message = error
        elif isinstance(obj.get("message"), str):
            message = obj["message"]
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = _reason(status) + (f": {clip(text, 200)}" if text else "")
    return make_error(status, etype, message, code=code, request_id=request_id, headers=headers)


def error_from_event(obj: dict, request_id: str | None = None) -> StreamcliError:
    """An error object inside a stream (HTTP status 200): classify by its own type/code."""
    error = obj.get("error") if isinstance(obj.get("error"), dict) else obj
    etype = _str(error.get("type"))
    code = error.get("code")
    status = code if isinstance(code, int) else None  # vLLM sends the HTTP status as `code`
    if isinstance(code, str) and code.isdigit():
        status = int(code)
    message = _str(error.get("message")) or "error in stream"
    return make_error(status, etype, message, code=None if status else _str(code),
                      request_id=request_id)


def _str(value) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
