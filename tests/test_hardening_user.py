"""Issue 10, the items about security, stderr, processes and signals, values the user gives,
and messages (1-3, 13-26): a regression test per item (each failed on the commit before
its fix), then the siblings found while closing each class of fault.

Real-process tests run the command itself (the `processes` fixture); the signal trials
are bounded in number and have deterministic pass criteria (never a traceback; always
death by the signal or a normal, complete run).
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import shlex
import signal
import sys
import time

import pytest

from streamcli.errors import EXIT_STATUS_TABLE
from streamcli.ui import Stderr
from tests.helpers.cli import (anthropic_error, hello, json_response, ohello,
                               python_code_command, shell_words, sse)
from tests.helpers.fakeserver import FakeServer, Reply
from tests.helpers.keys import assert_no_secrets
from tests.helpers.paths import EXAMPLES, ROOT
from tests.helpers.pipes import signals_blocked, wait_exit
from tests.helpers.schema import jsonl_events
from tests.helpers.sse import anthropic_error_event, anthropic_sse, chat_chunk, openai_sse, sse_event

KEY = "sk-ant-test-SECRETKEY1234567890"  # holds the marker assert_no_secrets looks for
OKEY = "sk-oai-test-SECRETKEY0987654321"
ANTHROPIC = {"ANTHROPIC_API_KEY": KEY}
OPENAI = {"OPENAI_API_KEY": OKEY}
MODES = {"text": [], "jsonl": ["--jsonl"], "no-stream": ["--no-stream"]}
LOCAL = "http://127.0.0.1:9/v1"  # an OpenAI-compatible URL nothing listens on


def errors_of(r) -> list[dict]:
    """The error objects of a --jsonl or --no-stream output."""
    if r.out.startswith(b'{"type"'):
        return [e for e in r.events if e["type"] == "error"]
    obj = r.result
    return [obj["error"]] if obj["error"] else []


def no_key_anywhere(r) -> None:
    assert_no_secrets(r.out, r.err)
    for part in (KEY, OKEY):  # nor any 12-character piece of one
        for i in range(len(part) - 11):
            assert part[i:i + 12] not in r.err and part[i:i + 12].encode() not in r.out, part


# =========================================================================== 1. redaction

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["request_id", "request-id header", "error type",
                                   "x-request-id header"])
def test_a_server_echoing_the_key_in_any_field_never_gets_it_printed(cli, mode, where):
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    headers = {}
    if where == "request_id":
        body["request_id"] = KEY
    elif where == "error type":
        body["error"]["type"] = f"invalid {KEY}"
    else:
        headers[where.split()[0]] = KEY
    cli.env(**ANTHROPIC).serve(json_response(400, body, headers=headers))
    r = cli.run("-m", "claude-x", "--retries", "0", *MODES[mode], "q")
    assert r.code == 3, r.err
    no_key_anywhere(r)
    assert "***" in r.err
    if mode != "text":
        (error,) = errors_of(r)
        assert "***" in json.dumps(error)


# Where the secret part of KEY (from index 12) crosses the cut: 200 characters of a body
# that is not JSON, 120 of a data line (which opens with 7 characters before the key).
@pytest.mark.parametrize("where, offset", [("body", 200 - 17), ("body", 200 - 14),
                                           ("data line", 120 - 17 - 7),
                                           ("data line", 120 - 14 - 7)])
def test_a_key_crossing_the_cut_of_a_quoted_text_is_redacted_before_the_cut(cli, where, offset):
    cli.env(**ANTHROPIC)
    if where == "body":
        cli.serve(sse([("x" * offset + KEY + " tail").encode()], status=400,
                      content_type="text/plain"))
    else:
        bad = f'event: content_block_delta\ndata: {{"x": "{"y" * offset}{KEY}\n\n'.encode()
        cli.serve(sse(anthropic_sse(["Hi"])[:1] + [bad]))
    r = cli.run("-m", "claude-x", "--retries", "0", "--jsonl", "q")
    assert r.code == (3 if where == "body" else 9), r.err
    assert "***" in r.err  # masked whole, then cut (unmasked, the cut falls inside it)
    no_key_anywhere(r)


def test_no_stream_body_quoted_in_an_error_is_redacted_before_the_cut(cli):
    cli.env(**ANTHROPIC).serve(sse([b"not json " + b"z" * 94 + KEY.encode()],  # cut at 120
                                   content_type="application/json"))
    r = cli.run("-m", "claude-x", "--retries", "0", "--no-stream", "q")
    assert r.code == 9, r.err
    assert "***" in r.err
    no_key_anywhere(r)


_BUG_WITH_THE_KEY = f"""
import streamcli.session
def broken(*args, **kwargs):
    raise RuntimeError("a bug holding {KEY}")
streamcli.session.stream_once = streamcli.session.complete_once = broken
from streamcli.entry import main
main()
"""


@pytest.mark.parametrize("mode", MODES)
def test_debug_traceback_of_a_bug_never_shows_the_key(processes, mode):
    r = processes.run(["-m", "claude-x", "--base-url", LOCAL, "--retries", "0", "--debug",
                       *MODES[mode], "q"], env=ANTHROPIC,
                      command=python_code_command(_BUG_WITH_THE_KEY))  # checks for leaks
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" in err and "RuntimeError: a bug holding ***" in err


def test_a_password_in_the_base_url_or_the_proxy_is_never_shown(cli):
    password = "SECRETKEY-in-the-url"
    cli.real_network().env(OPENAI_API_KEY="x")
    r = cli.run("-m", "llama", "--base-url", f"http://user:{password}@127.0.0.1:9/v1",
                "--retries", "0", "--jsonl", "q")
    assert r.code == 7, r.err
    assert_no_secrets(r.out, r.err)
    assert "http://user:***@127.0.0.1:9/v1" in r.err


def test_a_key_in_the_url_query_is_never_shown(cli):
    cli.real_network().env(OPENAI_API_KEY="x")
    r = cli.run("-m", "llama", "--base-url", "http://127.0.0.1:9/v1?key=SECRETKEY-q&api-version=1",
                "--retries", "0", "--no-stream", "q")
    assert r.code == 7, r.err
    assert_no_secrets(r.out, r.err)
    assert "key=***" in r.err and "api-version=1" in r.err


# =========================================================================== 2. short "keys"

def test_a_short_key_is_not_a_secret_and_messages_stay_whole(cli):
    cli.env(OPENAI_API_KEY="x")
    message = "the request exceeds the available context size"
    cli.serve(json_response(400, {"error": {"message": message, "type": "invalid_request_error"}}))
    r = cli.run("-m", "llama", "--base-url", LOCAL, "--retries", "0", "q")
    assert r.code == 3
    assert message in r.err


def test_redaction_starts_at_eight_characters():
    from streamcli import redact
    assert redact.Redactor(["abcdefg"])("abcdefg!") == "abcdefg!"
    assert redact.Redactor(["abcdefgh"])("abcdefgh!") == "***!"
    assert redact.Redactor(["        "])("        ") == "        "  # blanks are no secret


# =========================================================================== 3. escape injection

EVIL = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\r"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\x0d"


def assert_no_control(err: str) -> None:
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", err), repr(err)


def test_error_messages_from_an_http_body_are_shown_escaped(cli):
    cli.env(**OPENAI).serve(json_response(400, {"error": {"message": f"bad{EVIL}x",
                                                          "type": f"t{EVIL}"}}))
    r = cli.run("-m", "gpt-x", "--retries", "0", "q")
    assert r.code == 3
    assert_no_control(r.err)
    assert SHOWN in r.err


def test_in_stream_errors_and_retry_reasons_are_shown_escaped(cli):
    cli.env(**ANTHROPIC)
    cli.serve(sse(anthropic_sse(["Hi"])[:3] + [anthropic_error_event("overloaded_error", EVIL)]))
    r = cli.run("-m", "claude-x", "--retries", "0", "q")
    assert r.code == 6
    assert_no_control(r.err)
    assert SHOWN in r.err
    cli.serve(anthropic_error(529, f"overloaded{EVIL}", EVIL, headers={"retry-after": "0"}),
              anthropic_error(529, f"overloaded{EVIL}", EVIL, headers={"retry-after": "0"}))
    r = cli.run("-m", "claude-x", "--retries", "1", "q")
    assert r.code == 6 and "retry 1/1" in r.err
    assert_no_control(r.err)


def test_tool_calls_thinking_and_refusals_on_stderr_are_shown_escaped(cli):
    tool = [sse_event(chat_chunk([{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "type": "function",
         "function": {"name": f"get{EVIL}", "arguments": json.dumps({"a": EVIL})}}]},
        "finish_reason": None}])),
        sse_event(chat_chunk([{"index": 0, "delta": {"reasoning_content": f"hmm{EVIL}"},
                               "finish_reason": None}])),
        sse_event(chat_chunk([{"index": 0, "delta": {"refusal": f"no{EVIL}"},
                               "finish_reason": None}])),
        sse_event(chat_chunk([{"index": 0, "delta": {"content": f"answer{EVIL}"},
                               "finish_reason": "stop"}])),
        b"data: [DONE]\n\n"]
    cli.env(**OPENAI).serve(sse(tool))
    r = cli.run("-m", "gpt-x", "--show-thinking", "q")
    assert r.code == 0, r.err
    assert_no_control(r.err)
    assert "tool call: get\\x1b" in r.err and "hmm\\x1b" in r.err and "no\\x1b" in r.err
    assert r.out == f"answer{EVIL}\n".encode()  # stdout is the payload: byte for byte


def test_visible_keeps_newline_and_tab_and_escapes_the_rest():
    from streamcli import redact
    assert redact.visible("a\tb\nc") == "a\tb\nc"
    assert redact.visible("\x00\x1b\x7f\x85\x9f é ⠋") == "\\x00\\x1b\\x7f\\x85\\x9f é ⠋"


# =========================================================================== 13, 14. usage errors keep the mode

CLICK_ERRORS = {
    "bad value": ["--max-tokens", "0", "q"],
    "bad number": ["--retries", "x", "q"],
    "missing value": ["q", "--max-tokens"],
    "unknown option": ["--bogus", "q"],
    "flag with a value": ["--usage=3", "q"],
    "not finite": ["--temperature", "nan", "q"],
}


@pytest.mark.parametrize("mode", ["jsonl", "no-stream"])
@pytest.mark.parametrize("case", [*CLICK_ERRORS, "bad environment variable", "bad config default"])
def test_every_option_error_still_ends_in_the_modes_output(cli, mode, case):
    cli.env(**ANTHROPIC)
    args = CLICK_ERRORS.get(case, ["q"])
    if case == "bad environment variable":
        cli.env(STREAMCLI_MAX_TOKENS="0")
    elif case == "bad config default":
        cli.config("idle_timeout = 0\n")
    r = cli.run(*MODES[mode], *args)
    assert r.code == 2, r.err
    assert r.err.startswith("streamcli: error: ") and len(r.err.splitlines()) == 1, r.err
    if mode == "jsonl":
        assert r.types[0] == "start" and r.types[-1] == "end" and "error" in r.types
    else:
        assert r.result["error"]["kind"] == "usage"
    assert r.requests == []


@pytest.mark.parametrize("flags", [
    ["--jsonl", "--raw-sse"], ["--raw-sse", "--jsonl"], ["--jsonl", "--no-stream"],
    ["--no-stream", "--jsonl"], ["--raw-sse", "--no-stream"], ["--no-stream", "--raw-sse"],
    ["--raw-sse", "--jsonl", "--no-stream"],
])
def test_two_output_modes_in_any_order_are_a_usage_error(cli, flags):
    cli.env(**ANTHROPIC)
    r = cli.run(*flags, "q")
    assert r.code == 2 and "cannot be combined" in r.err
    assert r.out == b"" and r.requests == []


# =========================================================================== 15. output errors

def run_redirected(processes, args, redirection: str):
    """`streamcli ARGS REDIRECTION; echo $?` in bash: (status, stderr lines)."""
    script = f"{shell_words(args)} {redirection}; echo \"rc=$?\""
    r = processes.shell(script, env=ANTHROPIC)
    out = r.stdout.decode()
    assert out.startswith("rc=") or out == "", out  # stdout went where it was redirected
    return int(out.strip().split("=")[1]), r.stderr.decode().splitlines()


@pytest.mark.parametrize("redirection, says", [(">&-", "stdout is closed"),
                                               (">/dev/full", "No space left on device")])
@pytest.mark.parametrize("args", [
    ["--replay", EXAMPLES / "anthropic_hello.sse"],
    ["--jsonl", "--replay", EXAMPLES / "anthropic_hello.sse"],
    ["--no-stream", "--replay", EXAMPLES / "anthropic_hello.sse"],
    ["--raw-sse", "--replay", EXAMPLES / "anthropic_hello.sse"],
    ["--version"], ["--help"],
], ids=["text", "jsonl", "no-stream", "raw", "version", "help"])
def test_a_stdout_that_cannot_be_written_is_exit_11_with_one_line(processes, args,
                                                                  redirection, says):
    if redirection == ">/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    code, lines = run_redirected(processes, args, redirection)
    assert code == 11, lines
    assert len(lines) == 1 and lines[0].startswith("streamcli: error: ") and says in lines[0], lines


def test_a_closed_stdout_sends_no_request(processes):
    with FakeServer() as srv:
        code, lines = run_redirected(processes, ["-m", "claude-x", "--base-url", srv.url,
                                                 "q"], ">&-")
    assert code == 11 and srv.requests == [], lines


def test_a_non_blocking_stdout_is_waited_for_not_an_error(processes, tmp_path):
    """A stdout left O_NONBLOCK by another program (common on terminals and pipes shared
    with node tools) is full for a moment: that is a wait, not an output error."""
    import fcntl
    from tests.helpers.pipes import drain
    text = "x" * 1000
    path = tmp_path / "big.sse"
    path.write_bytes(b"".join(anthropic_sse([text] * 300)))
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        proc = processes.start(["--replay", path], stdout=w)
    finally:
        os.close(w)
    try:
        out = drain(r)
    finally:
        os.close(r)
    result = proc.finish()
    assert result.returncode == 0, result.stderr
    assert out == (text * 300 + "\n").encode()


def test_output_status_11_is_in_the_exit_table():
    assert (11, "stdout cannot be written (closed, disk full, I/O error)") in EXIT_STATUS_TABLE
    readme = (ROOT / "README.md").read_text()
    assert "| 11 |" in readme


# =========================================================================== 17. signals from the first line

def _trial(processes, delay: float, args) -> tuple:
    """Start the console script (python -m streamcli), wait until it holds the stop
    signals (its first line ran), sleep `delay`, send SIGINT: (status, stdout, stderr)."""
    proc = processes.start(args)
    deadline = time.monotonic() + 10
    while not signals_blocked(proc.pid) & (1 << (signal.SIGINT - 1)):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.0005)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    r = proc.finish(timeout=20)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


TRIALS = 40


def test_sigint_at_random_moments_never_prints_a_traceback_and_is_never_lost(processes):
    """From the package's first line on, a SIGINT at any moment either ends the run by
    the signal (with the cancelled `end` line) or arrives after a complete run."""
    args = ["--jsonl", "--replay", EXAMPLES / "anthropic_hello.sse"]
    rng = random.Random(10)
    outcomes = {}
    for _ in range(TRIALS):
        code, out, err = _trial(processes, rng.uniform(0, 0.15), args)
        assert "Traceback" not in err and "Exception ignored" not in err, err
        assert code in (0, -signal.SIGINT), (code, err)
        events = jsonl_events(out) if out else []
        if code == 0:
            assert events[-1]["status"] == "ok"
        elif events:  # died by the signal; any output ends properly
            assert events[-1]["status"] in ("cancelled", "ok"), events[-1]
        outcomes[code] = outcomes.get(code, 0) + 1
    print(f"SIGINT trials: {outcomes}")


_SWALLOW = """
import os, signal, sys, time
import streamcli.sinks.jsonl as jsonl
real = jsonl.JsonlSink.write
fired = []

class Swallow:
    def __del__(self):  # Python cannot raise from here: "Exception ignored in ..."
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # the handler runs in here, and its exception is swallowed

def write(self, events):
    real(self, events)
    if not fired:
        fired.append(1)
        Swallow()

jsonl.JsonlSink.write = write
from streamcli.entry import main
main()
"""


def test_a_signal_whose_exception_is_swallowed_is_not_lost(processes):
    """A SIGINT that lands in a __del__ (or the import system's weakref callbacks): its
    Cancelled cannot propagate; the run must still end by the signal, properly."""
    parts = anthropic_sse(["Hello"])
    with FakeServer() as srv:
        srv.enqueue(Reply(body=parts[:4], end="hang"))  # the rest never comes
        r = processes.run(["--jsonl", "-m", "claude-x", "--base-url", srv.url, "--retries", "0",
                           "--idle-timeout", "5", "q"], env=ANTHROPIC,
                          command=python_code_command(_SWALLOW), timeout=30)
    err = r.stderr.decode()
    assert r.returncode == -signal.SIGINT, (r.returncode, err)
    assert "Exception ignored" not in err and "Traceback" not in err, err
    events = jsonl_events(r.stdout)
    assert events[-1]["type"] == "end" and events[-1]["status"] == "cancelled"


_CONSOLE_SCRIPT = """
import os, signal, sys

class Trip:  # sends SIGINT to this process the moment {target} is being imported
    def find_spec(self, name, path=None, target=None):
        if name == {target!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Trip())
from streamcli.entry import main
sys.exit(main())
"""


@pytest.mark.parametrize("target", ["streamcli.entry", "streamcli.signals", "click",
                                    "streamcli.family"])
def test_sigint_during_the_start_up_imports_ends_the_run_properly(processes, tmp_path, target):
    """The console script's first import of ours is the package: from its first line on,
    a SIGINT (here, sent the moment `target` is imported) waits for the run to end its
    output, then ends the process by the signal: no KeyboardInterrupt traceback."""
    script = tmp_path / "streamcli"  # named like the console script pip writes
    script.write_text(_CONSOLE_SCRIPT.format(target=target))
    r = processes.run(["--jsonl", "--replay", EXAMPLES / "anthropic_hello.sse"],
                      command=[sys.executable, str(script)])
    err = r.stderr.decode()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert r.returncode == -signal.SIGINT, err
    events = jsonl_events(r.stdout)
    assert events[0]["type"] == "start" and events[-1]["status"] == "cancelled"


def test_the_start_up_window_is_documented():
    readme = (ROOT / "README.md").read_text()
    man = (ROOT / "man" / "streamcli.1.in").read_text()
    assert "start-up" in readme and "KeyboardInterrupt" in readme
    assert "KeyboardInterrupt" in man


def test_importing_the_package_as_a_library_leaves_signals_alone(run_cli):
    code = ("import signal, streamcli.cli\n"
            "print(sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))\n")
    r = run_cli([], command=python_code_command(code))
    assert r.returncode == 0 and r.stdout.strip() == b"[]", r.stderr


# =========================================================================== 18. stdout is the payload's alone

_STRAY = """
import sys, traceback, warnings
import streamcli.session as session
real = session.Session._finish
def _finish(self, *args, **kwargs):
    print("a stray print")
    try:
        raise RuntimeError("a traceback printed with file=None")
    except RuntimeError:
        traceback.print_exc(file=sys.stderr)  # None when stderr is closed: stdout!
    warnings.warn("a library warning")
    return real(self, *args, **kwargs)
session.Session._finish = _finish
from streamcli.entry import main
main()
"""


@pytest.mark.parametrize("stderr", ["closed", "open"])
def test_nothing_but_the_payload_reaches_stdout(processes, stderr):
    args = ["--jsonl", "--debug", "--replay", EXAMPLES / "anthropic_hello.sse"]
    cmd = " ".join(shlex.quote(str(a)) for a in [*python_code_command(_STRAY), *args])
    r = processes.shell(f"{cmd} {'2>&-' if stderr == 'closed' else ''}")
    assert r.returncode == 0, r.stderr
    events = jsonl_events(r.stdout)  # every line is JSON
    assert events[0]["type"] == "start" and events[-1]["type"] == "end"
    if stderr == "open":
        assert b"a stray print" in r.stderr


# =========================================================================== 19. api_key_cmd

def key_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def test_a_hanging_api_key_cmd_obeys_timeout(cli):
    cli.config(f'[providers.work]\nkind = "anthropic"\n'
               f'api_key_cmd = {json.dumps(key_command("import time; time.sleep(60)"))}\n')
    started = time.monotonic()
    r = cli.run("-m", "work:claude-x", "--timeout", "1", "--jsonl", "q")
    assert r.code == 8, r.err
    assert "api_key_cmd" in r.err and "--timeout" in r.err
    assert time.monotonic() - started < 25  # not the fixed 30 s (a bound, not a measure)
    assert r.requests == []


def test_a_failing_api_key_cmd_shows_its_stderr_escaped(cli):
    code = "import sys; sys.stderr.write('gpg: decryption failed: No secret key\\x1b[2J\\n'); sys.exit(2)"
    cli.config(f'[providers.work]\nkind = "anthropic"\napi_key_cmd = {json.dumps(key_command(code))}\n')
    r = cli.run("-m", "work:claude-x", "q")
    assert r.code == 2
    assert "status 2" in r.err and "gpg: decryption failed: No secret key\\x1b[2J" in r.err
    assert_no_control(r.err)


def test_an_api_key_cmd_never_eats_the_prompt_on_stdin(processes, tmp_path):
    code = "import sys; sys.stdin.read(); print('sk-from-the-command-1234')"
    config = tmp_path / "config.toml"
    with FakeServer() as srv:
        config.write_text(f'[providers.work]\nkind = "anthropic"\nbase_url = "{srv.url}"\n'
                          f'api_key_cmd = {json.dumps(key_command(code))}\n')
        srv.enqueue(Reply(body=anthropic_sse(["Hi"])))
        r = processes.run(["-m", "work:claude-x", "question"], input=b"CONTEXT\n",
                          env={"STREAMCLI_CONFIG": config})
    assert r.returncode == 0, r.stderr
    (req,) = srv.requests
    assert req.headers["x-api-key"] == "sk-from-the-command-1234"
    assert req.json["messages"][0]["content"] == "CONTEXT\n\nquestion"


def test_ctrl_c_ends_a_hanging_api_key_cmd(processes, tmp_path):
    marker = tmp_path / "pid"
    code = (f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); "
            f"time.sleep(60)")
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.work]\nkind = "anthropic"\n'
                      f'api_key_cmd = {json.dumps(key_command(code))}\n')
    proc = processes.start(["--jsonl", "-m", "work:claude-x", "q"],
                           env={"STREAMCLI_CONFIG": config})
    deadline = time.monotonic() + 15
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    child = int(marker.read_text())
    proc.send_signal(signal.SIGINT)
    wait_exit(proc.proc, timeout=10)
    r = proc.finish()
    assert r.returncode == -signal.SIGINT, r.stderr
    assert jsonl_events(r.stdout)[-1]["status"] == "cancelled"
    with pytest.raises(ProcessLookupError):  # the command did not outlive the run
        for _ in range(500):
            os.kill(child, 0)
            time.sleep(0.01)


# =========================================================================== 20. bad values are usage errors

BAD_VALUES = {
    "--stop non-UTF-8": ["--stop", "caf\udce9"],
    "-m non-UTF-8": ["-m", "claude-\udcff"],
    "-o non-UTF-8": ["-o", "user=\udcff"],
    "--base-url non-UTF-8": ["--base-url", "http://127.0.0.1:9/\udcff"],
    "-s non-UTF-8": ["-s", "\udcff"],
    "--timeout nan": ["--timeout", "nan"],
    "--timeout inf": ["--timeout", "inf"],
    "--timeout 1e20": ["--timeout", "1e20"],
    "--connect-timeout 1e20": ["--connect-timeout", "1e20"],
    "--idle-timeout nan": ["--idle-timeout", "nan"],
    "--max-retry-wait nan": ["--max-retry-wait", "nan"],
    "--temperature nan": ["--temperature", "nan"],
    "--temperature 1e400": ["--temperature", "1e400"],
    "-o NaN": ["-o", "top_p=NaN"],
    "-o Infinity inside": ["-o", 'metadata={"a": [1, -Infinity]}'],
    "-o 1e400": ["-o", "top_p=1e400"],
    "-o deep": ["-o", "x=" + "[" * 1000 + "]" * 1000],
    "-o stream": ["-o", "stream=false"],
    "-o stream true": ["-o", "stream=true"],
    "- with words": ["-", "extra"],
    "--tools empty name": ["--tools", ""],
    "-m empty": ["-m", ""],
    "--provider empty": ["--provider", " "],
    "--base-url empty": ["--base-url", ""],
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_on_the_command_line_are_usage_errors(cli, case):
    cli.env(**ANTHROPIC)
    args = BAD_VALUES[case]
    r = cli.run("-m", "claude-x", *args, *([] if "-" in args else ["q"]), stdin=b"context")
    assert r.code == 2, (case, r.err)
    assert r.err.startswith("streamcli: error: "), r.err
    assert r.requests == []


@pytest.mark.parametrize("variable", ["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"])
def test_a_url_variable_that_is_not_utf8_is_a_usage_error(cli, variable):
    cli.env(**ANTHROPIC, **OPENAI, **{variable: "http://127.0.0.1:9/\udcff"})
    r = cli.run("-m", "gpt-x" if variable.startswith("OPENAI") else "claude-x", "q")
    assert r.code == 2 and variable in r.err, r.err


def test_stream_false_points_to_no_stream(cli):
    cli.env(**ANTHROPIC)
    r = cli.run("-m", "claude-x", "-o", "stream=false", "q")
    assert r.code == 2 and "--no-stream" in r.err


@pytest.mark.parametrize("variable, value", [
    ("STREAMCLI_TIMEOUT", "nan"), ("STREAMCLI_TIMEOUT", "0"), ("STREAMCLI_TIMEOUT", "1e20"),
    ("STREAMCLI_CONNECT_TIMEOUT", "inf"), ("STREAMCLI_IDLE_TIMEOUT", "-1"),
    ("STREAMCLI_MAX_TOKENS", "0"), ("STREAMCLI_TEMPERATURE", "nan"),
    ("STREAMCLI_MAX_RETRY_WAIT", "nan"), ("STREAMCLI_MODEL", "claude-\udcff"),
])
def test_environment_values_obey_the_flags_ranges(cli, variable, value):
    cli.env(**ANTHROPIC, **{variable: value})
    r = cli.run("q")
    assert r.code == 2 and variable in r.err, r.err
    assert r.requests == []


@pytest.mark.parametrize("line", [
    "model = 5", "provider = true", "max_tokens = true", "max_tokens = 1.9",
    "max_tokens = 0", "timeout = nan", "timeout = inf", "connect_timeout = 1e20",
    "temperature = nan", "retries = \"3\"", "providers = 3",
    '[providers.x]\nbase_url = 3', '[providers.x]\napi_key_cmd = ["pass", "show"]',
    '[providers.x]\nmodel = 5', '[providers.x]\napi_key_env = 1', '[providers.x]\nkind = 2',
    "x = " + "[" * 1000 + "]" * 1000,
])
def test_wrong_types_and_values_in_the_config_file_are_usage_errors(cli, line):
    cli.env(**ANTHROPIC).config(line + "\n")
    r = cli.run("-m", "x:claude-x" if "providers.x" in line else "claude-x", "q")
    assert r.code == 2, (line, r.err)
    assert r.err.startswith("streamcli: error: ") and "Traceback" not in r.err
    assert r.requests == []


def test_unknown_keys_in_the_config_file_are_named_with_the_nearest_known_one(cli):
    cli.env(**ANTHROPIC).config('modle = "claude-x"\n[providers.local]\nbse_url = "http://x"\n')
    cli.serve(hello())
    r = cli.run("-m", "claude-x", "q")
    assert r.code == 0
    assert "unknown key modle (did you mean model?)" in r.err
    assert "unknown key providers.local.bse_url (did you mean providers.local.base_url?)" in r.err


@pytest.mark.parametrize("proxy", ["http://[::1", "http://proxy:notaport", ":::", "ftp://x",
                                   "http://user:SECRETKEY@[::1"])
def test_an_invalid_proxy_is_a_usage_error(processes, proxy):
    """A real process: httpx2 reads the proxy variables from the process environment."""
    r = processes.run(["-m", "claude-x", "--base-url", "https://127.0.0.1:9", "--retries", "0",
                       "q"], env={**ANTHROPIC, "HTTPS_PROXY": proxy})  # checks for leaks
    assert r.returncode == 2 and b"proxy" in r.stderr, r.stderr


@pytest.mark.parametrize("where", ["tools", "config"])
def test_deep_json_and_toml_are_usage_errors(cli, tmp_path, where):
    cli.env(**ANTHROPIC)
    deep = "[" * 1000 + "]" * 1000
    if where == "tools":
        path = tmp_path / "tools.json"
        path.write_text(f'[{{"name": "t", "input_schema": {{"x": {deep}}}}}]')
        r = cli.run("-m", "claude-x", "--tools", str(path), "q")
    else:
        cli.config(f"x = {deep}\n")
        r = cli.run("-m", "claude-x", "q")
    assert r.code == 2 and "deep" in r.err, r.err


def test_non_finite_numbers_in_a_tools_file_are_usage_errors(cli, tmp_path):
    path = tmp_path / "tools.json"
    path.write_text('[{"name": "t", "input_schema": {"maximum": NaN}}]')
    cli.env(**ANTHROPIC)
    r = cli.run("-m", "claude-x", "--tools", str(path), "q")
    assert r.code == 2 and "NaN" in r.err


def test_tools_from_stdin_are_not_read_as_the_prompt_too(cli):
    tools = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    cli.env(**ANTHROPIC).serve(hello())
    r = cli.run("-m", "claude-x", "--tools", "-", "question", stdin=json.dumps(tools).encode())
    assert r.code == 0, r.err
    body = json.loads(r.requests[0].content)
    assert body["tools"] == tools and body["messages"][0]["content"] == "question"
    r = cli.run("-m", "claude-x", "--tools", "-", "-", stdin=json.dumps(tools).encode())
    assert r.code == 2 and "--tools -" in r.err


def test_tools_from_a_closed_stdin_is_a_usage_error(processes):
    r = processes.shell(f"{shell_words(['-m', 'claude-x', '--tools', '-', 'q'])} <&-",
                        env=ANTHROPIC)
    assert r.returncode == 2 and b"stdin is closed" in r.stderr, r.stderr


# =========================================================================== 21. notices on a fresh line

def test_a_tool_call_notice_starts_on_a_fresh_line_when_stdout_and_stderr_are_one(processes):
    args = ["--replay", EXAMPLES / "anthropic_tool_use.sse"]
    r = processes.shell(f"{shell_words(args)} 2>&1")
    assert r.returncode == 0
    assert b"for you.\ntool call: get_weather" in r.stdout, r.stdout
    assert b"\n\n" not in r.stdout  # and no empty line either
    apart = processes.run(args)  # apart, stdout and stderr are exactly as before
    assert apart.stdout.endswith(b"for you.\n") and apart.stderr.startswith(b"tool call:")


def test_fresh_line_rule_with_a_shared_terminal_line(tmp_path):
    """Unit: stderr messages begin on a fresh line only after the answer left one open."""
    from streamcli.sinks.text import TextSink
    path = tmp_path / "both"
    with open(path, "ab", buffering=0) as out, open(path, "a", buffering=1) as err:
        ui = Stderr(err)
        sink = TextSink(out, ui, show_thinking=True, newline=True)
        from streamcli.events import Text, Thinking
        sink.write([Text("Hi")])
        ui.warn("one")
        ui.warn("two")
        sink.write([Text("more")])
        sink.write([Thinking("hmm")])
        sink.write([Text("end")])
        sink.finish(None)
    assert path.read_text() == ("Hi\nstreamcli: warning: one\nstreamcli: warning: two\nmore\n"
                                "hmm\nend\n")


# =========================================================================== 22. stop reasons that leave the answer short

@pytest.mark.parametrize("provider, reason, says", [
    ("openai", "content_filter", "content filter"),
    ("anthropic", "refusal", "declined"),
    ("anthropic", "pause_turn", "paused"),
])
def test_stop_reasons_that_leave_the_answer_short_warn(cli, provider, reason, says):
    cli.env(**ANTHROPIC, **OPENAI)
    if provider == "openai":
        cli.serve(sse(openai_sse(["Partial"], finish_reason=reason)))
        r = cli.run("-m", "gpt-x", "q")
    else:
        cli.serve(sse(anthropic_sse(["Partial"], stop_reason=reason)))
        r = cli.run("-m", "claude-x", "q")
    assert r.code == 0 and r.out == b"Partial\n"
    assert "warning" in r.err and says in r.err and reason in r.err


# =========================================================================== 23. short retry notices

def test_retry_notices_are_short_and_the_full_message_comes_once(cli):
    long = "You have exceeded your rate limit. " * 10
    cli.env(**ANTHROPIC).serve(*[anthropic_error(429, "rate_limit_error", long,
                                                 headers={"retry-after": "0"})] * 3)
    r = cli.run("-m", "claude-x", "--retries", "2", "q")
    assert r.code == 5
    lines = r.err.splitlines()
    assert lines[:2] == ["streamcli: retry 1/2 in 0.0 s: HTTP 429 rate_limit_error",
                         "streamcli: retry 2/2 in 0.0 s: HTTP 429 rate_limit_error"]
    assert r.err.count("You have exceeded") == 10 and len(lines) == 3  # once, at the end


# =========================================================================== 24. messages a user can act on

def test_connection_refused_names_the_url(cli):
    cli.real_network().env(OPENAI_API_KEY="x")
    r = cli.run("-m", "llama", "--base-url", LOCAL, "--retries", "0", "q")
    assert r.code == 7 and "http://127.0.0.1:9/v1/chat/completions" in r.err, r.err


@pytest.mark.parametrize("how, says", [
    ("env", "the API key came from ANTHROPIC_API_KEY"),
    ("api_key_env", "the API key came from WORK_KEY (the api_key_env of provider 'work')"),
    ("api_key_cmd", "the API key came from the api_key_cmd of provider 'work'"),
])
def test_a_rejected_key_says_where_it_came_from(cli, how, says):
    cli.env(**ANTHROPIC, WORK_KEY="sk-work-key-12345678")
    if how == "api_key_env":
        cli.config('[providers.work]\nkind = "anthropic"\napi_key_env = "WORK_KEY"\n')
    elif how == "api_key_cmd":
        cli.config(f'[providers.work]\nkind = "anthropic"\n'
                   f'api_key_cmd = {json.dumps(key_command("print(123456789)"))}\n')
    cli.serve(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    r = cli.run("-m", "claude-x" if how == "env" else "work:claude-x", "--jsonl", "q")
    assert r.code == 4
    assert says in r.err and says in errors_of(r)[0]["message"]


def test_an_authentication_error_inside_a_stream_says_where_the_key_came_from(cli):
    cli.env(**ANTHROPIC).serve(sse([anthropic_error_event("authentication_error", "bad key")]))
    r = cli.run("-m", "claude-x", "--retries", "0", "q")
    assert r.code == 4 and "the API key came from ANTHROPIC_API_KEY" in r.err, r.err


def test_a_401_from_a_keyless_server_says_no_key_was_sent(cli):
    cli.serve(json_response(401, {"error": {"message": "unauthorized", "type": "auth"}}))
    r = cli.run("-m", "llama", "--base-url", LOCAL, "q")
    assert r.code == 4 and "no API key was sent" in r.err


def test_an_unknown_provider_prefix_is_named(cli):
    cli.config('[providers.local]\nbase_url = "http://localhost:1/v1"\n')
    r = cli.run("-m", "nope:foo", "q")
    assert r.code == 2
    assert "no provider 'nope' in the config file" in r.err and "local" in r.err


def test_clicks_own_errors_speak_like_streamcli(cli):
    r = cli.run("--bogus")
    assert r.code == 2 and r.err.startswith("streamcli: error: No such option")


# =========================================================================== 25. OPENAI_BASE_URL

@pytest.mark.parametrize("variable, path", [("OPENAI_BASE_URL", "/v1/chat/completions"),
                                            ("ANTHROPIC_BASE_URL", "/v1/messages")])
def test_a_base_url_variable_tells_the_protocol_of_an_unknown_model(cli, variable, path):
    url = "http://127.0.0.1:8000" + ("/v1" if variable == "OPENAI_BASE_URL" else "")
    cli.env(**{variable: url}, **ANTHROPIC)
    cli.serve(ohello() if variable == "OPENAI_BASE_URL" else hello())
    r = cli.run("-m", "llama3.2", "q")
    assert r.code == 0, r.err
    assert str(r.requests[0].url) == "http://127.0.0.1:8000" + path


# =========================================================================== 26. smaller

class FakeTTY:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


@pytest.mark.parametrize("environ, decorated", [
    ({}, True), ({"NO_COLOR": ""}, True), ({"NO_COLOR": "1"}, False),
    ({"TERM": "dumb"}, False), ({"TERM": "xterm-256color"}, True),
])
def test_decoration_follows_no_color_and_term(environ, decorated):
    ui = Stderr(FakeTTY(), environ=environ)
    assert ui.decorated is decorated
    ui.start_spinner()
    assert (ui._spinner is not None) is decorated
    ui.stop_spinner()


def test_partial_output_kept_only_when_something_was_printed(cli, monkeypatch):
    import streamcli.signals
    from streamcli.errors import Cancelled

    monkeypatch.setattr(streamcli.signals, "die_by", lambda signum: sys.exit(128 + signum))
    cli.env(**ANTHROPIC)
    cli.serve(lambda request: (_ for _ in ()).throw(Cancelled(signal.SIGINT)))
    r = cli.run("-m", "claude-x", "q")
    assert r.code == 130 and "cancelled (SIGINT)" in r.err and "partial" not in r.err


def test_usage_shows_no_tokens_per_second_for_an_instant_stream(cli):
    cli.env(**ANTHROPIC).serve(hello())  # deltas in separate reads, microseconds apart
    r = cli.run("--usage", "-m", "claude-x", "q")
    assert r.code == 0 and "; - output tokens/s" in r.err, r.err
    r = cli.run("--usage", "--replay", str(EXAMPLES / "anthropic_hello.sse"))
    assert r.code == 0 and "; - output tokens/s" in r.err, r.err


def test_dash_followed_by_words_is_a_usage_error_but_words_around_a_dash_are_a_prompt(cli):
    cli.env(**ANTHROPIC)
    r = cli.run("-m", "claude-x", "-", "extra", stdin=b"ctx")
    assert r.code == 2 and "'-'" in r.err
    cli.serve(hello())
    r = cli.run("-m", "claude-x", "what", "is", "5", "-", "3", stdin=None)
    assert r.code == 0
    assert json.loads(r.requests[0].content)["messages"][0]["content"] == "what is 5 - 3"


# =========================================================================== the class: no excerpt cut before redaction

def test_every_quoted_excerpt_goes_through_redact():
    """Server text quoted in a message is cut with redact.clip/excerpt (which mask the
    run's secrets before they cut), never with a slice of its own."""
    offenders = []
    for path in (ROOT / "streamcli").rglob("*.py"):
        if path.name == "redact.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                for part in ast.walk(node):
                    if isinstance(part, ast.Slice) and isinstance(part.upper, ast.Constant) \
                            and isinstance(part.upper.value, int) and part.upper.value >= 20:
                        offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


# =========================================================================== siblings in `streamcli models`

def test_models_masks_the_key_in_every_field_and_keeps_retry_notices_short(cli):
    body = {"type": "error", "request_id": KEY,
            "error": {"type": "overloaded_error", "message": f"busy{EVIL} " * 20}}
    cli.env(**ANTHROPIC).serve(json_response(529, body, headers={"retry-after": "0"}),
                               json_response(529, body, headers={"retry-after": "0"}))
    r = cli.run("models", "--provider", "anthropic", "--retries", "1", "--refresh")
    assert r.code == 6, r.err
    no_key_anywhere(r)
    assert_no_control(r.err)
    lines = r.err.splitlines()
    assert lines[0] == "streamcli: retry 1/1 in 0.0 s: HTTP 529 overloaded_error", lines
    assert r.err.count("busy") == 20  # the whole message once, at the end


@pytest.mark.parametrize("args", [["--max-retry-wait", "nan"], ["-m", ""], ["--provider", ""],
                                  ["--base-url", "http://x/\udcff"]])
def test_models_checks_its_values_like_the_prompt_command(cli, args):
    cli.env(**ANTHROPIC)
    r = cli.run("models", "--provider", "anthropic", *args)
    assert r.code == 2 and r.err.startswith("streamcli: error: "), r.err
    assert r.requests == []


def test_a_header_that_is_not_utf8_is_a_usage_error(cli):
    cli.env(**ANTHROPIC)
    r = cli.run("-m", "claude-x", "-H", "X-Team: caf\udce9", "q")
    assert r.code == 2 and "-H" in r.err, r.err


def test_an_output_error_that_passes_ends_the_jsonl_output_with_kind_output(tmp_path):
    """A disk full for one flush: the run stops (exit 11) and, the disk back, the --jsonl
    output still ends with its error (kind "output", in the schema) and `end` lines."""
    import errno
    import io
    from tests.helpers.cli import run_in_process
    from tests.helpers.env import clean_env

    class FullOnce(io.BytesIO):
        failed = False

        def flush(self):
            if not self.failed and self.getvalue():
                self.failed = True
                raise OSError(errno.ENOSPC, "No space left on device")

    out, err = io.TextIOWrapper(FullOnce()), io.StringIO()
    code = run_in_process(["--jsonl", "--replay", str(EXAMPLES / "anthropic_hello.sse")],
                          environ=clean_env(tmp_path), stdin=None, stdout=out, stderr=err,
                          transport=None)
    events = jsonl_events(out.buffer.getvalue())
    assert code == 11 and events[-1]["exit_code"] == 11, err.getvalue()
    (error,) = [e for e in events if e["type"] == "error"]
    assert error["kind"] == "output" and "No space left" in error["message"]
    assert err.getvalue().count("No space left") == 1
