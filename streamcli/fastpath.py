"""Every byte-level shortcut of the hot path, each with the general path it must equal.

The pump is the only caller. A shortcut either returns exactly what the general path
(SSE decoder, then the provider's mapper, then the sink) would produce for the same
read, or None, and then the read takes the general path. tests/test_fastpath.py runs
every recorded stream both ways and requires identical stdout bytes in every mode.

The shortcuts apply only between events (the decoder holds nothing: `SSEDecoder.idle`)
and only to a read that is exactly one whole event, which is how the LLM APIs frame
every event (one per HTTP chunk).
"""

from __future__ import annotations

from streamcli.sse import MAX_EVENT_BYTES, SSEEvent


def one_event(chunk: bytes, last_id: str) -> SSEEvent | None:
    """A read that is exactly one `[event: X\\n]data: Y\\n\\n` block with LF line ends.

    General path: `SSEDecoder.feed(chunk)` from an idle decoder, which returns the same
    single event (and leaves the decoder idle again)."""
    if chunk[-2:] != b"\n\n" or len(chunk) >= MAX_EVENT_BYTES or 13 in chunk:  # 13: CR
        return None
    lines = chunk.count(b"\n")
    if lines == 2 and chunk[:6] == b"data: ":
        return SSEEvent("message", chunk[6:-2].decode("utf-8", "replace"), last_id)
    if lines == 3 and chunk[:7] == b"event: ":
        nl = chunk.index(b"\n")
        if nl > 7 and chunk[nl + 1:nl + 7] == b"data: ":
            return SSEEvent(chunk[7:nl].decode("utf-8", "replace"),
                            chunk[nl + 7:-2].decode("utf-8", "replace"), last_id)
    return None


def plain_string(piece: bytes) -> bytes | None:
    """`piece`, the inside of a JSON string, when it needs no unescaping: no quote, no
    backslash, valid UTF-8 of printable characters. Then its bytes are the text itself.

    General path: `json.loads(b'"' + piece + b'"').encode("utf-8")`."""
    if 34 in piece or 92 in piece:  # '"' or '\\'
        return None
    try:
        if not piece.decode().isprintable():
            return None
    except UnicodeDecodeError:
        return None
    return piece


_ANTHROPIC_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_ANTHROPIC_TEXT = b',"delta":{"type":"text_delta","text":"'


def anthropic_text(chunk: bytes) -> bytes | None:
    """The UTF-8 answer text of a read that is exactly one compact Anthropic text_delta
    event whose text needs no unescaping.

    General path: one_event() or the decoder, then the anthropic mapper's Text event,
    then the sink's write([Text(text)])."""
    if chunk[-5:] != b'"}}\n\n' or not chunk.startswith(_ANTHROPIC_HEAD):
        return None
    start = len(_ANTHROPIC_HEAD)
    mid = chunk.find(_ANTHROPIC_TEXT, start, start + 12 + len(_ANTHROPIC_TEXT))
    if mid < 0 or not chunk[start:mid].isdigit():
        return None
    return plain_string(chunk[mid + len(_ANTHROPIC_TEXT):-5])


_CONTENT_HEAD = b'"choices":[{"index":0,"delta":{"content":"'
_CONTENT_TAIL = b'"},"logprobs":null,"finish_reason":null}]'
_TAILS = (b"}\n\n", b',"usage":null}\n\n')
_OBFUSCATION = b',"usage":null,"obfuscation":"'
_LEARN_TRIES = 8  # chunks looked at to learn the head before giving up on this stream


class OpenAIText:
    """The answer text of a read that is exactly one plain OpenAI content chunk: text for
    choice 0 and nothing else the mapper would act on.

    The server repeats the bytes before the text (id, model, ...) in every chunk, so they
    are learned once, from a chunk that the general path parses, and later chunks are
    recognised by those bytes, and by the exact bytes after the text.

    General path: the decoder, the openai mapper's Text event, the sink's write()."""

    def __init__(self) -> None:
        self.head: bytes | None = None
        self._tries = 0

    def __call__(self, chunk: bytes) -> bytes | None:
        head = self.head
        if head is None:
            if self._tries < _LEARN_TRIES:
                self._learn(chunk)
            return None  # the chunk it learned from still takes the general path
        if not chunk.startswith(head):
            return None
        start = len(head)
        end = chunk.find(_CONTENT_TAIL, start)
        if end <= start:  # not found, or empty content (which prints nothing)
            return None
        rest = chunk[end + len(_CONTENT_TAIL):]
        if rest not in _TAILS and not (rest.startswith(_OBFUSCATION) and rest.endswith(b'"}\n\n')
                                       and rest[len(_OBFUSCATION):-4].isalnum()):
            return None
        return plain_string(chunk[start:end])

    def _learn(self, chunk: bytes) -> None:
        """Take the bytes before the text from a read that is one `data:` line and
        nothing else (a head spanning an earlier event would skip that event's output
        in every later read). That read itself goes the general way, which ends the
        stream if it is not a valid chunk; so later reads with the same bytes mean the
        same to the mapper (id, model and the like are read once; `"index":0` and the
        delta's key are in the head). No CR: the decoder would end the line there."""
        if not chunk.startswith(b"data: {") or not chunk.endswith(b"\n\n") \
                or chunk.count(b"\n") != 2 or 13 in chunk:
            return
        self._tries += 1
        pos = chunk.find(_CONTENT_HEAD)
        if pos > 0:
            self.head = chunk[:pos + len(_CONTENT_HEAD)]


def text_shortcut(protocol: str):
    """The chunk-text shortcut for one wire protocol (a fresh one per stream), or None."""
    if protocol == "anthropic":
        return anthropic_text
    if protocol == "openai":
        return OpenAIText()
    return None
