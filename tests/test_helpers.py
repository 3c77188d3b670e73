"""Tests of the test helpers themselves: the SSE builders (tests/helpers/sse.py) and the
clean environment (tests/helpers/env.py). A helper that built the wrong thing would make
every test that uses it prove nothing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx2
import pytest

from tests.helpers.cli import hello, python_code_command
from tests.helpers.env import clean_env, config_file
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY
from tests.helpers.sse import (anthropic_error_event, anthropic_sse, bytewise, crlf_split,
                               cycling_sizes, fixed_size, openai_error_event, openai_sse,
                               random_sizes, split_at)


def parse_sse(parts: list[bytes]) -> list[tuple[str | None, str]]:
    """(event, data) per part; every part must be exactly one event ending in a blank line."""
    out = []
    for part in parts:
        text = part.decode()
        assert text.endswith("\n\n") and text.count("\n\n") == 1, part
        event = None
        data = []
        for line in text[:-2].split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            else:
                assert field == "data", line
                data.append(value)
        out.append((event, "\n".join(data)))
    return out


# --------------------------------------------------------------------- streams


def test_anthropic_sse_wire_format_and_sequence(fake_server):
    parts = anthropic_sse(["Hi", " there"], output_tokens=7)
    assert parts[3] == (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    )
    events = parse_sse(parts)
    assert [e for e, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [json.loads(d) for _, d in events]
    assert all(e == d["type"] for (e, _), d in zip(events, data))
    assert data[0]["message"]["usage"] == {"input_tokens": 10, "output_tokens": 1}
    assert data[0]["message"]["model"] == "claude-test" and data[0]["message"]["id"] == "msg_test"
    assert data[1]["content_block"] == {"type": "text", "text": ""}
    assert data[6]["delta"]["stop_reason"] == "end_turn"
    assert data[6]["usage"] == {"output_tokens": 7}

    short = parse_sse(anthropic_sse(["a"], ping_after_start=False, terminal=False, stop_reason="max_tokens"))
    assert [e for e, _ in short][-1] == "message_delta"
    assert "ping" not in [e for e, _ in short]
    assert json.loads(short[-1][1])["usage"] == {"output_tokens": 1}

    # Served as one chunk per event, the body arrives unchanged.
    fake_server.enqueue(Reply(body=parts))
    with httpx2.Client(timeout=5, trust_env=False) as client:
        assert client.post(fake_server.url + "/v1/messages", json={}).content == b"".join(parts)


def test_anthropic_sse_thinking():
    events = parse_sse(anthropic_sse(["Answer"], thinking=["Let me ", "think"]))
    data = [json.loads(d) for _, d in events]
    kinds = [(d["type"], d.get("index"), (d.get("delta") or d.get("content_block") or {}).get("type")) for d in data]
    assert kinds == [
        ("message_start", None, None),
        ("content_block_start", 0, "thinking"),
        ("ping", None, None),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "signature_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("message_delta", None, None),
        ("message_stop", None, None),
    ]
    assert data[1]["content_block"] == {"type": "thinking", "thinking": ""}
    assert "".join(d["delta"]["thinking"] for d in data[3:5]) == "Let me think"
    assert data[8]["delta"]["text"] == "Answer"


def test_anthropic_error_event():
    assert anthropic_error_event("overloaded_error", "Overloaded") == (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"}}\n\n'
    )


def test_openai_sse():
    parts = openai_sse(["Hi", " there"])
    assert parts[0] == (
        b'data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":0,'
        b'"model":"gpt-test","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
        b'"logprobs":null,"finish_reason":null}]}\n\n'
    )
    assert parts[-1] == b"data: [DONE]\n\n"
    events = parse_sse(parts)
    assert all(e is None for e, _ in events)
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hi", " there"]
    assert chunks[3]["choices"][0]["delta"] == {}
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["choices"] == []
    assert chunks[4]["usage"] == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}

    bare = parse_sse(openai_sse(["x"], finish_reason="length", usage=False, done=False))
    assert len(bare) == 3
    assert json.loads(bare[-1][1])["choices"][0]["finish_reason"] == "length"
    err = json.loads(parse_sse([openai_error_event("boom")])[0][1])
    assert err["error"]["message"] == "boom"


# --------------------------------------------------------------------- cutting into reads


@pytest.mark.parametrize("cut", [
    bytewise, lambda b: split_at(b, [0, 5, 5, 17]), lambda b: fixed_size(b, 97), cycling_sizes,
    lambda b: random_sizes(b, "seed"),
], ids=["bytewise", "split_at", "fixed_size", "cycling_sizes", "random_sizes"])
def test_cutting_keeps_every_byte_in_order(cut):
    body = b"".join(anthropic_sse(["caf\u00e9 ", "\U0001f600"]))
    reads = cut(body)
    assert len(reads) > 1 and b"".join(reads) == body


def test_crlf_split_puts_cr_and_lf_in_different_reads():
    reads = crlf_split(b"data: a\n\n")
    assert reads == [b"data: a\r", b"\n\r", b"\n"]


# --------------------------------------------------------------------- the clean environment

DEVELOPER = {"ANTHROPIC_API_KEY": "sk-ant-real", "OPENAI_API_KEY": "sk-real",
             "HTTPS_PROXY": "http://proxy.invalid:3128", "STREAMCLI_MODEL": "gpt-real",
             "XDG_CONFIG_HOME": "/real/config", "XDG_DATA_HOME": "/real/data",
             "STREAMCLI_DB": "/real/logs.db", "EDITOR": "real-editor"}


def test_clean_env_keeps_nothing_of_the_developers_environment(monkeypatch, tmp_path):
    for name, value in DEVELOPER.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    env = clean_env(home)
    assert set(env) == {"PATH", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
                        "STREAMCLI_DB", "NO_COLOR", "LANG", "LC_ALL"}
    assert env["PATH"] == os.environ["PATH"] and env["NO_COLOR"] == "1"
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "STREAMCLI_DB"):
        assert Path(env[name]).is_relative_to(home), name
    assert config_file(env).is_relative_to(home)
    # The database is not at its default place, so a test of the default can tell.
    assert env["STREAMCLI_DB"] != str(Path(env["XDG_DATA_HOME"]) / "streamcli" / "logs.db")


def test_clean_env_extra_adds_replaces_and_removes(tmp_path):
    env = clean_env(tmp_path, {"OPENAI_API_KEY": "k", "NO_COLOR": None, "LANG": "C",
                               "RETRIES": 3})
    assert env["OPENAI_API_KEY"] == "k" and "NO_COLOR" not in env
    assert env["LANG"] == "C" and env["RETRIES"] == "3"


def test_clean_env_refuses_the_real_home():
    with pytest.raises(AssertionError):
        clean_env(Path.home())


def test_in_process_run_sees_none_of_the_developers_environment(cli, monkeypatch, tmp_path):
    """Told by what the command does, so it holds however the harness hands it its world."""
    real_config = tmp_path / "real-config"
    (real_config / "streamcli").mkdir(parents=True)
    (real_config / "streamcli" / "config.toml").write_text('model = "claude-real-config"\n')
    for name, value in {**DEVELOPER, "XDG_CONFIG_HOME": str(real_config)}.items():
        monkeypatch.setenv(name, value)
    outside = dict(os.environ), sys.stdin, sys.stdout, sys.stderr

    r = cli.run("hi")  # the developer's ANTHROPIC_API_KEY is not there
    assert r.code == 2 and "ANTHROPIC_API_KEY" in r.err and r.requests == []
    r = cli.env(**ANTHROPIC_KEY).serve(hello()).run("hi")
    assert (r.code, r.out) == (0, b"Hello world\n")
    (request,) = r.requests
    assert request.headers["x-api-key"] == "sk-ant-test"
    # neither STREAMCLI_MODEL=gpt-real nor the real config file's model
    assert request.url.host == "api.anthropic.com"
    assert cli.body["model"].startswith("claude-") and cli.body["model"] != "claude-real-config"
    # ...and this process's own environment and streams are as they were.
    assert (dict(os.environ), sys.stdin, sys.stdout, sys.stderr) == outside


def test_real_process_sees_only_the_clean_environment(processes, monkeypatch):
    for name, value in DEVELOPER.items():
        monkeypatch.setenv(name, value)
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    r = processes.run([], command=python_code_command(code), env={"EXTRA": "1"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == processes.env({"EXTRA": "1"})
