"""The commands compared (curl, the reference scripts, streamcli and its variants), how
one of them is run and timed, and the check that a run printed what the server sent."""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from benchmarks.server import Scenario, delta_text

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROMPT = "Say hello."

# Row labels the report and the targets refer to.
CURL = "`curl -sN` (the floor)"
HTTPX2 = {"anthropic": "ref_httpx2.py (Anthropic)", "openai": "ref_httpx2.py (OpenAI)"}
REPLAY = "**streamcli --replay** (no network)"


@dataclass
class Command:
    name: str  # the row label
    argv: object  # callable(base_url) -> list[str]
    fmt: str  # the wire format it asks for: anthropic or openai
    kind: str  # what it prints: text (the deltas), raw (the SSE body) or jsonl
    streamcli: bool = False
    sdk: bool = False  # an SDK script: its rate is measured on --sdk-deltas
    build: str = ""  # streamcli: "" (the --streamcli command) or the --variant label
    mode: str = ""  # streamcli: text, raw-sse or jsonl

    def info(self) -> dict:
        return {"name": self.name, "fmt": self.fmt, "kind": self.kind,
                "streamcli": self.streamcli, "sdk": self.sdk, "build": self.build,
                "mode": self.mode}


def build_commands(streamcli_argv: list, variants: list, *, sdk: bool = True) -> list[Command]:
    py = sys.executable

    def ref(script, fmt, model):
        return lambda base: [py, os.path.join(HERE, script), fmt, base, model, PROMPT]

    cmds = [] if shutil.which("curl") is None else [
        Command(CURL, lambda base: [
            "curl", "-sN", "-X", "POST", base + "/v1/messages", "-H", "x-api-key: bench",
            "-H", "anthropic-version: 2023-06-01", "-H", "content-type: application/json",
            "-d", json.dumps({"model": "claude-bench", "max_tokens": 1024, "stream": True,
                              "messages": [{"role": "user", "content": PROMPT}]})],
            "anthropic", "raw")]
    cmds += [
        Command("ref_iter_raw.py (httpx2 iter_raw, no parsing)",
                ref("ref_iter_raw.py", "anthropic", "claude-bench"), "anthropic", "raw"),
        Command("ref_http_client.py (stdlib, Anthropic)",
                ref("ref_http_client.py", "anthropic", "claude-bench"), "anthropic", "text"),
        Command(HTTPX2["anthropic"], ref("ref_httpx2.py", "anthropic", "claude-bench"),
                "anthropic", "text"),
        Command(HTTPX2["openai"], ref("ref_httpx2.py", "openai", "gpt-bench"), "openai", "text"),
    ]
    if sdk and importable("anthropic"):
        cmds.append(Command("ref_anthropic_sdk.py (`messages.stream`, `text_stream`)",
                            ref("ref_anthropic_sdk.py", "anthropic", "claude-bench"),
                            "anthropic", "text", sdk=True))
    if sdk and importable("openai"):
        cmds.append(Command("ref_openai_sdk.py (`create(stream=True)`)",
                            ref("ref_openai_sdk.py", "openai", "gpt-bench"), "openai", "text",
                            sdk=True))
    cmds += streamcli_commands(streamcli_argv, "")
    for label, argv in variants:
        cmds += streamcli_commands(argv, label)
    return cmds


def streamcli_name(label: str, mode: str, fmt: str) -> str:
    """The row label of a streamcli command; `label` names a variant build ("" for the
    --streamcli command, printed in bold)."""
    name = f"streamcli[{label}]" if label else "**streamcli"
    end = "" if label else "**"
    provider = "Anthropic" if fmt == "anthropic" else "OpenAI"
    if mode == "text":
        return f"{name}{end} ({provider}, text)"
    return f"{name} --{mode}{end} ({provider})"


def streamcli_commands(sc: list, label: str) -> list[Command]:
    def cmd(mode, fmt, kind, extra):
        return Command(streamcli_name(label, mode, fmt), lambda base: [*sc, *extra, base, PROMPT],
                       fmt, kind, streamcli=True, build=label, mode=mode)
    return [
        cmd("text", "anthropic", "text", ["-m", "claude-bench", "--base-url"]),
        cmd("text", "openai", "text", ["--provider", "openai", "-m", "gpt-bench", "--base-url"]),
        cmd("raw-sse", "anthropic", "raw", ["--raw-sse", "-m", "claude-bench", "--base-url"]),
        cmd("jsonl", "anthropic", "jsonl", ["--jsonl", "-m", "claude-bench", "--base-url"]),
    ]


def importable(module: str) -> bool:
    """Installed for this Python (the reference scripts run with it); not imported here."""
    return importlib.util.find_spec(module) is not None


def resolve_argv(argv: list[str]) -> list[str]:
    """Relative paths in a --streamcli or --variant command made absolute: the commands
    run in a temporary HOME, not in the directory the benchmark was started from."""
    out = []
    for word in argv:
        if "/" in word and not word.startswith(("/", "-")) and "=" not in word \
                and os.path.exists(word):
            word = os.path.abspath(word)
        out.append(word)
    return out


def child_env(tmp: str) -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tmp,
        "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "ANTHROPIC_API_KEY": "bench",
        "OPENAI_API_KEY": "bench",
    }


# --------------------------------------------------------------------------------------
# Running one command
# --------------------------------------------------------------------------------------

@dataclass
class RunResult:
    first_byte: float | None = None  # seconds from spawn to the first stdout byte
    last_byte: float | None = None  # seconds from spawn to the last stdout byte
    nbytes: int = 0
    reads: int = 0
    arrivals: list = field(default_factory=list)  # (monotonic, cumulative bytes)
    output: bytes = b""  # everything, with keep_output
    head: list = field(default_factory=list)  # the first reads, up to EDGE bytes
    tail: list = field(default_factory=list)  # the last TAIL_READS reads
    status: int | None = None  # exit status as subprocess reports it (-N: signal N)
    maxrss_kb: int = 0
    cpu_s: float = 0.0  # user + system CPU time of the child
    stderr: str = ""
    timed_out: bool = False


# Peak RSS and CPU of a command, measured by a small intermediate process: os.wait4 on a
# child forked from this (large) process would report this process's RSS as the child's
# peak (Linux counts the pre-exec memory of a forked child), so a `python -S` wrapper,
# itself small, spawns the command and writes the command's own rusage to a file.
RUSAGE_WRAPPER = r"""
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}")
if os.WIFSIGNALED(status):
    import signal
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


def spawn(argv, env, stderr_file):
    # cwd: the children's own temporary home, so that no `python -m` child imports a
    # package from the directory the benchmark was started in.
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=stderr_file, env=env, bufsize=0, close_fds=True,
                            cwd=env["HOME"])


def reap(proc) -> tuple[int, int, float]:
    """Wait with os.wait4, for the child's own peak RSS (ru_maxrss, KB on Linux) and CPU
    time (user + system, seconds)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                       else os.WEXITSTATUS(status))
    return proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def run(argv, env, *, timeout: float, keep_output: bool = False,
        keep_arrivals: bool = False, rusage: bool = False) -> RunResult:
    """Run one command, reading its stdout as it comes. With `rusage`, through the
    wrapper (peak RSS and CPU of the command itself; the wrapper's start-up delays the
    first byte, so not for the start-up figure)."""
    res = RunResult()
    usage_file = None
    if rusage:
        fd, usage_file = tempfile.mkstemp(prefix="streamcli-bench-rusage-")
        os.close(fd)
        argv = [sys.executable, "-S", "-c", RUSAGE_WRAPPER, usage_file, *argv]
    try:
        _run(argv, env, res, timeout, keep_output, keep_arrivals)
        if usage_file:
            with open(usage_file) as f:
                text = f.read().split()
            if len(text) == 2:
                res.maxrss_kb, res.cpu_s = int(text[0]), float(text[1])
    finally:
        if usage_file:
            os.unlink(usage_file)
    return res


EDGE, TAIL_READS = 4096, 8


def ends_of_output(res: RunResult) -> tuple[bytes, bytes]:
    """(the start, the end) of the output as far as the run kept them; the same whole
    output twice when the kept reads cover all of it."""
    head = b"".join(res.head)
    if res.reads <= len(res.head) + len(res.tail):
        rest = res.tail[len(res.tail) - (res.reads - len(res.head)):] if res.reads > len(res.head) else []
        whole = head + b"".join(rest)
        return whole, whole
    return head, b"".join(res.tail)


def _run(argv, env, res: RunResult, timeout: float, keep_output: bool,
         keep_arrivals: bool) -> None:
    with tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = spawn(argv, env, err)
        watchdog = threading.Timer(timeout, _kill, (proc, res))
        watchdog.start()
        fd = proc.stdout.fileno()
        chunks = []
        # Into one preallocated buffer: os.read(fd, big) would allocate (and for a large
        # size mmap and unmap) a buffer per read, which limits the reader, not the child.
        buf = bytearray(1 << 18)
        view = memoryview(buf)
        readv, monotonic = os.readv, time.monotonic
        head, head_size = res.head, 0
        tail = collections.deque(maxlen=TAIL_READS)
        try:
            while True:
                n = readv(fd, (buf,))
                t = monotonic()
                if not n:
                    break
                if res.first_byte is None:
                    res.first_byte = t - t0
                res.nbytes += n
                res.reads += 1
                res.last_byte = t - t0
                data = bytes(view[:n])  # the ends of the output are kept for check()
                if head_size < EDGE:
                    head.append(data)
                    head_size += n
                else:
                    tail.append(data)
                if keep_arrivals:
                    res.arrivals.append((t, res.nbytes))
                if keep_output:
                    chunks.append(data)
            res.status, res.maxrss_kb, res.cpu_s = reap(proc)
        finally:
            watchdog.cancel()
            proc.stdout.close()
            if proc.returncode is None:
                proc.kill()
                reap(proc)
        err.seek(0)
        res.stderr = err.read().decode("utf-8", "replace")
    res.tail = list(tail)
    res.output = b"".join(chunks)


def _kill(proc, res) -> None:
    res.timed_out = True
    try:
        proc.kill()
    except OSError:
        pass


# --------------------------------------------------------------------------------------
# Did the run print what the server sent?
# --------------------------------------------------------------------------------------

def jsonl_text_line(text: str) -> bytes:
    return b'{"type":"text","text":' + json.dumps(text).encode() + b"}\n"


def expected_bytes(cmd: Command, sc: Scenario) -> int:
    """What the command prints for this stream, not counting streamcli's final newline
    (text) and the JSONL lines other than the text lines."""
    if cmd.kind == "text":
        return len(sc.text().encode())
    if cmd.kind == "raw":
        return len(sc.body(cmd.fmt))
    return sc.n * len(jsonl_text_line(delta_text(sc.size)))


def check(cmd: Command, sc: Scenario, res: RunResult) -> str | None:
    """Why this run does not count, or None. Exact byte counts: text mode prints the
    deltas (streamcli adds one final newline), --raw-sse and curl the SSE body byte for
    byte, --jsonl exactly one text line per delta between its start lines and its end
    lines (read from the first and last reads of the output)."""
    if res.timed_out:
        return "timed out"
    if res.status != 0:
        return f"exit status {res.status}: {res.stderr.strip()[-300:]}"
    want, got = expected_bytes(cmd, sc), res.nbytes
    start, end = ends_of_output(res)
    if cmd.kind == "text":
        text = sc.text().encode()
        if got in (want, want + 1) and end.rstrip(b"\n").endswith(text[-min(8, len(text)):]):
            return None
        return f"printed {got} bytes, expected {want} (+1 newline) of answer text"
    if cmd.kind == "raw":
        return None if got == want else f"printed {got} bytes, expected the {want}-byte SSE body"
    # jsonl: the lines before the first text line and after the last one, then the rest
    # must be the text lines exactly.
    line = jsonl_text_line(delta_text(sc.size))
    first, last = start.find(line), end.rfind(line)
    if first < 0 or last < 0:
        return "no JSONL text line at the start or at the end of the output"
    before, after = start[:first], end[last + len(line):]
    if b'"type":"end"' not in after or b'"status":"ok"' not in after:
        return f"the last JSONL line is not an ok end: {after[-300:]!r}"
    lines = (got - len(before) - len(after)) / len(line)
    if lines != sc.n:
        return f"printed {lines:g} text lines, expected {sc.n}"
    return None


def delta_ends(cmd: Command, sc: Scenario, output: bytes) -> list[int]:
    """Offsets in the output where each delta's bytes end."""
    _, delta, _ = sc.events(cmd.fmt)
    text = delta_text(sc.size)
    if cmd.kind == "text":
        marker = text.encode()
    elif cmd.kind == "raw":
        marker = delta
    else:
        marker = jsonl_text_line(text)
    ends, pos = [], 0
    for _ in range(sc.n):
        pos = output.find(marker, pos)
        if pos < 0:
            break
        pos += len(marker)
        ends.append(pos)
    return ends
