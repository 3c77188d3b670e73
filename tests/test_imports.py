"""What the command imports (issue 6): never the SDKs, and no HTTP stack for --replay.

The official SDKs (and pydantic under them) cost 0.6-1.5 s to import; they are the
reference the tests hold streamcli against, never part of the command's path. --replay
reads a file, so it must not even load httpx2. Each test runs a real process with
`-X importtime` (or PYTHONPROFILEIMPORTTIME for the console script), whose stderr lists
every module the run imported, and checks the top-level packages in that list.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from tests.helpers.cli import python_code_command, streamcli_command
from tests.helpers.fakeserver import Reply
from tests.helpers.paths import EXAMPLES, FIXTURES
from tests.helpers.sse import message, openai_models_list, provider_sse

SDKS = {"anthropic", "openai", "pydantic", "pydantic_core"}
HTTP_STACK = {"httpx2", "httpcore2", "h11", "httpx", "httpcore", "anyio"}
SCHEMA_STACK = {"jsonschema", "referencing", "rpds", "attrs", "jsonschema_specifications"}
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def imported(stderr: str) -> tuple[set[str], str]:
    """(top-level packages named in the importtime lines, the rest of stderr)."""
    packages, rest = set(), []
    for line in stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            if m.group(1) != "package":  # the header line: "import time: self [us] | ..."
                packages.add(m.group(1).split(".")[0])
        elif not line.startswith("import time:"):
            rest.append(line)
    return packages, "\n".join(rest)


def run_importtime(run_cli, args, **env):
    """(the finished run, the top-level packages it imported, the rest of its stderr)."""
    r = run_cli(args, env=env, timeout=60, command=streamcli_command("-X", "importtime"))
    packages, stderr = imported(r.stderr.decode("utf-8", "replace"))
    # The parse itself is checked: a run that lists nothing would pass every assertion.
    assert "streamcli" in packages and "json" in packages, r.stderr[-2000:]
    return r, packages, stderr


def test_importing_the_command_modules_loads_no_sdk(run_cli):
    code = ("import json, sys\n"
            "import streamcli.entry, streamcli.cli, streamcli.plan, streamcli.session\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    r = run_cli([], timeout=60, command=python_code_command(code))
    assert r.returncode == 0, r.stderr.decode()
    modules = {name.split(".")[0] for name in json.loads(r.stdout)}
    assert {"streamcli", "click"} <= modules
    assert not modules & SDKS, sorted(modules & SDKS)


@pytest.mark.parametrize("example, expected", [
    ("anthropic_hello.sse", "anthropic/docs_basic.expected.txt"),
    ("anthropic_tool_use.sse", "anthropic/sdk_tool_use_response.expected.txt"),
    ("openai_hello.sse", "openai/chat_text_basic.expected.txt"),
    ("responses_reasoning.sse", "responses/reasoning_summary.expected.txt"),
])
@pytest.mark.parametrize("mode", [[], ["--jsonl"], ["--raw-sse"]], ids=["text", "jsonl", "raw"])
def test_replay_imports_neither_the_sdks_nor_the_http_stack(run_cli, example, expected, mode):
    path = EXAMPLES / example
    r, packages, stderr = run_importtime(run_cli, [*mode, "--replay", path])
    assert r.returncode == 0, stderr
    if mode == ["--raw-sse"]:
        with open(path, "rb") as f:
            assert r.stdout == f.read()
    elif mode == []:
        with open(FIXTURES / expected, "rb") as f:
            assert r.stdout.rstrip(b"\n") == f.read().rstrip(b"\n")
    else:
        assert json.loads(r.stdout.splitlines()[-1])["type"] == "end"
    assert not packages & SDKS, sorted(packages & SDKS)
    assert not packages & HTTP_STACK, sorted(packages & HTTP_STACK)
    assert not packages & SCHEMA_STACK, sorted(packages & SCHEMA_STACK)


def test_only_schema_imports_jsonschema(run_cli):
    path = EXAMPLES / "constructed" / "anthropic_json.sse"
    r, packages, stderr = run_importtime(run_cli, ["--replay", path, "--schema", "name, age int, bio"])
    assert r.returncode == 0, stderr
    assert "jsonschema" in packages
    assert not packages & (SDKS | HTTP_STACK), sorted(packages & (SDKS | HTTP_STACK))


@pytest.mark.parametrize("provider", ["anthropic", "openai", "openai-responses"])
@pytest.mark.parametrize("mode", [[], ["--jsonl"], ["--raw-sse"], ["--no-stream"]],
                         ids=["text", "jsonl", "raw", "no-stream"])
def test_a_network_run_imports_no_sdk(fake_server, run_cli, provider, mode):
    texts = ["Hi", " there"]
    parts = provider_sse(provider, texts)
    if mode == ["--no-stream"]:
        fake_server.enqueue(Reply.json(200, message(provider, "Hi there")))
    else:
        fake_server.enqueue(Reply(body=parts))
    model = "claude-test" if provider == "anthropic" else "gpt-test"
    api = ["--api", "responses"] if provider == "openai-responses" else []
    kind = "openai" if provider == "openai-responses" else provider
    r, packages, stderr = run_importtime(
        run_cli, [*mode, "--provider", kind, *api, "-m", model, "--base-url", fake_server.url,
                  "--retries", "0", "--no-stdin", "hello"],
        ANTHROPIC_API_KEY="sk-ant-test-key", OPENAI_API_KEY="sk-test-key")
    assert r.returncode == 0, stderr
    if mode == []:
        assert r.stdout == b"Hi there\n"
    elif mode == ["--jsonl"]:
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        assert "".join(e["text"] for e in lines if e["type"] == "text") == "Hi there"
    elif mode == ["--raw-sse"]:
        assert r.stdout == b"".join(parts)
    else:
        assert json.loads(r.stdout)["text"] == "Hi there"
    assert "httpx2" in packages  # the network path was taken, and its imports were seen
    assert not packages & SDKS, sorted(packages & SDKS)
    assert not packages & SCHEMA_STACK, sorted(packages & SCHEMA_STACK)


def test_models_imports_no_sdk(fake_server, run_cli):
    fake_server.enqueue(Reply.json(200, openai_models_list(["m1", "m2"])))
    r, packages, stderr = run_importtime(
        run_cli, ["models", "--base-url", fake_server.url + "/v1", "--retries", "0"])
    assert (r.returncode, r.stdout) == (0, b"m1\nm2\n"), stderr
    assert "httpx2" in packages and not packages & SDKS, sorted(packages & SDKS)


def test_the_console_script_imports_neither_sdks_nor_httpx2_for_replay(run_cli):
    script = os.path.join(os.path.dirname(sys.executable), "streamcli")
    if not os.path.exists(script):
        pytest.skip(f"no console script next to {sys.executable} (package not installed)")
    r = run_cli(["--replay", EXAMPLES / "anthropic_hello.sse"], timeout=60, command=[script],
                env={"PYTHONPROFILEIMPORTTIME": "1"})
    packages, stderr = imported(r.stderr.decode("utf-8", "replace"))
    assert r.returncode == 0, stderr
    assert r.stdout == b"Hello!\n"
    assert "streamcli" in packages and "click" in packages
    assert not packages & SDKS, sorted(packages & SDKS)
    assert not packages & HTTP_STACK, sorted(packages & HTTP_STACK)


# A run whose stdout and imports are watched: an import hook notes whether sqlite3 (the
# log) was first imported before or after the first byte of the answer reached stdout.
WATCHED_RUN = r"""
import importlib.abc, json, os, sys
seen = {"written": False, "sqlite3": None}

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "sqlite3" and seen["sqlite3"] is None:
            seen["sqlite3"] = "after the answer" if seen["written"] else "before the answer"
        return None

class Out:
    def __init__(self, raw):
        self.raw = raw
    def write(self, data):
        seen["written"] = seen["written"] or bool(data)
        return self.raw.write(data)
    def flush(self):
        self.raw.flush()
    def fileno(self):
        return self.raw.fileno()
    def isatty(self):
        return False

class Std:
    buffer = Out(sys.stdout.buffer)
    def write(self, text):
        return self.buffer.write(text.encode())
    def flush(self):
        self.buffer.flush()
    def fileno(self):
        return self.buffer.fileno()

sys.meta_path.insert(0, Hook())
sys.stdout = Std()
import atexit
atexit.register(lambda: os.write(2, ("\nWATCHED " + json.dumps(seen) + "\n").encode()))
from streamcli.entry import main
main()
"""


@pytest.mark.parametrize("log", ["--log", "--no-log"])
def test_the_log_imports_sqlite3_only_after_the_answer(fake_server, run_cli, log):
    fake_server.enqueue(Reply(body=provider_sse("anthropic", ["Hi", " there"])))
    r = run_cli(["--provider", "anthropic", "-m", "claude-test", "--base-url", fake_server.url,
                 "--retries", "0", log, "hello"], timeout=60,
                env={"ANTHROPIC_API_KEY": "sk-ant-test-key"},
                command=python_code_command(WATCHED_RUN))
    assert r.returncode == 0 and r.stdout == b"Hi there\n", r.stderr
    watched = json.loads(r.stderr.decode().rsplit("WATCHED ", 1)[1])
    assert watched["written"]
    assert watched["sqlite3"] == ("after the answer" if log == "--log" else None)
