"""Regressions found by attacking -a/--schema/-H (issue 12) and the spine (issue 9) with
inputs nobody named: stdin under another name, files that vanish or lie about their size,
credentials in attachment URLs, malformed URLs, schemas that loop or only look like one,
click errors that hide the output mode. Each test failed before its fix."""

from __future__ import annotations

import json
import os

import httpx2
import pytest

from tests.helpers import media
from tests.helpers.cli import anthropic_error, hello, ohello
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.sse import openai_sse

STRICT_OBJECT = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                 "additionalProperties": False}


@pytest.fixture
def keyed(cli):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    return cli


def _refused(cli, *args, stdin=None):
    """Exit 2 with nothing sent; the error's text."""
    r = cli.run(*args, stdin=stdin)
    assert r.code == 2, r.err
    assert r.requests == [] and r.out == b""
    return r.err


# ------------------------------------------------------------------- -a: stdin by name


def test_dev_stdin_is_read_once_like_dash(run_cli, fake_keys, tmp_path):
    """`-a /dev/stdin < notes.txt`: the file opened by that name is stdin again. It was
    read as the attachment and then once more as the prompt's context, so the notes went
    out twice (and an image failed as "stdin is not valid UTF-8")."""
    notes = tmp_path / "notes.txt"
    notes.write_text("NOTES\n")
    with FakeServer() as server:
        server.enqueue(Reply(body=openai_sse(["ok"])))
        with open(notes, "rb") as stdin:
            r = run_cli(["-m", "gpt-test", "--provider", "openai", "--base-url",
                         server.url + "/v1", "-a", "/dev/stdin", "summarize"],
                        stdin=stdin, env=fake_keys)
        assert r.returncode == 0, r.stderr
        (req,) = server.requests
    assert req.json["messages"][-1]["content"] == [
        {"type": "text", "text": "stdin.txt:\n\nNOTES\n"}, {"type": "text", "text": "summarize"}]


def test_dev_stdin_has_the_same_rules_as_dash(keyed):
    err = _refused(keyed, "-m", "claude-x", "-a", "/dev/stdin", "--no-stdin", "q", stdin=b"x")
    assert "--no-stdin cannot be used with it" in err
    err = _refused(keyed, "-m", "claude-x", "-a", "-", "-a", "/dev/fd/0", "q", stdin=b"x")
    assert "stdin can be read only once" in err


# ------------------------------------------------------- -a: files that change or lie


class VanishingTransport(httpx2.BaseTransport):
    """Removes the file after the plan checked it and before the body is read."""

    def __init__(self, path) -> None:
        self.path = path
        self.requests = 0

    def handle_request(self, request):
        self.requests += 1
        os.unlink(self.path)
        os.mkdir(self.path)  # and something unreadable as a file takes its place
        b"".join(request.stream)
        return hello()(request)


@pytest.mark.parametrize("mode", [(), ("--jsonl",), ("--no-stream",)])
def test_a_file_gone_before_it_is_sent_is_a_usage_error(keyed, tmp_path, mode):
    """It was an internal error (exit 1: IsADirectoryError/FileNotFoundError)."""
    path = media.write(tmp_path, "shot.png", media.png(4, 4))
    keyed.transport = VanishingTransport(path)
    r = keyed.run("-m", "claude-x", "--retries", "0", *mode, "-a", str(path), "q")
    assert r.code == 2 and keyed.transport.requests == 1, r.err
    assert "shot.png: cannot read it any more" in r.err and "internal error" not in r.err


def test_a_proc_file_is_read_though_its_size_says_zero(keyed):
    """/proc files report size 0: "it is empty" was wrong."""
    keyed.serve(hello())
    r = keyed.run("-m", "claude-x", "-a", "/proc/self/status", "q")
    assert r.code == 0, r.err
    block = keyed.body["messages"][-1]["content"][0]
    assert block["title"] == "status" and "Pid:" in block["source"]["data"]


# ------------------------------------------------------------- -a: what messages show


@pytest.mark.parametrize("url, args", [
    ("https://user:hunter2pass@example.com/doc.pdf", ("-m", "gpt-x")),  # no PDF by URL
    ("https://user:hunter2pass@example.com/noext", ("-m", "gpt-x")),  # type unknown
    ("https://user:hunter2pass@example.com/a b.png", ("-m", "gpt-x")),  # a space
    ("https://ghp_tokenhunter2@example.com/noext", ("-m", "gpt-x")),  # a lone token
])
def test_url_credentials_never_appear_in_messages(keyed, url, args):
    for mode in ((), ("--jsonl",)):
        r = keyed.run(*args, *mode, "-a", url, "q")
        assert r.code == 2 and r.requests == []
        assert "hunter2" not in r.err + r.out.decode() and "***@example.com" in r.err


def test_url_credentials_quoted_back_by_the_server_are_redacted(keyed):
    url = "https://user:hunter2pass@example.com/x.png"
    for mode in ((), ("--jsonl",), ("--no-stream",)):
        keyed.serve(anthropic_error(400, "invalid_request_error", f"cannot fetch {url}"))
        r = keyed.run("-m", "claude-x", "--no-log", *mode, "-a", url, "q")
        assert r.code == 3, r.err
        assert "hunter2pass" not in r.err + r.out.decode()
        assert "cannot fetch https://user:***@example.com/x.png" in r.err
    # ... and the URL itself still goes to the API as given.
    assert keyed.bodies()[-1]["messages"][-1]["content"][0]["source"]["url"] == url


@pytest.mark.parametrize("url", ["https://", "https:///x.png", "http://[::1/x.png"])
def test_a_url_with_no_host_is_refused_before_sending(keyed, url):
    err = _refused(keyed, "-m", "claude-x", "-a", url, "--attach-type", "image/png", "q")
    assert "not a valid URL" in err


def test_control_characters_in_a_name_are_quoted_in_messages(keyed, tmp_path):
    name = "x\x1b]0;title\x07\nmore.png"
    err = _refused(keyed, "-m", "claude-x", "-a", str(tmp_path / name), "q")
    assert "\x1b" not in err and "\x07" not in err and err.count("\n") == 1
    assert "\\x1b]0;title\\x07\\nmore.png" in err and "no such file" in err


# --------------------------------------------------------------------- --schema forms


@pytest.mark.parametrize("text", ["true", "false", "null", " true "])
def test_a_json_literal_is_not_a_concise_field(keyed, text):
    """`--schema true` became a schema with one string field named "true"."""
    assert "must be a JSON object" in _refused(keyed, "-m", "claude-x", "--schema", text, "q")


def test_a_byte_order_mark_before_the_json(keyed, tmp_path):
    """Inline, the BOM made it a concise field named '\\ufeff{...}'; a file saved with a BOM
    was "not valid JSON"."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(STRICT_OBJECT).encode())
    for given in ("\ufeff" + json.dumps(STRICT_OBJECT), str(path)):
        keyed.serve(ohello(['{"a": "x"}']))
        r = keyed.run("-m", "gpt-x", "--no-log", "--schema", given, "q")
        assert r.code == 0, r.err
        assert keyed.bodies()[-1]["response_format"]["json_schema"]["schema"] == STRICT_OBJECT


def test_a_schema_from_a_pipe(keyed):
    """`--schema <(jq ...)` is /dev/fd/N, not a regular file: it was "no such file"."""
    read, write = os.pipe()
    os.write(write, json.dumps(STRICT_OBJECT).encode())
    os.close(write)
    try:
        keyed.serve(ohello(['{"a": "x"}']))
        r = keyed.run("-m", "gpt-x", "--no-log", "--schema", f"/dev/fd/{read}", "q")
    finally:
        os.close(read)
    assert r.code == 0, r.err
    assert keyed.body["response_format"]["json_schema"]["strict"] is True


@pytest.mark.parametrize("args, why", [
    (("--schema", "/dev/null"), "is not valid JSON"),  # was: "no such file"
    (("--schema", "/dev/zero"), "larger than 64 MB"),  # read within a bound
    (("--schema", "-"), "not read from stdin"),  # was: a field named "-"
    (("--schema", "-m", "claude-x", "q"), "looks like an option"),  # was: a paid request
    (("--schema", "name, --age int", "q"), "looks like an option"),
])
def test_schema_arguments_that_are_no_schema(keyed, tmp_path, args, why):
    assert why in _refused(keyed, "-m", "claude-x", *args, *(() if "q" in args else ("q",)))


def test_a_directory_is_named_as_one(keyed, tmp_path):
    err = _refused(keyed, "-m", "claude-x", "--schema", f"{tmp_path}/", "q")
    assert "is a directory" in err


def test_a_non_string_dollar_schema(keyed):
    """It was an internal error (exit 1: AttributeError in urllib)."""
    err = _refused(keyed, "-m", "claude-x", "--schema", '{"$schema": 5}', "q")
    assert "$schema must be a string" in err


@pytest.mark.parametrize("body", [
    {"$ref": "#"},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "type": "object"},
    {"anyOf": [{"type": "string"}, {"$ref": "#"}]},
    {"definitions": {"a": {"not": {"$ref": "#/definitions/a"}}}, "$ref": "#/definitions/a"},
], ids=["self", "a-b-a", "allOf", "anyOf", "not"])
def test_a_reference_loop_is_refused_before_sending(keyed, body):
    """Every such schema was sent; then any answer ended in exit 10, "the answer is nested
    too deeply to check", after the request was paid for."""
    err = _refused(keyed, "-m", "claude-x", "--schema", json.dumps(body), "q")
    assert "leads back to where it started" in err


def test_recursion_through_the_answer_is_fine(keyed):
    body = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    keyed.serve(hello(['{"child": {}}']))
    assert keyed.run("-m", "claude-x", "--no-log", "--schema", json.dumps(body), "q").code == 0


def test_an_unresolvable_dynamic_ref_is_refused_before_sending(keyed):
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$dynamicRef": "#meta"}
    err = _refused(keyed, "-m", "claude-x", "--schema", json.dumps(body), "q")
    assert "$dynamicRef '#meta' at $ cannot be resolved" in err


@pytest.mark.parametrize("args, why", [
    (("--schema", json.dumps({**STRICT_OBJECT, "properties": {"a": {}}})), "$.a has no type"),
    (("--schema", json.dumps({**STRICT_OBJECT, "properties": {"a": True}})), "$.a has no type"),
    (("--schema", json.dumps({**STRICT_OBJECT, "properties": {"a": {"type": "array"}}})),
     "$.a is an array without items"),
    (("--schema-list", "{}"), "$.items[] has no type"),
])
def test_untyped_subschemas_are_not_sent_strict(keyed, args, why):
    """OpenAI's strict mode refuses a subschema without a type (and an array without
    items): such schemas were sent with strict true, and the server's 400 was exit 3."""
    keyed.serve(ohello(['{"a": []}']))
    r = keyed.run("-m", "gpt-x", "--no-log", *args, "q")
    assert keyed.body["response_format"]["json_schema"]["strict"] is False
    assert f"without OpenAI's strict mode: {why}" in r.err


# ------------------------------------------------------------------ the spine: modes


@pytest.mark.parametrize("args", [("--bogus", "--jsonl", "q"), ("-nqz", "--jsonl", "q"),
                                  ("--bogus=1", "--jsonl")])
def test_an_unknown_option_before_jsonl_still_ends_in_jsonl(keyed, args):
    """Resilient parsing stopped at the first unknown option, so the mode after it was
    never seen and the error came out as text."""
    r = keyed.run(*args)
    assert r.code == 2 and r.types == ["start", "error", "end"], r.out
    assert r.events[1]["kind"] == "usage" and "No such option" in r.events[1]["message"]


def test_an_unknown_option_before_no_stream_still_gives_one_object(keyed):
    r = keyed.run("--bogus", "--no-stream", "q")
    assert r.code == 2 and r.result["error"]["kind"] == "usage"


def test_an_option_value_that_looks_like_a_mode_is_a_value(keyed):
    """`-s --jsonl --bogus`: --jsonl is the system prompt, so the error stays text."""
    r = keyed.run("-s", "--jsonl", "--bogus")
    assert r.code == 2 and r.out == b"" and "No such option" in r.err


def test_dev_stdin_in_a_batch_is_refused_as_dash_is(keyed, tmp_path):
    """In a batch, /dev/stdin is the batch input (or the same file for every item): it was
    read as each item's attachment, or, once -a read stdin like `-`, failed with "stdin is
    closed"."""
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "1", "prompt": "hi"}\n')
    r = keyed.run("batch", "run", "-m", "claude-x", "-a", "/dev/stdin", str(items), stdin=b"x")
    assert r.code == 2 and r.requests == [] and "every item would read stdin" in r.err
    items.write_text('{"id": "1", "prompt": "hi", "attach": "/dev/fd/0"}\n')
    r = keyed.run("batch", "run", "-m", "claude-x", str(items), stdin=b"x")
    assert r.code == 12 and r.requests == []
    assert "attach '-' (stdin) cannot be used in a batch item" in r.out.decode()
