"""The one runner of the command, in-process and as a real process, always in the clean
environment of tests/helpers/env.py.

In-process (`Cli`): the real entry point, `streamcli.entry.main(argv)` (SystemExit and
all), against scripted responses served by an `httpx2.MockTransport` that records every
request (or the real network, for a local FakeServer). stdout is a text wrapper over a
CountingBytesIO that counts writes and flushes (the command writes to its `.buffer`).
Every --jsonl and --no-stream output it sees is validated against the published schema.

Real process (`Processes`, `CliProcess`): `python -m streamcli` (or a given command) in
the clean environment, every wait bounded, and on every run a check that the fake API
keys never reach stdout or stderr.
"""

from __future__ import annotations

import io
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import httpx2
import pytest

from tests.helpers.env import clean_env, config_file
from tests.helpers.keys import assert_no_secrets
from tests.helpers.paths import ROOT
from tests.helpers.schema import batch_lines, jsonl_events, log_lines, result_object
from tests.helpers.sse import anthropic_error_body, anthropic_sse, fixed_size, openai_sse
from tests.helpers.streams import CountingBytesIO, PipeStdin, TtyStdin, counting_stdout

# =========================================================================== in-process


def run_in_process(argv: Sequence[str], *, environ: Mapping[str, str], stdin: Any,
                   stdout: io.TextIOWrapper, stderr: io.StringIO,
                   transport: httpx2.MockTransport | None) -> int:
    """Run `streamcli.entry.main(argv, env=...)` in this process; return its exit status.

    The run gets its whole world through `streamcli.environment.Environment`: stdin,
    stdout (the binary layer), stderr, the variables and the transport (None: httpx2's
    own, to the real network, for a local FakeServer). No module-level switch is set and
    os.environ is not touched; only the signal handlers entry installs are put back.
    """
    from streamcli import entry
    from streamcli.environment import Environment

    env = Environment(stdin=stdin, stdout=stdout.buffer, stderr=stderr, environ=dict(environ),
                      transport=transport)
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    try:
        with pytest.raises(SystemExit) as exc:
            entry.main(list(argv), env=env)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in saved_signals.items():
            signal.signal(s, handler)
    code = exc.value.code
    code = 0 if code is None else code
    assert isinstance(code, int)
    return code


def sse(parts, *, status: int = 200, headers: dict | None = None,
        content_type: str = "text/event-stream"):
    """A response factory for Cli.serve: the body parts are served as separate network reads."""
    parts = [p.encode() if isinstance(p, str) else p for p in parts]

    def respond(request):
        hdrs = {"content-type": content_type, **(headers or {})}
        return httpx2.Response(status, headers=hdrs, content=list(parts))
    return respond


def json_response(status: int, obj, *, headers: dict | None = None, chunk: int | None = None):
    """A JSON response factory for Cli.serve; chunk: served in reads of that many bytes."""
    body = json.dumps(obj, ensure_ascii=False).encode()
    parts = fixed_size(body, chunk) if chunk else [body]
    return sse(parts, status=status, headers=headers, content_type="application/json")


def anthropic_error(status: int, etype: str, message: str = "boom", headers=None):
    """A Messages API error response factory for Cli.serve."""
    return json_response(status, anthropic_error_body(etype, message), headers=headers)


def hello(texts=("Hello", " world")):
    """An Anthropic stream response factory (the answer "Hello world" by default)."""
    return sse(anthropic_sse(list(texts)))


def ohello(texts=("Hello", " world")):
    """An OpenAI stream response factory (the answer "Hello world" by default)."""
    return sse(openai_sse(list(texts)))


@dataclass
class Result:
    code: int
    out: bytes
    err: str
    stdout: CountingBytesIO
    requests: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.out.decode("utf-8")

    @property
    def events(self) -> list[dict]:
        return jsonl_events(self.out)

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    @property
    def result(self) -> dict:
        return result_object(self.out)

    @property
    def lines(self) -> list[dict]:
        """`streamcli batch run`/`results` output: one schema-valid object per line."""
        return batch_lines(self.out)


class Cli:
    """Runs the command in-process against scripted responses, in a clean environment
    under `home` (see run_in_process)."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.environ = clean_env(home)
        self.queue: list = []
        self.requests: list[httpx2.Request] = []
        self.unexpected = 0
        self.transport: httpx2.MockTransport | None = httpx2.MockTransport(self._handle)

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.queue:
            self.unexpected += 1
            return httpx2.Response(599, json={"error": {"message": "unexpected request"}})
        item = self.queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item(request)

    def serve(self, *responses) -> "Cli":
        """Queue responses: factories from sse()/json_response(), or exceptions to raise."""
        self.queue.extend(responses)
        return self

    def real_network(self) -> "Cli":
        """Use the real network (a local FakeServer) instead of the scripted responses."""
        self.transport = None
        return self

    def env(self, **values: str) -> "Cli":
        """Set environment variables for the runs that follow."""
        self.environ.update(values)
        return self

    def config(self, text: str) -> Path:
        """Write the config file the command reads."""
        path = config_file(self.environ)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def body(self) -> dict:
        (only,) = self.bodies()
        return only

    def run(self, *argv: str, stdin: bytes | None = None) -> Result:
        """Run the command; stdin None is an interactive terminal, bytes a pipe."""
        stdout, stderr = counting_stdout(), io.StringIO()
        before = len(self.requests)
        self.stdin = TtyStdin() if stdin is None else PipeStdin(stdin)  # for fakes to look at
        code = run_in_process(argv, environ=self.environ, stdin=self.stdin,
                              stdout=stdout, stderr=stderr, transport=self.transport)
        raw = stdout.buffer
        result = Result(code, raw.getvalue(), stderr.getvalue(), raw, self.requests[before:])
        assert "Traceback" not in result.err, result.err
        # Every --jsonl and --no-stream output of every test is checked against the schema.
        if result.out and "--jsonl" in argv:
            events = result.events
            assert events[-1]["exit_code"] == code
        if result.out and "--no-stream" in argv:
            assert result.result["exit_code"] == code
        # ... and so is every JSON line of `streamcli logs`.
        asks_json = "--json" in argv or argv[1:2] == ("export",)
        if code == 0 and argv[:1] == ("logs",) and asks_json and not {"-h", "--help"} & set(argv):
            log_lines(result.out, "conversation" if argv[1:2] == ("list",) else "exchange")
        if argv[:1] == ("batch",) and argv[1:2] in (("run",), ("results",)):
            result.lines  # noqa: B018 - validated against the schema
        return result


# =========================================================================== real processes


def streamcli_command(*python_flags: str) -> list[str]:
    """argv of `python [FLAGS] -m streamcli`, this interpreter."""
    return [sys.executable, *python_flags, "-m", "streamcli"]


def python_code_command(code: str) -> list[str]:
    """argv of `python -c CODE` (a script that patches something, then calls entry.main)."""
    return [sys.executable, "-c", code]


def shell_words(args: Sequence[str]) -> str:
    """`python -m streamcli ARGS` as one shell-quoted command line."""
    return " ".join(shlex.quote(str(a)) for a in [*streamcli_command(), *args])


class CliProcess:
    """A running command. stdout/stderr are pipes unless redirected; read_until() reads
    them without threads (select with a deadline), finish() collects the rest, bounded,
    and checks for leaked keys."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.proc = popen
        self.pid = popen.pid
        self.out = bytearray()
        self.err = bytearray()

    def read_until(self, needle: bytes, stream: str = "stdout", timeout: float = 10.0) -> bytes:
        """Read from the pipe until `needle` has arrived; return everything read so far."""
        pipe = self.proc.stdout if stream == "stdout" else self.proc.stderr
        buf = self.out if stream == "stdout" else self.err
        fd = pipe.fileno()
        deadline = time.monotonic() + timeout
        while needle not in buf:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
            if not ready:
                raise AssertionError(f"{needle!r} not on {stream} within {timeout} s; "
                                     f"got {bytes(buf)[-500:]!r}")
            data = os.read(fd, 65536)
            if not data:
                raise AssertionError(f"{stream} closed before {needle!r}; "
                                     f"got {bytes(buf)[-500:]!r}")
            buf += data
        return bytes(buf)

    def read_lines(self, n: int, stream: str = "stdout", timeout: float = 10.0) -> bytes:
        """Read from the pipe until it has given `n` whole lines; return everything read."""
        deadline = time.monotonic() + timeout
        buf = self.out if stream == "stdout" else self.err
        while buf.count(b"\n") < n:
            self._read_more(stream, max(0.0, deadline - time.monotonic()))
        return bytes(buf)

    def _read_more(self, stream: str, timeout: float) -> None:
        pipe = self.proc.stdout if stream == "stdout" else self.proc.stderr
        buf = self.out if stream == "stdout" else self.err
        ready, _, _ = select.select([pipe.fileno()], [], [], timeout)
        if not ready:
            raise AssertionError(f"no more on {stream} within {timeout:.1f} s; "
                                 f"got {bytes(buf)[-500:]!r}")
        data = os.read(pipe.fileno(), 65536)
        if not data:
            raise AssertionError(f"{stream} closed; got {bytes(buf)[-500:]!r}")
        buf += data

    def send_signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"streamcli did not exit within {timeout} s") from None

    def finish(self, input: bytes | None = None,
               timeout: float = 20.0) -> subprocess.CompletedProcess:
        try:
            out, err = self.proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5)
            raise AssertionError(f"streamcli did not exit within {timeout} s; stdout "
                                 f"{(bytes(self.out) + (out or b''))[-500:]!r}, stderr "
                                 f"{(bytes(self.err) + (err or b''))[-1000:]!r}") from None
        stdout = bytes(self.out) + (out or b"")
        stderr = bytes(self.err) + (err or b"")
        assert_no_secrets(stdout, stderr)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)


class Processes:
    """Starts real processes in the clean environment under `home` (cwd: the project
    root) and kills any still running at close()."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self._procs: list[subprocess.Popen] = []

    def env(self, extra: Mapping[str, object] | None = None) -> dict[str, str]:
        """The clean environment plus `extra` (None removes a variable)."""
        return clean_env(self.home, extra)

    def start(self, args: Sequence, *, env: Mapping | None = None, command: Sequence | None = None,
              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE) -> CliProcess:
        """Start `command` (default: python -m streamcli) with args (str, bytes or paths);
        env holds extra variables on top of the clean environment."""
        argv = [*(command or streamcli_command()),
                *[a if isinstance(a, bytes) else str(a) for a in args]]
        popen = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                 env=self.env(env), cwd=ROOT)
        self._procs.append(popen)
        return CliProcess(popen)

    def run(self, args: Sequence, *, input: bytes | None = None, env: Mapping | None = None,
            timeout: float = 20.0, stdin=None, command: Sequence | None = None,
            ) -> subprocess.CompletedProcess:
        """Run to the end. input (bytes) goes through a pipe; otherwise stdin is `stdin`
        or /dev/null."""
        if input is not None:
            stdin = subprocess.PIPE
        elif stdin is None:
            stdin = subprocess.DEVNULL
        return self.start(args, env=env, command=command, stdin=stdin).finish(input=input,
                                                                             timeout=timeout)

    def shell(self, script: str, *args, env: Mapping | None = None,
              timeout: float = 20.0) -> subprocess.CompletedProcess:
        """`bash -c SCRIPT bash ARGS` (the script's "$@" is ARGS) in the clean environment."""
        return self.run(args, env=env, timeout=timeout, command=["bash", "-c", script, "bash"])

    def close(self) -> None:
        for popen in self._procs:
            if popen.poll() is None:
                popen.kill()
            try:
                popen.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError, OSError):
                pass
