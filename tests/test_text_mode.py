"""In-process CLI tests of text mode (issue 2): only the answer on stdout, the final
newline, thinking, refusals and tool calls on stderr, one write per network read.

The command runs in-process through tests/helpers/cli.py (`cli` fixture); its stdout
counts writes and flushes.
"""

from __future__ import annotations

import pytest

from tests.helpers.cli import hello, sse
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.paths import FIXTURES
from tests.helpers.sse import anthropic_sse, bytewise, openai_sse, sse_event


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
