"""Every shortcut of the hot path, each with the general path it must equal.

The pump is the only caller. A shortcut either returns exactly what the general path
(SSE decoder, then the provider's mapper, then the sink) would produce, or None, and
then the general path runs. tests/test_fastpath.py runs every recorded stream both ways
in several framings and requires identical stdout bytes in every mode.

Two levels. Read level (bytes): a read that is exactly one whole event, which is how
the LLM APIs frame every event (one per HTTP chunk), and only between events (the
decoder holds nothing: `SSEDecoder.idle`). Event level (str): one decoded event's data,
for reads that carry several events (a fast local server, a replay, a client that was
briefly descheduled). Both recognise the commonest event, a plain text delta, by its
exact bytes, and decline anything that would need unescaping.
"""

from __future__ import annotations

from streamcli.sse import MAX_EVENT_BYTES, STRAY_ERROR, SSEEvent


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


def plain_text(piece: str) -> str | None:
    """The str form of `plain_string`, for decoded event data.

    General path: `json.loads('"' + piece + '"')`."""
    if '"' in piece or "\\" in piece or not piece.isprintable():
        return None
    return piece


def json_index(digits: bytes | str) -> bool:
    """`digits` is a JSON number that is a whole number as written: ASCII digits only
    (str.isdigit also takes "٣" and "²") and no leading zero ("00" is not JSON).

    General path: `json.loads(digits)` parses, to an int."""
    return (digits.isascii() and digits.isdigit()
            and (len(digits) == 1 or digits[0] not in (48, "0")))  # 48: b"0"[0]


# The commonest index, one digit, by a set lookup (a third of json_index's cost, per
# event); json_index for the rest. The same answer: one ASCII digit is a JSON index.
# (Two sets: b"0" and "0" hash alike, and comparing them warns under `python -b`.)
_ONE_DIGIT = frozenset("0123456789")
_ONE_DIGIT_BYTES = frozenset(bytes([c]) for c in b"0123456789")

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
    if mid < 0:
        return None
    index = chunk[start:mid]
    if index not in _ONE_DIGIT_BYTES and not json_index(index):
        return None
    return plain_string(chunk[mid + len(_ANTHROPIC_TEXT):-5])


_ANTHROPIC_EVENT_HEAD = '{"type":"content_block_delta","index":'
_ANTHROPIC_EVENT_TEXT = ',"delta":{"type":"text_delta","text":"'


def anthropic_event_text(ev: SSEEvent) -> str | None:
    """The text of one event whose data is a compact text_delta that needs no unescaping.

    General path: the anthropic mapper's Text event for `ev` (which reads the type from
    the data, whatever the event's name, but ignores a stray `error:` field's value)."""
    data = ev.data
    if not data.endswith('"}}') or not data.startswith(_ANTHROPIC_EVENT_HEAD) \
            or ev.event is STRAY_ERROR:
        return None
    start = len(_ANTHROPIC_EVENT_HEAD)
    mid = data.find(_ANTHROPIC_EVENT_TEXT, start, start + 12 + len(_ANTHROPIC_EVENT_TEXT))
    if mid < 0:
        return None
    index = data[start:mid]
    if index not in _ONE_DIGIT and not json_index(index):
        return None
    return plain_text(data[mid + len(_ANTHROPIC_EVENT_TEXT):-3])


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


_CONTENT_HEAD_S = _CONTENT_HEAD.decode()
_CONTENT_TAIL_S = _CONTENT_TAIL.decode()
_TAILS_S = ("}", ',"usage":null}')
_OBFUSCATION_S = _OBFUSCATION.decode()


class OpenAIEventText:
    """`OpenAIText` for one decoded event: the text of a plain content chunk, recognised
    by the data's head (learned from an earlier event's data, which took the general
    path) and its exact tail.

    General path: the openai mapper's Text event for `ev` (which raises for an event
    named `error`, so those are never taken, and never parses a stray `error:` field's
    value, so no head is learned from one and none is taken)."""

    def __init__(self) -> None:
        self.head: str | None = None
        self._tries = 0

    def __call__(self, ev: SSEEvent) -> str | None:
        data, head = ev.data, self.head
        if ev.event is STRAY_ERROR:
            return None
        if head is None:
            if self._tries < _LEARN_TRIES:
                self._tries += 1
                pos = data.find(_CONTENT_HEAD_S)
                if pos > 0:
                    self.head = data[:pos + len(_CONTENT_HEAD_S)]
            return None  # the event it learned from still takes the general path
        if not data.startswith(head) or ev.event == "error":
            return None
        start = len(head)
        end = data.find(_CONTENT_TAIL_S, start)
        if end <= start:
            return None
        rest = data[end + len(_CONTENT_TAIL_S):]
        if rest not in _TAILS_S and not (rest.startswith(_OBFUSCATION_S) and rest.endswith('"}')
                                         and rest[len(_OBFUSCATION_S):-2].isalnum()):
            return None
        return plain_text(data[start:end])


def shortcuts(protocol: str | None) -> tuple:
    """(read-level, event-level) text shortcuts for one wire protocol, fresh for each
    stream (the openai ones learn); (None, None) when it has none."""
    if protocol == "anthropic":
        return anthropic_text, anthropic_event_text
    if protocol == "openai":
        return OpenAIText(), OpenAIEventText()
    return None, None
