"""The provider-neutral description of one request, built by `cli` from options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    provider: str  # the wire protocol: "anthropic", "openai" or "openai-responses"
    model: str
    prompt: str
    base_url: str
    api_key: str | None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[dict, ...] = ()  # {"name", "description", "input_schema"} each
    extra: dict[str, Any] = field(default_factory=dict)  # -o KEY=VALUE, merged last
    stream: bool = True
    key_source: str | None = None  # where api_key came from, for a 401's message


@dataclass(frozen=True)
class HttpRequest:
    """What a provider asks the transport to send."""

    url: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"
