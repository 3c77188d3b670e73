"""Shared pytest fixtures."""

import os
import sys

import pytest

# `from tests.fakeserver import ...` needs the project root on sys.path, which
# `python -m pytest` provides but a bare `pytest` run does not.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fakeserver import FakeServer  # noqa: E402


@pytest.fixture
def fake_server():
    """A started FakeServer on 127.0.0.1 (random port), closed after the test."""
    with FakeServer() as srv:
        yield srv


# --------------------------------------------------------------------------- real processes
# For the real-process tests (test_process.py, test_exit_codes.py): the real
# `python -m streamcli` in a clean environment (no real keys, no proxies, config in a
# temporary directory, NO_COLOR), every wait bounded, and on every run a check that the
# fake API keys never reach stdout or stderr.

import select  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

FAKE_ANTHROPIC_KEY = "sk-ant-test-SECRETKEY123"
FAKE_OPENAI_KEY = "sk-test-SECRETKEY456"
_SECRET_MARKER = b"SECRETKEY"  # part of both fake keys: even a partial leak shows it


def _assert_no_secrets(*outputs) -> None:
    for out in outputs:
        if out is None:
            continue
        data = out.encode("utf-8", "replace") if isinstance(out, str) else bytes(out)
        assert _SECRET_MARKER not in data, f"an API key leaked into the output: {data[-2000:]!r}"


@pytest.fixture
def no_secrets():
    """assert_no_secrets(*outputs): no fake API key (not even part of one) in any of them."""
    return _assert_no_secrets


@pytest.fixture
def fake_keys():
    """Environment entries with recognisable fake keys for both providers."""
    return {"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY}


def _clean_env(home, extra=None) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
    }
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


class CliProcess:
    """A running `python -m streamcli`. stdout/stderr are pipes unless redirected;
    read_until() reads them without threads (select with a deadline), finish() collects
    the rest, bounded, and checks for leaked keys."""

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
        _assert_no_secrets(stdout, stderr)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)


@pytest.fixture
def start_cli(tmp_path):
    """start_cli(args, env=None, stdin=DEVNULL, stdout=PIPE, stderr=PIPE) -> CliProcess.

    env holds extra variables on top of a clean environment (None removes one). Any
    process still running at the end of the test is killed."""
    procs: list[subprocess.Popen] = []
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def start(args, *, env=None, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE) -> CliProcess:
        popen = subprocess.Popen(
            [sys.executable, "-m", "streamcli", *[str(a) for a in args]],
            stdin=stdin, stdout=stdout, stderr=stderr, env=_clean_env(home, env), cwd=_ROOT,
        )
        procs.append(popen)
        return CliProcess(popen)

    yield start
    for popen in procs:
        if popen.poll() is None:
            popen.kill()
        try:
            popen.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            pass


@pytest.fixture
def run_cli(start_cli):
    """run_cli(args, input=None, env=None, timeout=20, stdin=None) -> CompletedProcess.

    input (bytes) goes through a pipe; otherwise stdin is `stdin` or /dev/null."""

    def run(args, input=None, env=None, timeout=20.0, stdin=None):
        if input is not None:
            stdin = subprocess.PIPE
        elif stdin is None:
            stdin = subprocess.DEVNULL
        return start_cli(args, env=env, stdin=stdin).finish(input=input, timeout=timeout)

    return run
