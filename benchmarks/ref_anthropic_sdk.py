"""Reference: the official anthropic SDK, `messages.stream()` and `text_stream`.

    python ref_anthropic_sdk.py anthropic BASE_URL MODEL PROMPT
"""

import sys

import anthropic


def main() -> None:
    _fmt, base, model, prompt = sys.argv[1:5]
    client = anthropic.Anthropic(base_url=base, api_key="bench", max_retries=0)
    with client.messages.stream(model=model, max_tokens=1024,
                                messages=[{"role": "user", "content": prompt}]) as stream:
        for text in stream.text_stream:
            sys.stdout.write(text)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
