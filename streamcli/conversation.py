"""Where a run's conversation comes from (new, the log, --messages), its turns checked.

Where a run's conversation comes from: a new one, the log (`-c`, `--cid`), or a file of
earlier turns (`--messages`); the turns checked and made neutral `Message`s.

The history sent from the log is the conversation's `--messages` turns (if it began with
them), then one user and one assistant turn per exchange that ended ok with an answer
(failed and cancelled exchanges stay in the log but are not sent: they would leave two
user turns in a row). Thinking and tool calls are not sent back.
"""

from __future__ import annotations

import json
import os
import time
from typing import NamedTuple

from streamcli import bounded
from streamcli.errors import UsageError
from streamcli.request import Message

ROLES = ("user", "assistant", "system")
HOW_TO_FIND = "'streamcli logs list' shows the ids of the recent conversations"


class Conversation(NamedTuple):  # a NamedTuple: cheaper than a dataclass at start-up
    id: str | None  # None: a new conversation that is not recorded
    record: bool  # this exchange goes into the log
    history: tuple[Message, ...] = ()
    system: str | None = None  # the conversation's system prompt (-s replaces it)
    # From the log: the provider name, model and URL of the latest exchange, reused
    # unless -m or --provider is given. Once planned, `provider` is the run's own.
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    protocol: str | None = None
    prior: tuple[Message, ...] = ()  # --messages turns: recorded with the first exchange
    pending: Message | None = None  # --messages ended with a user turn: the prompt, if none


def start(params: dict, environ, stdin, ui) -> Conversation:
    """The conversation of a prompt run, from its options (-c, --cid, --messages, --log)."""
    record = bool(params.get("log", True))
    if params.get("messages") is not None:
        return from_messages(params["messages"], stdin, ui, record=record)
    if params.get("continue_") or params.get("cid") is not None:
        return from_log(environ, params.get("cid"), record=record)
    return Conversation(id=new_id() if record else None, record=record)


def check_combination(params: dict) -> None:
    asked = [flag for name, flag in (("continue_", "-c"), ("cid", "--cid"),
                                     ("messages", "--messages"))
             if params.get(name) not in (None, False)]
    if params.get("replay") is not None and asked:
        raise UsageError(f"--replay plays a capture; it cannot be combined with {asked[0]}")
    if params.get("messages") is not None and asked != ["--messages"]:
        raise UsageError(f"--messages gives the earlier turns itself; it cannot be combined "
                         f"with {asked[0]}")
    if params.get("messages") == "-" and params.get("tools_file") == "-":
        raise UsageError("--messages - and --tools - cannot both read stdin: give one of "
                         "them as a file")
    if asked == ["-c", "--cid"]:
        raise UsageError("-c continues the most recent conversation and --cid a given one: "
                         "pass one of them")


def new_id() -> str:
    """A ULID in lower case (a conversation's or exchange's id): 26 characters, sortable
    by creation time, 80 random bits. Here, not in logbook: a new conversation needs no
    SQLite at start-up."""
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join("0123456789abcdefghjkmnpqrstvwxyz"[(n >> shift) & 31]
                   for shift in range(125, -1, -5))


# --- from the log -----------------------------------------------------------------------

def from_log(environ, cid: str | None, *, record: bool) -> Conversation:
    import sqlite3  # the log is read before the request: only -c and --cid pay for it
    from streamcli import logreader, store
    path = store.db_path(environ)
    if cid is not None and not cid.strip():
        raise UsageError(f"--cid needs a conversation id; {HOW_TO_FIND}")
    if cid is not None and not cid.encode("utf-8", "surrogatepass").isascii():
        raise UsageError(f"no conversation {cid!r}: ids are ASCII; {HOW_TO_FIND}")
    if not os.path.exists(path):
        raise UsageError(f"nothing to continue: there is no log yet at {path}"
                         + (f" (so no conversation {cid!r}; {HOW_TO_FIND})" if cid else ""))
    try:
        conn = logreader.open_log(environ)
        try:
            cid = cid.strip().lower() if cid else logreader.latest_conversation(conn)
            rows = logreader.conversation(conn, cid) if cid else []
        finally:
            conn.close()
    except (store.StoreError, sqlite3.Error, ValueError) as exc:
        raise UsageError(f"cannot read the log to continue a conversation: {exc}") from None
    if not cid:
        raise UsageError(f"nothing to continue: the log at {path} holds no conversation yet")
    if not rows:
        raise UsageError(f"no conversation {cid!r} in the log; {HOW_TO_FIND}")
    last = rows[-1]
    return Conversation(id=cid, record=record, history=history_of(rows), system=last["system"],
                        provider=last["provider"], model=last["model"],
                        base_url=last["base_url"], protocol=last["protocol"])


def api_of(protocol: str | None) -> str | None:
    """The --api that picks a logged OpenAI protocol again (None: not an OpenAI one)."""
    return {"openai": "chat", "openai-responses": "responses"}.get(protocol or "")


def history_of(rows: list[dict]) -> tuple[Message, ...]:
    """The turns to send before a new prompt, from a conversation's exchanges."""
    try:
        turns = [Message(t["role"], tuple(t["content"])) for t in rows[0]["prior"] or ()]
    except (KeyError, TypeError) as exc:
        raise UsageError(f"the log's record of conversation {rows[0]['conversation_id']!r} "
                         f"is damaged ({exc})") from None
    for row in rows:
        answer = row["text"] or row["refusal"] or ""
        if row["status"] == "ok" and answer.strip() and row["prompt"].strip():
            turns += [Message("user", (row["prompt"],)), Message("assistant", (answer,))]
    return tuple(turns)


def stored(turns: tuple[Message, ...]) -> list[dict] | None:
    """Turns as the log keeps them (the `prior` column)."""
    return [{"role": m.role, "content": list(m.content)} for m in turns] or None


# --- from a file of turns ---------------------------------------------------------------

def from_messages(path: str, stdin, ui, *, record: bool) -> Conversation:
    name = "stdin" if path == "-" else path
    # A byte order mark (as Windows editors write one) is no part of the JSON.
    items = parse_turns(_read(path, stdin, ui).removeprefix("\ufeff"), name)
    system, turns = check_turns(items, name)
    pending = turns.pop() if turns and turns[-1].role == "user" else None
    return Conversation(id=new_id() if record else None, record=record,
                        history=tuple(turns), system=system, prior=tuple(turns),
                        pending=pending)


def _read(path: str, stdin, ui) -> str:
    from streamcli.prompt import read_stdin
    if path == "-":
        bounded.piped_stdin(stdin, "--messages - reads stdin", "the turns")
        return read_stdin(stdin, ui)
    try:
        with open(path, "rb") as f:
            data = bounded.read(f, bounded.TEXT_LIMIT, f"--messages {path}")
    except OSError as exc:
        raise UsageError(f"cannot read --messages {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--messages {path} is not valid UTF-8 (byte {exc.start})") from None


def parse_turns(text: str, name: str) -> list[tuple[str, object]]:
    """(where, item) for each turn: a JSON array (where: "[i]") or JSON lines ("line n")."""
    try:
        if text.lstrip().startswith("["):
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise UsageError(f"--messages {name}: not a JSON array ({exc})") from None
            return [(f"[{i}]", item) for i, item in enumerate(items)]
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((f"line {n}", json.loads(line)))
                except ValueError as exc:
                    raise UsageError(f"--messages {name} line {n}: not JSON ({exc}); the "
                                     f"file is a JSON array or one JSON object per line"
                                     ) from None
        return out
    except RecursionError:
        raise UsageError(f"--messages {name}: JSON nested too deeply") from None


def check_turns(items, name: str) -> tuple[str | None, list[Message]]:
    """The system prompt (system turns, joined by a blank line) and the alternating
    user/assistant turns; a UsageError naming the turn for anything else."""
    system: list[str] = []
    turns: list[Message] = []
    for where, item in items:
        def bad(why: str) -> UsageError:
            return UsageError(f"--messages {name} {where}: {why}")
        if not isinstance(item, dict):
            raise bad('expected an object {"role": ..., "content": ...}')
        extra = sorted(set(item) - {"role", "content"})
        if extra:
            raise bad(f"unknown key {extra[0]!r} (a turn has only role and content)")
        role = item.get("role")
        if role not in ROLES:
            raise bad(f"role must be user, assistant or system, not {role!r}")
        if "content" not in item:
            raise bad("no content")
        parts = _parts(item["content"], bad)
        if role == "system":
            if turns:
                raise bad("a system turn must come before the first user turn")
            system.extend(parts)
            continue
        expected = "assistant" if turns and turns[-1].role == "user" else "user"
        if role != expected:
            raise bad("the first turn must be a user turn" if not turns else
                      f"two {role} turns in a row (turns alternate user and assistant; "
                      f"merge them)")
        turns.append(Message(role, parts))
    return ("\n\n".join(system) if system else None), turns


def _parts(content, bad) -> tuple[str, ...]:
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list) and content:
        texts = []
        for i, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "text" \
                    or not isinstance(block.get("text"), str) or set(block) != {"type", "text"}:
                raise bad(f"content block {i}: only text blocks "
                          f'{{"type": "text", "text": "..."}} are supported')
            texts.append(block["text"])
    else:
        raise bad("content must be a string or a non-empty list of text blocks")
    for text in texts:
        if not text.strip():
            raise bad("empty content (providers refuse empty turns)")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise bad("content is not valid UTF-8 (a lone surrogate escape)") from None
    return tuple(texts)
