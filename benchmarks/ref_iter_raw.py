"""Reference ceiling for an httpx2 client: iterate iter_raw() and write each chunk as it
comes, no SSE and no JSON work at all (its output is the SSE body, like curl's).

    python ref_iter_raw.py {anthropic|openai} BASE_URL MODEL PROMPT
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
    with httpx2.stream("POST", url, headers=headers, content=json.dumps(body).encode(),
                       timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            out.write(chunk)
            out.flush()


if __name__ == "__main__":
    main()
