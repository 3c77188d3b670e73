"""Reference: the official openai SDK, `chat.completions.create(stream=True)`.

    python ref_openai_sdk.py openai BASE_URL MODEL PROMPT
"""

import sys

import openai


def main() -> None:
    _fmt, base, model, prompt = sys.argv[1:5]
    client = openai.OpenAI(base_url=base, api_key="bench", max_retries=0)
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], stream=True)
    for chunk in stream:
        if chunk.choices:
            text = chunk.choices[0].delta.content
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()


if __name__ == "__main__":
    main()
