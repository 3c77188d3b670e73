"""In-process CLI tests: the prompt, request options, --tools, $EDITOR, --version and
--help (issue 2 items 2-3).

The command runs in-process through tests/helpers/cli.py (`cli` fixture), which validates
every --jsonl and --no-stream output against streamcli/jsonl.schema.json. External
processes ($EDITOR) are faked with pytest-subprocess.
"""

from __future__ import annotations

import json

import pytest

import streamcli
from tests.helpers.cli import hello, ohello
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY


# --------------------------------------------------------------------------- prompt


def test_prompt_arguments_are_joined_by_spaces(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello())
    r = cli.run("what", "is  this", "?")
    assert r.code == 0
    assert cli.body["messages"] == [{"role": "user", "content": "what is  this ?"}]


def test_piped_stdin_goes_before_the_question(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello())
    r = cli.run("summarize", stdin=b"line one\nline two\n\n")
    assert r.code == 0
    assert cli.body["messages"][0]["content"] == "line one\nline two\n\nsummarize"


def test_dash_means_stdin_only_and_no_stdin_ignores_the_pipe(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello(), hello())
    assert cli.run("-", stdin=b"  indented\ttext\n").code == 0
    assert cli.run("--no-stdin", "question", stdin=b"ignored").code == 0
    first, second = cli.bodies()
    assert first["messages"][0]["content"] == "  indented\ttext\n"  # never changed
    assert second["messages"][0]["content"] == "question"


@pytest.mark.parametrize("stdin", [None, b"", b"  \n"])
def test_no_prompt_is_a_usage_error(cli, stdin):
    cli.env(**ANTHROPIC_KEY)
    r = cli.run(stdin=stdin)
    assert r.code == 2
    assert "no prompt" in r.err
    assert r.out == b"" and r.requests == []


def test_invalid_utf8_on_stdin_is_a_usage_error(cli):
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("explain", stdin=b"caf\xe9 \xff\xfe")
    assert r.code == 2
    assert "not valid UTF-8" in r.err
    assert r.out == b"" and r.requests == []


# --------------------------------------------------------------------------- request options


def test_anthropic_request_shape_and_common_options(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello())
    r = cli.run("-m", "claude-haiku-4-5", "-s", "be brief", "--max-tokens", "100",
                "--temperature", "0.25", "--stop", "END", "--stop", "###", "hi")
    assert r.code == 0
    (req,) = r.requests
    assert str(req.url) == "https://api.anthropic.com/v1/messages"
    assert req.method == "POST"
    assert req.headers["x-api-key"] == "sk-ant-test"
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert json.loads(req.content) == {
        "model": "claude-haiku-4-5", "max_tokens": 100, "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}], "temperature": 0.25,
        "stop_sequences": ["END", "###"], "stream": True,
    }


def test_openai_request_shape_and_common_options(cli):
    cli.env(**OPENAI_KEY).serve(ohello())
    r = cli.run("-m", "gpt-4o", "--system", "be brief", "--max-tokens", "100",
                "--temperature", "0", "--stop", "END", "--stop", "###", "hi")
    assert r.code == 0
    (req,) = r.requests
    assert str(req.url) == "https://api.openai.com/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-oai-test"
    assert "x-api-key" not in req.headers
    assert json.loads(req.content) == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 100, "temperature": 0, "stop": ["END", "###"],
        "stream": True, "stream_options": {"include_usage": True},
    }


def test_default_max_tokens_anthropic_requires_one_openai_leaves_it_to_the_server(cli):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(hello(), ohello())
    cli.run("hi")
    cli.run("-m", "gpt-4o", "hi")
    anthropic, openai = cli.bodies()
    assert anthropic["max_tokens"] == 8192
    assert "max_tokens" not in openai and "max_completion_tokens" not in openai


def test_compatible_server_gets_max_tokens_not_max_completion_tokens(cli):
    cli.serve(ohello())
    r = cli.run("--base-url", "http://localhost:8000/v1", "-m", "qwen", "--max-tokens", "5", "hi")
    assert r.code == 0
    assert cli.body["max_tokens"] == 5 and "max_completion_tokens" not in cli.body


def test_option_values_are_json_decoded_when_they_parse(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello())
    r = cli.run("-o", "top_k=5", "-o", 'metadata={"user_id": "u1"}', "-o", "flag=true",
                "-o", "note=hello world", "-o", "empty=", "-o", "eq=a=b", "-o", "max_tokens=7",
                "-o", 'quoted="42"', "hi")
    assert r.code == 0
    body = cli.body
    assert body["top_k"] == 5
    assert body["metadata"] == {"user_id": "u1"}
    assert body["flag"] is True
    assert body["note"] == "hello world"
    assert body["empty"] == ""
    assert body["eq"] == "a=b"
    assert body["quoted"] == "42"
    assert body["max_tokens"] == 7  # -o is merged last: it overrides the built request


@pytest.mark.parametrize("bad", ["novalue", "=x"])
def test_option_without_key_value_syntax_is_a_usage_error(cli, bad):
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("-o", bad, "hi")
    assert r.code == 2
    assert "KEY=VALUE" in r.err
    assert r.requests == []


@pytest.mark.parametrize("argv", [
    ["--max-tokens", "0"], ["--max-tokens", "many"], ["--temperature", "-1"],
    ["--retries", "-1"], ["--idle-timeout", "0"], ["--no-such-option"],
])
def test_bad_option_values_are_usage_errors(cli, argv):
    cli.env(**ANTHROPIC_KEY)
    r = cli.run(*argv, "hi")
    assert r.code == 2
    assert r.out == b"" and r.requests == []


ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather for a city",
                  "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                   "required": ["city"]}}
OPENAI_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": ANTHROPIC_TOOL["input_schema"]}}


@pytest.mark.parametrize("file_format", ["anthropic", "openai", "wrapped"])
def test_tools_file_is_sent_in_each_providers_own_format(cli, tmp_path, file_format):
    content = {"anthropic": [ANTHROPIC_TOOL], "openai": [OPENAI_TOOL],
               "wrapped": {"tools": [ANTHROPIC_TOOL]}}[file_format]
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(content))
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(hello(), ohello())
    assert cli.run("--tools", str(path), "weather?").code == 0
    assert cli.run("-m", "gpt-4o", "--tools", str(path), "weather?").code == 0
    anthropic, openai = cli.bodies()
    assert anthropic["tools"] == [ANTHROPIC_TOOL]
    assert openai["tools"] == [OPENAI_TOOL]


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("{not json", "not valid JSON"),
    ('{"name": "x"}', "list"),
    ('[{"description": "no name"}]', "no name"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_bad_tools_file_is_a_usage_error(cli, tmp_path, content, message):
    path = tmp_path / "tools.json"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("--tools", str(path), "hi")
    assert r.code == 2
    assert message in r.err
    assert r.requests == []


# --------------------------------------------------------------------------- $EDITOR


def _editor_writes(text: str, seen: list):
    def callback(process):
        path = process.args[-1]
        with open(path, encoding="utf-8") as f:
            seen.append((list(process.args), f.read()))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return callback


def test_editor_composes_the_prompt(cli, fp):
    seen: list = []
    fp.register(["code", "--wait", fp.any(min=1, max=1)],
                callback=_editor_writes("Explain this\n  code please\n", seen))
    cli.env(**ANTHROPIC_KEY, EDITOR="code --wait").serve(hello())
    r = cli.run("-e", "initial", "draft")
    assert r.code == 0
    ((args, initial),) = seen
    assert args[:2] == ["code", "--wait"]  # split like a shell would
    assert initial == "initial draft"  # the arguments are the starting text
    assert cli.body["messages"][0]["content"] == "Explain this\n  code please\n"


def test_visual_wins_over_editor(cli, fp):
    seen: list = []
    fp.register(["my vis", fp.any(min=1, max=1)], callback=_editor_writes("from visual", seen))
    cli.env(**ANTHROPIC_KEY, VISUAL="'my vis'", EDITOR="vi").serve(hello())
    assert cli.run("--editor").code == 0
    assert cli.body["messages"][0]["content"] == "from visual"


@pytest.mark.parametrize("written, returncode, message", [
    ("", 0, "empty prompt"),
    ("  \n\n", 0, "empty prompt"),
    ("text", 1, "status 1"),
])
def test_editor_empty_result_or_failure_aborts(cli, fp, written, returncode, message):
    fp.register(["ed", fp.any(min=1, max=1)], callback=_editor_writes(written, []),
                returncode=returncode)
    cli.env(**ANTHROPIC_KEY, EDITOR="ed")
    r = cli.run("-e")
    assert r.code == 2
    assert message in r.err
    assert r.requests == [] and r.out == b""


# --------------------------------------------------------------------------- meta


def test_no_stream_cannot_be_combined_with_event_modes(cli):
    cli.env(**ANTHROPIC_KEY)
    for flag in ("--raw-sse", "--jsonl"):
        r = cli.run("--no-stream", flag, "hi")
        assert r.code == 2
        assert "--no-stream" in r.err and flag in r.err
        assert r.out == b""
    assert cli.requests == []


def test_version(cli):
    r = cli.run("--version")
    assert r.code == 0
    assert r.text == f"streamcli {streamcli.__version__}\n"
    r = cli.run("-V")
    assert r.code == 0 and r.text.startswith("streamcli ")


def test_help_lists_the_exit_statuses(cli):
    r = cli.run("--help")
    assert r.code == 0
    assert r.text.startswith("Usage: streamcli")
    epilog = r.text.split("Exit status:")[1]
    codes = [line.split()[0] for line in epilog.strip().splitlines() if line.strip()]
    assert codes == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "130",
                     "141", "143"]
    for flag in ("--jsonl", "--raw-sse", "--no-stream", "--replay", "--tools", "-o,"):
        assert flag in r.text
