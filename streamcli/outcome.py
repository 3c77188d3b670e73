"""How a run ended: what every sink needs to write its last words."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from streamcli.errors import ExitStatus, StreamcliError
from streamcli.events import Usage


class Outcome(NamedTuple):
    status: str  # "ok", "error" or "cancelled"
    exit_code: int
    error: StreamcliError | None
    provider: str | None
    model: str | None
    id: str | None
    stop_raw: str | None
    usage: Usage | None
    ttft_ms: float | None
    duration_ms: float
    signal_name: str | None = None  # "SIGINT" / "SIGTERM" when cancelled
    # --schema: the answer was to be checked; `json` is its value when it matched (else
    # None: not JSON, not valid, cut off, or no answer at all).
    schema: bool = False
    json: Any = None


def outcome_of(status: str, err: StreamcliError | None, signum: int | None, *, mapper, request,
               first: float | None, started: float, schema: bool, json: Any) -> Outcome:
    """The Outcome of a run: what the mapper learnt (or, before any response, what the
    request asked for), the times since `started` (time.monotonic())."""
    exit_code = {"ok": ExitStatus.OK, "error": err.exit_code if err else ExitStatus.INTERNAL,
                 "cancelled": 128 + (signum or 2)}[status]
    return Outcome(
        status=status, exit_code=int(exit_code), error=err,
        provider=getattr(mapper, "provider", None) or (request.provider if request else None),
        model=getattr(mapper, "model", None) or (request.model if request else None),
        id=getattr(mapper, "id", None),
        stop_raw=getattr(mapper, "stop_raw", None),
        usage=mapper.usage() if mapper is not None else None,
        ttft_ms=_ms(first - started) if first else None,
        duration_ms=_ms(time.monotonic() - started),
        signal_name={2: "SIGINT", 13: "SIGPIPE", 15: "SIGTERM"}.get(signum or 0),
        schema=schema, json=json,
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
