"""In-process CLI tests: options, configuration and text mode (issue 2 items 2-4).

The command runs in-process through tests/helpers/cli.py (`cli` fixture): the real entry
point against scripted responses, every --jsonl and --no-stream output validated against
streamcli/jsonl.schema.json. External processes ($EDITOR, api_key_cmd) are faked with
pytest-subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import streamcli
from tests.helpers.cli import anthropic_error, hello, ohello, sse
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import FIXTURES
from tests.helpers.sse import anthropic_sse, bytewise, openai_sse, sse_event


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


# --------------------------------------------------------------------------- providers


@pytest.mark.parametrize("model, url", [
    ("claude-sonnet-4-5", "https://api.anthropic.com/v1/messages"),
    ("claude-3-5-haiku-latest", "https://api.anthropic.com/v1/messages"),
    ("gpt-4o-mini", "https://api.openai.com/v1/chat/completions"),
    ("o1", "https://api.openai.com/v1/chat/completions"),
    ("o3-mini", "https://api.openai.com/v1/chat/completions"),
    ("o4-mini", "https://api.openai.com/v1/chat/completions"),
    ("chatgpt-4o-latest", "https://api.openai.com/v1/chat/completions"),
])
def test_provider_follows_from_the_model_name(cli, model, url):
    anthropic = "anthropic" in url
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(hello() if anthropic else ohello())
    r = cli.run("-m", model, "hi")
    assert r.code == 0
    assert str(r.requests[0].url) == url
    assert cli.body["model"] == model


def test_default_is_anthropic_with_its_default_model(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello())
    assert cli.run("hi").code == 0
    assert str(cli.requests[0].url) == "https://api.anthropic.com/v1/messages"
    assert cli.body["model"].startswith("claude-")


def test_provider_flag_beats_the_model_name(cli):
    cli.env(**OPENAI_KEY).serve(ohello())
    r = cli.run("--provider", "openai", "-m", "claude-like-but-served-by-openai", "hi")
    assert r.code == 0
    assert str(r.requests[0].url) == "https://api.openai.com/v1/chat/completions"


def test_unknown_model_without_provider_is_a_helpful_usage_error(cli):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    r = cli.run("-m", "mistral-large", "hi")
    assert r.code == 2
    assert "mistral-large" in r.err and "--provider" in r.err and "STREAMCLI_PROVIDER" in r.err
    assert r.requests == [] and r.out == b""


def test_unknown_provider_is_a_usage_error(cli):
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("--provider", "nosuch", "hi")
    assert r.code == 2
    assert "nosuch" in r.err and "anthropic" in r.err and "openai" in r.err
    assert r.requests == []


def test_streamcli_model_and_provider_from_the_environment(cli):
    cli.env(**OPENAI_KEY, STREAMCLI_MODEL="gpt-4.1").serve(ohello())
    assert cli.run("hi").code == 0
    assert cli.body["model"] == "gpt-4.1"
    cli.env(STREAMCLI_MODEL="my-finetune", STREAMCLI_PROVIDER="openai").serve(ohello())
    assert cli.run("hi").code == 0
    assert cli.bodies()[1]["model"] == "my-finetune"
    assert str(cli.requests[1].url).startswith("https://api.openai.com/")


def test_named_provider_from_the_config_file(cli):
    cli.config('''
[providers.local]
kind = "openai"
base_url = "http://localhost:11434/v1"
api_key_env = "LOCAL_API_KEY"
model = "llama3.2"
''')
    cli.env(LOCAL_API_KEY="local-key", **OPENAI_KEY).serve(ohello(), ohello())
    assert cli.run("-m", "local:qwen2.5:7b", "hi").code == 0
    assert cli.run("--provider", "local", "hi").code == 0
    first, second = cli.requests
    assert str(first.url) == "http://localhost:11434/v1/chat/completions"
    assert json.loads(first.content)["model"] == "qwen2.5:7b"  # split at the first colon only
    assert first.headers["authorization"] == "Bearer local-key"
    assert json.loads(second.content)["model"] == "llama3.2"  # the provider's default model


def test_named_provider_never_receives_the_openai_key(cli):
    cli.config('[providers.local]\nkind = "openai"\nbase_url = "http://localhost:8080/v1"\n')
    cli.env(**OPENAI_KEY).serve(ohello())
    assert cli.run("-m", "local:any", "hi").code == 0
    assert "authorization" not in cli.requests[0].headers


def test_colon_model_name_stays_whole_unless_it_names_a_provider(cli):
    cli.config('[providers.other]\nbase_url = "http://other/v1"\n')
    cli.serve(ohello())
    r = cli.run("--base-url", "http://localhost:11434/v1", "-m", "llama3.2:3b", "hi")
    assert r.code == 0
    assert str(r.requests[0].url) == "http://localhost:11434/v1/chat/completions"
    assert cli.body["model"] == "llama3.2:3b"


def test_keyless_openai_compatible_base_url_works(cli):
    cli.serve(ohello())
    r = cli.run("--base-url", "http://127.0.0.1:9/v1", "-m", "local-model", "hi")
    assert r.code == 0 and r.out == b"Hello world\n"
    assert "authorization" not in r.requests[0].headers


@pytest.mark.parametrize("argv, variable", [
    (["hi"], "ANTHROPIC_API_KEY"),
    (["-m", "gpt-4o", "hi"], "OPENAI_API_KEY"),
    (["--provider", "openai", "--base-url", "https://api.openai.com/v1", "-m", "x", "hi"],
     "OPENAI_API_KEY"),
])
def test_missing_key_is_a_usage_error_naming_the_variable(cli, argv, variable):
    r = cli.run(*argv)
    assert r.code == 2
    assert variable in r.err
    assert r.requests == [] and r.out == b""


def test_missing_key_of_a_named_provider_names_its_variable(cli):
    cli.config('[providers.work]\nkind = "anthropic"\napi_key_env = "WORK_KEY"\n')
    cli.env(**ANTHROPIC_KEY)  # never sent to a named provider
    r = cli.run("-m", "work:claude-x", "hi")
    assert r.code == 2
    assert "WORK_KEY" in r.err
    assert r.requests == []


def test_config_file_defaults(cli):
    cli.config('model = "claude-from-config"\nmax_tokens = 333\n')
    cli.env(**ANTHROPIC_KEY).serve(hello())
    assert cli.run("hi").code == 0
    assert cli.body["model"] == "claude-from-config"
    assert cli.body["max_tokens"] == 333


def test_config_file_model_decides_the_provider(cli):
    cli.config('model = "gpt-4o"\n')
    cli.env(**OPENAI_KEY).serve(ohello())
    r = cli.run("hi")
    assert r.code == 0
    assert str(r.requests[0].url) == "https://api.openai.com/v1/chat/completions"


def test_bad_config_file_is_a_usage_error(cli):
    cli.config('model = "unterminated\n')
    cli.env(**ANTHROPIC_KEY)
    r = cli.run("hi")
    assert r.code == 2 and "config" in r.err
    cli.config('[providers.x]\nkind = "gemini"\n')
    r = cli.run("hi")
    assert r.code == 2 and "gemini" in r.err
    assert cli.requests == []


# --------------------------------------------------------------------------- precedence


def test_model_precedence_flag_env_config(cli):
    cli.config('model = "claude-config"\n')
    cli.env(**ANTHROPIC_KEY).serve(hello(), hello(), hello())
    cli.run("hi")
    cli.env(STREAMCLI_MODEL="claude-env")
    cli.run("hi")
    cli.run("-m", "claude-flag", "hi")
    assert [b["model"] for b in cli.bodies()] == ["claude-config", "claude-env", "claude-flag"]


def test_provider_precedence_flag_env_config(cli):
    cli.config('provider = "openai"\n')
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(ohello(), hello(), ohello())
    cli.run("-m", "custom", "hi")
    cli.env(STREAMCLI_PROVIDER="anthropic")
    cli.run("-m", "custom", "hi")
    cli.run("--provider", "openai", "-m", "custom", "hi")
    hosts = [r.url.host for r in cli.requests]
    assert hosts == ["api.openai.com", "api.anthropic.com", "api.openai.com"]


def test_base_url_precedence_flag_env_config(cli):
    cli.config('[providers.anthropic]\nbase_url = "http://config.invalid"\n')
    cli.env(**ANTHROPIC_KEY).serve(hello(), hello(), hello())
    cli.run("hi")
    cli.env(ANTHROPIC_BASE_URL="http://env.invalid/")
    cli.run("hi")
    cli.run("--base-url", "http://flag.invalid", "-m", "claude-sonnet-4-5", "hi")
    assert [str(r.url) for r in cli.requests] == [
        "http://config.invalid/v1/messages", "http://env.invalid/v1/messages",
        "http://flag.invalid/v1/messages"]


def test_openai_base_url_from_the_environment(cli):
    cli.env(**OPENAI_KEY, OPENAI_BASE_URL="http://proxy.invalid/v1").serve(ohello())
    assert cli.run("-m", "gpt-4o", "hi").code == 0
    assert str(cli.requests[0].url) == "http://proxy.invalid/v1/chat/completions"


def test_key_precedence_environment_before_config(cli, fp):
    cli.config('[providers.anthropic]\napi_key_env = "OTHER_KEY"\napi_key_cmd = "pass show k"\n')
    cli.env(OTHER_KEY="from-other-var").serve(hello(), hello())
    cli.run("hi")
    cli.env(**ANTHROPIC_KEY)
    cli.run("hi")
    assert [r.headers["x-api-key"] for r in cli.requests] == ["from-other-var", "sk-ant-test"]
    assert fp.call_count(["pass", "show", "k"]) == 0  # a key was found before the command


def test_max_tokens_precedence_flag_env_config_default(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello(), hello(), hello(), hello())
    cli.run("hi")
    cli.config("max_tokens = 300\n")
    cli.run("hi")
    cli.env(STREAMCLI_MAX_TOKENS="200")
    cli.run("hi")
    cli.run("--max-tokens", "100", "hi")
    assert [b["max_tokens"] for b in cli.bodies()] == [8192, 300, 200, 100]


def test_timeouts_precedence_flag_env_config_default(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello(), hello(), hello(), hello())
    cli.run("hi")
    cli.config("connect_timeout = 3\nidle_timeout = 30\n")
    cli.run("hi")
    cli.env(STREAMCLI_CONNECT_TIMEOUT="2", STREAMCLI_IDLE_TIMEOUT="20")
    cli.run("hi")
    cli.run("--connect-timeout", "1", "--idle-timeout", "10", "hi")
    got = [(r.extensions["timeout"]["connect"], r.extensions["timeout"]["read"]) for r in cli.requests]
    assert got == [(10.0, 120.0), (3, 30), (2, 20), (1, 10)]


def test_retries_precedence_flag_env_config(cli):
    overloaded = anthropic_error(529, "overloaded_error", headers={"retry-after-ms": "0"})
    cli.env(**ANTHROPIC_KEY)
    cli.config("retries = 1\n")
    cli.serve(overloaded, overloaded)
    assert cli.run("hi").code == 6
    assert len(cli.requests) == 2
    cli.env(STREAMCLI_RETRIES="0").serve(overloaded)
    assert cli.run("hi").code == 6
    assert len(cli.requests) == 3
    cli.serve(overloaded, overloaded, hello())
    r = cli.run("--retries", "2", "hi")
    assert r.code == 0 and r.out == b"Hello world\n"
    assert len(cli.requests) == 6


def test_bad_numeric_setting_in_the_environment_is_a_usage_error(cli):
    cli.env(**ANTHROPIC_KEY, STREAMCLI_RETRIES="lots")
    r = cli.run("hi")
    assert r.code == 2 and "STREAMCLI_RETRIES" in r.err
    assert r.requests == []


# --------------------------------------------------------------------------- api_key_cmd


def test_api_key_cmd_runs_the_password_manager(cli, fp):
    cli.config('[providers.vault]\nkind = "anthropic"\napi_key_cmd = "pass show \'api keys/anthropic\'"\n')
    fp.register(["pass", "show", "api keys/anthropic"], stdout="sk-from-pass\nsecond line\n")
    cli.serve(hello())
    r = cli.run("-m", "vault:claude-sonnet-4-5", "hi")
    assert r.code == 0
    assert r.requests[0].headers["x-api-key"] == "sk-from-pass"
    assert str(r.requests[0].url) == "https://api.anthropic.com/v1/messages"
    assert fp.call_count(["pass", "show", "api keys/anthropic"]) == 1


@pytest.mark.parametrize("returncode, stdout, message", [
    (1, "", "status 1"),
    (0, "\n", "no key"),
])
def test_api_key_cmd_failure_is_a_usage_error(cli, fp, returncode, stdout, message):
    cli.config('[providers.vault]\nkind = "openai"\nbase_url = "https://api.openai.com/v1"\n'
               'api_key_cmd = "op read op://vault/openai"\n')
    fp.register(["op", "read", "op://vault/openai"], stdout=stdout, returncode=returncode)
    r = cli.run("-m", "vault:gpt-4o", "hi")
    assert r.code == 2
    assert "api_key_cmd" in r.err and message in r.err
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
    assert codes == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "130", "141", "143"]
    for flag in ("--jsonl", "--raw-sse", "--no-stream", "--replay", "--tools", "-o,"):
        assert flag in r.text


# --------------------------------------------------------------------------- text mode


def test_text_mode_prints_only_the_answer(cli):
    parts = anthropic_sse(["Hel", "lo"], thinking=["let me think"])
    cli.env(**ANTHROPIC_KEY).serve(sse(parts))
    r = cli.run("hi")
    assert r.code == 0
    assert r.out == b"Hello\n"
    assert "think" not in r.err
    assert r.err == ""


def test_show_thinking_goes_to_stderr(cli):
    parts = anthropic_sse(["Hel", "lo"], thinking=["step one, ", "step two"])
    cli.env(**ANTHROPIC_KEY).serve(sse(parts))
    r = cli.run("--show-thinking", "hi")
    assert r.code == 0
    assert r.out == b"Hello\n"
    assert "step one, step two" in r.err


def test_openai_compatible_reasoning_hidden_unless_asked(cli):
    body = (FIXTURES / "openai" / "compat_reasoning_content.sse").read_bytes()
    expected = (FIXTURES / "openai" / "compat_reasoning_content.expected.txt").read_bytes()
    cli.serve(sse([body]), sse([body]))
    plain = cli.run("--base-url", "http://127.0.0.1:9/v1", "-m", "r1", "hi")
    shown = cli.run("--base-url", "http://127.0.0.1:9/v1", "-m", "r1", "--show-thinking", "hi")
    assert plain.code == shown.code == 0
    assert plain.out.rstrip(b"\n") == shown.out.rstrip(b"\n") == expected.rstrip(b"\n")
    assert plain.err == ""
    assert len(shown.err) > 20


def test_final_newline_is_added_unless_no_newline(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello(["a", "b"]), hello(["a", "b"]))
    assert cli.run("hi").out == b"ab\n"
    assert cli.run("-n", "hi").out == b"ab"


def test_no_newline_is_added_after_one_already_there(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello(["line\n"]), hello(["x\n", "\n"]))
    assert cli.run("hi").out == b"line\n"
    assert cli.run("hi").out == b"x\n\n"


def test_no_text_means_no_newline(cli):
    cli.env(**ANTHROPIC_KEY).serve(hello([]))
    r = cli.run("hi")
    assert r.code == 0 and r.out == b""


def test_openai_refusal_goes_to_stderr(cli):
    body = (FIXTURES / "openai" / "chat_refusal.sse").read_bytes()
    cli.env(**OPENAI_KEY).serve(sse([body]))
    r = cli.run("-m", "gpt-4o", "hi")
    assert r.code == 0
    assert r.out == b""
    assert "I'm sorry, I can't assist with that request." in r.err


def test_tool_calls_in_text_mode_go_to_stderr(cli):
    body = (FIXTURES / "anthropic" / "sdk_tool_use_response.sse").read_bytes()
    cli.env(**ANTHROPIC_KEY).serve(sse([body]))
    r = cli.run("hi")
    assert r.code == 0
    assert r.out == b"I'll check the current weather in Paris for you.\n"
    assert "get_weather" in r.err and "Paris" in r.err


def test_usage_line_on_stderr(cli):
    cli.env(**ANTHROPIC_KEY).serve(sse(anthropic_sse(["a", "b"], input_tokens=12, output_tokens=34)))
    r = cli.run("--usage", "hi")
    assert r.code == 0 and r.out == b"ab\n"
    (line,) = r.err.splitlines()
    assert line.startswith("usage: 12 input tokens, 34 output tokens")
    assert "first token" in line and "tokens/s" in line


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_token_limit_stop_is_success_with_one_warning(cli, provider):
    if provider == "anthropic":
        cli.env(**ANTHROPIC_KEY).serve(sse(anthropic_sse(["cut"], stop_reason="max_tokens")))
        r = cli.run("hi")
    else:
        cli.env(**OPENAI_KEY).serve(sse(openai_sse(["cut"], finish_reason="length")))
        r = cli.run("-m", "gpt-4o", "hi")
    assert r.code == 0
    assert r.out == b"cut\n"
    (line,) = r.err.splitlines()
    assert "warning" in line and "--max-tokens" in line


def test_unknown_event_and_block_types_are_ignored(cli):
    parts = anthropic_sse(["A", "B"])
    extra = [
        sse_event({"type": "future_event", "x": 1}, "future_event"),
        sse_event({"type": "content_block_start", "index": 5,
                   "content_block": {"type": "hologram", "data": "?"}}, "content_block_start"),
        sse_event({"type": "content_block_delta", "index": 5,
                   "delta": {"type": "hologram_delta", "bits": "0101"}}, "content_block_delta"),
        sse_event({"type": "content_block_stop", "index": 5}, "content_block_stop"),
    ]
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY).serve(sse(parts[:2] + extra + parts[2:]))
    r = cli.run("hi")
    assert (r.code, r.out) == (0, b"AB\n")
    oparts = openai_sse(["A", "B"])
    odd = sse_event({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "gpt-test",
                     "choices": [{"index": 0, "delta": {"audio": {"id": "a"}, "future": 1},
                                  "finish_reason": None}], "future_top": True})
    cli.serve(sse(oparts[:2] + [odd] + oparts[2:]))
    r = cli.run("-m", "gpt-4o", "hi")
    assert (r.code, r.out) == (0, b"AB\n")


def test_text_is_written_once_per_network_read(cli):
    # Three reads, each holding several deltas: one write and one flush per read, plus
    # the final newline.
    parts = anthropic_sse([f"t{i} " for i in range(9)])
    head, deltas, tail = parts[:3], parts[3:12], parts[12:]
    reads = [b"".join(head + deltas[0:3]), b"".join(deltas[3:6]), b"".join(deltas[6:9] + tail)]
    cli.env(**ANTHROPIC_KEY).serve(sse(reads))
    r = cli.run("hi")
    assert r.code == 0
    assert r.out == b"".join(f"t{i} ".encode() for i in range(9)) + b"\n"
    writes = [data for op, data in r.stdout.log if op == "write"]
    assert writes == [b"t0 t1 t2 ", b"t3 t4 t5 ", b"t6 t7 t8 ", b"\n"]
    # each write is flushed before the next read
    ops = [op for op, _ in r.stdout.log]
    for i, op in enumerate(ops):
        if op == "write":
            assert ops[i + 1] == "flush"


def test_multibyte_text_split_across_reads(cli):
    body = b"".join(anthropic_sse(["caf\u00e9 \U0001f600 \u65e5\u672c"]))
    cli.env(**ANTHROPIC_KEY).serve(sse(bytewise(body)))
    r = cli.run("hi")
    assert r.code == 0
    assert r.out == "caf\u00e9 \U0001f600 \u65e5\u672c\n".encode()


# --------------------------------------------------------------------------- packaging


def test_every_subpackage_is_packaged():
    import fnmatch
    import tomllib
    root = Path(__file__).parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    pkg = Path(streamcli.__file__).parent
    present = {".".join(p.parent.relative_to(pkg.parent).parts) for p in pkg.rglob("__init__.py")}
    listed = {name for name in present if any(fnmatch.fnmatch(name, pat) for pat in patterns)}
    assert present <= listed, sorted(present - listed)
