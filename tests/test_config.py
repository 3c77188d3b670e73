"""In-process CLI tests of configuration (issue 2 item 4): which provider a model goes
to, named providers of the config file, the precedence flag > environment > config file >
default, and api_key_cmd (faked with pytest-subprocess).

The command runs in-process through tests/helpers/cli.py (`cli` fixture).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import anthropic_error, hello, ohello
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY


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
