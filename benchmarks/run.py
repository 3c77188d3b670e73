#!/usr/bin/env python3
"""streamcli against the floor (curl) and its peers, on a local fake server.

    .venv/bin/python benchmarks/run.py            # the full run (a few minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # a short smoke run
    .venv/bin/python benchmarks/run.py --serve    # only the server, for experiments by hand

The server (stdlib sockets, one thread per connection) listens on 127.0.0.1, port 0.
It serves Anthropic Messages streams on .../v1/messages and OpenAI Chat Completions
streams on .../chat/completions, each SSE event framed as one HTTP chunk as the real
services do; the scenario (number of deltas, delta size, delay between deltas) is chosen
by a path prefix, so every client sends the same ordinary request. Paced streams come
from a server thread in this process: it writes one event per send, timestamps each
send with time.monotonic() (the clock the harness reads arrivals with), and watches the
socket between sends to see the client go away. Streams without delay come from the
same server in a child process (started with --bulk-server), which writes pre-built
chunks in large batches: a server thread here would share the GIL with the thread
draining the client's stdout and become the bottleneck.

Every command runs in a clean environment (temporary HOME and XDG_CONFIG_HOME, fake
keys, NO_COLOR) with stdin from /dev/null and its working directory in that HOME.

Figures, each measured over several rounds with the commands interleaved (round-robin),
reported as min and median:

  1. start to first stdout byte: 20-delta stream, no delay (10 rounds)
  2. streaming rate: 100,000 deltas, no delay; deltas / (last byte - first byte)
  3. added latency per delta: deltas 20 ms apart; the server's send timestamp to the
     time this process reads the bytes from the pipe (same clock, same process); the
     median over 50 deltas per run (after 5 warm-up deltas)
  4. peak RSS (os.wait4's rusage of each child) of streamcli in text, --raw-sse and
     --jsonl modes, 100,000 vs 1,000,000 deltas
  5. cancellation: SIGINT mid-stream (deltas 10 ms apart) to the process exit, and to
     the server seeing the connection close
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROMPT = "Say hello."

# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------

_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


def delta_text(size: int) -> str:
    return (_WORDS * (size // len(_WORDS) + 1))[:size]


def _sse(event: str | None, obj) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def anthropic_frames(n: int, text: str) -> tuple[list[bytes], bytes, list[bytes]]:
    """(events before the deltas, one delta event, events after) of a Messages stream."""
    head = [
        _sse("message_start", {"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-bench",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
        _sse("ping", {"type": "ping"}),
    ]
    delta = _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": text}})
    tail = [
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": n}}),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return head, delta, tail


def openai_frames(n: int, text: str) -> tuple[list[bytes], bytes, list[bytes]]:
    """(chunks before the deltas, one delta chunk, chunks after) of a Chat Completions stream."""
    def chunk(choices, usage=None):
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "gpt-bench", "system_fingerprint": "fp_bench", "choices": choices,
                "usage": usage}
    head = [_sse(None, chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                "logprobs": None, "finish_reason": None}]))]
    delta = _sse(None, chunk([{"index": 0, "delta": {"content": text}, "logprobs": None,
                               "finish_reason": None}]))
    tail = [
        _sse(None, chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])),
        _sse(None, chunk([], {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": n + 12})),
        _sse(None, "[DONE]"),
    ]
    return head, delta, tail


def http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


@dataclass
class Scenario:
    n: int  # text deltas
    size: int = 4  # characters per delta
    delay: float = 0.0  # seconds between deltas (0: as fast as the socket takes them)
    send_times: list = field(default_factory=list)  # monotonic, just before each delta's send
    disconnect_time: float | None = None  # when the client was seen closing mid-stream
    disconnected: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    errors: list = field(default_factory=list)

    def frames(self, fmt: str):
        build = anthropic_frames if fmt == "anthropic" else openai_frames
        return build(self.n, delta_text(self.size))

    def body(self, fmt: str) -> bytes:
        """The whole SSE body (what curl -N and --raw-sse print)."""
        head, delta, tail = self.frames(fmt)
        return b"".join(head) + delta * self.n + b"".join(tail)


class BenchServer:
    """HTTP/1.1 on 127.0.0.1, port 0. The path /<scenario id>/... picks a registered
    scenario; /n<N>s<SIZE>/... is a stateless one (N deltas of SIZE characters, no delay),
    which is what the separate bulk-server process serves."""

    BATCH = 64 * 1024  # bytes per send when there is no delay

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self.scenarios: dict[str, Scenario] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "BenchServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def add(self, scenario: Scenario) -> str:
        """Register a scenario; returns its base URL (append /v1/messages or /chat/completions)."""
        with self._lock:
            self._next += 1
            sid = f"s{self._next}"
            self.scenarios[sid] = scenario
        return f"http://127.0.0.1:{self.port}/{sid}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        scenario = None
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf:
                got = conn.recv(65536)
                if not got:
                    return
                buf += got
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            while len(rest) < length:
                got = conn.recv(65536)
                if not got:
                    return
                rest += got
            sid, _, route = path.lstrip("/").partition("/")
            scenario = self.scenarios.get(sid) or _stateless(sid)
            fmt = ("anthropic" if route.endswith("v1/messages") else
                   "openai" if route.endswith("chat/completions") else None)
            if scenario is None or fmt is None:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n"
                             b"connection: close\r\n\r\n")
                return
            scenario.requests += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                         b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n"
                         b"request-id: req_bench\r\nx-request-id: req_bench\r\n"
                         b"connection: close\r\n\r\n")
            if scenario.delay > 0:
                self._paced(conn, scenario, fmt)
            else:
                self._bulk(conn, scenario, fmt)
        except (ConnectionError, socket.timeout, OSError) as exc:
            if scenario is not None and not scenario.disconnected.is_set():
                scenario.disconnect_time = time.monotonic()
                scenario.disconnected.set()
                scenario.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            if scenario is not None:
                scenario.finished.set()
            try:
                conn.close()
            except OSError:
                pass

    def _bulk(self, conn: socket.socket, sc: Scenario, fmt: str) -> None:
        head, delta, tail = sc.frames(fmt)
        conn.sendall(b"".join(http_chunk(f) for f in head))
        one = http_chunk(delta)
        per_batch = max(1, self.BATCH // len(one))
        batch = one * per_batch
        full, rest = divmod(sc.n, per_batch)
        for _ in range(full):
            conn.sendall(batch)
        if rest:
            conn.sendall(one * rest)
        conn.sendall(b"".join(http_chunk(f) for f in tail) + b"0\r\n\r\n")
        self._linger(conn)

    def _paced(self, conn: socket.socket, sc: Scenario, fmt: str) -> None:
        head, delta, tail = sc.frames(fmt)
        for f in head:
            conn.sendall(http_chunk(f))
        one = http_chunk(delta)
        due = time.monotonic()
        monotonic = time.monotonic
        for _ in range(sc.n):
            due += sc.delay
            # Wait for the next send while watching the socket: a client that closes its
            # end is seen at once (readable, then EOF), not at the next send.
            while True:
                left = due - monotonic()
                if left <= 0:
                    break
                readable, _, _ = select.select([conn], [], [], left)
                if readable:
                    t = monotonic()
                    try:
                        got = conn.recv(4096)
                    except OSError:
                        got = b""
                    if not got:
                        sc.disconnect_time = t
                        sc.disconnected.set()
                        return
            t = monotonic()
            sc.send_times.append(t)
            conn.sendall(one)
        conn.sendall(b"".join(http_chunk(f) for f in tail) + b"0\r\n\r\n")
        self._linger(conn)

    @staticmethod
    def bulk_path(n: int, size: int) -> str:
        return f"/n{n}s{size}"

    @staticmethod
    def _linger(conn: socket.socket) -> None:
        """Half-close and give the client a moment to read to the end before closing."""
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(5)
            while conn.recv(65536):
                pass
        except OSError:
            pass


def _stateless(sid: str) -> Scenario | None:
    if sid.startswith("n") and "s" in sid:
        n, _, size = sid[1:].partition("s")
        if n.isdigit() and size.isdigit():
            return Scenario(int(n), int(size))
    return None


class BulkServer:
    """The no-delay streams come from a BenchServer in a child process: served from this
    process, the server thread and the thread draining the client's stdout would share
    one GIL, and that (not the client) would limit the measured rate."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bulk-server"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"the bulk server did not start: {line!r}")
        self.port = int(line)

    def url(self, n: int, size: int) -> str:
        return f"http://127.0.0.1:{self.port}{BenchServer.bulk_path(n, size)}"

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # the child exits when its stdin closes
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)


def bulk_server_main() -> int:
    with BenchServer() as server:
        print(server.port, flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    return 0


# --------------------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------------------

@dataclass
class Command:
    name: str  # the row label
    argv: object  # callable(base_url) -> list[str]
    fmt: str  # the wire format it asks for: anthropic or openai
    kind: str  # what it prints: text (the deltas), raw (the SSE body) or jsonl
    streamcli: bool = False
    sdk: bool = False  # an SDK script: its rate is measured on --sdk-deltas


def build_commands(args) -> list[Command]:
    py = sys.executable
    ref = lambda script, fmt, model: (lambda base: [py, os.path.join(HERE, script), fmt, base,
                                                    model, PROMPT])
    cmds = [] if shutil.which("curl") is None else [
        Command("`curl -sN` (the floor)", lambda base: [
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
        Command("ref_httpx2.py (Anthropic)",
                ref("ref_httpx2.py", "anthropic", "claude-bench"), "anthropic", "text"),
        Command("ref_httpx2.py (OpenAI)",
                ref("ref_httpx2.py", "openai", "gpt-bench"), "openai", "text"),
    ]
    if not args.skip_sdk and _importable("anthropic"):
        cmds.append(Command("ref_anthropic_sdk.py (`messages.stream`, `text_stream`)",
                            ref("ref_anthropic_sdk.py", "anthropic", "claude-bench"),
                            "anthropic", "text", sdk=True))
    if not args.skip_sdk and _importable("openai"):
        cmds.append(Command("ref_openai_sdk.py (`create(stream=True)`)",
                            ref("ref_openai_sdk.py", "openai", "gpt-bench"), "openai", "text",
                            sdk=True))
    cmds += streamcli_commands(args.streamcli_argv, "")
    for label, argv in args.variants:
        cmds += streamcli_commands(argv, label)
    return cmds


def streamcli_commands(sc: list, label: str) -> list[Command]:
    """The streamcli rows; `label` names a variant build (--variant) compared side by side."""
    name = f"streamcli[{label}]" if label else "**streamcli"
    end = "" if label else "**"
    return [
        Command(f"{name}{end} (Anthropic, text)", lambda base: [
            *sc, "-m", "claude-bench", "--base-url", base, PROMPT], "anthropic", "text", True),
        Command(f"{name}{end} (OpenAI, text)", lambda base: [
            *sc, "--provider", "openai", "-m", "gpt-bench", "--base-url", base, PROMPT],
            "openai", "text", True),
        Command(f"{name} --raw-sse{end} (Anthropic)", lambda base: [
            *sc, "--raw-sse", "-m", "claude-bench", "--base-url", base, PROMPT],
            "anthropic", "raw", True),
        Command(f"{name} --jsonl{end} (Anthropic)", lambda base: [
            *sc, "--jsonl", "-m", "claude-bench", "--base-url", base, PROMPT],
            "anthropic", "jsonl", True),
    ]


def _importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=60).returncode == 0


def child_env(tmp: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tmp,
        "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "ANTHROPIC_API_KEY": "bench",
        "OPENAI_API_KEY": "bench",
    }
    return env


# --------------------------------------------------------------------------------------
# Running one command
# --------------------------------------------------------------------------------------

@dataclass
class RunResult:
    first_byte: float | None = None  # seconds from spawn to the first stdout byte
    last_byte: float | None = None  # seconds from spawn to the last stdout byte
    nbytes: int = 0
    arrivals: list = field(default_factory=list)  # (monotonic, cumulative bytes)
    output: bytes = b""
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
        try:
            while True:
                n = readv(fd, (buf,))
                t = monotonic()
                if not n:
                    break
                if res.first_byte is None:
                    res.first_byte = t - t0
                res.nbytes += n
                res.last_byte = t - t0
                if keep_arrivals:
                    res.arrivals.append((t, res.nbytes))
                if keep_output:
                    chunks.append(bytes(view[:n]))
            res.status, res.maxrss_kb, res.cpu_s = reap(proc)
        finally:
            watchdog.cancel()
            proc.stdout.close()
            if proc.returncode is None:
                proc.kill()
                reap(proc)
        err.seek(0)
        res.stderr = err.read().decode("utf-8", "replace")
    res.output = b"".join(chunks)


def _kill(proc, res) -> None:
    res.timed_out = True
    try:
        proc.kill()
    except OSError:
        pass


def expected_bytes(cmd: Command, sc: Scenario) -> int | None:
    if cmd.kind == "text":
        return sc.n * sc.size
    if cmd.kind == "raw":
        return len(sc.body(cmd.fmt))
    return None


def check(cmd: Command, sc: Scenario, res: RunResult) -> str | None:
    """Why this run does not count, or None."""
    if res.timed_out:
        return "timed out"
    if res.status != 0:
        return f"exit status {res.status}: {res.stderr.strip()[-300:]}"
    want = expected_bytes(cmd, sc)
    got = res.nbytes
    if cmd.kind == "text" and got in (want, want + 1):  # + the final newline streamcli adds
        return None
    if cmd.kind == "raw" and got == want:
        return None
    if cmd.kind == "jsonl" and got > sc.n * (sc.size + 20):
        return None
    return f"printed {got} bytes, expected {want}"


def delta_ends(cmd: Command, sc: Scenario, output: bytes) -> list[int]:
    """Offsets in the output where each delta's bytes end."""
    head, delta, _ = sc.frames(cmd.fmt)
    text = delta_text(sc.size)
    if cmd.kind == "text":
        marker = text.encode()
    elif cmd.kind == "raw":
        marker = delta
    else:
        marker = b'{"type":"text","text":' + json.dumps(text).encode() + b"}\n"
    ends, pos = [], 0
    for _ in range(sc.n):
        pos = output.find(marker, pos)
        if pos < 0:
            break
        pos += len(marker)
        ends.append(pos)
    return ends


# --------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, server: BenchServer, bulk: BulkServer, tmp: str) -> None:
        self.args = args
        self.server = server  # in this process: paced streams (send times, disconnects)
        self.bulk = bulk  # in a child process: streams without delay
        self.env = child_env(tmp)
        self.cmds = build_commands(args)
        self.results: dict[str, dict[str, list]] = {c.name: {} for c in self.cmds}
        self.replay_name = "**streamcli --replay** (no network)"
        self.results[self.replay_name] = {}
        self.rss: dict[tuple[str, int], list] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def note(self, name: str, figure: str, value) -> None:
        self.results.setdefault(name, {}).setdefault(figure, []).append(value)

    def fail(self, cmd: Command, figure: str, why: str) -> None:
        msg = f"{cmd.name} [{figure}]: {why}"
        with self._lock:
            self.failures.append(msg)
        print(f"  ! {msg}", file=sys.stderr)

    def progress(self, text: str) -> None:
        if not self.args.silent:
            print(text, file=sys.stderr, flush=True)

    # 1
    def startup(self) -> None:
        a = self.args
        self.progress(f"[1/5] first byte: {a.startup_deltas}-delta stream, {a.rounds_startup} rounds")
        replay = os.path.join(ROOT, "examples", "anthropic_hello.sse")
        for r in range(a.rounds_startup):
            for cmd in self.cmds:
                if cmd.sdk and r >= a.rounds_startup_sdk:
                    continue  # seconds per run, and the target is a ratio of 5 or more
                sc = Scenario(a.startup_deltas, a.delta_size)
                res = run(cmd.argv(self.bulk.url(sc.n, sc.size)), self.env, timeout=a.timeout)
                why = check(cmd, sc, res)
                if why:
                    self.fail(cmd, "first byte", why)
                    continue
                self.note(cmd.name, "first_byte_ms", res.first_byte * 1000)
                self.note(cmd.name, "startup_cpu_ms", res.cpu_s * 1000)
            if os.path.exists(replay):
                res = run([*a.streamcli_argv, "--replay", replay], self.env, timeout=a.timeout)
                if res.status == 0 and res.first_byte is not None:
                    self.note(self.replay_name, "first_byte_ms", res.first_byte * 1000)
                    self.note(self.replay_name, "startup_cpu_ms", res.cpu_s * 1000)
                else:
                    self.failures.append(f"{self.replay_name} [first byte]: exit status "
                                         f"{res.status}: {res.stderr.strip()[-300:]}")

    # 2
    def rate(self) -> None:
        a = self.args
        self.progress(f"[2/5] streaming rate: {a.deltas} deltas, {a.rounds_rate} rounds")
        for r in range(a.rounds_rate):
            for cmd in self.cmds:
                sc = Scenario(a.sdk_deltas if cmd.sdk else a.deltas, a.delta_size)
                res = run(cmd.argv(self.bulk.url(sc.n, sc.size)), self.env, timeout=a.timeout * 10,
                          rusage=True)
                why = check(cmd, sc, res)
                if why:
                    self.fail(cmd, "rate", why)
                    continue
                span = res.last_byte - res.first_byte
                self.note(cmd.name, "rate", sc.n / span if span > 0 else float("inf"))
                self.note(cmd.name, "rss_mb", res.maxrss_kb / 1024)
                self.note(cmd.name, "cpu_s", res.cpu_s)
                self.note(cmd.name, "rate_n", sc.n)
                self.progress(f"    {cmd.name}: {sc.n / span if span > 0 else float('inf'):,.0f} deltas/s")

    # 3
    def latency(self) -> None:
        a = self.args
        warm = a.latency_warmup
        self.progress(f"[3/5] latency: {a.latency_deltas} deltas {a.latency_delay * 1000:g} ms apart, "
                      f"{a.rounds_latency} rounds")
        for r in range(a.rounds_latency):
            for cmd in self.cmds:
                sc = Scenario(warm + a.latency_deltas, a.delta_size, a.latency_delay)
                res = run(cmd.argv(self.server.add(sc)), self.env, timeout=a.timeout,
                          keep_output=True, keep_arrivals=True)
                why = check(cmd, sc, res)
                if why:
                    self.fail(cmd, "latency", why)
                    continue
                ends = delta_ends(cmd, sc, res.output)
                if len(ends) != sc.n or len(sc.send_times) != sc.n:
                    self.fail(cmd, "latency", f"found {len(ends)} of {sc.n} deltas")
                    continue
                lat, j = [], 0
                for i in range(warm, sc.n):
                    while res.arrivals[j][1] < ends[i]:
                        j += 1
                    lat.append(res.arrivals[j][0] - sc.send_times[i])
                self.note(cmd.name, "latency_ms", statistics.median(lat) * 1000)

    # 4
    def memory(self) -> None:
        a = self.args
        sizes = a.rss_deltas
        self.progress(f"[4/5] peak RSS: streamcli modes at {', '.join(f'{n:,}' for n in sizes)} deltas")
        cmds = [c for c in self.cmds if c.streamcli and c.fmt == "anthropic"]
        for r in range(a.rounds_rss):
            for n in sizes:
                # The modes run side by side: peak RSS does not depend on speed, and one
                # million deltas take a while.
                threads = [threading.Thread(target=self._rss_once, args=(cmd, n)) for cmd in cmds]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

    def _rss_once(self, cmd: Command, n: int) -> None:
        sc = Scenario(n, self.args.delta_size)
        res = run(cmd.argv(self.bulk.url(sc.n, sc.size)), self.env,
                  timeout=self.args.timeout * 30, rusage=True)
        why = check(cmd, sc, res)
        if why:
            self.fail(cmd, f"rss {n}", why)
            return
        with self._lock:
            self.rss.setdefault((cmd.name, n), []).append(res.maxrss_kb / 1024)

    # 5
    def cancel(self) -> None:
        a = self.args
        self.progress(f"[5/5] cancellation: SIGINT mid-stream, {a.rounds_cancel} rounds")
        for r in range(a.rounds_cancel):
            for cmd in self.cmds:
                sc = Scenario(1_000_000, a.delta_size, a.cancel_delay)
                out = self._cancel_once(cmd, sc)
                if isinstance(out, str):
                    self.fail(cmd, "cancel", out)
                    continue
                exit_ms, disc_ms, status = out
                self.note(cmd.name, "cancel_exit_ms", exit_ms)
                if disc_ms is not None:
                    self.note(cmd.name, "cancel_disconnect_ms", disc_ms)
                self.note(cmd.name, "cancel_status", status)

    def _cancel_once(self, cmd: Command, sc: Scenario):
        a = self.args
        with tempfile.TemporaryFile() as err:
            proc = spawn(cmd.argv(self.server.add(sc)), self.env, err)
            got = threading.Event()
            state = {"n": 0}
            want = len(delta_text(sc.size)) * 5  # five deltas printed: mid-stream for sure

            def drain():
                fd = proc.stdout.fileno()
                while True:
                    try:
                        data = os.read(fd, 1 << 16)
                    except OSError:
                        break
                    if not data:
                        break
                    state["n"] += len(data)
                    if state["n"] >= want:
                        got.set()
                got.set()

            reader = threading.Thread(target=drain, daemon=True)
            reader.start()
            try:
                if not got.wait(a.timeout) or state["n"] < want:
                    return f"no output before the cancellation (printed {state['n']} bytes)"
                time.sleep(a.cancel_delay * 0.37)  # somewhere between two deltas
                t0 = time.monotonic()
                proc.send_signal(signal.SIGINT)
                timer = threading.Timer(10, _kill, (proc, RunResult()))
                timer.start()
                try:
                    status = reap(proc)[0]
                finally:
                    timer.cancel()
                t_exit = time.monotonic()
                sc.disconnected.wait(5)
                disc = (sc.disconnect_time - t0) * 1000 if sc.disconnect_time else None
                return (t_exit - t0) * 1000, disc, status
            finally:
                if proc.returncode is None:
                    proc.kill()
                    reap(proc)
                reader.join(5)
                proc.stdout.close()

    # -- the report ---------------------------------------------------------------------

    def report(self) -> str:
        a = self.args
        out = []
        w = out.append
        w(f"## streamcli benchmark\n")
        w(f"Text deltas of {a.delta_size} characters; each cell is min / median over the rounds "
          f"(rounds: first byte {a.rounds_startup} ({a.rounds_startup_sdk} for the SDK scripts), "
          f"rate {a.rounds_rate}, latency {a.rounds_latency}, cancellation {a.rounds_cancel}).\n")
        w(f"| command | first stdout byte, ms ({a.startup_deltas} deltas) | CPU of that run, ms | streaming rate, "
          f"deltas/s ({a.deltas:,} deltas) | CPU per delta, µs | added latency per delta, ms | "
          f"peak RSS, MB ({a.deltas:,} deltas) | SIGINT to exit, ms | SIGINT to server "
          "disconnect, ms |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in [c.name for c in self.cmds] + [self.replay_name]:
            r = self.results.get(name, {})
            if r.get("rate_n") and r["rate_n"][0] != a.deltas:
                name = f"{name} (rate: {r['rate_n'][0]:,} deltas)"
            w(f"| {name} | {_mm(r.get('first_byte_ms'), 1)} | {_mm(r.get('startup_cpu_ms'), 0)} | "
              f"{_mm(r.get('rate'), 0, rate=True)} | {_mm(self.cpu_per_delta(r), 1)} | "
              f"{_mm(r.get('latency_ms'), 3)} | {_mm(r.get('rss_mb'), 1)} | "
              f"{_mm(r.get('cancel_exit_ms'), 1)} | {_mm(r.get('cancel_disconnect_ms'), 1)} |")
        if self.rss:
            sizes = a.rss_deltas
            w("")
            w("Peak RSS of streamcli (MB, min / median), by answer length:\n")
            w("| mode | " + " | ".join(f"{n:,} deltas" for n in sizes) + " | growth |")
            w("|---|" + "---:|" * (len(sizes) + 1))
            for cmd in self.cmds:
                if not cmd.streamcli or cmd.fmt != "anthropic":
                    continue
                cells = [self.rss.get((cmd.name, n)) for n in sizes]
                growth = (f"{max(cells[-1]) - max(cells[0]):+.1f} MB"
                          if cells[0] and cells[-1] else "-")
                w(f"| {cmd.name} | " + " | ".join(_mm(c, 1) for c in cells) + f" | {growth} |")
        w("")
        w(self.targets())
        statuses = {n: sorted(set(r["cancel_status"])) for n, r in self.results.items()
                    if r.get("cancel_status")}
        if statuses:
            def how(status: int) -> str:
                if status < 0:
                    try:
                        return f"died by {signal.Signals(-status).name}"
                    except ValueError:
                        return f"died by signal {-status}"
                return f"exit {status}"
            w("\nHow each command ended after SIGINT: " + "; ".join(
                f"{n.replace('*', '')}: {', '.join(map(how, s))}" for n, s in statuses.items()))
        if self.failures:
            w(f"\n{len(self.failures)} run(s) did not count:")
            for f in self.failures:
                w(f"- {f}")
        return "\n".join(out) + "\n"

    def cpu_per_delta(self, r: dict) -> list | None:
        """Microseconds of CPU per delta: a rate run's CPU time less the start-up run's
        (median), over the extra deltas. Far steadier than wall time on a busy machine."""
        if not r.get("cpu_s") or not r.get("startup_cpu_ms"):
            return None
        base = statistics.median(r["startup_cpu_ms"]) / 1000
        extra = [n - self.args.startup_deltas for n in r["rate_n"]]
        if min(extra) <= 0:
            return None
        return [(c - base) / e * 1e6 for c, e in zip(r["cpu_s"], extra)]

    def targets(self) -> str:
        """The issue's targets, as ratios measured in this run."""
        R = self.results
        lines = ["Targets (issue 6), from this run:\n", "| target | measured | |", "|---|---|---|"]

        def best(name, fig, f=min):
            vals = R.get(name, {}).get(fig)
            return f(vals) if vals else None

        def row(label, value, ok):
            lines.append(f"| {label} | {value} | {'met' if ok else '**missed**'} |")

        sc_a, sc_o = "**streamcli** (Anthropic, text)", "**streamcli** (OpenAI, text)"
        hx_a, hx_o = "ref_httpx2.py (Anthropic)", "ref_httpx2.py (OpenAI)"
        sdk_a = next((c.name for c in self.cmds if c.name.startswith("ref_anthropic_sdk")), None)
        sdk_o = next((c.name for c in self.cmds if c.name.startswith("ref_openai_sdk")), None)
        curl = "`curl -sN` (the floor)"
        s, h = best(sc_a, "first_byte_ms"), best(hx_a, "first_byte_ms")
        if s and h:
            row("first byte: best streamcli / best httpx2 script <= 1.25", f"{s / h:.2f}", s / h <= 1.25)
        k = best(sdk_a, "first_byte_ms") if sdk_a else None
        if s and k:
            row("first byte: best anthropic SDK / best streamcli >= 5", f"{k / s:.1f}", k / s >= 5)
        for sc, hx, sdk, label in ((sc_a, hx_a, sdk_a, "Anthropic"), (sc_o, hx_o, sdk_o, "OpenAI")):
            s, h = best(sc, "rate", statistics.median), best(hx, "rate", statistics.median)
            if s and h:
                row(f"rate ({label}): streamcli / httpx2 script >= 1.2 (medians)", f"{s / h:.2f}",
                    s / h >= 1.2)
            k = best(sdk, "rate", statistics.median) if sdk else None
            if s and k:
                row(f"rate ({label}): streamcli / SDK script >= 5 (medians)", f"{s / k:.1f}", s / k >= 5)
        c = best(curl, "latency_ms", statistics.median)
        for name in (sc_a, sc_o, "**streamcli --raw-sse** (Anthropic)", "**streamcli --jsonl** (Anthropic)"):
            s = best(name, "latency_ms", statistics.median)
            if s is not None and c is not None:
                row(f"latency: {name.replace('*', '')} - curl <= 0.15 ms (medians)",
                    f"{s - c:+.3f} ms", s - c <= 0.15)
        if self.rss:
            sizes = self.args.rss_deltas
            for cmd in self.cmds:
                if not cmd.streamcli or cmd.fmt != "anthropic":
                    continue
                lo, hi = self.rss.get((cmd.name, sizes[0])), self.rss.get((cmd.name, sizes[-1]))
                if lo and hi:
                    growth, peak = max(hi) - max(lo), max(max(hi), max(lo))
                    row(f"RSS: {cmd.name.replace('*', '')}: growth {sizes[0]:,} -> {sizes[-1]:,} "
                        f"<= 5 MB, peak < 40 MB", f"{growth:+.1f} MB, peak {peak:.1f} MB",
                        growth <= 5 and peak < 40)
        for name in (sc_a, sc_o, "**streamcli --raw-sse** (Anthropic)"):
            e = best(name, "cancel_exit_ms", max)
            d = best(name, "cancel_disconnect_ms", max)
            if e is not None:
                row(f"cancel: {name.replace('*', '')}: SIGINT to exit and to disconnect < 50 ms "
                    "(worst round)", f"{e:.1f} / {'-' if d is None else f'{d:.1f}'} ms",
                    e < 50 and d is not None and d < 50)
        return "\n".join(lines)


def _mm(values, digits: int, rate: bool = False) -> str:
    if not values:
        return "-"
    lo, med = min(values), statistics.median(values)
    if rate:
        return f"{lo:,.0f} / {med:,.0f}"
    return f"{lo:.{digits}f} / {med:.{digits}f}"


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True,
                          timeout=10).stdout.split("\n", 1)[0] if shutil.which("curl") else "no curl"
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()} ({sys.executable}), {curl}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short smoke run (fewer rounds and deltas)")
    p.add_argument("--serve", action="store_true",
                   help="only run the server: print base URLs for a scenario and wait")
    p.add_argument("--streamcli", default=None,
                   help="the command to run (default: the streamcli entry point next to this Python)")
    p.add_argument("--figures", default="startup,rate,latency,rss,cancel",
                   help="comma-separated subset of startup,rate,latency,rss,cancel")
    p.add_argument("--skip-sdk", action="store_true", help="leave the SDK scripts out")
    p.add_argument("--variant", action="append", default=[], metavar="LABEL=COMMAND",
                   help="also run another streamcli build side by side, e.g. "
                        "'opt=env PYTHONPATH=/tmp/opt python -P -m streamcli' (repeatable)")
    p.add_argument("--only", default=None,
                   help="comma-separated substrings: keep only the commands whose row label matches")
    p.add_argument("--delta-size", type=int, default=4)
    p.add_argument("--startup-deltas", type=int, default=20)
    p.add_argument("--deltas", type=int, default=100_000, help="deltas for the rate figure")
    p.add_argument("--sdk-deltas", type=int, default=20_000,
                   help="deltas for the SDK scripts' rate (they are 5-10 times slower; their "
                        "rate at 20,000 is a little higher than at 100,000, so this flatters them)")
    p.add_argument("--latency-deltas", type=int, default=50)
    p.add_argument("--latency-warmup", type=int, default=5)
    p.add_argument("--latency-delay", type=float, default=0.020)
    p.add_argument("--cancel-delay", type=float, default=0.010)
    p.add_argument("--rss-deltas", default="100000,1000000",
                   help="comma-separated answer lengths for the RSS figure")
    p.add_argument("--rounds", type=int, default=None, help="the same number of rounds for every figure")
    p.add_argument("--rounds-startup", type=int, default=10)
    p.add_argument("--rounds-startup-sdk", type=int, default=3,
                   help="first-byte rounds for the SDK scripts (2 s each)")
    p.add_argument("--rounds-rate", type=int, default=3)
    p.add_argument("--rounds-latency", type=int, default=3)
    p.add_argument("--rounds-rss", type=int, default=1)
    p.add_argument("--rounds-cancel", type=int, default=3)
    p.add_argument("--timeout", type=float, default=60, help="seconds per run (x10 for rate runs)")
    p.add_argument("--json", metavar="FILE", help="also write the raw numbers as JSON")
    p.add_argument("--silent", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds_startup, args.rounds_rate, args.rounds_latency = 3, 1, 1
        args.rounds_rss, args.rounds_cancel = 1, 1
        args.deltas = min(args.deltas, 20_000)
        args.sdk_deltas = min(args.sdk_deltas, 5_000)
        args.latency_deltas = min(args.latency_deltas, 20)
        if args.rss_deltas == "100000,1000000":
            args.rss_deltas = "20000,200000"
    args.sdk_deltas = min(args.sdk_deltas, args.deltas)
    if args.rounds is not None:
        args.rounds_startup = args.rounds_rate = args.rounds_latency = args.rounds
        args.rounds_startup_sdk = args.rounds
        args.rounds_rss = args.rounds_cancel = args.rounds
    args.rss_deltas = [int(x) for x in args.rss_deltas.split(",") if x.strip()]
    args.variants = []
    for item in args.variant:
        label, sep, command = item.partition("=")
        if not sep or not label or not command:
            p.error(f"--variant expects LABEL=COMMAND, not {item!r}")
        args.variants.append((label, shlex.split(command)))
    if args.streamcli:
        args.streamcli_argv = shlex.split(args.streamcli)
    else:
        entry = os.path.join(os.path.dirname(sys.executable), "streamcli")
        args.streamcli_argv = [entry] if os.path.exists(entry) else [sys.executable, "-m", "streamcli"]
    return args


def main(argv=None) -> int:
    if argv is None and sys.argv[1:] == ["--bulk-server"]:
        return bulk_server_main()
    args = parse_args(argv)
    with BenchServer() as server, tempfile.TemporaryDirectory(prefix="streamcli-bench-") as tmp:
        if args.serve:
            n = args.deltas
            base = server.add(Scenario(n, args.delta_size))
            paced = server.add(Scenario(n, args.delta_size, args.latency_delay))
            print(f"{n} deltas, no delay: {base}\n{n} deltas, {args.latency_delay * 1000:g} ms apart: "
                  f"{paced}\n(append /v1/messages or /chat/completions; Ctrl-C to stop)", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        bulk = BulkServer()
        try:
            return _bench(args, server, bulk, tmp)
        finally:
            bulk.close()


def _bench(args, server: BenchServer, bulk: BulkServer, tmp: str) -> int:
    bench = Bench(args, server, bulk, tmp)
    if args.only:
        keys = [k.strip().lower() for k in args.only.split(",")]
        bench.cmds = [c for c in bench.cmds if any(k in c.name.lower() for k in keys)]
    started = time.monotonic()
    figures = {f.strip() for f in args.figures.split(",")}
    bench.progress(f"streamcli: {shlex.join(args.streamcli_argv)}; server on port {server.port}")
    for name, fn in (("startup", bench.startup), ("rate", bench.rate), ("latency", bench.latency),
                     ("rss", bench.memory), ("cancel", bench.cancel)):
        if name in figures:
            fn()
    elapsed = time.monotonic() - started
    text = bench.report()
    print(text)
    print(f"Machine: {machine()}")
    print(f"streamcli ran as: `{shlex.join(args.streamcli_argv)}`; the whole run took "
          f"{elapsed:.0f} s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": bench.results,
                       "rss": {f"{k[0]} @ {k[1]}": v for k, v in bench.rss.items()},
                       "failures": bench.failures, "machine": machine(),
                       "argv": sys.argv, "elapsed_s": elapsed}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
