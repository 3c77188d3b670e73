"""Batch items with attachments, a schema and headers, and items for the Responses API,
in `batch run` and through the Batch APIs: what each request carries, and the `json` of
answers checked against a schema (exit_code 10 when one does not match)."""

from __future__ import annotations

import pytest

from tests.helpers.batchapi import jsonl
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.sse import anthropic_message

PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
          "additionalProperties": False}


@pytest.fixture
def run(batch):
    return batch


def test_attachments_from_the_item_or_the_command_line(run, fake_server, tmp_path):
    notes, guide = tmp_path / "notes.txt", tmp_path / "guide.txt"
    notes.write_text("the notes")
    guide.write_text("the style guide")
    r = run(jsonl({"prompt": "one", "attach": str(notes)}, "two",
                  {"prompt": "three", "attach": []}), "-a", str(guide))
    assert r.code == 0, r.err
    contents = [req.json["messages"][-1]["content"] for req in fake_server.requests]
    by_prompt = {c[-1]["text"] if isinstance(c, list) else c: c for c in contents}
    assert by_prompt["one"][0]["source"]["data"] == "the notes"  # the item's, instead of -a
    assert by_prompt["two"][0]["source"]["data"] == "the style guide"
    assert by_prompt["three"] == "three"  # an empty list: none
    bad = run(jsonl({"prompt": "x", "attach": str(tmp_path / "missing.png")}))
    assert bad.code == 12 and bad.lines[0]["exit_code"] == 2
    assert "line 1" in bad.lines[0]["error"]["message"]
    assert run(jsonl("x"), "-a", "-").code == 2


def test_answers_checked_against_the_schema(run, fake_server, models):
    models.script["good"] = [Reply.json(200, anthropic_message('{"name": "Ada"}'))]
    models.script["bad"] = [Reply.json(200, anthropic_message('{"age": 3}'))]
    r = run(jsonl({"prompt": "good", "schema": PERSON}, {"prompt": "bad", "schema": PERSON},
                  {"prompt": "plain"}))
    assert r.code == 12, r.err
    good, bad, plain = r.lines
    assert good["status"] == "ok" and good["json"] == {"name": "Ada"}
    assert bad["exit_code"] == 10 and bad["error"]["kind"] == "schema" and bad["json"] is None
    assert "json" not in plain
    sent = {req.json["messages"][-1]["content"]: req.json for req in fake_server.requests}
    assert sent["good"]["output_config"]["format"]["schema"] == PERSON
    assert "output_config" not in sent["plain"]
    assert "2 ok, 1 failed: 1 not matching the schema" in r.err


def test_the_command_line_schema_and_headers_for_every_item(run, fake_server, models):
    models.script["q"] = [Reply.json(200, anthropic_message('{"name": "Bo"}'))]
    r = run(jsonl("q"), "--schema", "name", "-H", "X-Gateway: blue")
    assert r.code == 0, r.err
    assert r.lines[0]["json"] == {"name": "Bo"}
    (req,) = fake_server.requests
    assert req.headers["x-gateway"] == "blue" and "output_config" in req.json


def test_items_for_the_responses_api(cli, models, fake_server):
    cli.real_network().env(**OPENAI_KEY)
    cli.config(f'[providers.resp]\nkind = "openai-responses"\nbase_url = "{models.url}/v1"\n'
               f'api_key_env = "OPENAI_API_KEY"\n')
    text = jsonl("hello", {"prompt": "ctx", "system": "be brief",
                           "messages": [{"role": "user", "content": "before"},
                                        {"role": "assistant", "content": "ok"}]},
                 {"custom_id": "line", "method": "POST", "url": "/v1/responses",
                  "body": {"model": "gpt-test", "input": "as written"}})
    r = cli.run("batch", "run", "-m", "resp:gpt-test", stdin=text.encode())
    assert r.code == 0, r.err
    assert [x["text"] for x in r.lines] == ["answer to hello", "answer to ctx",
                                           "answer to as written"]
    assert {x["provider"] for x in r.lines} == {"openai-responses"}
    bodies = [req.json for req in fake_server.requests]
    assert all(req.path == "/v1/responses" for req in fake_server.requests)
    conv = next(b for b in bodies if b.get("instructions") == "be brief")
    assert [t["content"] for t in conv["input"]] == ["before", "ok", "ctx"]


def test_submitted_items_keep_their_schema_and_attachments(cli, api, tmp_path):
    cli.real_network().env(**ANTHROPIC_KEY, ANTHROPIC_BASE_URL=api.anthropic_url)
    notes = tmp_path / "notes.txt"
    notes.write_text("the notes")
    api.texts = {"good": '{"name": "Ada"}', "bad": "not json"}
    text = jsonl({"id": "good", "prompt": "p", "schema": PERSON, "attach": str(notes)},
                 {"id": "bad", "prompt": "p", "schema": PERSON}, {"id": "free", "prompt": "p"})
    r = cli.run("batch", "run", "--api", "--poll", "0.01", "-m", "claude-test",
                stdin=text.encode())
    assert r.code == 12, r.err
    good, bad, free = r.lines
    assert good["json"] == {"name": "Ada"} and bad["exit_code"] == 10 and "json" not in free
    params = {x["custom_id"]: x["params"] for x in api.created[0]["requests"]}
    assert params["good"]["messages"][0]["content"][0]["source"]["data"] == "the notes"
    assert params["good"]["output_config"]["format"]["schema"] == PERSON


def test_responses_items_go_to_a_batch_for_v1_responses(cli, api):
    cli.real_network().env(**OPENAI_KEY)
    cli.config(f'[providers.resp]\nkind = "openai-responses"\nbase_url = "{api.openai_url}"\n'
               f'api_key_env = "OPENAI_API_KEY"\n')
    r = cli.run("batch", "run", "--api", "--poll", "0.01", "-m", "resp:gpt-test",
                stdin=jsonl("a", "b").encode())
    assert r.code == 0, r.err
    assert [x["text"] for x in r.lines] == ["answer to a", "answer to b"]
    (created,) = api.created
    assert {x["url"] for x in created["requests"]} == {"/v1/responses"}
    assert api.batches[created["id"]]["obj"]["endpoint"] == "/v1/responses"


def test_headers_reach_every_batch_api_call(cli, api):
    cli.real_network().env(**ANTHROPIC_KEY, ANTHROPIC_BASE_URL=api.anthropic_url)
    r = cli.run("batch", "submit", "-", "-m", "claude-test", "-H", "X-Gateway: blue",
                stdin=jsonl("a").encode())
    assert r.code == 0, r.err
    batch_id = r.text.split()[0]
    assert cli.run("batch", "status", batch_id, "-H", "X-Gateway: red").code == 0
    create, status = api.server.requests
    assert create.headers["x-gateway"] == "blue" and status.headers["x-gateway"] == "red"
    assert "x-gateway" not in open(cli.environ["STREAMCLI_DB"], "rb").read().decode("latin-1")


def test_item_messages_are_the_earlier_turns_as_messages_takes_them(run, fake_server, models):
    text = jsonl(
        {"messages": [{"role": "system", "content": "terse"},
                      {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "hello"},
                      {"role": "user", "content": "last turn"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
        {"messages": [{"role": "user", "content": "a"}], "prompt": "b"},
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
         "prompt": "z", "system": "own"},
    )
    r = run(text, "--base-url", models.url + "/v1", "-m", "gpt-test", "-s", "default")
    assert r.code == 12, r.err
    first, double, both, own = r.lines
    assert first["text"] == "answer to last turn"
    assert double["exit_code"] == 2 and "messages[1]: two user turns in a row" in \
        double["error"]["message"] and "line 2" in double["error"]["message"]
    assert both["exit_code"] == 2 and "two user turns" in both["error"]["message"]
    sent = {req.json["messages"][-1]["content"]: req.json["messages"]
            for req in fake_server.requests}
    assert sent["last turn"] == [{"role": "system", "content": "terse"},
                                 {"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": "hello"},
                                 {"role": "user", "content": "last turn"}]
    assert sent["z"][0] == {"role": "system", "content": "own"} and len(sent["z"]) == 4
