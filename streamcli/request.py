"""The provider-neutral request, and the neutral `Message` of earlier turns.

The provider-neutral description of one request, built by `plan` from options, and the
neutral `Message` of a conversation's earlier turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from streamcli.headers import secrets as header_secrets


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
    key_source: str | None = None  # where api_key came from, for a 401's message
    # attachments.Attachment each, in command-line order; rendered before the prompt.
    attachments: tuple = ()
    schema: Any = None  # a schema.Schema (--schema): structured output, sent natively
    # Extra headers (-H, the config's `headers`): (lower-case name, value); an empty value
    # removes the header. Applied over the provider's own by `headers.apply`.
    headers: tuple[tuple[str, str], ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be shown or logged: the API key, the values of
        credential-like headers (see `headers.is_secret`) and the credentials of
        attachment URLs (which a server that cannot fetch one may quote back)."""
        return (((self.api_key,) if self.api_key else ()) + header_secrets(self.headers)
                + tuple(s for att in self.attachments for s in att.secrets()))


@dataclass(frozen=True)
class HttpRequest:
    """What a provider asks the transport to send."""

    url: str
    headers: dict[str, str]
    # bytes, or a jsonbody.StreamedBody (attachments streamed from disk): an iterable of bytes
    # with its `length`, sent with that Content-Length (not chunked).
    body: Any
    method: str = "POST"
