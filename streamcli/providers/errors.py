"""Turning what an API says about a failure into the error tree (and so an exit status)."""

from __future__ import annotations

from streamcli import safejson
from streamcli.errors import (AuthError, InvalidRequestError, RateLimitError,
                              ServerError, StreamcliError, TimeoutExpired)
from streamcli.redact import clip, without_password
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
    # The OpenAI Responses API's in-stream error codes (response.failed, `error` events)
    "invalid_prompt": InvalidRequestError,
    "vector_store_timeout": ServerError,
}
# The Responses API's codes for a request it cannot serve as sent: a policy, a data
# residency or an image problem (exit 3, like invalid_prompt).
_BY_TYPE.update(dict.fromkeys((
    "bio_policy", "misalignment_policy_violation", "data_residency_mismatch",
    "invalid_image", "invalid_image_format", "invalid_base64_image", "invalid_image_url",
    "image_too_large", "image_too_small", "image_parse_error", "image_content_policy_violation",
    "invalid_image_mode", "image_file_too_large", "unsupported_image_media_type",
    "empty_image_file", "failed_to_download_image", "image_file_not_found",
), InvalidRequestError))


def class_for_status(status: int) -> type[StreamcliError]:
    """The class an HTTP status that is not 2xx gives (a 3xx is a redirect, which is
    never followed: the request went to the wrong address)."""
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
    if status and status >= 300:
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
    if 300 <= status < 400:
        return redirect(status, headers, request_id)
    etype = code = None
    message = ""
    try:
        obj = safejson.loads(body)
    except ValueError:  # not JSON (an HTML page), or JSON too deep to read
        obj = None
    if isinstance(obj, dict):
        if isinstance(obj.get("request_id"), str):
            request_id = request_id or obj["request_id"]
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


def redirect(status: int, headers, request_id: str | None) -> StreamcliError:
    """A 3xx: redirects are not followed (a POST that is redirected went to the wrong
    address, and following it could carry the key elsewhere): exit 3, never retried,
    with the address the server pointed at, so the user can fix --base-url."""
    location = headers.get("location")
    # Shown as our own URL is: its password and key parameters masked, however short
    # (the server may have copied the request's userinfo or query into it).
    where = f"to {without_password(location)}" if location else "without a Location"
    return InvalidRequestError(
        f"{_reason(status)}: the server redirected the request {where}; streamcli does "
        f"not follow redirects: check --base-url (or the provider's base_url)",
        status=status, request_id=request_id, should_retry=False)


def error_from_event(obj: dict, request_id=None) -> StreamcliError:
    """An error object inside a stream (HTTP status 200): classify by its own type/code."""
    error = obj.get("error")
    if isinstance(error, str):  # {"error": "message"}, as some compatible servers send
        error = {"message": error}
    elif not isinstance(error, dict):
        error = obj
    etype = _str(error.get("type"))
    code = error.get("code")
    status = http_status(code)  # vLLM sends the HTTP status as `code`
    message = _str(error.get("message")) or "error in stream"
    return make_error(status, etype, message, code=None if status else _str(code),
                      request_id=request_id if isinstance(request_id, str) else None)


def http_status(code) -> int | None:
    """An HTTP status sent as an error's `code` (a number or a string of ASCII digits)."""
    if isinstance(code, str) and code.isascii() and code.isdigit() and len(code) == 3:
        code = int(code)
    if code.__class__ is int and 100 <= code <= 599:
        return code
    return None


def _str(value) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
