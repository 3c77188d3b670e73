"""The one fake HTTP server: a scriptable local HTTP/1.1 server for end-to-end tests.

Stdlib only. It listens on 127.0.0.1 (port 0, never any other address), serves each
connection in its own daemon thread and answers every request with the next scripted
`Reply` (or `FakeServer.default` when the queue is empty). Every response carries
`Connection: close`, so each request uses a fresh connection and a client closing its
end is observable as EOF on the server's socket.

    with FakeServer() as srv:
        gate = Gate()
        srv.enqueue(Reply(body=[*parts[:2], gate, *parts[2:]]))
        ...  # run the client against srv.url
        gate.open()
        assert srv.disconnected.wait(5)

A reply is a status line and headers, then its body parts in order:

  * bytes are written with one send each (one HTTP chunk each with framing "chunked"),
    so a test decides exactly how the stream is split; str is encoded as UTF-8;
  * Pause(seconds) waits, watching the socket: if the client closes meanwhile the
    reply stops there and `disconnected` is set, without the server writing anything;
  * Gate() waits (also watching the socket) until the test calls gate.open(), at most
    gate.timeout seconds (then the connection is dropped and the failure is recorded
    in FakeServer.errors, so a forgotten gate cannot hang a test).

and then `end` decides how the connection finishes: "close" (properly), "drop" (close
in the middle of the body), "reset" (TCP RST) or "hang" (keep it open until the client
goes away, at most FakeServer.hang_timeout seconds).

Every blocking wait is bounded: socket I/O by io_timeout (10 s), gates by their timeout
(10 s), hangs by hang_timeout (30 s), and close() wakes every waiting connection.

What to serve (SSE streams, error bodies) comes from tests/helpers/sse.py.
"""

from __future__ import annotations

import collections
import json as _json
import os
import select
import socket
import struct
import threading
import time
from http import HTTPStatus
from typing import Any, Callable, Iterable, Mapping, Sequence

__all__ = [
    "FakeServer",
    "Reply",
    "Pause",
    "Gate",
    "Recorded",
    "Exchange",
]

DEFAULT_TIMEOUT = 10.0
HOST = "127.0.0.1"
_MAX_HEAD = 1024 * 1024
_DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


# --------------------------------------------------------------------------- script


class Pause:
    """Wait `seconds` between body parts, noticing a client disconnect meanwhile."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("Pause needs seconds >= 0")
        self.seconds = float(seconds)

    def __repr__(self) -> str:
        return f"Pause({self.seconds})"


class Gate:
    """Block the reply until the test calls open() (bounded by `timeout` seconds).

    `reached` is set when a reply arrives at the gate, i.e. every part before it has been
    sent: a test can wait for it instead of sleeping. A gate stays open once opened and
    may be shared by several replies.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = float(timeout)
        self.reached = threading.Event()
        self._opened = threading.Event()
        # A pipe that becomes readable when the gate opens, so a connection waiting in
        # select() wakes at once instead of polling the event.
        self._r, self._w = os.pipe()

    def open(self) -> None:
        if not self._opened.is_set():
            self._opened.set()
            try:
                os.write(self._w, b"x")
            except OSError:
                pass

    @property
    def is_open(self) -> bool:
        return self._opened.is_set()

    def wait_reached(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Block until a reply is waiting at this gate; raise TimeoutError otherwise."""
        if not self.reached.wait(timeout):
            raise TimeoutError(f"no reply reached the gate within {timeout} s")

    def __del__(self) -> None:
        for fd in (getattr(self, "_r", -1), getattr(self, "_w", -1)):
            try:
                os.close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"Gate(open={self.is_open}, reached={self.reached.is_set()})"


FRAMINGS = ("chunked", "length", "close", "raw")
ENDS = ("close", "drop", "reset", "hang")


class Reply:
    """One scripted response.

    status, headers (dict or list of pairs; added as given, Content-Type replaced by a
    "content-type" entry), body (parts: bytes | str | Pause | Gate), framing, end,
    content_type as described in the module docstring, plus:

      * framing "raw": no status line, no headers, no framing: the bytes parts are the
        whole response (garbage, a truncated head, nothing at all before a reset, ...);
      * before: Pause/Gate parts waited out before the status line is sent (for
        response-header timeouts); a disconnect meanwhile is observed as usual;
      * content_length: the Content-Length to declare with framing "length". By default
        it is the size of the bytes parts, plus one when `end` is not "close", so that a
        dropped/reset/hung body is visibly incomplete;
      * reason: the reason phrase (default: the standard one for the status).
    """

    __slots__ = (
        "status",
        "headers",
        "body",
        "framing",
        "end",
        "content_type",
        "before",
        "content_length",
        "reason",
    )

    def __init__(
        self,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: Sequence[bytes | str | Pause | Gate] = (),
        framing: str = "chunked",
        end: str = "close",
        content_type: str | None = "text/event-stream",
        *,
        before: Sequence[Pause | Gate] = (),
        content_length: int | None = None,
        reason: str | None = None,
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, not {framing!r}")
        if end not in ENDS:
            raise ValueError(f"end must be one of {ENDS}, not {end!r}")
        if isinstance(body, (bytes, str)):
            body = [body]
        parts: list[bytes | Pause | Gate] = []
        for part in body:
            if isinstance(part, str):
                part = part.encode("utf-8")
            elif isinstance(part, (bytearray, memoryview)):
                part = bytes(part)
            elif not isinstance(part, (bytes, Pause, Gate)):
                raise TypeError(f"body parts must be bytes, str, Pause or Gate, not {part!r}")
            parts.append(part)
        for part in before:
            if not isinstance(part, (Pause, Gate)):
                raise TypeError(f"`before` holds Pause or Gate parts only, not {part!r}")
        if headers is None:
            header_list: list[tuple[str, str]] = []
        elif isinstance(headers, Mapping):
            header_list = [(str(k), str(v)) for k, v in headers.items()]
        else:
            header_list = [(str(k), str(v)) for k, v in headers]
        self.status = status
        self.headers = header_list
        self.body = tuple(parts)
        self.framing = framing
        self.end = end
        self.content_type = content_type
        self.before = tuple(before)
        self.content_length = content_length
        self.reason = reason

    @classmethod
    def json(
        cls,
        status: int,
        obj: Any,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> "Reply":
        """A JSON reply (application/json, Content-Length), e.g. an API error body."""
        body = _json.dumps(obj).encode("utf-8")
        kwargs.setdefault("framing", "length")
        kwargs.setdefault("content_type", "application/json")
        return cls(status, headers, [body], **kwargs)

    @classmethod
    def raw(cls, parts: Sequence[bytes | str | Pause | Gate] = (), end: str = "close") -> "Reply":
        """Send `parts` verbatim (no status line or headers), then end the connection."""
        return cls(body=parts, framing="raw", end=end, content_type=None)

    def head(self) -> bytes:
        """The status line and headers this reply sends (empty for framing "raw")."""
        if self.framing == "raw":
            return b""
        reason = self.reason
        if reason is None:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        names = {name.lower() for name, _ in self.headers}
        if self.content_type is not None and "content-type" not in names:
            lines.append(f"Content-Type: {self.content_type}")
        if self.framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        elif self.framing == "length":
            length = self.content_length
            if length is None:
                length = sum(len(p) for p in self.body if isinstance(p, bytes))
                if self.end != "close":
                    length += 1
            lines.append(f"Content-Length: {length}")
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def __repr__(self) -> str:
        return (
            f"Reply(status={self.status}, framing={self.framing!r}, end={self.end!r}, "
            f"parts={len(self.body)})"
        )


# --------------------------------------------------------------------------- records


class Recorded:
    """One request as received: method, path (with query), headers (lower-case names;
    repeated headers joined with ", "), body (bytes, de-chunked), json (parsed body or
    None) and time (time.monotonic() when it had been read completely)."""

    __slots__ = ("method", "path", "headers", "body", "json", "time")

    def __init__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        json: Any = None,
        time: float | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.json = json
        self.time = time

    def __repr__(self) -> str:
        return f"Recorded({self.method} {self.path}, {len(self.body)} body bytes)"


class Exchange:
    """One request and the reply served to it, with what happened while serving it."""

    def __init__(self, request: Recorded, reply: Reply, cond: threading.Condition) -> None:
        self.request = request
        self.reply = reply
        self.head_time: float | None = None  # when the status line and headers were sent
        self.sent: dict[int, float] = {}  # body index -> when that part was done
        self.disconnected = threading.Event()
        self.disconnect_time: float | None = None
        self.disconnect_how: str | None = None  # "eof", "reset" (seen on recv) or "send"
        self.done = threading.Event()  # the server has finished with the connection
        self.finish_time: float | None = None
        self.error: str | None = None
        self._cond = cond

    def sent_time(self, i: int) -> float | None:
        with self._cond:
            return self.sent.get(i)

    def wait_sent(self, i: int, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Block until body part i is done; return its time or raise TimeoutError."""
        with self._cond:
            if not self._cond.wait_for(lambda: i in self.sent or self.done.is_set(), timeout):
                raise TimeoutError(f"body part {i} not sent within {timeout} s")
            if i not in self.sent:
                raise TimeoutError(f"the reply ended before body part {i} was sent")
            return self.sent[i]

    def __repr__(self) -> str:
        return f"Exchange({self.request!r}, {self.reply!r})"


class _Disconnected(Exception):
    pass


class _Stopped(Exception):
    pass


class _Abort(Exception):
    pass


# --------------------------------------------------------------------------- server


def _default_reply() -> Reply:
    return Reply.json(
        500,
        {
            "type": "error",
            "error": {"type": "api_error", "message": "fakeserver: no reply was queued"},
        },
    )


class FakeServer:
    """See the module docstring. Attributes read by tests:

    url, port, requests (list of Recorded), exchanges (list of Exchange, one per request,
    in arrival order), default (the Reply served when the queue is empty and there is no
    handler), handler (a function of the Recorded request giving its Reply), disconnected
    (Event), disconnect_time, errors (list of str: protocol errors, gate timeouts, I/O
    timeouts - a test may assert it stays empty), connections (accepted connections).
    """

    def __init__(
        self,
        *,
        io_timeout: float = DEFAULT_TIMEOUT,
        hang_timeout: float = 30.0,
    ) -> None:
        self.io_timeout = io_timeout
        self.hang_timeout = hang_timeout
        self.default: Reply = _default_reply()
        # Called (in the connection's thread) for a request when no reply is queued:
        # handler(Recorded) -> Reply, for servers whose answer depends on the request.
        self.handler: Callable[[Recorded], Reply] | None = None
        self.requests: list[Recorded] = []
        self.exchanges: list[Exchange] = []
        self.errors: list[str] = []
        self.connections = 0
        self.disconnected = threading.Event()
        self.disconnect_time: float | None = None
        self._queue: collections.deque[Reply] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        # Written to by close(): every wait selects on it too, so stopping wakes them all.
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeServer":
        if self._listener is not None:
            return self
        if self._stopping.is_set():
            raise RuntimeError("a closed FakeServer cannot be restarted")
        self._wake_r, self._wake_w = socket.socketpair()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        sock.listen(64)
        self._listener = sock
        self.port = sock.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"fakeserver-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving: wake every waiting connection, close them and the listener."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._listener is None:  # never started
            return
        assert self._wake_r is not None and self._wake_w is not None
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        for t in list(self._threads):
            t.join(max(0.0, min(1.0, deadline - time.monotonic())))
        # A thread still alive is blocked in a send to a client that does not read:
        # shutting the socket down makes that send fail at once.
        with self._cond:
            stuck = list(self._conns)
        for conn in stuck:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @staticmethod
    def closed_port() -> int:
        """A port on 127.0.0.1 where nothing listens (connecting is refused)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, 0))
            return s.getsockname()[1]
        finally:
            s.close()

    # ------------------------------------------------------------------ scripting

    def enqueue(self, *replies: Reply) -> "FakeServer":
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"enqueue takes Reply objects, not {r!r}")
        with self._cond:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        with self._cond:
            return len(self._queue)

    def wait_requests(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> list[Recorded]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(
                    f"expected {n} request(s) within {timeout} s, got {len(self.requests)}"
                )
            return self.requests

    def wait_done(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> list[Exchange]:
        """Block until n exchanges have finished (the server closed their connection)."""
        deadline = time.monotonic() + timeout
        self.wait_requests(n, timeout)
        for ex in self.exchanges[:n]:
            if not ex.done.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"exchange {ex!r} not finished within {timeout} s")
        return self.exchanges

    def _last(self) -> Exchange | None:
        with self._cond:
            return self.exchanges[-1] if self.exchanges else None

    def sent_time(self, i: int) -> float | None:
        """When body part i of the current/last reply was done (None if not yet)."""
        ex = self._last()
        return None if ex is None else ex.sent_time(i)

    def wait_sent(self, i: int, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Like sent_time, for the latest exchange, waiting for it (TimeoutError)."""
        deadline = time.monotonic() + timeout
        if self._last() is None:
            self.wait_requests(1, timeout)
        ex = self._last()
        assert ex is not None
        return ex.wait_sent(i, max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ serving

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                r, _, _ = select.select([self._listener, self._wake_r], [], [], 1.0)
            except (OSError, ValueError):
                return
            if self._stopping.is_set():
                return
            if self._listener not in r:
                continue
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with self._cond:
                self.connections += 1
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _error(self, ex: Exchange | None, msg: str) -> None:
        with self._cond:
            self.errors.append(msg)
            if ex is not None and ex.error is None:
                ex.error = msg

    def _mark_disconnected(self, ex: Exchange, how: str) -> None:
        now = time.monotonic()
        with self._cond:
            if ex.disconnect_time is None:
                ex.disconnect_time = now
                ex.disconnect_how = how
            if self.disconnect_time is None:
                self.disconnect_time = now
        ex.disconnected.set()
        self.disconnected.set()

    def _serve(self, conn: socket.socket) -> None:
        ex: Exchange | None = None
        end = "close"
        try:
            conn.settimeout(self.io_timeout)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                request = self._read_request(conn)
            except (_Stopped, *_DISCONNECT_ERRORS):
                return
            except (OSError, ValueError) as e:  # socket.timeout is an OSError
                self._error(None, f"bad or incomplete request: {e!r}")
                return
            if request is None:  # connected and closed without a request
                return
            with self._cond:
                reply = self._queue.popleft() if self._queue else None
            if reply is None:
                handler = self.handler
                try:
                    reply = handler(request) if handler is not None else self.default
                except Exception as e:  # a broken handler is the test's failure, not a hang
                    self._error(None, f"handler failed on {request!r}: {e!r}")
                    reply = self.default
            with self._cond:
                ex = Exchange(request, reply, self._cond)
                self.requests.append(request)
                self.exchanges.append(ex)
                self._cond.notify_all()
            end = reply.end
            try:
                self._send_reply(conn, reply, ex)
                if end == "hang":
                    # Until the client goes away (_Disconnected) or hang_timeout passes.
                    self._watch(conn, ex, self.hang_timeout)
                elif end == "reset":
                    _drain_send_queue(conn, 1.0)
            except _Disconnected:
                end = "close"
            except _Stopped:
                end = "drop"
            except _Abort:
                end = "drop"
            except socket.timeout:
                self._error(ex, f"timed out sending {reply!r}")
                end = "drop"
            except OSError as e:
                self._error(ex, f"error sending {reply!r}: {e!r}")
                end = "drop"
        finally:
            if end == "reset":
                try:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            with self._cond:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass
            if ex is not None:
                with self._cond:
                    ex.finish_time = time.monotonic()
                    ex.done.set()
                    self._cond.notify_all()

    def _send_reply(self, conn: socket.socket, reply: Reply, ex: Exchange) -> None:
        for part in reply.before:
            self._wait_part(conn, ex, part)
        head = reply.head()
        if head:
            self._send(conn, ex, head)
        with self._cond:
            ex.head_time = time.monotonic()
        chunked = reply.framing == "chunked"
        for i, part in enumerate(reply.body):
            if isinstance(part, bytes):
                if chunked:
                    if part:  # an empty chunk would end the body
                        self._send(conn, ex, b"%x\r\n%b\r\n" % (len(part), part))
                else:
                    self._send(conn, ex, part)
            else:
                self._wait_part(conn, ex, part)
            with self._cond:
                ex.sent[i] = time.monotonic()
                self._cond.notify_all()
        if chunked and reply.end == "close":
            self._send(conn, ex, b"0\r\n\r\n")

    def _send(self, conn: socket.socket, ex: Exchange, data: bytes) -> None:
        if self._stopping.is_set():
            raise _Stopped
        try:
            conn.sendall(data)
        except _DISCONNECT_ERRORS:
            self._mark_disconnected(ex, "send")
            raise _Disconnected from None

    def _wait_part(self, conn: socket.socket, ex: Exchange, part: Pause | Gate) -> None:
        if isinstance(part, Pause):
            self._watch(conn, ex, part.seconds)
            return
        part.reached.set()
        if self._watch(conn, ex, part.timeout, gate=part) != "open":
            self._error(ex, f"gate not opened within {part.timeout} s")
            raise _Abort

    def _watch(
        self, conn: socket.socket, ex: Exchange, timeout: float, gate: Gate | None = None
    ) -> str:
        """Wait up to timeout seconds (or until gate opens) while watching for the client
        closing. Returns "open" or "timeout"; raises _Disconnected or _Stopped."""
        deadline = time.monotonic() + timeout
        while True:
            if self._stopping.is_set():
                raise _Stopped
            if gate is not None and gate.is_open:
                return "open"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            fds: list[Any] = [conn, self._wake_r]
            if gate is not None:
                fds.append(gate._r)
            try:
                readable, _, _ = select.select(fds, [], [], remaining)
            except (OSError, ValueError):
                raise _Stopped from None
            if conn in readable:
                try:
                    data = conn.recv(65536)
                except _DISCONNECT_ERRORS:
                    self._mark_disconnected(ex, "reset")
                    raise _Disconnected from None
                except (BlockingIOError, socket.timeout, InterruptedError):
                    continue
                if not data:
                    self._mark_disconnected(ex, "eof")
                    raise _Disconnected
                # Anything else the client sends after its request is ignored.

    # ------------------------------------------------------------------ requests

    def _read_request(self, conn: socket.socket) -> Recorded | None:
        reader = _Reader(conn, self._wake_r, self._stopping, self.io_timeout)
        head = reader.read_until(b"\r\n\r\n", _MAX_HEAD)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        while lines and not lines[0]:  # tolerate stray CRLFs before the request line
            lines.pop(0)
        if not lines:
            raise ValueError("empty request head")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise ValueError(f"bad request line {lines[0]!r}") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"bad header line {line!r}")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = reader.read_chunked()
        elif "content-length" in headers:
            body = reader.read_exact(int(headers["content-length"]))
        else:
            body = b""
        parsed = None
        if body:
            try:
                parsed = _json.loads(body)
            except ValueError:
                parsed = None
        return Recorded(method, target, headers, body, parsed, time.monotonic())


class _Reader:
    """Buffered reads from a socket, each bounded by the I/O timeout and woken by stop."""

    def __init__(
        self, conn: socket.socket, wake: socket.socket, stopping: threading.Event, timeout: float
    ) -> None:
        self.conn = conn
        self.wake = wake
        self.stopping = stopping
        self.timeout = timeout
        self.buf = b""

    def _fill(self) -> bool:
        r, _, _ = select.select([self.conn, self.wake], [], [], self.timeout)
        if self.stopping.is_set():
            raise _Stopped
        if not r:
            raise socket.timeout(f"no request data within {self.timeout} s")
        data = self.conn.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, sep: bytes, limit: int) -> bytes | None:
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("request head too large")
            if not self._fill():
                if not self.buf:
                    return None
                raise ValueError("connection closed inside the request head")
        out, self.buf = self.buf.split(sep, 1)
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ValueError(f"connection closed after {len(self.buf)} of {n} body bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_chunked(self) -> bytes:
        parts = []
        while True:
            line = self.read_until(b"\r\n", 4096)
            if line is None:
                raise ValueError("connection closed inside a chunked body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers until an empty line
                    trailer = self.read_until(b"\r\n", 65536)
                    if not trailer:
                        return b"".join(parts)
            parts.append(self.read_exact(size))
            if self.read_exact(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")


def _drain_send_queue(conn: socket.socket, timeout: float) -> None:
    """Before a reset: wait (bounded) until the kernel has handed everything sent so far
    to the peer, so the RST does not discard data the test meant the client to see."""
    try:
        import fcntl
        import termios

        request = termios.TIOCOUTQ
    except (ImportError, AttributeError):
        return
    deadline = time.monotonic() + timeout
    buf = bytearray(4)
    while time.monotonic() < deadline:
        try:
            fcntl.ioctl(conn.fileno(), request, buf)
        except OSError:
            return
        if struct.unpack("i", bytes(buf))[0] == 0:
            return
        time.sleep(0.001)
