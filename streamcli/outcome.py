"""How a run ended: what every sink needs to write its last words."""

from __future__ import annotations

from typing import Any, NamedTuple

from streamcli.errors import StreamcliError
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
