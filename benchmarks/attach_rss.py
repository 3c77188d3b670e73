"""Peak memory (maximum RSS, `/usr/bin/time -f %M`) of a run that attaches a big PDF.

    .venv/bin/python benchmarks/attach_rss.py [--mb 20] [--repeat 3]

A local server (a thread of this process, on 127.0.0.1) reads each request body whole,
checks that the attachment inside it decodes to the file, and answers with a short SSE
stream. Each command is a child process measured by /usr/bin/time: streamcli with no
attachment (the baseline), streamcli -a FILE on both protocols, streamcli -a - fed through
a pipe (copied to a temporary file as it is read), and `naive`, the copy-per-layer way (read the file, base64 it,
json.dumps the body, encode it, send it with httpx2), for comparison.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NAIVE = r"""
import base64, json, sys, httpx2
path, url = sys.argv[1:3]
with open(path, "rb") as f:
    data = base64.b64encode(f.read()).decode()
body = {"model": "claude-x", "max_tokens": 100, "stream": True, "messages": [{"role": "user",
        "content": [{"type": "document", "source": {"type": "base64",
                     "media_type": "application/pdf", "data": data}},
                    {"type": "text", "text": "summarize"}]}]}
payload = json.dumps(body, ensure_ascii=False).encode()
with httpx2.stream("POST", url + "/v1/messages", content=payload, timeout=60,
                   headers={"x-api-key": "k", "anthropic-version": "2023-06-01",
                            "content-type": "application/json"}) as r:
    for chunk in r.iter_raw():
        sys.stdout.buffer.write(chunk)
"""

SSE = {
    "anthropic": b"".join(
        f"event: {e}\ndata: {json.dumps(d)}\n\n".encode() for e, d in [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [],
                "model": "claude-x", "stop_reason": None, "usage": {"input_tokens": 1,
                                                                     "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "ok"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"})]),
    "openai": (b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-x","choices":'
               b'[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
               b"data: [DONE]\n\n"),
}


class Handler(BaseHTTPRequestHandler):
    expected: bytes = b""
    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = self.headers.get("content-length")
        chunked = "chunked" in self.headers.get("transfer-encoding", "")
        body = self.rfile.read(int(length)) if length else b""
        body_json = json.loads(body)
        content = body_json["messages"][-1]["content"]
        first = content[0] if isinstance(content, list) else {}
        data = first.get("source", {}).get("data") or first.get("file", {}).get("file_data", "")
        data = data.split(",", 1)[-1]
        ok = not data or base64.b64decode(data) == self.expected
        self.seen.append({"bytes": len(body), "chunked": chunked, "attachment_ok": ok})
        kind = "openai" if self.path.endswith("/chat/completions") else "anthropic"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(SSE[kind])))
        self.end_headers()
        self.wfile.write(SSE[kind])

    def log_message(self, *args):
        pass


def measure(argv, stdin_path=None, env=None) -> int:
    """Maximum RSS of the child in KiB; `stdin_path` is fed through a real pipe (cat)."""
    feeder = subprocess.Popen(["cat", stdin_path], stdout=subprocess.PIPE) if stdin_path else None
    try:
        r = subprocess.run(["/usr/bin/time", "-f", "%M", *argv],
                           stdin=feeder.stdout if feeder else subprocess.DEVNULL,
                           capture_output=True, env=env, timeout=120)
    finally:
        if feeder:
            feeder.stdout.close()
            feeder.wait(10)
    if r.returncode != 0:
        raise SystemExit(f"{argv} failed: {r.stderr.decode()[-500:]}")
    return int(r.stderr.decode().strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = int(args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = os.path.join(tmp, "big.pdf")
        with open(pdf, "wb") as f:
            f.write(b"%PDF-1.4\n" + os.urandom(size - 9))  # incompressible
        with open(pdf, "rb") as f:
            Handler.expected = f.read()
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        env = {**os.environ, "ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k",
               "NO_COLOR": "1", "STREAMCLI_CONFIG": os.path.join(tmp, "none.toml")}
        cli = [sys.executable, "-m", "streamcli", "--no-stdin", "--retries", "0"]
        anth = ["-m", "claude-x", "--base-url", url]
        oai = ["-m", "gpt-x", "--provider", "openai", "--base-url", url + "/v1"]
        cases = [
            ("streamcli, no attachment (baseline)", [*cli, *anth, "hi"], None),
            (f"streamcli -a {args.mb:g} MB PDF, Anthropic", [*cli, *anth, "-a", pdf, "q"], None),
            (f"streamcli -a {args.mb:g} MB PDF, OpenAI", [*cli, *oai, "-a", pdf, "q"], None),
            (f"streamcli -a - fed the {args.mb:g} MB PDF by a pipe, Anthropic",
             [sys.executable, "-m", "streamcli", "--retries", "0", *anth, "-a", "-", "q"], pdf),
            ("naive: read, base64, json.dumps, encode, httpx2",
             [sys.executable, "-c", NAIVE, pdf, url], None),
        ]
        print(f"| run ({args.mb:g} MB PDF = {size} bytes; {args.repeat} runs each) "
              "| peak RSS, MiB (median) | min-max |")
        print("|---|---:|---:|")
        for label, argv, stdin in cases:
            rss = [measure(argv, stdin, env) / 1024 for _ in range(args.repeat)]
            print(f"| {label} | {statistics.median(rss):.1f} | {min(rss):.1f}-{max(rss):.1f} |")
        server.shutdown()
        bad = [s for s in Handler.seen if not s["attachment_ok"] or s["chunked"]]
        print(f"\n{len(Handler.seen)} requests, all with a Content-Length and the attachment "
              f"intact" if not bad else f"\nBAD REQUESTS: {bad}")


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
