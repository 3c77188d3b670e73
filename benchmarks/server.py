"""The benchmark's fake LLM server: Anthropic and OpenAI SSE streams on 127.0.0.1.

Standard library only, and importable on its own: the harness runs this file as a child
process (`python server.py --bulk-server`) for the streams without delay.

A stream is a list of SSE events (the events before the text deltas, N identical text
deltas, the events after them), cut into HTTP chunks by one function, `body_runs`, with
`per_chunk` events in each chunk:

- per_chunk=1: one event per HTTP chunk, as the real services frame them (each event is
  one read for the client: streamcli's fused one-event path applies);
- per_chunk=16, 64...: several events coalesced in one chunk, as a fast local model, a
  replay, a buffering proxy or a client that was briefly descheduled produces (every
  read holds many events: the general SSE and JSON path does the work).

The scenario is picked by the first path segment: /s<N>/ a scenario registered with
BenchServer.add (paced streams, send timestamps, disconnects), or the stateless
/n<DELTAS>s<SIZE>k<PER_CHUNK>/ (no delay), which is what the bulk server serves.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


def delta_text(size: int) -> str:
    return (_WORDS * (size // len(_WORDS) + 1))[:size]


def sse_event(event: str | None, obj) -> bytes:
    """One SSE event (`event:` line if named, one `data:` line, blank line), compact JSON."""
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def anthropic_events(n: int, text: str) -> tuple[list[bytes], bytes, list[bytes]]:
    """(events before the deltas, one delta event, events after) of a Messages stream."""
    head = [
        sse_event("message_start", {"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-bench",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        sse_event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}),
        sse_event("ping", {"type": "ping"}),
    ]
    delta = sse_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}})
    tail = [
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": {"output_tokens": n}}),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    return head, delta, tail


def openai_events(n: int, text: str) -> tuple[list[bytes], bytes, list[bytes]]:
    """(chunks before the deltas, one delta chunk, chunks after) of a Chat Completions stream."""
    def chunk(choices, usage=None):
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "gpt-bench", "system_fingerprint": "fp_bench", "choices": choices,
                "usage": usage}
    head = [sse_event(None, chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "logprobs": None, "finish_reason": None}]))]
    delta = sse_event(None, chunk([{"index": 0, "delta": {"content": text}, "logprobs": None,
                                    "finish_reason": None}]))
    tail = [
        sse_event(None, chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])),
        sse_event(None, chunk([], {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": n + 12})),
        sse_event(None, "[DONE]"),
    ]
    return head, delta, tail


EVENTS = {"anthropic": anthropic_events, "openai": openai_events}


def http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def body_runs(head: list[bytes], delta: bytes, n: int, tail: list[bytes],
              per_chunk: int) -> list[tuple[bytes, int, int]]:
    """The stream head + [delta] * n + tail cut into HTTP chunks of `per_chunk` consecutive
    events each (the last one may hold fewer), as runs (chunk, repeat count, deltas in one
    chunk). The chunks made only of deltas are all the same, so they make one run whatever
    n is: serving a million deltas builds a handful of byte strings."""
    if per_chunk < 1:
        raise ValueError("per_chunk must be at least 1")
    h, total = len(head), len(head) + n + len(tail)

    def event(i: int) -> bytes:
        return head[i] if i < h else delta if i < h + n else tail[i - h - n]

    runs: list[tuple[bytes, int, int]] = []
    i = 0
    while i < total:
        j = min(i + per_chunk, total)
        if i >= h and j <= h + n:  # deltas only: the next `count` chunks are all this one
            count = (h + n - i) // per_chunk
            runs.append((http_chunk(delta * per_chunk), count, per_chunk))
            i += count * per_chunk
            continue
        deltas = max(0, min(j, h + n) - max(i, h))
        runs.append((http_chunk(b"".join(event(x) for x in range(i, j))), 1, deltas))
        i = j
    return runs


@dataclass
class Scenario:
    n: int  # text deltas
    size: int = 4  # characters per delta
    delay: float = 0.0  # seconds between deltas (0: as fast as the socket takes them)
    per_chunk: int = 1  # SSE events per HTTP chunk (the framing)
    send_times: list = field(default_factory=list)  # monotonic, just before each delta's send
    disconnect_time: float | None = None  # when the client was seen closing mid-stream
    disconnected: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    errors: list = field(default_factory=list)

    def events(self, fmt: str) -> tuple[list[bytes], bytes, list[bytes]]:
        return EVENTS[fmt](self.n, delta_text(self.size))

    def runs(self, fmt: str) -> list[tuple[bytes, int, int]]:
        """The HTTP body (without the final zero-length chunk) as runs of chunks."""
        head, delta, tail = self.events(fmt)
        return body_runs(head, delta, self.n, tail, self.per_chunk)

    def body(self, fmt: str) -> bytes:
        """The whole SSE body (what curl -N and --raw-sse print): the same in every framing."""
        head, delta, tail = self.events(fmt)
        return b"".join(head) + delta * self.n + b"".join(tail)

    def text(self) -> str:
        """The answer text (what the text-mode commands print)."""
        return delta_text(self.size) * self.n


class BenchServer:
    """HTTP/1.1 on 127.0.0.1, port 0. The path /<scenario id>/... picks a registered
    scenario; /n<N>s<SIZE>k<PER_CHUNK>/... is a stateless one (no delay), which is what the
    separate bulk-server process serves."""

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

    def url(self, n: int, size: int, per_chunk: int = 1) -> str:
        """The base URL of a stateless stream without delay."""
        return f"http://127.0.0.1:{self.port}{bulk_path(n, size, per_chunk)}"

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
        """As fast as the socket takes it: the chunks in sends of about BATCH bytes (a
        send holds many chunks; how the client reads them does not depend on that)."""
        pending = b""
        for chunk, count, _ in sc.runs(fmt):
            if count == 1:
                pending += chunk
                continue
            per_send = max(1, self.BATCH // len(chunk))
            batch = chunk * per_send
            full, rest = divmod(count, per_send)
            if pending:
                conn.sendall(pending)
                pending = b""
            for _ in range(full):
                conn.sendall(batch)
            if rest:
                pending = chunk * rest
        conn.sendall(pending + b"0\r\n\r\n")
        self._linger(conn)

    def _paced(self, conn: socket.socket, sc: Scenario, fmt: str) -> None:
        """One chunk per send; `delay` seconds before each chunk that holds deltas. The
        send time is recorded for each delta of the chunk."""
        monotonic = time.monotonic
        due = monotonic()
        for chunk, count, deltas in sc.runs(fmt):
            for _ in range(count):
                if deltas:
                    due += sc.delay
                    if not self._wait(conn, sc, due):
                        return
                    sc.send_times.extend([monotonic()] * deltas)
                conn.sendall(chunk)
        conn.sendall(b"0\r\n\r\n")
        self._linger(conn)

    @staticmethod
    def _wait(conn: socket.socket, sc: Scenario, due: float) -> bool:
        """Wait until `due` while watching the socket: a client that closes its end is seen
        at once (readable, then EOF), not at the next send. False: the client went away."""
        monotonic = time.monotonic
        while True:
            left = due - monotonic()
            if left <= 0:
                return True
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
                    return False

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


def bulk_path(n: int, size: int, per_chunk: int = 1) -> str:
    return f"/n{n}s{size}k{per_chunk}"


def _stateless(sid: str) -> Scenario | None:
    if sid.startswith("n") and "s" in sid and "k" in sid:
        n, _, rest = sid[1:].partition("s")
        size, _, per_chunk = rest.partition("k")
        if n.isdigit() and size.isdigit() and per_chunk.isdigit() and int(per_chunk) > 0:
            return Scenario(int(n), int(size), per_chunk=int(per_chunk))
    return None


class BulkServer:
    """The no-delay streams come from a BenchServer in a child process: served from the
    harness, the server thread and the thread draining the client's stdout would share
    one GIL, and that (not the client) would limit the measured rate."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bulk-server"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"the bulk server did not start: {line!r}")
        self.port = int(line)

    def url(self, n: int, size: int, per_chunk: int = 1) -> str:
        return f"http://127.0.0.1:{self.port}{bulk_path(n, size, per_chunk)}"

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # the child exits when its stdin closes
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> "BulkServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bulk_server_main() -> int:
    with BenchServer() as server:
        print(server.port, flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--bulk-server"]:
        sys.exit(bulk_server_main())
    sys.exit("usage: server.py --bulk-server (the benchmark harness starts it)")
