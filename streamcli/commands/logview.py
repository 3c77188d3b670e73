"""How `streamcli logs` shows the log to a reader, made safe for a terminal.

How `streamcli logs` shows the log to a reader: one line per conversation or exchange,
a conversation's exchanges in full, times in local time, and text made safe for a
terminal (control characters shown, not obeyed).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime, timedelta, timezone

from streamcli.redact import visible


def safe(text: str) -> str:
    """Control characters and bidirectional overrides shown, not obeyed (`redact.visible`):
    an escape sequence stored in a prompt must not drive the reader's terminal."""
    return visible(text)


def one_line(text: str) -> str:
    return safe(" ".join(text.split()))


def fit(text: str, width: int) -> str:
    """Cut to `width` terminal columns (wide characters count two), with an ellipsis."""
    out, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > width:
            while out and used + 1 > width:  # room for the ellipsis
                used -= _width(out.pop())
            return "".join(out) + "…"
        out.append(ch)
        used += w
    return "".join(out)


def _width(ch: str) -> int:
    return 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def local(stamp: str | None, seconds: bool = False) -> str:
    """A logged UTC time in local time ("2026-11-21 10:30")."""
    try:
        when = datetime.fromisoformat(stamp).astimezone()
    except (TypeError, ValueError, OverflowError):
        return str(stamp)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def parse_when(value: str, *, end_of_day: bool) -> str:
    """A date or time given by the user (local time unless it names a zone) as the log's
    UTC text; `end_of_day`: a date alone means the end of that day (for --until)."""
    text = value.strip()
    when = datetime.fromisoformat(text)  # ValueError for the caller to report
    if end_of_day and _date_alone(text):
        when += timedelta(days=1)
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _date_alone(text: str) -> bool:
    """A date without a time, in any form ISO 8601 allows (2026-11-21, 20261121,
    2026-W47-6): the length alone missed all but the first."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def summary_line(row: dict, width: int) -> str:
    """id, time, model and prompt on one line, cut to the width."""
    head = f"{row['conversation_id']}  {local(row['time'])}  {one_line(row['model'] or '-')}  "
    return fit(head + one_line(row["prompt"][:4 * width + 100]), width)


def conversation(rows: list[dict]) -> str:
    """A conversation's exchanges, readable in a terminal."""
    n = len(rows)
    lines = [f"conversation {rows[0]['conversation_id']} ({n} exchange{'s' * (n != 1)})"]
    system = None
    for i, turn in enumerate(rows[0]["prior"] or ()):
        if i == 0:
            lines += ["", "-- earlier turns (--messages) --"]
        lines.append(_quoted(turn["content"]) if turn["role"] == "user"
                     else safe("\n\n".join(turn["content"])))
    for row in rows:
        if row["system"] != system and row["system"]:
            lines += ["", "system: " + safe(row["system"]).replace("\n", "\n        ")]
        system = row["system"]
        lines += ["", _heading(row), _quoted([row["prompt"]]), ""]
        lines += _answer(row)
    return "\n".join(lines)


def _heading(row: dict) -> str:
    status = row["status"] if row["status"] == "ok" else f"{row['status']}, exit {row['exit_code']}"
    took = f" · {row['duration_ms'] / 1000:.2f} s" if row["duration_ms"] is not None else ""
    return f"-- {local(row['time'], seconds=True)} · {one_line(row['model'] or '-')} · {status}{took} --"


def _quoted(texts) -> str:
    return "\n".join("> " + line for line in safe("\n\n".join(texts)).split("\n"))


def _answer(row: dict) -> list[str]:
    out = []
    if row["text"]:
        out.append(safe(row["text"]))
    if row["refusal"]:
        out.append("refusal: " + safe(row["refusal"]))
    for call in row["tool_calls"] or ():
        arguments = call.get("arguments") if not call.get("invalid") else call.get("raw_arguments")
        out.append(f"tool call: {one_line(str(call.get('name')))} "
                   f"{one_line(json.dumps(arguments, ensure_ascii=False))}")
    if not out:
        out.append("(no answer)")
    if row["error"]:
        out.append("error: " + one_line(row["error"].get("message") or ""))
    return out
