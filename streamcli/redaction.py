"""Secrets out of text: the API key and credential-like header values replaced by ***,
wherever the tool prints or logs them (a server or proxy may echo them back)."""

from __future__ import annotations


def redact(text: str, secrets) -> str:
    """Every secret in `text` replaced by ***, longest first (one may hold another). A
    short one (under 8 characters) only where it stands alone, not inside a longer word:
    replacing every "ab" would garble the message and give the value away anyway."""
    for secret in sorted(secrets, key=len, reverse=True):
        if not secret or secret not in text:
            continue
        if len(secret) >= 8:
            text = text.replace(secret, "***")
        else:
            import re
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return text
