"""The benchmark measures what it claims: its server frames the streams as asked (one
event per HTTP chunk, or several), every client it compares prints exactly what the
server sent in both framings, its correctness check rejects a run that lost or repeated a
delta, and its report computes the ratios it prints. Tiny sizes, no timing asserted."""

from __future__ import annotations

import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import report  # noqa: E402
from benchmarks.commands import (HTTPX2, RunResult, build_commands, check, child_env,  # noqa: E402
                                 importable, jsonl_text_line, run)
from benchmarks.server import BenchServer, Scenario, body_runs, delta_text  # noqa: E402

FRAMINGS = (1, 16)
PATHS = {"anthropic": "/v1/messages", "openai": "/chat/completions"}


@pytest.fixture(scope="module")
def server():
    with BenchServer() as s:
        yield s


def fetch_chunks(port: int, path: str) -> list[bytes]:
    """POST to the server and return the HTTP chunks of the response body, as sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}".encode())
        data = b""
        while True:
            got = conn.recv(65536)
            if not got:
                break
            data += got
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head, head
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n", body
            return chunks
        chunks.append(body[:size])
        assert body[size:size + 2] == b"\r\n"
        body = body[size + 2:]


@pytest.mark.parametrize("fmt", ["anthropic", "openai"])
@pytest.mark.parametrize("per_chunk", [1, 3, 16, 64])
def test_the_server_puts_per_chunk_whole_events_in_each_http_chunk(server, fmt, per_chunk):
    sc = Scenario(37, 5, per_chunk=per_chunk)
    chunks = fetch_chunks(server.port, f"/n{sc.n}s{sc.size}k{per_chunk}{PATHS[fmt]}")
    assert b"".join(chunks) == sc.body(fmt)  # the same SSE body in every framing
    events = [c.count(b"\n\n") for c in chunks]
    assert all(c.endswith(b"\n\n") for c in chunks)  # chunks end where events end
    assert events[:-1] == [per_chunk] * (len(chunks) - 1) and 1 <= events[-1] <= per_chunk


def test_a_long_stream_is_a_handful_of_distinct_chunks():
    """The server builds a million-delta body from a few byte strings (else it, not the
    client, would be what the rate figure measures)."""
    head, delta, tail = Scenario(1_000_000).events("anthropic")
    for per_chunk in (1, 16, 64):
        runs = body_runs(head, delta, 1_000_000, tail, per_chunk)
        assert len(runs) <= len(head) + 1 + len(tail)
        assert sum(count * deltas for _, count, deltas in runs) == 1_000_000


def _clients(sdk: bool = False):
    cmds = build_commands([sys.executable, "-m", "streamcli"], [], sdk=sdk)
    names = {c.name for c in cmds}
    assert {HTTPX2["anthropic"], HTTPX2["openai"], "**streamcli** (Anthropic, text)",
            "**streamcli** (OpenAI, text)", "**streamcli --jsonl** (Anthropic)",
            "**streamcli --raw-sse** (Anthropic)"} <= names, names
    return cmds


def test_every_client_prints_exactly_what_the_server_sent_in_both_framings(server, tmp_path):
    env = child_env(str(tmp_path))
    # The SDK scripts too (when installed): a second each, for the import of the SDK.
    jobs = [(cmd, Scenario(40, 7, per_chunk=k)) for k in FRAMINGS for cmd in _clients(sdk=True)]
    jobs.sort(key=lambda job: not job[0].sdk)  # the slow ones first
    assert any(cmd.sdk for cmd, _ in jobs) or not importable("anthropic")

    def one(job):
        cmd, sc = job
        return run(cmd.argv(server.url(sc.n, sc.size, sc.per_chunk)), env, timeout=60,
                   keep_output=True)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, jobs))
    for (cmd, sc), res in zip(jobs, results):
        where = f"{cmd.name}, {sc.per_chunk} events per chunk"
        assert check(cmd, sc, res) is None, (where, check(cmd, sc, res), res.stderr[-2000:])
        out = res.output
        if cmd.kind == "text":
            assert out in (sc.text().encode(), sc.text().encode() + b"\n"), where
        elif cmd.kind == "raw":
            assert out == sc.body(cmd.fmt), where
        else:
            lines = [json.loads(line) for line in out.splitlines()]
            assert lines[0]["type"] == "start" and lines[-1]["type"] == "end", where
            assert lines[-1]["status"] == "ok", where
            text = [x["text"] for x in lines if x["type"] == "text"]
            assert text == [delta_text(sc.size)] * sc.n, where


def fake_run(output: bytes) -> RunResult:
    """A finished run that printed `output` in one read."""
    return RunResult(first_byte=0.1, last_byte=0.2, nbytes=len(output), reads=1, head=[output],
                     status=0)


def test_the_check_rejects_a_lost_or_repeated_delta():
    cmds = {c.kind: c for c in _clients() if c.fmt == "anthropic"}
    sc = Scenario(50, 4)
    text, body = sc.text().encode(), sc.body("anthropic")
    line = jsonl_text_line(delta_text(sc.size))
    start = b'{"type":"start","v":1,"provider":"anthropic","model":"m","id":"x"}\n'
    end = b'{"type":"end","status":"ok","exit_code":0}\n'
    good = {"text": text + b"\n", "raw": body, "jsonl": start + line * sc.n + end}
    bad = {
        "text": [text[4:] + b"\n", text + text[:4] + b"\n", b""],
        "raw": [body.replace(body[-200:], b""), body + b"\n"],
        "jsonl": [start + line * (sc.n - 1) + end, start + line * (sc.n + 1) + end,
                  start + line * sc.n, start + line * sc.n + end.replace(b"ok", b"error")],
    }
    for kind, cmd in cmds.items():
        assert check(cmd, sc, fake_run(good[kind])) is None, kind
        for output in bad[kind]:
            assert check(cmd, sc, fake_run(output)) is not None, (kind, output[-80:])
    failed = fake_run(good["text"])
    failed.status = 9
    assert check(cmds["text"], sc, failed).startswith("exit status 9")


def test_the_report_divides_by_the_httpx2_script_of_the_same_api_and_framing():
    def row(name, fmt, **kw):
        return {"name": name, "fmt": fmt, "kind": "text", "streamcli": False, "sdk": False,
                "build": "", "mode": "", **kw}
    sc_a = "**streamcli** (Anthropic, text)"
    sc_o = "**streamcli** (OpenAI, text)"
    data = {
        "params": {"framings": [1, 16], "rss_framings": [1], "delta_size": 4,
                   "startup_deltas": 20, "deltas": 1000, "rss_deltas": [1000],
                   "rounds_startup": 1, "rounds_startup_sdk": 1, "rounds_rate": 3,
                   "rounds_latency": 1, "rounds_cancel": 1},
        "commands": [row(HTTPX2["anthropic"], "anthropic"), row(HTTPX2["openai"], "openai"),
                     row(sc_a, "anthropic", streamcli=True, mode="text"),
                     row(sc_o, "openai", streamcli=True, mode="text")],
        "results": {
            "1": {HTTPX2["anthropic"]: {"rate": [90.0, 100.0, 110.0]},
                  HTTPX2["openai"]: {"rate": [50.0, 50.0, 50.0]},
                  sc_a: {"rate": [110.0, 125.0, 300.0]}, sc_o: {"rate": [40.0, 45.0, 46.0]}},
            "16": {HTTPX2["anthropic"]: {"rate": [400.0]}, HTTPX2["openai"]: {"rate": [100.0]},
                   sc_a: {"rate": [480.0]}, sc_o: {"rate": [300.0]}},
        },
    }
    text = report.render(data)
    # medians: 125 / 100, 45 / 50; 480 / 400, 300 / 100
    assert "| **streamcli** (Anthropic, text) | - | - | 110 / 125 | 1.25 | 480 / 480 | 1.20 |" in text
    assert "| **streamcli** (OpenAI, text) | - | - | 40 / 45 | 0.90 | 300 / 300 | 3.00 |" in text
    assert "| rate, 1 event per chunk: streamcli (OpenAI, text) / httpx2 script >= 1.2 (medians) " \
           "| 0.90 | **missed** |" in text
    assert "| rate, 16 events per chunk: streamcli (Anthropic, text) / httpx2 script >= 1.2 " \
           "(medians) | 1.20 | met |" in text
    # A before/after comparison of two saved runs (the second with one rate halved).
    after = json.loads(json.dumps(data))
    after["results"]["16"][sc_o]["rate"] = [150.0]
    table = report.compare(data, after)
    assert "| **streamcli** (OpenAI, text) | - | - | - | - | 45 | 45 | 1.00 | 300 | 150 | 0.50 |" in table
    assert "| **streamcli** (OpenAI, text) | 0.90 | 0.90 | - | - | 3.00 | 1.50 | - | - |" in table


def test_json_decode_checks_the_shortcuts_against_json_loads_and_prints_its_tables(capsys):
    """benchmarks/json_decode.py asserts, before timing, that streamcli's JSON shortcuts
    return what json.loads does on every payload of the recorded streams."""
    from benchmarks import json_decode
    assert json_decode.main(["--number", "1", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "| OpenAI: content chunks of the fixtures | " in out, out
    assert "| Anthropic: text_delta payloads of the fixtures (compact) | " in out, out
