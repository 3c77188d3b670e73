"""The reference for `streamcli batch run`: a minimal asyncio script with the official SDK's
async client and a semaphore, as a careful person would write it for many requests.

    python ref_batch_sdk.py BASE_URL MODEL JOBS < prompts.txt > results.jsonl

One prompt per input line; one JSON line per answer on stdout (the SDK's own message
object), as each completes.
"""

import asyncio
import sys

import anthropic


async def main(base_url: str, model: str, jobs: int) -> int:
    client = anthropic.AsyncAnthropic(base_url=base_url)  # the key from ANTHROPIC_API_KEY
    semaphore = asyncio.Semaphore(jobs)
    out = sys.stdout

    async def one(prompt: str) -> None:
        async with semaphore:
            message = await client.messages.create(
                model=model, max_tokens=64, messages=[{"role": "user", "content": prompt}])
        out.write(message.model_dump_json() + "\n")

    prompts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    await asyncio.gather(*(one(p) for p in prompts))
    out.flush()
    await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
