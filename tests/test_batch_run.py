"""`streamcli batch run`: every input form, the output lines (order, ids, schema), bad
lines, exit statuses, fail-fast, --resume, against a local server (in-process runs)."""

from __future__ import annotations

import json
import threading

from tests.helpers.batchapi import jsonl
from tests.helpers.fakeserver import Gate, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_KEYS
from tests.helpers.schema import batch_lines
from tests.helpers.sse import anthropic_error_body, anthropic_message, openai_error_body


def sent(server) -> dict:
    """The last user text of each request the server saw -> its body."""
    out = {}
    for r in server.requests:
        turns = r.json["messages"]
        out[turns[-1]["content"]] = r.json
    return out


def test_strings_in_input_order_with_ids_index_and_response_id(batch, fake_server):
    r = batch(jsonl(*[f"q{i}" for i in range(12)]), "-j", "4")
    assert r.code == 0, r.err
    lines = r.lines
    assert [(x["id"], x["index"]) for x in lines] == [(str(i), i) for i in range(12)]
    assert [x["text"] for x in lines] == [f"answer to q{i}" for i in range(12)]
    assert [x["response_id"] for x in lines] == [f"msg_q{i}" for i in range(12)]
    assert all(x["status"] == "ok" and x["provider"] == "anthropic" for x in lines)
    assert len(fake_server.requests) == 12
    body = sent(fake_server)["q3"]
    assert body["stream"] is False and body["model"] == "claude-test"
    assert "12 ok, 0 failed" in r.err


def test_every_input_form(batch, fake_server):
    text = jsonl(
        "plain",
        {"id": "f", "prompt": "fields", "system": "be brief", "max_tokens": 7,
         "temperature": 0.5, "options": {"top_k": 3}},
        {"id": 42, "messages": [{"role": "user", "content": "earlier"},
                                {"role": "assistant", "content": "yes"}], "prompt": "conv"},
        {"custom_id": "anth", "params": {"model": "claude-other", "max_tokens": 9,
                                         "messages": [{"role": "user", "content": "aline"}]}},
        {"custom_id": "oai", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-test", "messages": [{"role": "user", "content": "oline"}]}},
    )
    r = batch(text, "-s", "default system", "--max-tokens", "100", "-o", "top_p=0.9")
    assert r.code == 0, r.err
    assert [x["id"] for x in r.lines] == ["0", "f", "42", "anth", "oai"]
    bodies = sent(fake_server)
    assert bodies["plain"]["system"] == "default system" and bodies["plain"]["max_tokens"] == 100
    assert bodies["plain"]["top_p"] == 0.9
    f = bodies["fields"]
    assert (f["system"], f["max_tokens"], f["temperature"], f["top_k"], f["top_p"]) == \
        ("be brief", 7, 0.5, 3, 0.9)
    assert [t["content"] for t in bodies["conv"]["messages"]] == ["earlier", "yes", "conv"]
    a = bodies["aline"]
    assert (a["model"], a["max_tokens"], a["system"]) == ("claude-other", 9, "default system")
    o = bodies["oline"]
    assert (o["model"], o["max_tokens"], o["top_p"]) == ("gpt-test", 100, 0.9)
    assert o["messages"] == [{"role": "user", "content": "oline"}]  # as written
    paths = {r.json["messages"][-1]["content"]: r.path for r in fake_server.requests}
    assert paths["oline"].endswith("/chat/completions") and paths["aline"] == "/v1/messages"
    assert r.lines[4]["provider"] == "openai" and r.lines[4]["text"] == "answer to oline"


def test_lines_mode_joins_each_line_with_the_prompt(batch, fake_server):
    r = batch("Bonjour\n\n  \nMerci\n", "--lines", "Translate to English")
    assert r.code == 0, r.err
    assert [x["id"] for x in r.lines] == ["0", "1"]
    assert set(sent(fake_server)) == {"Bonjour\n\nTranslate to English",
                                      "Merci\n\nTranslate to English"}
    r = batch("just this\n", "--lines", "")
    assert sent(fake_server)["just this"]


def test_bad_lines_are_failed_items_with_their_line_number(batch, fake_server):
    text = ('"ok"\n{not json\n[1, 2]\n{"prompt": "x", "colour": "red"}\n'
            '{"id": "m", "prompt": "y", "max_tokens": 0}\n{"temperature": 1}\n"fine"\n')
    r = batch(text + "\n", "-j", "2")
    assert r.code == 12, r.err
    lines = r.lines
    assert [x["status"] for x in lines] == ["ok", "error", "error", "error", "error", "error", "ok"]
    for number, x in zip((2, 3, 4, 5, 6), lines[1:6]):
        assert x["exit_code"] == 2 and x["error"]["kind"] == "usage"
        assert f"line {number}:" in x["error"]["message"], x["error"]["message"]
    assert "unknown key 'colour'" in lines[3]["error"]["message"]
    assert lines[4]["id"] == "m" and "max_tokens" in lines[4]["error"]["message"]
    assert len(fake_server.requests) == 2
    assert "2 ok, 5 failed: 5 bad input" in r.err


def test_empty_prompts_and_streaming_are_refused_per_item(batch, fake_server):
    r = batch(jsonl("", {"prompt": " "}, {"prompt": "x", "options": {"stream": True}},
                    {"prompt": 5}, "fine"))
    assert r.code == 12
    messages = [x["error"]["message"] if x["error"] else None for x in r.lines]
    assert "line 1: an empty prompt" == messages[0]
    assert "line 2: prompt must be a non-empty string" == messages[1]
    assert "stream cannot be set" in messages[2] and "line 4" in messages[3]
    assert messages[4] is None and len(fake_server.requests) == 1
    r = batch(jsonl("a"), "-o", "stream=true")  # every item would: refused at once
    assert r.code == 2 and "stream cannot be set" in r.err and r.out == b""


def test_invalid_utf8_and_lone_surrogates_are_failed_items(batch, fake_server, cli, models):
    data = b'"caf\xe9"\n"\\ud800 alone"\n"good"\n'
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test", stdin=data)
    assert r.code == 12
    first, second, third = r.lines
    assert "not valid UTF-8" in first["error"]["message"] and first["exit_code"] == 2
    assert second["exit_code"] == 2 and "line 2" in second["error"]["message"]
    assert third["status"] == "ok"


def test_duplicate_ids_refuse_to_start(batch, fake_server):
    r = batch(jsonl({"id": "a", "prompt": "x"}, "y", {"id": "a", "prompt": "z"}))
    assert r.code == 2 and r.out == b""
    assert "id 'a' on line 3 is already the id of line 1" in r.err
    assert fake_server.requests == []
    r = batch(jsonl("zero", {"id": "0", "prompt": "clash"}))  # an explicit id = a position
    assert r.code == 2 and fake_server.requests == []


def test_a_missing_key_stops_before_sending(cli, models, fake_server):
    cli.real_network()
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test",
                stdin=jsonl("a", "b").encode())
    assert r.code == 2 and r.out == b""  # not run, so not written: --resume runs them
    assert "ANTHROPIC_API_KEY" in r.err and fake_server.requests == []


def test_a_401_stops_dispatching_and_resume_finishes(batch, fake_server, models, tmp_path):
    out = tmp_path / "out.jsonl"
    models.script["q0"] = [Reply.json(401, anthropic_error_body("authentication_error", "bad key"))]
    text = jsonl(*[f"q{i}" for i in range(20)])
    r = batch(text, "-j", "1", "--output", str(out))
    assert r.code == 4, r.err
    assert "stopped dispatching" in r.err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["0"] and lines[0]["exit_code"] == 4
    assert len(fake_server.requests) == 1
    r = batch(text, "-j", "3", "--output", str(out), "--resume")
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    # 0 failed, then ran again: its new line is appended (the last line of an id counts)
    assert [x["id"] for x in lines] == ["0"] + [str(i) for i in range(20)]
    assert all(x["status"] == "ok" for x in lines[1:]) and len(fake_server.requests) == 21


def test_resume_skips_the_ok_ids_and_reruns_the_failed(batch, fake_server, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(jsonl({"id": "0", "index": 0, "status": "ok"},
                         {"id": "1", "index": 1, "status": "error"},
                         {"id": "2", "index": 2, "status": "error"},
                         {"id": "2", "index": 2, "status": "ok"}) + '{"id": "3", "sta')
    r = batch(jsonl("q0", "q1", "q2", "q3", "q4"), "--output", str(out), "--resume")
    assert r.code == 0, r.err
    assert sorted(sent(fake_server)) == ["q1", "q3", "q4"]
    assert "dropped an incomplete last line" in r.err and "2 already done" in r.err
    lines = out.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["0", "1", "2", "2", "1", "3", "4"]


def test_resume_refuses_a_file_that_is_not_batch_output(batch, fake_server, tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("dear diary\n")
    r = batch(jsonl("q"), "--output", str(out), "--resume")
    assert r.code == 2 and "not a batch result line" in r.err
    assert out.read_text() == "dear diary\n" and fake_server.requests == []
    r = batch(jsonl("q"), "--resume")
    assert r.code == 2 and "--resume needs --output" in r.err


def slow_reply(gate: Gate) -> Reply:
    return Reply.json(200, anthropic_message("late", msg_id="msg_slow"), before=[gate])


def test_unordered_writes_each_line_as_its_item_completes(models, fake_server, start_cli,
                                                          tmp_path):
    gate = Gate()
    models.script["slow"] = [slow_reply(gate)]
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl("slow", "fast1", "fast2"))
    proc = start_cli(["batch", "run", path, "--base-url", models.url, "-m", "claude-test",
                      "-j", "3", "--unordered"], env=FAKE_KEYS)
    first_two = proc.read_lines(2)
    assert sorted(json.loads(x)["id"] for x in first_two.splitlines()[:2]) == ["1", "2"]
    gate.open()
    done = proc.finish()
    assert done.returncode == 0, done.stderr
    ids = [x["id"] for x in batch_lines(done.stdout)]
    assert ids[:2] != ["0"] and ids[-1] == "0"


def test_input_order_holds_when_items_complete_out_of_order(batch, fake_server, models):
    gate = Gate()
    models.script["slow"] = [slow_reply(gate)]
    opener = threading.Thread(target=_open_after, args=(fake_server, gate, 3))
    opener.start()
    r = batch(jsonl("slow", "fast1", "fast2"), "-j", "3")
    opener.join()
    assert r.code == 0, r.err
    assert [x["id"] for x in r.lines] == ["0", "1", "2"]
    assert r.lines[0]["text"] == "late"


def _open_after(server, gate: Gate, n: int) -> None:
    """Open `gate` once n requests arrived and all but the gated one were answered."""
    server.wait_requests(n)
    for ex in server.exchanges[:n]:
        if gate not in ex.reply.before:
            ex.done.wait(10)
    gate.open()


def test_per_item_retries_follow_the_policy(cli, models, fake_server):
    cli.real_network().env(**ANTHROPIC_KEY)
    models.script["flaky"] = [Reply.json(529, anthropic_error_body("overloaded_error", "busy"),
                                         headers={"retry-after": "0"})]
    models.script["broken"] = [Reply.json(500, anthropic_error_body("api_error", "down"))] * 3
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test", "--retries", "1",
                "--max-retry-wait", "0.01", stdin=jsonl("flaky", "broken").encode())
    assert r.code == 12
    ok, bad = r.lines
    assert ok["status"] == "ok" and ok["text"] == "answer to flaky"
    assert bad["exit_code"] == 6 and bad["error"]["kind"] == "server"
    assert len(fake_server.requests) == 4
    assert "1 ok, 1 failed: 1 server error" in r.err


def test_openai_items_and_the_key_never_in_the_output(cli, models, fake_server):
    cli.real_network().env(OPENAI_API_KEY="sk-secret-abcdef")
    models.script["leak"] = [Reply.json(400, openai_error_body("bad key sk-secret-abcdef",
                                                               "invalid_request_error"))]
    r = cli.run("batch", "run", "--base-url", models.url + "/v1", "-m", "gpt-test",
                stdin=jsonl("leak", "fine").encode())
    assert r.code == 12
    assert b"sk-secret-abcdef" not in r.out and "sk-secret-abcdef" not in r.err
    assert r.lines[0]["error"]["message"] == "bad key ***"
    models.script["id"] = [Reply.json(400, openai_error_body("no", "invalid_request_error"),
                                      headers={"x-request-id": "sk-secret-abcdef"})]
    r = cli.run("batch", "run", "--base-url", models.url + "/v1", "-m", "gpt-test",
                stdin=jsonl("id").encode())
    assert r.lines[0]["error"]["request_id"] == "***"
    assert fake_server.requests[1].headers["authorization"] == "Bearer sk-secret-abcdef"


def test_no_input_on_a_terminal_is_a_usage_error(cli, models):
    cli.real_network().env(**ANTHROPIC_KEY)
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test")
    assert r.code == 2 and "stdin is a terminal" in r.err


def test_an_unwritable_output_is_exit_11_with_no_half_line(batch, fake_server):
    r = batch(jsonl("a", "b"), "--output", "/dev/full")
    assert r.code == 11 and "cannot write /dev/full" in r.err


def test_input_from_a_file_and_config_defaults(cli, models, fake_server, tmp_path):
    cli.real_network().env(**ANTHROPIC_KEY)
    cli.config("max_tokens = 33\n")
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl("from file"))
    r = cli.run("batch", "run", str(path), "--base-url", models.url, "-m", "claude-test")
    assert r.code == 0, r.err
    assert sent(fake_server)["from file"]["max_tokens"] == 33
