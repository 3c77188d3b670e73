"""The normalized, provider-neutral events that providers emit and sinks consume.

NamedTuples: immutable like frozen dataclasses but several times cheaper to build, and
one is built per delta on the hot path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from streamcli import safejson
from streamcli.redact import clip


class Start(NamedTuple):
    provider: str
    model: str | None
    id: str | None


class Text(NamedTuple):
    text: str


class Thinking(NamedTuple):
    text: str


class Refusal(NamedTuple):
    text: str


class ToolCall(NamedTuple):
    id: str | None
    name: str | None
    arguments: Any  # the parsed JSON, or None when raw_arguments is not valid JSON
    raw_arguments: str
    invalid: bool


class OutputItem(NamedTuple):
    """An output item that streamcli does not run and that is not answer text (the
    Responses API's web_search_call, file_search_call, code_interpreter_call,
    computer_call...), reported once it is done."""

    item_type: str | None
    id: str | None
    status: str | None
    raw: dict  # the whole item, as the provider sent it


class Stop(NamedTuple):
    raw: str  # the provider's own stop/finish reason; normalize_stop() maps it


class Usage(NamedTuple):
    input_tokens: int | None
    output_tokens: int | None
    raw: dict


class Done(NamedTuple):
    """The provider's terminal event (Anthropic message_stop, OpenAI [DONE], Responses
    response.completed or response.incomplete)."""


DONE = Done()


def tool_call(call_id: str | None, name: str | None, raw: str) -> ToolCall:
    """A complete tool call from its assembled argument string. An empty string is a
    call without arguments ({}), as the SDK accumulators read it; a string that is not
    JSON (cut off by a token limit), or JSON no output could carry (a number beyond a
    double such as 1e400, NaN, nesting too deep: see `safejson`), is kept raw and
    flagged, never a crash: `arguments` null, `invalid` true, `raw_arguments` exact."""
    if not raw.strip():
        return ToolCall(call_id, name, {}, raw, False)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # surrogate halves from JSON escapes split across deltas
        raw = whole_characters(raw)
    try:
        return ToolCall(call_id, name, safejson.loads(raw), raw, False)
    except ValueError:
        return ToolCall(call_id, name, None, raw, True)


def whole_characters(text: str) -> str:
    """`text` with its surrogate pairs joined into characters and a lone half made
    U+FFFD, as the sinks write them (for the readers of the str itself: stderr, the log)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class SurrogateJoin:
    """Keeps a surrogate pair whole when a server's JSON escapes split it across two
    deltas (`"\\ud83d"` then `"\\ude00"`): a delta ending in a high surrogate holds it back
    until the next delta of the same kind, so the output never depends on where the
    network split the body. `held` is empty between such pairs (the pump checks it before
    taking a shortcut, which would otherwise overtake the held character)."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: dict = {}  # event class -> the high surrogate held back

    def add(self, kind, text: str, out: list) -> None:
        if text.__class__ is not str:  # valid JSON of the wrong shape: a malformed stream
            raise TypeError(f"a {kind.__name__.lower()} delta that is not a string: "
                            f"{clip(repr(text), 60)}")  # masked, then cut
        if self.held:
            high = self.held.pop(kind, None)
            if self.held:  # the held half of another kind will get no second half
                self.flush(out)
            if high is not None:
                if text[:1] and "\udc00" <= text[0] <= "\udfff":
                    # One character again, so every reader (stderr, the log) sees it.
                    text = chr(0x10000 + ((ord(high) - 0xD800) << 10) + ord(text[0]) - 0xDC00) \
                        + text[1:]
                else:
                    text = high + text
        if text[-1:] and "\ud800" <= text[-1] <= "\udbff":
            self.held[kind] = text[-1]
            text = text[:-1]
            if not text:
                return
        out.append(kind(text))

    def flush(self, out: list) -> None:
        """At the end of a block or of the stream: a lone half is U+FFFD, as the sinks
        would write it."""
        for kind in self.held:
            out.append(kind("\ufffd"))
        self.held.clear()


class Retry(NamedTuple):
    attempt: int  # 1 for the first retry
    delay_s: float
    reason: str
    status: int | None


# Stop reasons normalized across providers; the provider's own value is kept beside it.
STOP_REASONS = {
    # Anthropic
    "end_turn": "end",
    "stop_sequence": "stop_sequence",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "tool_use": "tool_use",
    "pause_turn": "pause",
    "refusal": "refusal",
    # OpenAI and compatible servers
    "stop": "end",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    # OpenAI Responses API: the status `completed` (`function_call` when the output holds
    # function calls), or the reason of an incomplete response
    "completed": "end",
    "max_output_tokens": "max_tokens",
}


def normalize_stop(raw: str | None) -> str | None:
    if raw is None:
        return None
    return STOP_REASONS.get(raw, "other")


def usage_dict(usage: Usage | None) -> dict | None:
    """The provider-neutral usage object of --jsonl and --no-stream."""
    if usage is None:
        return None
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "raw": usage.raw}
