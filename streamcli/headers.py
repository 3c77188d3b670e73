"""-H/--header and the config's `headers`: checked, merged, credential values known.

Extra request headers are parsed and checked, merged over the ones streamcli sets, and the
credential-like values among them are listed for redaction wherever the tool prints or logs.

Rules: `-H 'Name: value'` is repeatable; flags win over the config file, and a later -H
over an earlier one of the same name (names are case-insensitive). -H replaces any
header streamcli sets (user-agent, anthropic-version, the auth header, content-type,
accept), except the ones that frame the HTTP message (host, content-length,
transfer-encoding, connection), which are refused. An empty value (`-H 'Name:'`) removes
the header, as in curl: one of the config file's, or one the provider's request sets
(anthropic-version, the auth header, content-type, accept). When -H (or the config)
gives the protocol's own auth header (x-api-key for Anthropic, authorization for OpenAI),
no API key is needed or sent.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from streamcli.errors import UsageError

# RFC 9110 section 5.6.2: a field name is a token.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key",
                           "cookie"})


# Gateways name theirs in many ways: Helicone-Auth, cf-aig-authorization, X-Api-Secret,
# x-apikey, Ocp-Apim-Subscription-Key, X-Amz-Security-Token...
_SECRET_ENDS = ("-key", "_key", "apikey", "-token", "_token", "-auth", "_auth",
                "authorization", "-secret", "_secret", "password", "-cookie", "credential",
                "credentials", "-signature")


def is_secret(name: str) -> bool:
    """A credential-like header, whose value is never shown."""
    name = name.lower()
    return name in _SECRET_NAMES or name.endswith(_SECRET_ENDS)


def parse(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """-H values, each 'Name: value', to (lower-case name, value) pairs in order."""
    out = []
    for item in items:
        name, sep, value = item.partition(":")
        if not sep:
            raise UsageError(f"-H expects 'Name: value', and {_shown(item)} has no colon")
        out.append(checked(name.strip(), value.strip(" \t"), "-H"))
    return tuple(out)


def from_config(table, where: str) -> tuple[tuple[str, str], ...]:
    """A provider's `headers = { "Name" = "value" }` from the config file."""
    if not isinstance(table, Mapping):
        raise UsageError(f"config file: {where} must be a table of \"Name\" = \"value\"")
    out = []
    for name, value in table.items():
        if not isinstance(value, str):
            raise UsageError(f"config file: {where}.{name} must be a string")
        out.append(checked(str(name).strip(), value.strip(" \t"), f"config file {where}"))
    return tuple(out)


def for_provider(entry: dict, name: str, flags: Iterable[tuple[str, str]]):
    """A provider's `headers` table from the config file, with the -H headers over it."""
    return merge(from_config(entry.get("headers", {}), f"providers.{name}.headers"), flags)


def checked(name: str, value: str, where: str) -> tuple[str, str]:
    if not name or not set(name) <= _TOKEN:
        raise UsageError(f"{where}: {name!r} is not a valid header name")
    lower = name.lower()
    if lower in FRAMING:
        raise UsageError(f"{where}: {name} frames the HTTP message and cannot be set")
    shown = "its value" if is_secret(lower) else repr(value)
    if "\r" in value or "\n" in value:
        raise UsageError(f"{where}: header {name}: {shown} contains CR or LF")
    if not all(c == "\t" or 32 <= ord(c) < 127 for c in value):
        raise UsageError(f"{where}: header {name}: {shown} has characters that cannot be "
                         "sent (only printable ASCII)")
    return lower, value


def _shown(item: str) -> str:
    """An -H argument in a message: never a credential (a value without a colon could be
    a pasted token)."""
    return repr(item) if len(item) <= 40 and item.isidentifier() else "the argument"


def merge(*layers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Later layers win by name; an empty value stays (it removes the header when the
    request is built)."""
    merged: dict[str, str] = {}
    for layer in layers:
        for name, value in layer:
            merged.pop(name, None)
            merged[name] = value
    return tuple(merged.items())


def apply(own: Mapping[str, str], extra: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers streamcli set, with the extra ones over them (empty value: removed)."""
    out = dict(own)
    for name, value in extra:
        out.pop(name, None)
        for key in [k for k in out if k.lower() == name]:
            del out[key]
        if value:
            out[name] = value
    return out


def names(extra: Iterable[tuple[str, str]]) -> frozenset:
    return frozenset(name for name, _ in extra)


def secrets(extra: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The values to redact: each credential-like header's value, and the credential
    after an auth scheme ("Bearer sk-..." -> also "sk-..."), which a server may echo alone."""
    out = []
    for name, value in extra:
        if not value or not is_secret(name):
            continue
        out.append(value)
        scheme, sep, rest = value.partition(" ")
        if sep and rest.strip() and scheme.isalpha():
            out.append(rest.strip())
    return tuple(out)


def public(extra: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers as they may be shown or stored: credential-like values as ***."""
    return tuple((n, "***" if is_secret(n) and v else v) for n, v in extra)
