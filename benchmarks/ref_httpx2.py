"""Reference: a minimal httpx2 client, manual SSE parsing, one write and flush per delta.

    python ref_httpx2.py {anthropic|openai} BASE_URL MODEL PROMPT

What a careful person writes in twenty lines: iter_lines(), keep the `data: ` lines,
json.loads each, print the text delta, flush.
"""

import json
import sys

import httpx2


def main() -> None:
    fmt, base, model, prompt = sys.argv[1:5]
    messages = [{"role": "user", "content": prompt}]
    if fmt == "anthropic":
        url = base.rstrip("/") + "/v1/messages"
        headers = {"x-api-key": "bench", "anthropic-version": "2023-06-01"}
        body = {"model": model, "max_tokens": 1024, "messages": messages, "stream": True}
    else:
        url = base.rstrip("/") + "/chat/completions"
        headers = {"authorization": "Bearer bench"}
        body = {"model": model, "messages": messages, "stream": True}
    out = sys.stdout.buffer
    with httpx2.stream("POST", url, headers=headers, json=body, timeout=60) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
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


if __name__ == "__main__":
    main()
