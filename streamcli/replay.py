"""--replay: a captured body through the same pipeline as a live response.

No network and no key; the wire protocol is told from the structure of its first
events unless --provider names it. The capture may be SSE or a saved JSON response;
`body.play` reads it as it reads a live body, so both give the same.
"""

from __future__ import annotations

from streamcli import body, bounded, providers, safejson
from streamcli.errors import UsageError
from streamcli.pump import Progress
from streamcli.sse import SSEDecoder, SSEError

CHUNK = 64 * 1024
_ANTHROPIC_EVENTS = frozenset(("message_start", "content_block_start", "content_block_delta",
                               "content_block_stop", "message_delta", "message_stop"))


def play(path: str, sink, progress: Progress, *, protocol: str | None, idle_timeout: float,
         raw_mode: bool, stdin=None) -> None:
    """`path` "-" reads the capture from `stdin` (a text stream with .buffer, or None)."""
    if path == "-":
        stream = bounded.piped_stdin(stdin, "--replay - reads stdin", "the capture")
        _play(stream, path, sink, progress, protocol, idle_timeout, raw_mode)
        return
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        _play(stream, path, sink, progress, protocol, idle_timeout, raw_mode)


def _play(stream, path, sink, progress, protocol, idle_timeout, raw_mode) -> None:
    def resolve(data: bytes, whole: bool):
        if protocol:
            return providers.load(protocol)
        return providers.load(json_protocol(data) if whole else sse_protocol(data))

    body.play(_reads(stream, path), resolve, sink, progress, idle_timeout=idle_timeout,
              raw_mode=raw_mode)


def _reads(stream, path):
    """The capture in pieces of CHUNK bytes (the last one shorter), as a file or a blocking
    pipe gives them, whatever pauses the writer of a pipe makes: the protocol is told
    from the first piece, which must not depend on them."""
    while True:
        chunk = b""
        try:
            while len(chunk) < CHUNK:
                piece = bounded.read_piece(stream, CHUNK - len(chunk))
                if not piece:
                    break
                chunk += piece
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not chunk:
            return
        yield chunk
        if len(chunk) < CHUNK:
            return


def sse_protocol(head: bytes) -> str:
    """The protocol of an SSE body, from its first events: Anthropic's event names and
    `type`s, the Responses API's `response.*` events (and its `error` events, which carry
    a sequence_number or a flat code), or OpenAI's chunk objects and [DONE]. Undecided
    (nothing but pings, or not SSE at all): openai, whose mapper then reports what is
    wrong."""
    decoder = SSEDecoder()
    try:
        events = decoder.feed(head)
    except SSEError:
        return "openai"
    for ev in events[:64]:
        if ev.data == "[DONE]":
            return "openai"
        if ev.event in _ANTHROPIC_EVENTS:
            return "anthropic"
        if ev.event.startswith("response."):
            return "openai-responses"
        try:
            obj = safejson.loads(ev.data)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        kind = obj.get("type")
        if not isinstance(kind, str):  # (a list would not even be hashable)
            kind = None
        if kind in _ANTHROPIC_EVENTS:
            return "anthropic"
        if kind is not None and kind.startswith("response."):
            return "openai-responses"
        if kind == "error" and ("sequence_number" in obj or not isinstance(obj.get("error"), dict)):
            return "openai-responses"
        if "choices" in obj or obj.get("object") == "chat.completion.chunk":
            return "openai"
        if obj.get("type") == "error" and isinstance(obj.get("error"), dict):
            return "anthropic"
        if isinstance(obj.get("error"), dict):
            return "openai"
    return "openai"


def json_protocol(data: bytes) -> str:
    """The protocol of a saved non-streaming response (or error object)."""
    try:
        obj = safejson.loads(data)
    except ValueError:
        return "openai"  # its parser reports the body as not JSON
    if isinstance(obj, dict) and obj.get("object") == "response":
        return "openai-responses"
    if isinstance(obj, dict) and (obj.get("type") in ("message", "error")
                                  or isinstance(obj.get("content"), list)):
        return "anthropic"
    return "openai"
