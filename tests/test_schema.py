"""--schema and --schema-list (issue 12): the three SCHEMA forms, strict-mode
qualification, the schema field on each protocol as a local server records it, and the
check of the final answer end to end in every output mode: a conforming answer exits 0
with stdout exactly the JSON; a non-conforming, a non-JSON and a truncated answer each
exit 10 with the reason on stderr (or in the mode's own error). A broken schema is exit 2
with nothing sent; a server that rejects the schema is exit 3, not retried."""

from __future__ import annotations

import json

import pytest

from streamcli import schema
from streamcli.errors import SchemaMismatch, UsageError
from tests.helpers.fakeserver import Reply
from tests.helpers.paths import EXAMPLES, ROOT
from tests.helpers.sse import anthropic_error_body, message, provider_sse

MODEL = {"anthropic": "claude-test", "openai": "gpt-test", "openai-responses": "gpt-test"}
PROTOCOL_ARGS = {"anthropic": ["--provider", "anthropic"], "openai": ["--provider", "openai"],
                 "openai-responses": ["--provider", "openai", "--api", "responses"]}
PROTOCOLS = list(PROTOCOL_ARGS)
TRUNCATED = {"anthropic": {"stop_reason": "max_tokens"}, "openai": {"finish_reason": "length"},
             "openai-responses": {"status": "incomplete", "reason": "max_output_tokens"}}
CONCISE = "name, age int, score float, ok bool, tags: the topics it covers"
GOOD = '{"name": "Ada", "age": 36, "score": 9.5, "ok": true, "tags": "math"}'


# --------------------------------------------------------------------------- parsing


def test_the_concise_form():
    s = schema.parse(CONCISE)
    assert s.json == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                       "score": {"type": "number"}, "ok": {"type": "boolean"},
                       "tags": {"type": "string", "description": "the topics it covers"}},
        "required": ["name", "age", "score", "ok", "tags"],
        "additionalProperties": False,
    }
    assert s.strict and s.why_not_strict is None and s.name == "answer"


def test_newlines_separate_fields_so_descriptions_may_hold_commas():
    s = schema.parse("title\nsummary: short, plain, no jargon\n\n  year int  \n")
    assert list(s.json["properties"]) == ["title", "summary", "year"]
    assert s.json["properties"]["summary"]["description"] == "short, plain, no jargon"


def test_schema_list_wraps_in_an_items_object():
    s = schema.parse("name, age int", as_list=True)
    assert s.json["type"] == "object" and s.json["required"] == ["items"]
    assert s.json["properties"]["items"]["type"] == "array"
    assert s.json["properties"]["items"]["items"] == schema.parse("name, age int").json
    assert s.strict and s.as_list and s.name == "items"


def test_inline_json_and_a_file(tmp_path):
    body = {"title": "Dog record!", "type": "object", "properties": {"n": {"type": "string"}},
            "required": ["n"], "additionalProperties": False}
    assert schema.parse(json.dumps(body)).json == body
    path = tmp_path / "dog.schema.json"
    path.write_text(json.dumps(body))
    s = schema.parse(str(path))
    assert s.json == body and s.strict and s.name == "Dog_record"


@pytest.mark.parametrize("body, why", [
    ({"type": "object", "properties": {"a": {"type": "string"}}}, "additionalProperties"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
     "$.a is not required"),
    ({"type": "array", "items": {"type": "string"}}, "root is not an object"),
    ({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}]}},
      "required": ["a"], "additionalProperties": False}, "$.a uses allOf"),
    ({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}},
                                             "required": ["b"]}},
      "required": ["a"], "additionalProperties": False}, "$.a does not set additionalProperties"),
    ({"type": "object", "properties": {}, "additionalProperties": False,
      "$defs": {"x": {"type": "object", "properties": {"y": {"type": "string"}}}}},
     "$.$defs.x does not set"),
])
def test_schemas_that_do_not_qualify_for_strict_mode(body, why):
    s = schema.parse(json.dumps(body))
    assert not s.strict and why in s.why_not_strict


def test_deep_nesting_does_not_qualify():
    node = {"type": "string"}
    for _ in range(12):
        node = {"type": "object", "properties": {"x": node}, "required": ["x"],
                "additionalProperties": False}
    assert "deeper than 10" in schema.parse(json.dumps(node)).why_not_strict


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    ("{not json", "not valid JSON"),
    ('["a list"]', "must be a JSON object"),
    ('{"type": "objekt"}', "not a valid JSON Schema"),
    ('{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}', "cannot be resolved"),
    ("name, age integer", "unknown type 'integer'"),
    ("name, name", "given twice"),
    ("first last str", "not 'name [type]'"),
    (": a description", "no name"),
    (",,,", "no fields"),
    ("missing/schema.json", "no such file"),
    ("missing.json", "no such file"),
])
def test_broken_schemas_are_usage_errors(text, why):
    with pytest.raises(UsageError) as err:
        schema.parse(text)
    assert why in str(err.value)


def test_a_schema_file_that_is_not_json(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("name, age int")
    with pytest.raises(UsageError, match="is not valid JSON"):
        schema.parse(str(path))


# --------------------------------------------------------------------------- checking


def test_check_returns_the_value():
    assert schema.check(schema.parse(CONCISE), GOOD, "end") == json.loads(GOOD)


@pytest.mark.parametrize("text, stop, why", [
    ('{"name": "Ada"}', "end", "at $: 'age' is a required property"),
    ('{"name": "Ada", "age": "old", "score": 1, "ok": true, "tags": ""}', "end",
     "at $.age: 'old' is not of type 'integer'"),
    ("Sure! Here it is: {}", "end", "not JSON"),
    ("", "end", "the answer is empty"),
    (GOOD, "max_tokens", "cut off at the token limit"),
    ("", "refusal", "the model refused"),
])
def test_check_failures(text, stop, why):
    with pytest.raises(SchemaMismatch) as err:
        schema.check(schema.parse(CONCISE), text, stop)
    assert why in str(err.value) and err.value.exit_code == 10


# --------------------------------------------------------------------------- on the wire




def run(net, server, provider, *args, answer=GOOD, truncated=False, mode=(), reply=True):
    if reply:
        pieces = [answer[:7], answer[7:]] if answer else []
        if "--no-stream" in mode:
            obj = message(provider, answer)
            if truncated and provider == "anthropic":
                obj["stop_reason"] = "max_tokens"
            elif truncated and provider == "openai":
                obj["choices"][0]["finish_reason"] = "length"
            elif truncated:
                obj = message(provider, answer, **TRUNCATED[provider])
            server.enqueue(Reply.json(200, obj))
        else:
            stop = TRUNCATED[provider] if truncated else {}
            server.enqueue(Reply(body=provider_sse(provider, pieces, **stop)))
    url = server.url + ("" if provider == "anthropic" else "/v1")
    return net.run("-m", MODEL[provider], *PROTOCOL_ARGS[provider], "--base-url", url,
                   "--retries", "0", *mode, *args)


def test_anthropic_output_config(net, server):
    r = run(net, server, "anthropic", "--schema", CONCISE, "describe Ada")
    assert r.code == 0, r.err
    assert server.requests[0].json["output_config"] == {
        "format": {"type": "json_schema", "schema": schema.parse(CONCISE).json}}
    assert "response_format" not in server.requests[0].json


def test_openai_response_format_strict(net, server):
    r = run(net, server, "openai", "--schema", CONCISE, "describe Ada")
    assert r.code == 0, r.err
    assert r.err == ""
    assert server.requests[0].json["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema.parse(CONCISE).json, "strict": True}}


def test_responses_text_format(net, server):
    r = run(net, server, "openai-responses", "--schema-list", "name", "q",
            answer='{"items": [{"name": "x"}]}')
    assert r.code == 0, r.err
    assert server.requests[0].json["text"] == {"format": {
        "type": "json_schema", "name": "items", "strict": True,
        "schema": schema.parse("name", as_list=True).json}}
    assert server.requests[0].path == "/v1/responses"


def test_openai_non_strict_with_a_notice(net, server):
    loose = '{"type": "object", "properties": {"name": {"type": "string"}}}'
    r = run(net, server, "openai", "--schema", loose, "q", answer='{"name": "x"}')
    assert r.code == 0, r.err
    assert server.requests[0].json["response_format"]["json_schema"]["strict"] is False
    assert "without OpenAI's strict mode: $ does not set additionalProperties to false" in r.err
    assert "strict" not in run(net, server, "openai", "-q", "--schema", loose, "q",
                               answer='{"name": "x"}').err


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_schema_list(net, server, provider):
    answer = '{"items": [{"name": "Rex", "age": 3}, {"name": "Fido", "age": 5}]}'
    r = run(net, server, provider, "--schema-list", "name, age int", "two dogs", answer=answer)
    assert (r.code, r.out) == (0, answer.encode() + b"\n"), r.err
    body = server.requests[0].json
    sent = (body["output_config"]["format"]["schema"] if provider == "anthropic"
            else body["response_format"]["json_schema"]["schema"])
    assert sent["properties"]["items"]["type"] == "array"


def test_the_server_rejecting_the_schema_is_exit_3_not_retried(net, server):
    server.enqueue(Reply.json(400, anthropic_error_body(
        "invalid_request_error", "output_config.format.schema: unsupported keyword 'x'")))
    r = run(net, server, "anthropic", "--retries", "3", "--schema", '{"type": "object", "x": 1}',
            "q", reply=False)
    assert r.code == 3 and len(server.requests) == 1
    assert "unsupported keyword" in r.err


@pytest.mark.parametrize("args, why", [
    (["--schema", "{oops"], "not valid JSON"),
    (["--schema", "a, b nope"], "unknown type"),
    (["--schema", "x", "--schema-list", "y"], "cannot be combined"),
    (["--schema-list", '{"type": 3}'], "not a valid JSON Schema"),
])
def test_broken_schema_is_exit_2_with_nothing_sent(net, server, args, why):
    r = run(net, server, "openai", *args, "q", reply=False)
    assert r.code == 2 and why in r.err
    assert server.connections == 0


# --------------------------------------------------------------------------- end to end, every mode

MODES = {"text": (), "jsonl": ("--jsonl",), "json": ("--no-stream",), "raw": ("--raw-sse",)}
BAD = {
    "invalid": ('{"name": "Ada", "age": "thirty"}', False, "does not match at $"),
    "not-json": ("I cannot answer in JSON, sorry.", False, "the answer is not JSON"),
    "truncated": ('{"name": "Ada", "age": 3', True, "cut off at the token limit"),
}


@pytest.mark.parametrize("provider", PROTOCOLS)
@pytest.mark.parametrize("mode", MODES)
def test_a_conforming_answer(net, server, provider, mode):
    r = run(net, server, provider, "--schema", CONCISE, "q", mode=MODES[mode])
    assert r.code == 0, r.err
    if mode == "text":
        assert r.out == GOOD.encode() + b"\n"  # exactly the JSON, as it streamed
        assert r.err == ""
    elif mode == "jsonl":
        events = r.events
        assert [e["type"] for e in events[-3:]] == ["usage", "json", "end"]
        assert events[-2]["json"] == json.loads(GOOD)
    elif mode == "json":
        assert r.result["json"] == json.loads(GOOD) and r.result["text"] == GOOD
    else:
        assert GOOD[7:].replace('"', '\\"').encode() in r.out  # the upstream bytes


@pytest.mark.parametrize("provider", PROTOCOLS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", BAD)
def test_a_non_conforming_answer_is_exit_10(net, server, provider, mode, case):
    answer, truncated, why = BAD[case]
    r = run(net, server, provider, "--schema", CONCISE, "q", mode=MODES[mode], answer=answer,
            truncated=truncated)
    assert r.code == 10, r.err
    if mode == "jsonl":
        types = [e["type"] for e in r.events]
        assert types[-4:] == ["error", "usage", "json", "end"]
        error, json_event, end = r.events[-4], r.events[-2], r.events[-1]
        assert error["kind"] == "schema" and why in error["message"]
        assert json_event["json"] is None
        assert (end["status"], end["exit_code"]) == ("error", 10)
        assert "".join(e["text"] for e in r.events if e["type"] == "text") == answer
    elif mode == "json":
        result = r.result
        assert result["json"] is None and result["text"] == answer
        assert result["error"]["kind"] == "schema" and why in result["error"]["message"]
    else:
        assert why in r.err and "streamcli: error: --schema:" in r.err
        if mode == "text":
            assert r.out == answer.encode() + b"\n"  # streamed as it came, then judged


def test_without_schema_no_json_field_or_event(net, server):
    r = run(net, server, "anthropic", "q", mode=("--no-stream",))
    assert "json" not in r.result
    r = run(net, server, "anthropic", "q", mode=("--jsonl",))
    assert "json" not in r.types


def test_an_api_error_with_schema_still_has_the_json_field(net, server):
    server.enqueue(Reply.json(401, anthropic_error_body("authentication_error", "bad key")))
    r = run(net, server, "anthropic", "--schema", CONCISE, "q", mode=("--no-stream",),
            reply=False)
    assert r.code == 4 and r.result["json"] is None


def test_schema_checks_a_replay(cli, tmp_path):
    capture = tmp_path / "cap.sse"
    capture.write_bytes(b"".join(provider_sse("openai", ['{"name": ', '"x"}'])))
    ok = cli.run("--replay", str(capture), "--schema", "name")
    assert (ok.code, ok.out) == (0, b'{"name": "x"}\n'), ok.err
    bad = cli.run("--replay", str(capture), "--schema", "name, age int", "--jsonl")
    assert bad.code == 10 and bad.events[-2] == {"type": "json", "json": None}


def test_the_readme_examples(cli):
    example = str(EXAMPLES / "constructed" / "anthropic_json.sse")
    ok = cli.run("--replay", example, "--schema", "name, age int, bio: one sentence")
    assert ok.code == 0 and json.loads(ok.out)["age"] == 36
    bad = cli.run("--replay", example, "--schema", "name, age int, born int")
    assert bad.code == 10
    assert bad.err == "streamcli: error: --schema: the answer does not match at $: 'born' is a " \
                      "required property\n"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert bad.err.strip() in readme and ok.out.decode().strip() in readme


def test_deep_nesting_is_a_clear_error_not_a_crash():
    deep = '{"type": "object", "properties": {"a": ' * 3000 + "{}" + "}}" * 3000
    with pytest.raises(UsageError, match="nested"):
        schema.parse(deep)
    recursive = schema.parse('{"type": "array", "items": {"$ref": "#"}}')
    assert schema.check(recursive, "[[[]]]", "end") == [[[]]]
    for depth in (400, 100_000):
        with pytest.raises(SchemaMismatch, match="nested"):
            schema.check(recursive, "[" * depth + "]" * depth, "end")


@pytest.mark.parametrize("answer", ['{"x": NaN}', '{"x": Infinity}', '{"x": 1e999}'])
def test_what_json_cannot_carry_is_not_json(answer):
    with pytest.raises(SchemaMismatch, match="not JSON"):
        schema.check(schema.parse('{"type": "object"}'), answer, "end")


def test_a_parsed_schema_is_taken_as_is():
    body = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
            "additionalProperties": False}
    assert schema.parse(body).json == body and schema.parse(body).strict
    with pytest.raises(UsageError):
        schema.parse({"type": 5})
