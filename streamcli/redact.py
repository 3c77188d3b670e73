"""Secrets and terminal control kept out of what streamcli says.

Secrets and terminal control kept out of what streamcli says: the run's credentials
are replaced by *** in every error object and stderr line, before anything is cut short,
and control characters from a server become visible escapes on stderr.

`Redactor` holds one run's secrets (the API key, credential header values, passwords and
key parameters in URLs): each run has one (`Environment.redact`), which its stderr writer
and its error objects go through. Deep layers that quote what a server sent (a bad data
line, an error body) do so with `excerpt()`/`clip()`, which redact with the running
command's secrets *before* they cut, so that a key crossing the cut cannot leave its first
part behind.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar

MASK = "***"
# Shorter values are not secrets: keyless local servers are used with OPENAI_API_KEY=x,
# and masking every "x" would mangle the messages.
MIN_SECRET = 8
# C0 controls but tab and newline, DEL, and C1 controls (ESC [, OSC, CSI...): a server's
# text could otherwise set the window title, clear the screen or write the clipboard. And
# the bidirectional overrides and isolates, which would reorder what the reader sees.
# Zero-width characters are left alone: they drive nothing and hide nothing a terminal
# would otherwise show.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same and every line break, for text that must stay on its one line (a model id).
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# Names (of URL query parameters) whose values are credentials, checked in lower case.
_CREDENTIAL_NAME = re.compile(r"authoriz|(^|[-_.])auth($|[-_.])|api[-_]?key|token|secret|"
                              r"cookie|passw|credential|(^|[-_.])key$|(access|subscription)"
                              r"[-_]?key")


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character but newline and tab (`one_line`: those too)
    shown as an escape (\\x1b, \\u202e)."""
    pattern = _CONTROL_OR_BREAK if one_line else _CONTROL
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def _escape(match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Redactor:
    """One run's secrets, and the masking of them."""

    __slots__ = ("secrets",)

    def __init__(self, secrets=()) -> None:
        self.secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET}
        # A proxy or a server that echoes a header may quote it percent-encoded or in
        # base64 (Basic auth, a debug dump): those forms are masked too.
        found |= {form for s in found for form in encodings(s)}
        # Longest first, so that a key inside a longer credential ("Bearer KEY") goes whole.
        self.secrets = tuple(sorted(found | set(self.secrets), key=len, reverse=True))

    def __call__(self, text):
        """`text` (str, bytes or None) with every secret masked."""
        if not text or not self.secrets:
            return text
        if isinstance(text, bytes):
            for secret in self.secrets:
                text = text.replace(secret.encode("utf-8", "surrogateescape"), MASK.encode())
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def deep(self, value):
        """`value` (JSON: str, list, dict...) with every secret masked in every string,
        keys too; the same object when there are no secrets."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(v) for v in value]
        return value

    def stream(self, pieces):
        """The pieces of a text with every secret masked, exactly as masking the whole text
        at once would (a secret split across two pieces too; a mask that completes a
        shorter secret too): a long text is masked without being held whole, one secret
        after the other as __call__ does, each holding back fewer characters than itself.
        Yields the masked text in pieces."""
        for secret in self.secrets:
            pieces = _replaced(pieces, secret)
        yield from pieces

    def held(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a secret that
        the next piece completes (a key split across two deltas): a writer of pieces
        holds that many back until it knows."""
        longest = 0
        end = len(text)
        for secret in self.secrets:
            # The leftmost start that fits gives the longest end: look from there on.
            at = text.find(secret[0], max(0, end - len(secret) + 1))
            while 0 <= at and end - at > longest:
                if secret.startswith(text[at:]):
                    longest = end - at
                    break
                at = text.find(secret[0], at + 1)
        return longest

    def error(self, err):
        """Mask the secrets in every string field of an error (in place); returns it."""
        for name in ("message", "type", "request_id"):
            value = getattr(err, name, None)
            if isinstance(value, str):
                setattr(err, name, self(value))
        if hasattr(err, "message"):
            err.args = (err.message,)
        return err


def _replaced(pieces, secret: str):
    """str.replace(secret, MASK) over a text given in pieces (leftmost first, no overlap):
    every match that can start before the last len(secret) - 1 characters is found."""
    size, carry = len(secret), ""
    for piece in pieces:
        text = carry + piece
        out, start = [], 0
        at = text.find(secret)
        while at >= 0:
            out += (text[start:at], MASK)
            start = at + size
            at = text.find(secret, start)
        hold = max(start, len(text) - size + 1)
        out.append(text[start:hold])
        carry = text[hold:]
        done = "".join(out)
        if done:
            yield done
    if carry:
        yield carry


_B64_STANDARD, _B64_URLSAFE = "+/", "-_"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def encodings(secret: str) -> set[str]:
    """The other forms in which `secret` may be echoed: percent-encoded (upper and lower
    case hex, `+` for a space), and base64, standard and URL-safe, wherever it starts in
    the encoded text (its three alignments; at most the two characters at each end
    that share a group with what surrounds it stay as they are)."""
    import binascii  # built in: no start-up cost
    data = secret.encode("utf-8", "surrogateescape")  # undecodable bytes of os.environ: as sent
    forms = set()
    for case in ("%{:02X}", "%{:02x}"):
        forms.add("".join(chr(b) if chr(b) in _UNRESERVED else case.format(b) for b in data))
    forms.add(next(iter(forms)).replace("%20", "+"))
    for skip in range(3):
        part = data[skip:]
        part = part[:len(part) - len(part) % 3]
        if len(part) >= 6:
            text = binascii.b2a_base64(part, newline=False).decode()
            forms.update((text, text.translate(str.maketrans(_B64_STANDARD, _B64_URLSAFE))))
    forms.discard(secret)
    return forms


_running: ContextVar[Redactor] = ContextVar("streamcli_redactor", default=Redactor())


@contextmanager
def running(redactor: Redactor):
    """`redactor` is the one excerpt()/clip() use meanwhile (a command's run)."""
    token = _running.set(redactor)
    try:
        yield redactor
    finally:
        _running.reset(token)


def current() -> Redactor:
    """The running command's Redactor (see running())."""
    return _running.get()


def masked(text):
    """What a server sent, kept whole (a state file): redacted with the running command's
    secrets."""
    return _running.get()(text)


def clip(text: str, limit: int) -> str:
    """What a server sent, quoted in an error: redacted first, then cut to `limit`."""
    text = _running.get()(text)
    return text if len(text) <= limit else text[:limit] + "..."


def excerpt(data, limit: int = 120) -> str:
    """repr() of the start of a server's str or bytes, redacted before it is cut."""
    data = _running.get()(data)
    return repr(data[:limit])


# The user:password@ part of a URL: the password, or a user name alone, which is as often a
# token (https://TOKEN@host) as a name.
_USERINFO = re.compile(r"(://)(?:([^/?#@:]*):)?([^/?#@]*)(@)")
_QUERY_PARAM = re.compile(r"([?&;])([^=&;#]+)=([^&;#]*)")


def _credential_param(name: str) -> bool:
    name = name.lower()
    return name in ("key", "sig", "signature") or bool(_CREDENTIAL_NAME.search(name))


def proxy_secrets(environ) -> list[str]:
    """The credentials in the proxy settings (HTTPS_PROXY...), which httpx2 may quote."""
    return [s for k, v in environ.items() if k.lower().endswith("_proxy")
            for s in url_secrets(v)]


def url_secrets(url) -> list[str]:
    """The credentials a URL carries: the password of its user:password@ part (a user
    name alone: that name), and the values of query parameters named like keys (`?key=`,
    `&api_key=`, `&subscription-key=`, `&token=`, `&auth=`...)."""
    if not isinstance(url, str):
        return []
    found = [m.group(3) for m in _USERINFO.finditer(url)]
    found += [value for _, name, value in _QUERY_PARAM.findall(url) if _credential_param(name)]
    return [s for s in found if s]


def without_password(url: str) -> str:
    """The URL as it may be shown: its password (or a user name alone) and key parameters
    replaced by ***, however short they are."""
    url = _USERINFO.sub(lambda m: m.group(1) + ("" if m.group(2) is None else m.group(2) + ":")
                        + MASK + m.group(4), url, count=1)
    return _QUERY_PARAM.sub(lambda m: m.group(0) if not _credential_param(m.group(2))
                            else f"{m.group(1)}{m.group(2)}={MASK}", url)
