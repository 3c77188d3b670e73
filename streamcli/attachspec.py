"""An -a argument as what it names (stdin, a URL, a file) and as messages show it.

Messages show an argument with a URL's credentials (`user:secret@`) as *** and quoted
when it holds characters a terminal would act on; the credentials are also listed for
redaction, since a server that cannot fetch the URL may quote it back.
"""

from __future__ import annotations

import os

from streamcli.errors import UsageError

# Names of stdin itself, read as `-` is: a file opened by such a name is stdin again, and
# the prompt must not read it a second time.
STDIN_PATHS = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def reads_stdin(spec: str) -> bool:
    return spec in STDIN_PATHS


def file_name(path: str) -> str:
    """A file's base name as it may go into JSON: bytes that were not UTF-8 in the file
    system (surrogate escapes) become U+FFFD."""
    name = os.path.basename(path.rstrip(os.sep)) or path
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_url(spec: str) -> bool:
    return spec[:8].lower().startswith(("http://", "https://"))


def shown(spec: str) -> str:
    """`spec` as a message may show it (credentials masked; quoted when not printable:
    a newline, an escape sequence, bytes that were not UTF-8)."""
    spec = masked(spec)
    return spec if spec.isprintable() else repr(spec)


def masked(spec: str) -> str:
    info = _userinfo(spec) if is_url(spec) else None
    return spec.replace(info + "@", "***@", 1) if info else spec


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret of a URL's userinfo: its password, or a lone token (`https://TOKEN@host`)."""
    info = _userinfo(url)
    if not info:
        return ()
    user, colon, password = info.partition(":")
    if colon:
        return (password,) if password else ()
    return (user,)


def _userinfo(url: str) -> str | None:
    """The `user:password` before the host (the authority's last @ ends it, as urlsplit
    reads it), or None."""
    authority = url.split("://", 1)[1] if "://" in url else ""
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    info, at, _host = authority.rpartition("@")
    return info if at and info else None


def check_url(spec: str) -> None:
    """A URL that can be sent as a reference: no spaces or control characters, and a host."""
    if any(c.isspace() or not c.isprintable() for c in spec):
        raise UsageError(f"-a {masked(spec)!r}: a URL cannot contain spaces or control "
                         "characters")
    from urllib.parse import urlsplit
    try:
        host = urlsplit(spec).hostname
    except ValueError as exc:  # e.g. an unclosed [IPv6 address
        raise UsageError(f"-a {shown(spec)}: not a valid URL ({exc})") from None
    if not host:
        raise UsageError(f"-a {shown(spec)}: not a valid URL (it names no host)")
