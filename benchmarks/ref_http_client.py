"""Reference: the standard library only (http.client + json), manual SSE parsing, one
write and flush per delta.

    python ref_http_client.py {anthropic|openai} BASE_URL MODEL PROMPT
"""

import http.client
import json
import sys
from urllib.parse import urlsplit


def main() -> None:
    fmt, base, model, prompt = sys.argv[1:5]
    messages = [{"role": "user", "content": prompt}]
    if fmt == "anthropic":
        path = "/v1/messages"
        headers = {"x-api-key": "bench", "anthropic-version": "2023-06-01"}
        body = {"model": model, "max_tokens": 1024, "messages": messages, "stream": True}
    else:
        path = "/chat/completions"
        headers = {"authorization": "Bearer bench"}
        body = {"model": model, "messages": messages, "stream": True}
    url = urlsplit(base.rstrip("/") + path)
    headers["content-type"] = "application/json"
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request("POST", url.path, body=json.dumps(body).encode(), headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        sys.exit(f"HTTP {response.status}")
    out = sys.stdout.buffer
    for line in response:
        if not line.startswith(b"data: "):
            continue
        data = line[6:].rstrip(b"\r\n")
        if data == b"[DONE]":
            break
        obj = json.loads(data)
        if fmt == "anthropic":
            kind = obj["type"]
            if kind == "content_block_delta" and obj["delta"]["type"] == "text_delta":
                text = obj["delta"]["text"]
            elif kind == "message_stop":
                break
            else:
                continue
        else:
            choices = obj.get("choices")
            text = choices[0]["delta"].get("content") if choices else None
            if not text:
                continue
        out.write(text.encode())
        out.flush()
    conn.close()


if __name__ == "__main__":
    main()
