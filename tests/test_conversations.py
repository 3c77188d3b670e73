"""Conversations (issue 11): -c/--continue, --cid and --messages send the earlier turns in
each wire protocol's own format; what the log records of each exchange; turning it off.

In-process runs (tests/helpers/cli.py); the wire-format tests go to a local FakeServer that
records the request bodies, the others to the MockTransport, which records them too. The
log is read straight from its SQLite file (tests/helpers/logdb.py).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import logdb
from tests.helpers.cli import anthropic_error, json_response, sse
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import EXAMPLES
from tests.helpers.sse import (anthropic_message, anthropic_sse, openai_sse, partial_sse,
                               responses_sse)

ULID = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")
KEYS = {**ANTHROPIC_KEY, **OPENAI_KEY}
MODEL = {"anthropic": "claude-x", "openai": "gpt-x", "openai-responses": "gpt-x"}
PROTOCOLS = ["anthropic", "openai", "openai-responses"]


def stream(provider: str, text: str) -> list[bytes]:
    if provider == "openai-responses":
        return responses_sse([text])
    return (anthropic_sse([text], model=MODEL[provider]) if provider == "anthropic"
            else openai_sse([text], model=MODEL[provider]))


def wire_turns(provider: str, body: dict) -> list[tuple[str, object]]:
    """The turns of a request body in each protocol's own place: Messages and Chat
    Completions `messages`, Responses `input` (a string when it is the prompt alone)."""
    if provider != "openai-responses":
        return turns(body)
    items = body["input"]
    return [("user", items)] if isinstance(items, str) else [(m["role"], m["content"])
                                                             for m in items]


def system_of(provider: str, body: dict) -> str | None:
    if provider == "anthropic":
        return body.get("system")
    if provider == "openai-responses":
        return body.get("instructions")
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else None


def reply(provider: str, text: str):
    return sse(stream(provider, text))


def turns(body: dict) -> list[tuple[str, object]]:
    return [(m["role"], m["content"]) for m in body["messages"]]


# =========================================================================== -c on the wire


@pytest.mark.parametrize("provider", PROTOCOLS)
def test_continue_sends_the_earlier_turns_in_each_wire_format(cli, fake_server, provider):
    fake_server.enqueue(Reply(body=stream(provider, "First answer.")),
                        Reply(body=stream(provider, "Second answer.")))
    cli.real_network().env(**KEYS)
    first = cli.run("--provider", provider, "-m", MODEL[provider], "--base-url",
                    fake_server.url, "-s", "Be brief.", "first")
    # No -m, --provider, --base-url or -s: the conversation's own are reused.
    second = cli.run("-c", "second")
    assert (first.code, first.out, second.code, second.out) == (
        0, b"First answer.\n", 0, b"Second answer.\n")
    bodies = [r.json for r in fake_server.requests]
    assert bodies[1]["model"] == MODEL[provider]
    expected = [("user", "first"), ("assistant", "First answer."), ("user", "second")]
    assert system_of(provider, bodies[1]) == "Be brief."
    if provider == "openai":
        expected.insert(0, ("system", "Be brief."))
    assert wire_turns(provider, bodies[1]) == expected
    rows = logdb.exchanges(cli.environ)
    assert {r["protocol"] for r in rows} == {provider}
    assert [r["prompt"] for r in rows] == ["first", "second"]
    assert rows[0]["conversation_id"] == rows[1]["conversation_id"]


@pytest.mark.parametrize("provider", PROTOCOLS)
def test_cid_sends_that_conversations_turns_in_each_wire_format(cli, fake_server, provider):
    fake_server.enqueue(*(Reply(body=stream(provider, f"A{i}")) for i in range(3)))
    cli.real_network().env(**KEYS)
    args = ["--provider", provider, "-m", MODEL[provider], "--base-url", fake_server.url]
    cid = cli.run("--jsonl", *args, "topic one").events[0]["conversation_id"]
    cli.run(*args, "topic two")  # a newer conversation: -c would continue this one
    assert cli.run("--cid", cid, "back to one").code == 0
    body = fake_server.requests[2].json
    assert wire_turns(provider, body) == [("user", "topic one"), ("assistant", "A0"),
                                          ("user", "back to one")]
    assert body["model"] == MODEL[provider] and system_of(provider, body) is None


def test_continue_again_sends_every_ok_exchange_and_flags_override(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"), reply("anthropic", "A2"),
                                   reply("anthropic", "A3"))
    cli.run("-m", "claude-x", "-s", "old system", "q1")
    cli.run("-c", "q2")
    cli.run("-c", "-m", "claude-y", "-s", "new system", "q3")
    third = cli.bodies()[2]
    assert third["model"] == "claude-y" and third["system"] == "new system"
    assert turns(third) == [("user", "q1"), ("assistant", "A1"), ("user", "q2"),
                            ("assistant", "A2"), ("user", "q3")]


def test_the_stdin_context_is_part_of_the_turn_sent_again(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"), reply("anthropic", "A2"))
    cli.run("-m", "claude-x", "question", stdin=b"context\n")
    cli.run("-c", "next")
    assert turns(cli.bodies()[1])[0] == ("user", "context\n\nquestion")


def test_failed_and_cancelled_exchanges_are_logged_but_not_sent(cli):
    cli.env(**ANTHROPIC_KEY).serve(
        reply("anthropic", "A1"),
        anthropic_error(400, "invalid_request_error", "nope"),
        sse(partial_sse("anthropic")),  # the body ends without message_stop: exit 9
        reply("anthropic", "A4"))
    assert cli.run("-m", "claude-x", "q1").code == 0
    assert cli.run("-c", "--retries", "0", "q2").code == 3
    assert cli.run("-c", "--retries", "0", "q3").code == 9
    assert cli.run("-c", "q4").code == 0
    assert turns(cli.bodies()[3]) == [("user", "q1"), ("assistant", "A1"), ("user", "q4")]
    rows = logdb.exchanges(cli.environ)
    assert [(r["prompt"], r["status"], r["exit_code"]) for r in rows] == [
        ("q1", "ok", 0), ("q2", "error", 3), ("q3", "error", 9), ("q4", "ok", 0)]
    assert rows[1]["error"]["kind"] == "invalid_request" and rows[1]["error"]["message"] == "nope"
    assert rows[2]["text"] == "Hello"  # what was printed before the stream broke off
    assert len({r["conversation_id"] for r in rows}) == 1


def test_an_answer_without_text_is_not_sent_back(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", ""), reply("anthropic", "A2"))
    cli.run("-m", "claude-x", "q1")
    cli.run("-c", "q2")
    assert turns(cli.bodies()[1]) == [("user", "q2")]  # an empty assistant turn is refused


# =========================================================================== --cid


@pytest.mark.parametrize("mode", [["--jsonl"], ["--no-stream"]])
def test_the_conversation_id_is_in_the_output_and_cid_continues_it(cli, mode):
    body = anthropic_message("B1", model="claude-x")
    responses = [json_response(200, body)] if mode == ["--no-stream"] else [reply("anthropic", "B1")]
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"), *responses, reply("anthropic", "A2"))
    a = cli.run("--jsonl", "-m", "claude-x", "topic A")
    b = cli.run(*mode, "-m", "claude-x", "topic B")
    cid_a = a.events[0]["conversation_id"]
    cid_b = b.result["conversation_id"] if mode == ["--no-stream"] else b.events[0]["conversation_id"]
    assert ULID.match(cid_a) and ULID.match(cid_b) and cid_a != cid_b
    c = cli.run("--jsonl", "--cid", cid_a, "more on A")
    assert c.code == 0 and c.events[0]["conversation_id"] == cid_a
    assert turns(cli.bodies()[2]) == [("user", "topic A"), ("assistant", "A1"),
                                      ("user", "more on A")]
    rows = logdb.exchanges(cli.environ)
    assert [r["conversation_id"] for r in rows] == [cid_a, cid_b, cid_a]


def test_continuing_an_older_conversation_makes_it_the_most_recent(cli):
    cli.env(**ANTHROPIC_KEY).serve(*(reply("anthropic", f"A{i}") for i in range(4)))
    a = cli.run("--jsonl", "-m", "claude-x", "topic A").events[0]["conversation_id"]
    cli.run("-m", "claude-x", "topic B")
    cli.run("--cid", a, "A again")
    cli.run("-c", "and again")
    assert [m["content"] for m in cli.bodies()[3]["messages"]] == [
        "topic A", "A0", "A again", "A2", "and again"]


def test_an_unknown_cid_is_a_usage_error_that_says_how_to_find_ids(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"))
    cli.run("-m", "claude-x", "q1")
    r = cli.run("--jsonl", "--cid", "01nosuchconversation00000", "q2")
    assert r.code == 2 and r.types == ["start", "error", "end"]
    assert "no conversation '01nosuchconversation00000'" in r.err
    assert "streamcli logs list" in r.err
    assert len(cli.requests) == 1


@pytest.mark.parametrize("args", [["-c"], ["--cid", "01jd0000000000000000000000"]])
def test_continuing_without_a_log_is_a_usage_error(cli, args):
    r = cli.run(*args, "-m", "claude-x", "q")
    assert r.code == 2 and "nothing to continue" in r.err
    assert not cli.requests and not logdb.db_path(cli.environ).exists()


@pytest.mark.parametrize("args, message", [
    (["-c", "--cid", "x"], "pass one of them"),
    (["-c", "--messages", "m.json"], "cannot be combined with -c"),
    (["--cid", "x", "--messages", "m.json"], "cannot be combined with --cid"),
    (["--replay", "x.sse", "-c"], "--replay plays a capture"),
])
def test_conflicting_conversation_options_are_usage_errors(cli, args, message):
    r = cli.run(*args, "-m", "claude-x", "q")
    assert r.code == 2 and message in r.err and not cli.requests


# =========================================================================== --messages


HISTORY = [{"role": "system", "content": "You count."},
           {"role": "user", "content": "one"},
           {"role": "assistant", "content": [{"type": "text", "text": "two"},
                                             {"type": "text", "text": "three"}]}]


@pytest.mark.parametrize("provider", PROTOCOLS)
@pytest.mark.parametrize("form", ["array", "jsonl", "stdin"])
def test_messages_are_sent_before_the_prompt(cli, fake_server, tmp_path, provider, form):
    fake_server.enqueue(Reply(body=stream(provider, "four")))
    cli.real_network().env(**KEYS)
    path = tmp_path / "turns.json"
    text = (json.dumps(HISTORY, indent=2) if form == "array"
            else "\n".join(json.dumps(t) for t in HISTORY) + "\n")
    path.write_text(text, encoding="utf-8")
    args = ["--provider", provider, "-m", MODEL[provider], "--base-url", fake_server.url]
    if form == "stdin":
        r = cli.run(*args, "--messages", "-", "next?", stdin=text.encode())
    else:
        r = cli.run(*args, "--messages", str(path), "next?")
    assert r.code == 0 and r.out == b"four\n", r.err
    body = fake_server.requests[0].json
    kind = "output_text" if provider == "openai-responses" else "text"
    blocks = [{"type": kind, "text": "two"}, {"type": kind, "text": "three"}]
    expected = [("user", "one"), ("assistant", blocks), ("user", "next?")]
    assert system_of(provider, body) == "You count."
    if provider == "openai":
        expected.insert(0, ("system", "You count."))
    assert wire_turns(provider, body) == expected


def test_messages_ending_with_a_user_turn_make_that_turn_the_prompt(cli, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"role": "user", "content": "a"}\n{"role": "assistant", "content": "b"}\n'
                    '{"role": "user", "content": "c"}\n', encoding="utf-8")
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "d"), reply("anthropic", "f"))
    assert cli.run("-m", "claude-x", "--messages", str(path), stdin=b"").code == 0
    assert turns(cli.body) == [("user", "a"), ("assistant", "b"), ("user", "c")]
    r = cli.run("-m", "claude-x", "--messages", str(path), "e")
    assert r.code == 2 and "two user turns in a row" in r.err
    # The turns of --messages stay with the conversation: -c sends them again.
    assert cli.run("-c", "e").code == 0
    assert [m["content"] for m in cli.bodies()[1]["messages"]] == ["a", "b", "c", "d", "e"]


def test_an_explicit_system_prompt_replaces_the_system_turns(cli, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(HISTORY), encoding="utf-8")
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "x"))
    cli.run("-m", "claude-x", "--messages", str(path), "-s", "Mine.", "q")
    assert cli.body["system"] == "Mine."


@pytest.mark.parametrize("text, where, why", [
    ('[{"role": "robot", "content": "x"}]', "[0]", "role must be user, assistant or system"),
    ('[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]', "[1]",
     "two user turns in a row"),
    ('{"role": "assistant", "content": "a"}\n', "line 1", "the first turn must be a user turn"),
    ('{"role": "user", "content": "a"}\n\n{"role": "user", "content": "b"}\n', "line 3",
     "two user turns in a row"),
    ('{"role": "user", "content": "a"}\n{"role": "assistant"\n', "line 2", "not JSON"),
    ('[{"role": "user", "content": ""}]', "[0]", "empty content"),
    ('[{"role": "user", "content": 5}]', "[0]", "content must be a string"),
    ('[{"role": "user", "content": []}]', "[0]", "content must be a string"),
    ('[{"role": "user", "content": [{"type": "image", "source": {}}]}]', "[0]",
     "content block 0: only text blocks"),
    ('[{"role": "user", "content": "a", "name": "bob"}]', "[0]", "unknown key 'name'"),
    ('[{"role": "user"}]', "[0]", "no content"),
    ('["hello"]', "[0]", "expected an object"),
    ('[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, '
     '{"role": "system", "content": "s"}]', "[2]", "a system turn must come before"),
    ('[{"role": "user", "content": "\\ud800"}]', "[0]", "not valid UTF-8"),
    ("[" * 100000 + "]" * 100000, "", "nested too deeply"),
    ('[1, 2', "", "not a JSON array"),
])
def test_bad_messages_are_usage_errors_naming_the_turn(cli, tmp_path, text, where, why):
    path = tmp_path / "turns.json"
    path.write_text(text, encoding="utf-8")
    r = cli.run("--jsonl", "-m", "claude-x", "--messages", str(path), "q")
    assert r.code == 2 and r.types == ["start", "error", "end"]
    assert f"--messages {path} {where}".rstrip() in r.err and why in r.err, r.err
    assert not cli.requests


def test_unreadable_or_non_utf8_messages_are_usage_errors(cli, tmp_path):
    cli.env(**ANTHROPIC_KEY)
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'[{"role": "user", "content": "caf\xe9"}]')
    assert "not valid UTF-8" in cli.run("-m", "claude-x", "--messages", str(bad), "q").err
    r = cli.run("-m", "claude-x", "--messages", str(tmp_path / "missing.json"), "q")
    assert r.code == 2 and "cannot read --messages" in r.err
    r = cli.run("-m", "claude-x", "--messages", "-", "-", stdin=b"[]")
    assert r.code == 2 and "--messages - reads the turns" in r.err
    r = cli.run("-m", "claude-x", "--messages", "-", "q")  # stdin is a terminal
    assert r.code == 2 and "stdin is a terminal" in r.err
    assert not cli.requests


# =========================================================================== the record


def test_what_the_log_records_of_an_exchange(cli):
    cli.env(**ANTHROPIC_KEY).serve(sse(anthropic_sse(["Hel", "lo"], model="claude-x",
                                                     msg_id="msg_7", input_tokens=11),
                                       headers={"request-id": "req_42"}))
    r = cli.run("-m", "claude-x", "-s", "sys", "--base-url", "https://u:pw@gw.example/x",
                "question", stdin=b"ctx")
    assert r.code == 0
    (row,) = logdb.exchanges(cli.environ)
    assert ULID.match(row["id"]) and ULID.match(row["conversation_id"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row["time"])
    assert {k: row[k] for k in ("provider", "protocol", "model", "base_url", "system", "prompt",
                                "text", "thinking", "tool_calls", "stop_reason",
                                "stop_reason_raw", "input_tokens", "output_tokens", "status",
                                "exit_code", "response_id", "request_id", "error", "prior",
                                "attachments")} == {
        "provider": "anthropic", "protocol": "anthropic", "model": "claude-x",
        "base_url": "https://gw.example/x", "system": "sys", "prompt": "ctx\n\nquestion",
        "text": "Hello", "thinking": None, "tool_calls": None, "stop_reason": "end",
        "stop_reason_raw": "end_turn", "input_tokens": 11, "output_tokens": 2, "status": "ok",
        "exit_code": 0, "response_id": "msg_7", "request_id": "req_42", "error": None,
        "prior": None, "attachments": None}
    assert row["usage"]["input_tokens"] == 11
    assert 0 <= row["ttft_ms"] <= row["duration_ms"]


def test_a_named_provider_keeps_its_name_so_continuing_finds_its_key(cli):
    cli.config('[providers.work]\nkind = "anthropic"\nbase_url = "https://gw.example"\n'
               'api_key_env = "WORK_KEY"\n')
    cli.env(WORK_KEY="sk-work").serve(reply("anthropic", "A1"), reply("anthropic", "A2"))
    cli.run("-m", "work:claude-x", "q1")
    assert cli.run("-c", "q2").code == 0
    assert cli.requests[1].headers["x-api-key"] == "sk-work"
    assert str(cli.requests[1].url) == "https://gw.example/v1/messages"
    assert logdb.exchanges(cli.environ)[0]["provider"] == "work"


def test_tool_calls_and_thinking_are_recorded(cli):
    from tests.helpers.sse import anthropic_tool_stream
    cli.env(**ANTHROPIC_KEY).serve(sse(anthropic_tool_stream(["Let me look."], ['{"q": ', '1}'])))
    cli.run("-m", "claude-x", "find it")
    (row,) = logdb.exchanges(cli.environ)
    assert row["text"] == "Let me look." and row["stop_reason"] == "tool_use"
    assert [(c["name"], c["arguments"]) for c in row["tool_calls"]] == [("get_weather", {"q": 1})]


def test_replays_and_usage_errors_are_not_recorded(cli):
    assert cli.run("--replay", str(EXAMPLES / "anthropic_hello.sse")).code == 0
    assert cli.run("-m", "claude-x", "q").code == 2  # no key: nothing was sent
    assert not logdb.db_path(cli.environ).exists()


@pytest.mark.parametrize("off", [["--no-log"], "env", "config"])
def test_logging_turned_off(cli, off):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A"), reply("anthropic", "B"))
    args = off if isinstance(off, list) else []
    if off == "env":
        cli.env(STREAMCLI_LOG="0")
    elif off == "config":
        cli.config("log = false\n")
    r = cli.run("--jsonl", *args, "-m", "claude-x", "q")
    assert r.code == 0 and r.events[0]["conversation_id"] is None
    assert not logdb.db_path(cli.environ).exists()
    if off != ["--no-log"]:  # --log on the command line wins over the variable and the file
        assert cli.run("--log", "-m", "claude-x", "q").code == 0
        assert len(logdb.exchanges(cli.environ)) == 1


def test_continuing_with_no_log_sends_the_history_but_records_nothing_new(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"), reply("anthropic", "A2"))
    cid = cli.run("--jsonl", "-m", "claude-x", "q1").events[0]["conversation_id"]
    r = cli.run("--jsonl", "--no-log", "-c", "q2")
    assert r.events[0]["conversation_id"] == cid
    assert len(turns(cli.bodies()[1])) == 3 and len(logdb.exchanges(cli.environ)) == 1


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_log_setting_is_a_usage_error(cli, value):
    r = cli.env(STREAMCLI_LOG=value).run("-m", "claude-x", "q")
    assert r.code == 2 and "STREAMCLI_LOG" in r.err


def test_a_bad_log_value_in_the_config_file_is_a_usage_error(cli):
    cli.config('log = "no"\n')
    r = cli.run("-m", "claude-x", "q")
    assert r.code == 2 and "log must be true or false" in r.err


def test_an_empty_cid_is_a_usage_error_not_a_new_conversation(cli):
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "A1"))
    cli.run("-m", "claude-x", "q1")
    for value in ("", "  "):
        r = cli.run("--cid", value, "q2")
        assert r.code == 2 and "--cid needs a conversation id" in r.err
    assert len(cli.requests) == 1


def test_a_short_placeholder_key_does_not_mangle_the_record(cli):
    """Keyless local servers are often given a dummy key such as "x": only a key of
    eight characters or more is hunted down in the record."""
    cli.env(OPENAI_API_KEY="x").serve(sse(openai_sse(["x marks the spot"], model="gpt-x")))
    cli.run("--provider", "openai", "--base-url", "http://localhost:8080/v1", "-m", "gpt-x", "q")
    (row,) = logdb.exchanges(cli.environ)
    assert (row["model"], row["text"]) == ("gpt-x", "x marks the spot")


def test_an_answer_with_a_lone_surrogate_is_recorded_as_printed(cli):
    from tests.helpers.sse import sse_event
    parts = [sse_event({"choices": [{"index": 0, "delta": {"content": "a\ud800b"},
                                     "finish_reason": None}]}, compact=False),
             *openai_sse([], model="gpt-x")[1:]]
    raw = [p.replace("\\ud800".encode(), b"\\ud800") for p in parts]
    cli.env(**OPENAI_KEY).serve(sse(raw))
    r = cli.run("-m", "gpt-x", "q")
    assert r.code == 0 and r.err == "", r.err
    (row,) = logdb.exchanges(cli.environ)
    assert row["text"] == r.out.decode("utf-8").rstrip("\n")


def test_continuing_keeps_the_protocol_that_api_chose(cli, fake_server):
    fake_server.enqueue(Reply(body=responses_sse(["A1"])), Reply(body=responses_sse(["A2"])),
                        Reply(body=stream("openai", "A3")))
    cli.real_network().env(**OPENAI_KEY)
    cli.run("--provider", "openai", "--api", "responses", "-m", "gpt-x", "--base-url",
            fake_server.url, "q1")
    assert cli.run("-c", "q2").code == 0  # still the Responses API, at the same URL
    assert cli.run("-c", "--api", "chat", "q3").code == 0  # unless --api says otherwise
    paths = [r.path for r in fake_server.requests]
    assert paths == ["/responses", "/responses", "/chat/completions"]
    assert [(m["role"], m["content"]) for m in fake_server.requests[2].json["messages"]] == [
        ("user", "q1"), ("assistant", "A1"), ("user", "q2"), ("assistant", "A2"), ("user", "q3")]


def test_attachments_are_recorded_by_name_type_size_and_digest(cli, tmp_path):
    import hashlib
    from tests.helpers import media
    image = media.write(tmp_path, "shot.png", media.png(4, 3))
    notes = media.write(tmp_path, "notes.txt", "some notes\n")
    piped = media.pdf(3000)
    cli.env(**ANTHROPIC_KEY).serve(reply("anthropic", "Seen."), reply("anthropic", "Next."))
    r = cli.run("-m", "claude-x", "-a", str(image), "-a", str(notes), "-a", "-",
                "-a", "https://example.com/docs/spec.pdf", "what are these?", stdin=piped)
    assert r.code == 0, r.err
    (row,) = logdb.exchanges(cli.environ)
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    assert row["attachments"] == [
        {"name": "shot.png", "type": "image/png", "size": image.stat().st_size,
         "sha256": sha(image.read_bytes())},
        {"name": "notes.txt", "type": "text/plain", "size": 11, "sha256": sha(b"some notes\n")},
        {"name": "stdin.pdf", "type": "application/pdf", "size": len(piped), "sha256": sha(piped)},
        {"name": "spec.pdf", "type": "application/pdf", "size": None, "sha256": None}]
    assert row["prompt"] == "what are these?"
    assert b"some notes" not in logdb.db_path(cli.environ).read_bytes()  # never the content
    # Continuing sends the text of the turns; the attachments are not sent again.
    assert cli.run("-c", "and now?").code == 0
    assert turns(cli.bodies()[1]) == [("user", "what are these?"), ("assistant", "Seen."),
                                      ("user", "and now?")]
