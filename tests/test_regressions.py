"""Regression tests for the review fixes (commits cfbc46f and ddbe277).

Each test here failed on the code before its fix. In-process through the harness of
tests/helpers/cli.py where possible; real processes (the same module) only where the test
needs one: a pipe closed by `head`, a closed stdin or stderr, argv bytes, a signal.
"""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from streamcli import prompt as prompt_module
from tests.helpers.cli import (anthropic_error, hello, python_code_command, sse,
                               streamcli_command)
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_ANTHROPIC_KEY, OPENAI_KEY, assert_no_secrets
from tests.helpers.schema import jsonl_events
from tests.helpers.sse import (anthropic_error_body, anthropic_error_event, anthropic_message,
                               anthropic_sse, chat_chunk, openai_error_event, openai_sse,
                               sse_event)

SECRET = FAKE_ANTHROPIC_KEY


# --------------------------------------------------------------------------- 1. after the terminal event
# Fix: the terminal event ends parsing in every mode (session._pump / _pump_events); in
# --raw-sse the bytes after it are copied but not parsed, and a drop there changes nothing.

ANTHROPIC_LATE = {
    "error event": anthropic_error_event("overloaded_error", "late"),
    "invalid data line": b"data: {garbage\n\n",
}
OPENAI_LATE = {
    "error event": openai_error_event("late"),
    "invalid data line": b"data: {garbage\n\n",
}


@pytest.mark.parametrize("provider, late", [
    *[("anthropic", k) for k in ANTHROPIC_LATE], *[("openai", k) for k in OPENAI_LATE]])
@pytest.mark.parametrize("mode", ["text", "--jsonl", "--raw-sse"])
def test_nothing_after_the_terminal_event_changes_a_complete_answer(cli, provider, late, mode):
    if provider == "anthropic":
        parts, trailer, argv = anthropic_sse(["Hi"]), ANTHROPIC_LATE[late], []
    else:
        parts, trailer, argv = openai_sse(["Hi"]), OPENAI_LATE[late], ["-m", "gpt-4o"]
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    flags = [] if mode == "text" else [mode]
    for same_read in (True, False):
        body = [b"".join(parts) + trailer] if same_read else [*parts, trailer]
        r = cli.serve(sse(body)).run(*argv, *flags, "q")
        assert r.code == 0, (same_read, r.err)
        assert "error" not in r.err
        if mode == "text":
            assert r.out == b"Hi\n"
        elif mode == "--jsonl":
            events = r.events
            assert [e["text"] for e in events if e["type"] == "text"] == ["Hi"]
            assert not [e for e in events if e["type"] == "error"]
            assert events[-1]["status"] == "ok"
        else:
            assert r.out == b"".join(body)  # every byte, the ones after the terminal event too


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_connection_drop_after_the_terminal_event_is_success(cli, provider):
    # text mode stopped reading at the terminal event even before the fix; --raw-sse reads
    # to the end of the body, and a drop there was exit 7.
    cli.real_network()  # in-process, but over a real socket to a FakeServer
    parts = anthropic_sse(["Hi"]) if provider == "anthropic" else openai_sse(["Hi"])
    model = "claude-x" if provider == "anthropic" else "gpt-4o"
    path = "" if provider == "anthropic" else "/v1"
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    with FakeServer() as srv:
        for _ in range(2):
            srv.enqueue(Reply(body=parts, framing="chunked", end="drop"))
        text = cli.run("-m", model, "--base-url", srv.url + path, "--retries", "0", "q")
        raw = cli.run("-m", model, "--base-url", srv.url + path, "--retries", "0",
                      "--raw-sse", "q")
        assert len(srv.requests) == 2
    assert (text.code, text.out) == (0, b"Hi\n"), text.err
    assert raw.code == 0, raw.err
    assert raw.out == b"".join(parts)
    assert raw.err == ""


# --------------------------------------------------------------------------- 2. short writes on a closing pipe
# Fix: sinks.write_all (text, raw, jsonl and result sinks). With PYTHONUNBUFFERED=1 (or
# python -u) sys.stdout.buffer is the raw FileIO, whose write() returns a short count when
# the pipe closes in the middle of a large write: before the fix the rest was silently
# dropped and streamcli exited 0. (A BufferedWriter retries by itself and raises EPIPE, so
# the buffered runs passed before the fix too; they are kept as the common case.)


def test_write_all_writes_the_rest_after_short_counts():
    from streamcli.sinks import write_all

    class Short:
        def __init__(self):
            self.got = bytearray()
            self.calls = 0

        def write(self, data):
            self.calls += 1
            n = min(len(data), 3)
            self.got += bytes(data[:n])
            return n

    out = Short()
    write_all(out, b"0123456789")
    assert bytes(out.got) == b"0123456789" and out.calls == 4


def test_write_all_surfaces_the_broken_pipe_after_a_short_count():
    from streamcli.sinks import write_all

    class Closing:
        def __init__(self):
            self.calls = 0

        def write(self, data):
            self.calls += 1
            if self.calls == 1:
                return 4  # the reader went away in the middle of this write
            raise BrokenPipeError(32, "Broken pipe")

    out = Closing()
    with pytest.raises(BrokenPipeError):
        write_all(out, b"x" * 100)
    assert out.calls == 2


BIG = 512 * 1024  # several times a pipe's buffer: the write blocks until `head` exits


def _pipe_into_head(processes, tmp_path, args, reply: Reply, *,
                    unbuffered: bool) -> tuple[int, bytes]:
    err_file = tmp_path / "streamcli.err"
    with FakeServer() as srv:
        srv.enqueue(reply)
        cmd = [*streamcli_command(), "-m", "claude-x", "--base-url", srv.url,
               "--no-stdin", "--retries", "0", *args, "q"]
        script = ("set -o pipefail; \"$@\" 2>\"$ERR_FILE\" | head -c 5 >/dev/null; "
                  "echo ${PIPESTATUS[0]}")
        proc = processes.shell(script, *cmd, env={
            "ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "ERR_FILE": err_file,
            "PYTHONUNBUFFERED": "1" if unbuffered else None})
    assert proc.stderr == b"", proc.stderr
    return int(proc.stdout.decode().split()[-1]), err_file.read_bytes()


def test_closed_stdout_during_one_large_no_stream_write_is_sigpipe(processes, tmp_path):
    message = anthropic_message("x" * BIG, msg_id="msg_big", model="claude-x",
                                input_tokens=1, output_tokens=1)
    for unbuffered in (True, False):
        status, err = _pipe_into_head(processes, tmp_path, ["--no-stream"],
                                      Reply.json(200, message), unbuffered=unbuffered)
        assert (status, err) == (141, b""), f"PYTHONUNBUFFERED={unbuffered:d}"


def test_closed_stdout_during_one_large_text_delta_is_sigpipe(processes, tmp_path):
    # One delta ending in a newline: no later write (the final newline) to notice the pipe.
    body = anthropic_sse(["y" * (BIG - 1) + "\n"])
    for unbuffered in (True, False):
        status, err = _pipe_into_head(processes, tmp_path, [], Reply(body=body),
                                      unbuffered=unbuffered)
        assert (status, err) == (141, b""), f"PYTHONUNBUFFERED={unbuffered:d}"


# --------------------------------------------------------------------------- 3. API keys
# Fix: config._checked_key (trim, refuse what cannot be a header value, name the variable
# but never the key) and Session._redact (a key echoed back by a server becomes ***).


@pytest.mark.parametrize("pasted", [SECRET + "\r", SECRET + "\n", SECRET + "\r\n",
                                    "  " + SECRET + " \t"],
                         ids=["CR", "LF", "CRLF", "spaces"])
def test_key_with_surrounding_whitespace_is_trimmed(cli, pasted):
    cli.env(ANTHROPIC_API_KEY=pasted, OPENAI_API_KEY=pasted).serve(hello(), sse(openai_sse(["Hi"])))
    a = cli.run("-m", "claude-x", "q")
    o = cli.run("-m", "gpt-4o", "q")
    assert (a.code, o.code) == (0, 0), a.err + o.err
    anthropic_req, openai_req = cli.requests
    assert anthropic_req.headers["x-api-key"] == SECRET
    assert openai_req.headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("variable, argv", [
    ("ANTHROPIC_API_KEY", ["-m", "claude-x"]), ("OPENAI_API_KEY", ["-m", "gpt-4o"])])
@pytest.mark.parametrize("bad", ["sk-ant-test-SECRETKEY\u00e9123", "sk-ant-test-SECRETKEY\x01123",
                                 "sk-ant-test-SECRETKEY\n123"],
                         ids=["non-ASCII", "control", "inner newline"])
def test_key_with_a_bad_character_inside_is_a_usage_error_that_names_the_variable(
        cli, variable, argv, bad):
    cli.env(**{variable: bad})
    for mode in ([], ["--jsonl"]):
        r = cli.run(*argv, *mode, "q")
        assert r.code == 2, r.err
        assert variable in r.err
        assert_no_secrets(r.out, r.err)
    assert cli.requests == []


def test_key_echoed_back_by_the_server_is_redacted(cli):
    echo = f"invalid x-api-key: {SECRET}"
    cli.env(ANTHROPIC_API_KEY=SECRET)
    cli.serve(anthropic_error(401, "authentication_error", echo),
              anthropic_error(401, "authentication_error", echo))
    text = cli.run("-m", "claude-x", "q")
    jsonl = cli.run("-m", "claude-x", "--jsonl", "q")
    assert text.code == jsonl.code == 4
    for r in (text, jsonl):
        assert_no_secrets(r.out, r.err)
        assert "***" in r.err
    (error,) = [e for e in jsonl.events if e["type"] == "error"]
    assert "***" in error["message"]


def test_key_echoed_back_in_a_retried_error_is_redacted(cli):
    echo = f"upstream rejected key {SECRET}"
    cli.env(ANTHROPIC_API_KEY=SECRET)
    cli.serve(anthropic_error(500, "api_error", echo, headers={"retry-after": "0"}), hello())
    r = cli.run("-m", "claude-x", "--jsonl", "q")
    assert r.code == 0, r.err
    assert_no_secrets(r.out, r.err)
    (retry,) = [e for e in r.events if e["type"] == "retry"]
    # the notice is short (issue 10 #23): the redacted message is in the jsonl reason
    assert "***" in retry["reason"] and "retry 1/" in r.err and "upstream" not in r.err


# --------------------------------------------------------------------------- 4. -e with piped stdin
# Fix: app.read_prompt reads the piped context before the editor starts, and
# prompt._run_editor runs the editor on the terminal (stdout never the answer's pipe).


def _fake_tty(monkeypatch, tmp_path):
    """Make prompt.py's open("/dev/tty") give a stand-in (or fail, if tmp_path is None)."""
    real_open = open
    handle = {}

    def fake_open(path, *args, **kwargs):
        if path == "/dev/tty":
            if tmp_path is None:
                raise OSError(6, "No such device or address")
            handle["tty"] = real_open(tmp_path / "tty", "w+b", buffering=0)
            return handle["tty"]
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(prompt_module, "open", fake_open, raising=False)
    return handle


def _editor(seen: list, cli):
    def callback(process):
        seen.append({"kwargs": dict(process.kwargs or {}),
                     "stdin_consumed": cli.stdin.buffer.tell()})
        with open(process.args[-1], "w", encoding="utf-8") as f:
            f.write("EDITED")
    return callback


def test_editor_with_piped_stdin_runs_on_the_terminal_after_stdin_is_read(cli, fp, monkeypatch,
                                                                           tmp_path):
    tty = _fake_tty(monkeypatch, tmp_path)
    seen: list = []
    fp.register(["fake-editor", fp.any(min=1, max=1)], callback=_editor(seen, cli))
    cli.env(**ANTHROPIC_KEY, EDITOR="fake-editor").serve(hello())
    r = cli.run("-e", stdin=b"CONTEXT\n")
    assert r.code == 0, r.err
    ((call,),) = [seen]
    assert call["stdin_consumed"] == len(b"CONTEXT\n")  # the context was read first
    assert call["kwargs"].get("stdin") is tty["tty"]
    assert call["kwargs"].get("stdout") is tty["tty"]  # not the answer's pipe
    assert cli.body["messages"][0]["content"] == "CONTEXT\n\nEDITED"


def test_editor_without_a_terminal_writes_its_screen_to_stderr(cli, fp, monkeypatch):
    _fake_tty(monkeypatch, None)
    seen: list = []
    fp.register(["fake-editor", fp.any(min=1, max=1)], callback=_editor(seen, cli))
    cli.env(**ANTHROPIC_KEY, EDITOR="fake-editor").serve(hello())
    r = cli.run("-e", stdin=b"CONTEXT")
    assert r.code == 0, r.err
    ((call,),) = [seen]
    assert call["stdin_consumed"] == len(b"CONTEXT")
    stdout = call["kwargs"].get("stdout")
    # The run's stderr is the harness's StringIO (pytest-subprocess hands over a copy of it).
    assert isinstance(stdout, io.StringIO), stdout
    assert cli.body["messages"][0]["content"] == "CONTEXT\n\nEDITED"


# --------------------------------------------------------------------------- 5. retry-after above the limit
# Fix: Session._delay raises RateLimitError (exit 5) whatever the status.


def test_503_asking_to_wait_longer_than_max_retry_wait_is_exit_5(cli):
    cli.env(**ANTHROPIC_KEY).serve(anthropic_error(503, "api_error", "busy",
                                                   headers={"retry-after": "120"}))
    r = cli.run("--max-retry-wait", "1", "--jsonl", "q")
    assert r.code == 5, r.err
    assert len(r.requests) == 1
    assert "120" in r.err and "--max-retry-wait" in r.err
    (error,) = [e for e in r.events if e["type"] == "error"]
    assert error["status"] == 503 and "120" in error["message"]


# --------------------------------------------------------------------------- 6. closed stdin/stderr, bad argv and URLs
# Fix: prompt.assemble (stdin None), ui.Stderr (stderr None -> _Nowhere), app._utf8,
# transport.stream (InvalidURL is no HTTPError).


def _bash(processes, script: str, *args):
    return processes.shell(script, *args, env={"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY})


def test_closed_stdin_with_prompt_arguments_works(processes):
    with FakeServer() as srv:
        srv.enqueue(Reply(body=anthropic_sse(["Hi"])))
        p = _bash(processes, 'exec "$@" <&-', *streamcli_command(), "-m", "claude-x",
                  "--base-url", srv.url, "question")
        assert len(srv.requests) == 1
        assert json.loads(srv.requests[0].body)["messages"][0]["content"] == "question"
    assert (p.returncode, p.stdout) == (0, b"Hi\n"), p.stderr
    assert_no_secrets(p.stdout, p.stderr)


def test_closed_stderr_keeps_the_exit_status_of_the_error(processes):
    with FakeServer() as srv:
        srv.enqueue(Reply.json(401, anthropic_error_body("authentication_error", "bad key")))
        srv.enqueue(Reply.json(401, anthropic_error_body("authentication_error", "bad key")))
        base = [*streamcli_command(), "-m", "claude-x", "--base-url", srv.url, "--no-stdin"]
        text = _bash(processes, 'exec "$@" 2>&-', *base, "q")
        jsonl = _bash(processes, 'exec "$@" 2>&-', *base, "--jsonl", "q")
    assert (text.returncode, text.stdout) == (4, b"")
    assert jsonl.returncode == 4
    assert jsonl_events(jsonl.stdout)[-1]["exit_code"] == 4


def test_prompt_argument_that_is_not_utf8_is_a_usage_error(run_cli):
    with FakeServer() as srv:
        srv.enqueue(Reply(body=anthropic_sse(["Hi"])))
        p = run_cli([b"-m", b"claude-x", b"--base-url", srv.url.encode(), b"--no-stdin",
                     b"caf\xe9 question"], env={"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY})
        assert srv.requests == []
    assert p.returncode == 2, p.stderr
    assert b"not valid UTF-8" in p.stderr and b"Traceback" not in p.stderr
    assert p.stdout == b""


@pytest.mark.parametrize("mode", ["text", "--jsonl"])
def test_base_url_with_an_invalid_port_is_a_usage_error(cli, mode):
    cli.env(**ANTHROPIC_KEY)
    flags = [] if mode == "text" else [mode]
    r = cli.run("-m", "claude-x", "--base-url", "http://127.0.0.1:notaport", *flags, "q")
    assert r.code == 2, r.err
    assert "internal error" not in r.err
    assert r.requests == []


# --------------------------------------------------------------------------- 7. parallel tool calls
# Fix: openai.StreamMapper._tool_deltas gives a new id at the same index its own slot.


def _chunk(delta: dict, finish=None, model="gemini-x", chunk_id="c1") -> bytes:
    """A chunk of one choice, without `created` (as Gemini's compatible API sends it)."""
    return sse_event(chat_chunk([{"index": 0, "delta": delta, "finish_reason": finish}],
                                chunk_id=chunk_id, model=model, created=None))


def _call(call_id=None, name=None, arguments=None, index=0, with_index=True) -> dict:
    call: dict = {"index": index} if with_index else {}
    if call_id:
        call.update(id=call_id, type="function")
    function = {}
    if name:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    call["function"] = function
    return call


def _tool_calls(cli, parts) -> list[tuple]:
    cli.env(**OPENAI_KEY).serve(sse([*parts, _chunk({}, "tool_calls"), b"data: [DONE]\n\n"]))
    r = cli.run("-m", "gpt-4o", "--jsonl", "q")
    assert r.code == 0, r.err
    return [(e["id"], e["name"], e["arguments"], e["invalid"])
            for e in r.events if e["type"] == "tool_call"]


def test_parallel_tool_calls_at_one_index_with_distinct_ids_stay_apart(cli):
    expected = [("call_a", "f", {"x": 1}, False), ("call_b", "g", {"y": 2}, False)]
    # Gemini: all at index 0, arguments of the first split over two deltas.
    gemini = [
        _chunk({"role": "assistant", "tool_calls": [_call("call_a", "f", '{"x":')]}),
        _chunk({"tool_calls": [_call(arguments="1}")]}),
        _chunk({"tool_calls": [_call("call_b", "g", '{"y":2}')]}),
    ]
    assert _tool_calls(cli, gemini) == expected
    # Both in one delta, with no index at all.
    noindex = [_chunk({"role": "assistant", "tool_calls": [
        _call("call_a", "f", '{"x":1}', with_index=False),
        _call("call_b", "g", '{"y":2}', with_index=False)]})]
    assert _tool_calls(cli, noindex) == expected
    # OpenAI's own: indexes 0 and 1, the id only on a call's first delta, interleaved.
    indexed = [
        _chunk({"role": "assistant", "tool_calls": [_call("call_a", "f", "", index=0)]}),
        _chunk({"tool_calls": [_call("call_b", "g", '{"y"', index=1)]}),
        _chunk({"tool_calls": [_call(arguments='{"x":1}', index=0)]}),
        _chunk({"tool_calls": [_call(arguments=":2}", index=1)]}),
    ]
    assert _tool_calls(cli, indexed) == expected


# --------------------------------------------------------------------------- 8. --tools pass-through
# Fix: app._normalize_tool and each provider's _tool.

WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _sent_tools(cli, tmp_path, tools, *providers) -> dict:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(tools))
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    sent = {}
    for provider in providers:
        cli.serve(hello() if provider == "anthropic" else sse(openai_sse(["Hi"])))
        model = "claude-x" if provider == "anthropic" else "gpt-4o"
        r = cli.run("-m", model, "--tools", str(path), "q")
        assert r.code == 0, r.err
        sent[provider] = json.loads(r.requests[-1].content)["tools"]
    return sent


def test_anthropic_server_tool_is_sent_unchanged(cli, tmp_path):
    sent = _sent_tools(cli, tmp_path, [WEB_SEARCH], "anthropic")
    assert sent["anthropic"] == [WEB_SEARCH]


def test_cache_control_is_kept_for_anthropic_and_dropped_for_openai(cli, tmp_path):
    tool = {"name": "weather", "description": "Weather", "input_schema": SCHEMA,
            "cache_control": {"type": "ephemeral"}}
    sent = _sent_tools(cli, tmp_path, [tool], "anthropic", "openai")
    assert sent["anthropic"] == [tool]
    assert sent["openai"] == [{"type": "function", "function": {
        "name": "weather", "description": "Weather", "parameters": SCHEMA}}]


def test_responses_style_function_tool_keeps_its_parameters(cli, tmp_path):
    tool = {"type": "function", "name": "weather", "description": "Weather", "parameters": SCHEMA}
    sent = _sent_tools(cli, tmp_path, [tool], "anthropic", "openai")
    assert sent["anthropic"] == [{"name": "weather", "description": "Weather",
                                  "input_schema": SCHEMA}]
    assert sent["openai"] == [{"type": "function", "function": {
        "name": "weather", "description": "Weather", "parameters": SCHEMA}}]


def test_chat_completions_tool_keeps_strict_for_openai(cli, tmp_path):
    tool = {"type": "function", "function": {"name": "weather", "description": "Weather",
                                             "parameters": SCHEMA, "strict": True}}
    sent = _sent_tools(cli, tmp_path, [tool], "openai")
    assert sent["openai"] == [tool]


# --------------------------------------------------------------------------- 9. a signal during start-up
# Fix (ddbe277): entry holds SIGINT/SIGTERM from signals.install() until Session.run
# releases them, so one that arrives during start-up still ends --jsonl with `end`.
# Deterministic: the process stops inside start-up (in make_sink, after option parsing),
# says READY on stderr and waits for stdin to close; the test sends SIGTERM there, then
# closes stdin. Before the fix the signal killed it at once with nothing on stdout.

_PAUSE_IN_STARTUP = """
import os, sys
import streamcli.session as app
real = app.make_sink
def make_sink(*args, **kwargs):
    os.write(2, b"READY\\n")
    while os.read(0, 1):
        pass
    return real(*args, **kwargs)
app.make_sink = make_sink
from streamcli.entry import main
main()
"""


def test_sigterm_during_startup_still_ends_the_jsonl_output(start_cli):
    stdin_r, stdin_w = os.pipe()
    try:
        proc = start_cli(["--jsonl", "-m", "claude-x", "--no-stdin", "question"],
                         command=python_code_command(_PAUSE_IN_STARTUP), stdin=stdin_r,
                         env={"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY})
    finally:
        os.close(stdin_r)
    try:  # a process still running at the end is killed by the fixture
        proc.read_until(b"READY\n", stream="stderr")
        proc.send_signal(signal.SIGTERM)  # held: the process is inside start-up
        os.close(stdin_w)
        stdin_w = None
        done = proc.finish(timeout=10)
    finally:
        if stdin_w is not None:
            os.close(stdin_w)
    assert done.returncode == -signal.SIGTERM, done.stderr
    events = jsonl_events(done.stdout)
    assert [e["type"] for e in events] == ["start", "end"]
    assert events[-1]["status"] == "cancelled" and events[-1]["exit_code"] == 143
    assert b"cancelled" in done.stderr and b"Traceback" not in done.stderr


# --------------------------------------------------------------------------- 10. config
# Fix: config.resolve/_split (ddbe277: a config `model` may name a provider) and
# config._api_key (cfbc46f: a named provider's missing key names its own settings).


def test_config_model_may_name_a_provider(cli):
    cli.config('model = "local:llama3.2"\n\n[providers.local]\nkind = "openai"\n'
               'base_url = "http://localhost:8000/v1"\n')
    cli.serve(sse(openai_sse(["Hi"], model="llama3.2")))
    r = cli.run("q")
    assert r.code == 0, r.err
    (req,) = r.requests
    assert str(req.url) == "http://localhost:8000/v1/chat/completions"
    assert json.loads(req.content)["model"] == "llama3.2"
    assert "authorization" not in req.headers


def test_named_anthropic_provider_without_a_key_names_its_own_settings(cli):
    cli.config('[providers.work]\nkind = "anthropic"\nbase_url = "https://llm.example/anthropic"\n')
    cli.env(**ANTHROPIC_KEY)  # never sent to a named provider, so never the advice
    r = cli.run("-m", "work:claude-x", "q")
    assert r.code == 2
    assert "api_key_env" in r.err and "api_key_cmd" in r.err and "'work'" in r.err
    assert "ANTHROPIC_API_KEY" not in r.err
    assert r.requests == []


# --------------------------------------------------------------------------- 11. Azure's first chunk
# Fix (ddbe277): openai.StreamMapper starts the answer at the first chunk with an id or
# choices, not at Azure's prompt-filter chunk.


def test_azure_prompt_filter_chunk_does_not_start_the_answer(cli):
    azure = [
        sse_event({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                   "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}),
        _chunk({"role": "assistant", "content": "Hi"}, model="gpt-4o-2024", chunk_id="chatcmpl-9"),
        _chunk({}, "stop", model="gpt-4o-2024", chunk_id="chatcmpl-9"),
        b"data: [DONE]\n\n",
    ]
    cli.env(**OPENAI_KEY).serve(sse(azure))
    r = cli.run("-m", "gpt-4o", "--jsonl", "q")
    assert r.code == 0, r.err
    start, end = r.events[0], r.events[-1]
    assert (start["id"], start["model"]) == ("chatcmpl-9", "gpt-4o-2024")
    assert end["id"] == "chatcmpl-9" and end["status"] == "ok"
    assert [e["text"] for e in r.events if e["type"] == "text"] == ["Hi"]


# --------------------------------------------------------------------------- start-up signal window, config precedence

_SIGNAL_BETWEEN_INSTALL_AND_HOLD = """
import os, signal
from streamcli import signals
real_hold = signals.hold
def hold():
    os.kill(os.getpid(), signal.SIGTERM)  # lands after install(), before the mask
    real_hold()
signals.hold = hold
from streamcli.entry import main
main()
"""


def test_sigterm_between_install_and_hold_dies_by_the_signal(run_cli):
    p = run_cli(["--jsonl", "--no-stdin", "-m", "claude-x", "q"],
                command=python_code_command(_SIGNAL_BETWEEN_INSTALL_AND_HOLD),
                env={"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY})
    assert b"Traceback" not in p.stderr, p.stderr
    assert p.returncode == -signal.SIGTERM


def test_env_provider_beats_the_provider_named_by_the_config_model(cli):
    cli.config('model = "local:llama3.2"\n\n[providers.local]\nkind = "openai"\n'
               'base_url = "http://localhost:8000/v1"\n')
    cli.env(STREAMCLI_PROVIDER="anthropic", **ANTHROPIC_KEY).serve(hello())
    r = cli.run("q")
    assert r.code == 0, r.err
    (req,) = r.requests
    assert req.url.host == "api.anthropic.com"
    assert "llama" not in json.loads(req.content)["model"]


def test_provider_flag_does_not_take_a_config_model_named_for_another_provider(cli):
    cli.config('model = "local:llama3.2"\n\n[providers.local]\nkind = "openai"\n'
               'base_url = "http://localhost:8000/v1"\n')
    cli.env(**ANTHROPIC_KEY).serve(hello())
    r = cli.run("--provider", "anthropic", "q")
    assert r.code == 0, r.err
    (req,) = r.requests
    assert req.url.host == "api.anthropic.com"
    assert "llama" not in json.loads(req.content)["model"]
