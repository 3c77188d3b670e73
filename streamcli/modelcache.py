"""The cache of model listings that `streamcli models` writes and -m completion reads.

`$XDG_CACHE_HOME/streamcli/models.json`: one listing per provider and URL, fresh for a
day; the shell completion of -m reads it and never fetches anything itself.

The file holds what the providers listed (model objects), the provider's name, its wire
protocol and its URL (without any user:password part), and when it was fetched: never a
key. It is replaced whole (a temporary file, then a rename), 0600 in a 0700 directory, and
a cache that cannot be read is no cache.
"""

from __future__ import annotations

import json
import os
import re
import time

from streamcli import safejson

MAX_AGE = 24 * 3600  # seconds: older listings are fetched again
VERSION = 1


def cache_path(environ) -> str:
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "streamcli", "models.json")


def _key(name: str, base_url: str) -> str:
    return f"{name} {public_url(base_url)}"


def public_url(url: str) -> str:
    """The URL without credentials (https://user:secret@host/ -> https://host/)."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1", url)


def load(environ) -> dict:
    """{key: listing}; empty when there is no cache or it cannot be used."""
    try:
        with open(cache_path(environ), "rb") as f:
            # safejson: a cache changed on disk must not bring NaN (invalid in `models
            # --json`) or nesting no encoder can write back
            data = safejson.loads(f.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("v") != VERSION:
        return {}
    listings = data.get("listings")
    if not isinstance(listings, dict):
        return {}
    return {k: v for k, v in listings.items() if isinstance(v, dict)
            and isinstance(v.get("models"), list) and isinstance(v.get("fetched_at"), (int, float))}


def cached(environ, name: str, base_url: str, now: float | None = None) -> list | None:
    """The models of a listing younger than a day, or None."""
    listing = load(environ).get(_key(name, base_url))
    now = time.time() if now is None else now
    if listing is None or not 0 <= now - listing["fetched_at"] < MAX_AGE:
        return None
    return listing["models"]


def store(environ, name: str, kind: str, base_url: str, models: list,
          now: float | None = None) -> None:
    """Record a listing (OSError for the caller to report as a warning)."""
    path = cache_path(environ)
    listings = load(environ)
    listings[_key(name, base_url)] = {
        "provider": name, "kind": kind, "base_url": public_url(base_url),
        "fetched_at": time.time() if now is None else now, "models": models}
    # ASCII: a lone surrogate a server sent in a name (as a JSON escape) stays escaped.
    data = json.dumps({"v": VERSION, "listings": listings}).encode()
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def completion_ids(environ, builtin: dict[str, tuple[str, tuple]], named: set) -> list[str]:
    """The model names -m may complete to: every cached listing's ids (NAME:ID for a
    provider of the config file), and the built-in names of each built-in provider
    (`builtin`: provider -> (its default URL, names)) not yet listed at that URL."""
    ids: list[str] = []
    listed = set()
    for listing in load(environ).values():
        name = listing.get("provider")
        listed.add((name, listing.get("base_url")))
        prefix = f"{name}:" if name in named else ""
        ids += [prefix + m["id"] for m in listing["models"] if isinstance(m, dict)
                and isinstance(m.get("id"), str) and _completable(m["id"])]
    for name, (url, names) in builtin.items():
        if (name, url) not in listed:
            ids += names
    return list(dict.fromkeys(ids))


def _completable(model_id: str) -> bool:
    """A name a shell can offer: printable, no blanks (a completion is one line)."""
    return bool(model_id) and model_id.isprintable() and not any(c.isspace() for c in model_id)
