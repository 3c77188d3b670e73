"""Tests of the fake HTTP server the end-to-end tests run streamcli against
(tests/helpers/fakeserver.py).

Synchronisation is by events and gates only: no test sleeps to wait for the server, and
no test asserts how long anything took (every wait is bounded by T and fails the test
when it runs out).
"""

from __future__ import annotations

import json
import socket
import struct
import time

import httpx2
import pytest

from tests.helpers.fakeserver import FakeServer, Gate, Pause, Reply
from tests.helpers.sse import anthropic_error_body, anthropic_sse

T = 5.0  # bound for every wait in these tests


@pytest.fixture
def client():
    with httpx2.Client(timeout=T, trust_env=False) as c:
        yield c


def raw_connect(srv: FakeServer) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=T)
    return s


def raw_request(srv: FakeServer, body: bytes = b"{}", path: str = "/v1/messages") -> socket.socket:
    s = raw_connect(srv)
    s.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return s


def read_head(s: socket.socket) -> tuple[str, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        assert data, f"EOF inside the response head: {buf!r}"
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def read_exact(s: socket.socket, n: int, buf: bytes = b"") -> bytes:
    while len(buf) < n:
        data = s.recv(n - len(buf))
        assert data, f"EOF after {buf!r}"
        buf += data
    return buf


def read_to_eof(s: socket.socket, buf: bytes = b"") -> bytes:
    while True:
        data = s.recv(65536)
        if not data:
            return buf
        buf += data


# --------------------------------------------------------------------- requests


def test_records_request_headers_and_json(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply.json(200, {"ok": True}))
    payload = {"model": "claude-test", "messages": [{"role": "user", "content": "hé"}]}
    r = client.post(
        srv.url + "/v1/messages?beta=true",
        json=payload,
        headers={"X-Api-Key": "sk-test", "anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    assert r.headers["content-type"] == "application/json"
    assert r.headers["connection"] == "close"
    (rec,) = srv.wait_requests(1, timeout=T)
    assert rec.method == "POST"
    assert rec.path == "/v1/messages?beta=true"
    assert rec.headers["x-api-key"] == "sk-test"
    assert rec.headers["anthropic-version"] == "2023-06-01"
    assert rec.headers["content-type"] == "application/json"
    assert rec.headers["host"] == f"127.0.0.1:{srv.port}"
    assert json.loads(rec.body) == payload
    assert rec.json == payload
    assert rec.time is not None and rec.time <= time.monotonic()
    assert srv.exchanges[0].request is rec
    assert srv.errors == []


def test_chunked_request_body_and_get_without_body(fake_server):
    srv = fake_server
    srv.enqueue(Reply.json(200, {}), Reply.json(200, {}))
    s = raw_connect(srv)
    s.sendall(
        b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\n{\"a\r\n5;ext=1\r\n\": 1}\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    status, _, rest = read_head(s)
    assert status == "HTTP/1.1 200 OK"
    s.close()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=T) as s2:
        s2.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nAccept: text/plain\r\n\r\n")
        read_to_eof(s2)
    first, second = srv.wait_requests(2, timeout=T)
    assert first.body == b'{"a": 1}' and first.json == {"a": 1}
    assert (second.method, second.path, second.body, second.json) == ("GET", "/v1/models", b"", None)
    assert second.headers["accept"] == "*/*, text/plain"


def test_wait_requests_times_out(fake_server):
    with pytest.raises(TimeoutError):
        fake_server.wait_requests(1, timeout=0.05)


def test_queue_order_then_default(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply.json(200, {"n": 1}), Reply.json(201, {"n": 2}))
    assert srv.pending == 2
    assert client.get(srv.url + "/a").json() == {"n": 1}
    r2 = client.post(srv.url + "/b", content=b"x")
    assert (r2.status_code, r2.json()) == (201, {"n": 2})
    r3 = client.get(srv.url + "/c")
    assert r3.status_code == 500
    assert r3.json()["error"]["type"] == "api_error"
    srv.default = Reply.json(404, anthropic_error_body("not_found_error", "nope"))
    r4 = client.get(srv.url + "/d")
    assert r4.status_code == 404 and r4.json()["error"]["message"] == "nope"
    assert [r.path for r in srv.wait_requests(4)] == ["/a", "/b", "/c", "/d"]
    assert srv.pending == 0


def test_closed_port_refuses(client):
    port = FakeServer.closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=T)
    with pytest.raises(httpx2.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


# --------------------------------------------------------------------- framing


def test_chunked_wire_format_headers_and_gate(fake_server):
    srv = fake_server
    gate = Gate()
    srv.enqueue(
        Reply(body=[b"ab", "é", gate, b"c", b""], headers={"request-id": "req_123", "retry-after": "1"})
    )
    s = raw_request(srv)
    status, headers, rest = read_head(s)
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["connection"] == "close"
    assert headers["content-type"] == "text/event-stream"
    assert headers["request-id"] == "req_123" and headers["retry-after"] == "1"
    assert "content-length" not in headers
    expected = b"2\r\nab\r\n2\r\n\xc3\xa9\r\n"
    assert read_exact(s, len(expected), rest) == expected
    gate.wait_reached(T)
    assert srv.sent_time(1) is not None and srv.sent_time(3) is None
    gate.open()
    assert read_to_eof(s) == b"1\r\nc\r\n0\r\n\r\n"  # the empty part is not sent
    s.close()
    assert srv.wait_done(1, T)[0].error is None
    assert not srv.disconnected.is_set()


def test_gated_parts_arrive_as_separate_reads(fake_server, client):
    srv = fake_server
    gate = Gate()
    srv.enqueue(Reply(body=[b"part0", gate, b"part1"]))
    with client.stream("POST", srv.url + "/v1/messages", json={"stream": True}) as r:
        assert r.status_code == 200
        chunks = r.iter_raw()
        assert next(chunks) == b"part0"  # read while the server waits at the gate
        assert not gate.is_open
        gate.open()
        assert b"".join(chunks) == b"part1"


def test_one_byte_per_write(fake_server, client):
    srv = fake_server
    event = anthropic_sse(["Hi"])[3]
    gates = [Gate() for _ in event]
    body = []
    for byte, gate in zip(event, gates):
        body += [bytes([byte]), gate]
    srv.enqueue(Reply(body=body))
    with client.stream("POST", srv.url + "/v1/messages") as r:
        chunks = r.iter_raw()
        got = []
        for byte, gate in zip(event, gates):
            got.append(next(chunks))
            assert got[-1] == bytes([byte])
            gate.open()
        assert list(chunks) == []
    assert b"".join(got) == event


def test_length_framing_and_sent_times(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"abc", Pause(0.05), "dé"], framing="length"))
    r = client.get(srv.url + "/")
    assert r.headers["content-length"] == str(len("abcdé".encode()))
    assert "transfer-encoding" not in r.headers
    assert r.content == "abcdé".encode()
    (ex,) = srv.wait_done(1, T)
    # In order: part 1 (the pause) is done before part 2 goes. That a pause holds back
    # what follows it is test_disconnect_during_pause_is_seen_without_writing.
    assert ex.head_time <= srv.sent_time(0) <= srv.sent_time(1) <= srv.sent_time(2)
    assert srv.wait_sent(2, T) == srv.sent_time(2)


def test_close_framing_ends_at_eof(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"data: 1\n\n", b"data: 2\n\n"], framing="close"))
    r = client.get(srv.url + "/")
    assert "content-length" not in r.headers and "transfer-encoding" not in r.headers
    assert r.content == b"data: 1\n\ndata: 2\n\n"


def test_raw_reply(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply.raw([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"hi"]))
    assert client.get(srv.url + "/").text == "hi"


# --------------------------------------------------------------------- end modes


def test_end_drop_chunked_is_an_incomplete_body(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"data: 1\n\n"], end="drop"))
    got = []
    with pytest.raises(httpx2.RemoteProtocolError):
        with client.stream("POST", srv.url + "/") as r:
            for chunk in r.iter_raw():
                got.append(chunk)
    assert got == [b"data: 1\n\n"]
    assert not srv.disconnected.is_set()


def test_end_drop_length_is_an_incomplete_body(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"abc"], framing="length", end="drop"))
    with pytest.raises(httpx2.RemoteProtocolError):
        client.get(srv.url + "/")
    srv.enqueue(Reply(body=[b"abc"], framing="length", end="drop"))
    s = raw_request(srv)
    _, headers, rest = read_head(s)
    assert headers["content-length"] == "4"
    assert read_to_eof(s, rest) == b"abc"
    s.close()


def test_end_reset_after_data(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"data: 1\n\n"], end="reset"), Reply(body=[b"x"], end="reset"))
    got = []
    with pytest.raises(httpx2.ReadError) as info:
        with client.stream("POST", srv.url + "/") as r:
            for chunk in r.iter_raw():
                got.append(chunk)
    assert got == [b"data: 1\n\n"]  # the data sent before the reset is not lost
    assert isinstance(info.value.__context__ or info.value.__cause__, ConnectionResetError) or (
        "reset" in str(info.value).lower()
    )
    s = raw_request(srv)
    status, _, rest = read_head(s)
    assert status == "HTTP/1.1 200 OK"
    with pytest.raises(ConnectionResetError):
        read_to_eof(s, rest)
    s.close()


def test_raw_reset_before_any_response(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply.raw([], end="reset"))
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        client.post(srv.url + "/v1/messages", json={})
    assert len(srv.wait_requests(1)) == 1


def test_end_hang_then_client_closes(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=anthropic_sse(["a", "b"])[:3], end="hang"))
    with client.stream("POST", srv.url + "/v1/messages") as r:
        chunks = r.iter_raw()  # keep a reference: a discarded iterator closes the response
        assert next(chunks)
        srv.wait_requests(1)
        (ex,) = srv.exchanges
        ex.wait_sent(2, T)
        assert not srv.disconnected.is_set()
        closed_at = time.monotonic()
    assert srv.disconnected.wait(T)
    assert ex.disconnected.is_set() and ex.disconnect_how in ("eof", "reset")
    assert srv.disconnect_time is not None and srv.disconnect_time >= closed_at
    assert ex.done.wait(T)
    assert srv.errors == []


def test_end_hang_client_read_timeout(fake_server):
    srv = fake_server
    srv.enqueue(Reply(body=[b"data: 1\n\n"], framing="close", end="hang"))
    with httpx2.Client(timeout=httpx2.Timeout(T, read=0.2), trust_env=False) as c:
        with pytest.raises(httpx2.ReadTimeout):
            c.get(srv.url + "/")
    assert srv.disconnected.wait(T)


# --------------------------------------------------------------------- disconnects


def test_disconnect_during_pause_is_seen_without_writing(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"data: 1\n\n", Pause(30), b"data: 2\n\n"]))
    with client.stream("POST", srv.url + "/") as r:
        chunks = r.iter_raw()
        assert next(chunks) == b"data: 1\n\n"
        srv.wait_sent(0, T)
        assert not srv.disconnected.is_set()
        closed_at = time.monotonic()
    # Seen while the server sat in the 30 s pause (the wait is bounded far below that),
    # by watching the socket, not by a failing write:
    assert srv.disconnected.wait(T)
    (ex,) = srv.exchanges
    assert ex.disconnect_how in ("eof", "reset")  # RST if the client left data unread
    assert srv.disconnect_time >= closed_at
    assert ex.done.wait(T)
    assert ex.sent_time(1) is None and ex.sent_time(2) is None  # stopped in the pause


def test_disconnect_at_gate(fake_server, client):
    srv = fake_server
    gate = Gate()
    srv.enqueue(Reply(body=[b"data: 1\n\n", gate, b"data: 2\n\n"]))
    with client.stream("POST", srv.url + "/") as r:
        chunks = r.iter_raw()
        next(chunks)
        gate.wait_reached(T)
        assert not srv.disconnected.is_set()
    assert srv.disconnected.wait(T)
    assert srv.exchanges[0].done.wait(T)
    assert srv.errors == []


def test_disconnect_seen_by_a_failing_send(fake_server):
    srv = fake_server
    big = b"x" * (1 << 20)
    srv.enqueue(Reply(body=[big] * 64, framing="close"))  # far more than socket buffers
    s = raw_request(srv)
    srv.wait_requests(1, timeout=T)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # without reading: the server's sends fail
    assert srv.disconnected.wait(T)
    (ex,) = srv.exchanges
    assert ex.disconnect_how == "send"
    assert ex.done.wait(T)
    assert ex.sent_time(63) is None


def test_client_gives_up_before_headers(fake_server):
    srv = fake_server
    srv.enqueue(Reply(body=[b"late"], before=[Pause(30)]))
    with httpx2.Client(timeout=httpx2.Timeout(T, read=0.2), trust_env=False) as c:
        with pytest.raises(httpx2.ReadTimeout):
            c.get(srv.url + "/")
    assert srv.disconnected.wait(T)
    assert srv.exchanges[0].head_time is None


def test_gate_timeout_drops_and_is_recorded(fake_server, client):
    srv = fake_server
    srv.enqueue(Reply(body=[b"a", Gate(timeout=0.1), b"b"]))
    with pytest.raises(httpx2.RemoteProtocolError):
        client.get(srv.url + "/")
    srv.wait_done(1, T)
    assert len(srv.errors) == 1 and "gate" in srv.errors[0]


def test_close_wakes_hanging_connections():
    srv = FakeServer(hang_timeout=60).start()
    srv.enqueue(Reply(body=[b"a"], end="hang"))
    s = raw_request(srv)
    _, _, rest = read_head(s)
    srv.wait_sent(0, T)
    srv.close()
    # The connection would hang for 60 s and close() waits at most 5 s for its threads:
    # done when close() returns means close() woke it.
    assert srv.exchanges[0].done.is_set()
    assert not srv.disconnected.is_set()  # the server left, not the client
    assert read_to_eof(s, rest) == b"1\r\na\r\n"  # the server closed the connection mid-body
    s.close()


def test_reply_validation():
    with pytest.raises(ValueError):
        Reply(framing="nope")
    with pytest.raises(ValueError):
        Reply(end="nope")
    with pytest.raises(TypeError):
        Reply(body=[42])
    with pytest.raises(TypeError):
        FakeServer().enqueue("not a reply")
