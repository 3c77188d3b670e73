"""The fields of a batch item in the neutral form, each checked and made Request-ready.

The fields of a batch item in the provider-neutral form, each checked (a UsageError
names what is wrong) and made into what a `Request` takes.
"""

from __future__ import annotations

import math

from streamcli import attachments, attachspec
from streamcli.errors import UsageError
from streamcli.plan import utf8


# Body fields that -o and an item's options cannot set: streamcli builds them from what
# decides where a request goes and how it is answered. A model set here would bypass the
# provider's resolution (and put two models in one OpenAI batch file, which the API
# refuses); turns set here would silently replace the item's prompt.
_REFUSED = {"stream": "batch requests are not streamed",
            "stream_options": "batch requests are not streamed",
            "model": "use the item's model (or -m)",
            "messages": "use the item's messages and prompt",
            "input": "use the item's messages and prompt"}


def no_stream(fields: dict, where: str) -> dict:
    """The other body fields of -o or an item's options; one that streamcli sets itself
    (stream, the model, the turns) is refused."""
    for key in fields:
        if key in _REFUSED:
            raise UsageError(f"{where}: {key} cannot be set ({_REFUSED[key]})")
    return fields


def conversation(messages, prompt: str) -> tuple[str | None, tuple, str]:
    """An item's `messages` as --messages takes them (the same checks: alternating user and
    assistant turns, text content, system turns first): (their system prompt, the earlier
    turns, the prompt). Turns that end with a user turn give the prompt, if the item has
    none."""
    from streamcli.conversation import check_turns
    if not isinstance(messages, list) or not messages:
        raise UsageError("messages must be a non-empty array of {role, content} objects")
    label = "messages"
    try:
        system, turns = check_turns([(f"[{i}]", t) for i, t in enumerate(messages)], label)
    except UsageError as err:  # said as --messages says it: name the item's field instead
        err.message = err.message.replace(f"--messages {label} ", label, 1)
        err.args = (err.message,)
        raise
    if turns and turns[-1].role == "user":
        if prompt:
            raise UsageError("messages end with a user turn and the item has a prompt too: "
                             "that would be two user turns in a row (drop one of them)")
        prompt = "\n\n".join(turns.pop().content)
    if not prompt:
        raise UsageError("no prompt: the item's messages end with an assistant turn")
    return system, tuple(turns), prompt


def attach(value, kind: str) -> tuple:
    """An item's `attach`: a file or an http(s) URL, or a list of them (instead of -a)."""
    specs = [value] if isinstance(value, str) else value
    if not isinstance(specs, list) or not all(isinstance(s, str) and s for s in specs):
        raise UsageError("attach must be a file or URL, or a list of them")
    if any(map(attachspec.reads_stdin, specs)):  # -, /dev/stdin...
        raise UsageError("attach '-' (stdin) cannot be used in a batch item")
    for spec in specs:
        _regular(spec)
    return attachments.load([utf8("attach", s) for s in specs], kind)


def _regular(spec: str) -> None:
    """A file an item attaches must be a regular file: a pipe, a FIFO or a device
    (/dev/stdin, <(cmd)) can be read once at most, and opening or reading one can block a
    worker for good. (os.stat never blocks on a FIFO; a missing file is load's to say.)"""
    import os
    import stat
    if attachspec.is_url(spec):
        return
    try:
        mode = os.stat(spec).st_mode
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise UsageError(f"attach {spec!r}: not a regular file (a pipe, FIFO or device "
                         f"cannot be read by a batch item)")


def schema(value):
    """An item's `schema`: a JSON Schema object, or as --schema takes it (a file, inline
    JSON or the concise form); instead of --schema."""
    if not isinstance(value, (str, dict)):
        raise UsageError("schema must be a JSON Schema object, or a file, inline JSON or "
                         "the concise form")
    from streamcli import schema as schemas  # jsonschema: only when a schema is given
    return schemas.parse(utf8("schema", value) if isinstance(value, str) else value)


def text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return utf8(key, value)


def count(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a whole number of at least 1, not {value!r:.40}")
    return value


def number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise UsageError(f"{key} must be a number of at least 0, not {value!r:.40}")
    return value
