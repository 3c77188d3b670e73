"""The provider-neutral description of one request, built by `plan` from options, and the
neutral `Message` of a conversation's earlier turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Message(NamedTuple):  # a NamedTuple: cheaper than a dataclass at start-up
    """One earlier turn of a conversation, the same for every wire protocol; each
    protocol's `request.messages(req)` renders it in its own format.

    role: "user" or "assistant" (system turns become `Request.system`). content: the
    turn's text blocks, in order, at least one, none empty; a protocol sends a single
    block as a plain string and several as its list of text parts. Turns alternate,
    starting with "user" and ending with "assistant" (the prompt is the next user turn).
    """

    role: str
    content: tuple[str, ...]


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
    history: tuple[Message, ...] = ()  # earlier turns, sent before the prompt


@dataclass(frozen=True)
class HttpRequest:
    """What a provider asks the transport to send."""

    url: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"
