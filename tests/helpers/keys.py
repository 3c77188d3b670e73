"""API keys for the tests, and the check that none of them ever reaches the output."""

from __future__ import annotations

# Recognisable fake keys for the real-process runs: both hold SECRET_MARKER, so even a
# partial leak shows up in assert_no_secrets.
FAKE_ANTHROPIC_KEY = "sk-ant-test-SECRETKEY123"
FAKE_OPENAI_KEY = "sk-test-SECRETKEY456"
FAKE_KEYS = {"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY}
SECRET_MARKER = b"SECRETKEY"

# Plain keys for the in-process tests, which assert the exact header values sent.
ANTHROPIC_KEY = {"ANTHROPIC_API_KEY": "sk-ant-test"}
OPENAI_KEY = {"OPENAI_API_KEY": "sk-oai-test"}


def assert_no_secrets(*outputs) -> None:
    """No fake API key (not even part of one) in any of the outputs (bytes, str or None)."""
    for out in outputs:
        if out is None:
            continue
        data = out.encode("utf-8", "replace") if isinstance(out, str) else bytes(out)
        assert SECRET_MARKER not in data, f"an API key leaked into the output: {data[-2000:]!r}"
