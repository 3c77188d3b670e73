"""The keys a config file may hold, with their types, checked as it is loaded.

The keys a config file may hold, with their types: checked as the file is loaded (a
wrong type is a usage error), and each unknown key named with the nearest known one.
"""

from __future__ import annotations

import re

from streamcli.errors import UsageError

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# The plain settings the file may give, with the types it must give them in (the ranges
# are the flags' own, checked by click).
SETTINGS = {"max_tokens": int, "temperature": float, "retries": int, "max_retry_wait": float,
            "connect_timeout": float, "idle_timeout": float, "timeout": float, "log": bool}
# Every key the file may hold, with its type: the top level (a part of streamcli that
# reads a new key adds it here, or the file's users get an "unknown key" warning)...
KEYS: dict[str, type] = {"model": str, "provider": str, "providers": dict, **SETTINGS}
# ... and a [providers.NAME] table.
PROVIDER_KEYS: dict[str, type] = {"kind": str, "base_url": str, "api_key_env": str,
                                  "api_key_cmd": str, "model": str, "headers": dict}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "a table",
               bool: "true or false", list: "a list"}


def check_types(table: dict, known: dict, prefix: str, path: str) -> None:
    """The known keys of `table` have the types streamcli reads them as (a bool is no
    integer, a float with a fraction no integer either; an integer is a number)."""
    for key, kind in known.items():
        if key not in table:
            continue
        value = table[key]
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise UsageError(f"config file {path}: {prefix}{key} must be "
                             f"{_TYPE_NAMES.get(kind, kind.__name__)}, not {_shown(value)}")


def _shown(value) -> str:
    """A value of the wrong type in a message: a number or a boolean as it is; text, a
    list or a table by its type alone, since it may hold a credential (`headers` given
    as "Authorization: Bearer sk-...")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        shown = repr(value)
        return shown if len(shown) <= 60 else shown[:60] + "..."
    return {str: "a string", list: "a list", dict: "a table"}.get(type(value), "another type")


def check_key_env(entry: dict, prefix: str, path: str) -> None:
    """`api_key_env` names a variable: a value that cannot be one is most likely the key
    itself, pasted in the wrong place, and is never repeated in the message."""
    name = entry.get("api_key_env")
    if name is not None and not _VARIABLE.fullmatch(name):
        raise UsageError(f"config file {path}: {prefix}api_key_env must be the name of an "
                         f"environment variable (letters, digits and _), not a key: put the "
                         f"key in that variable, or use api_key_cmd")


def unknown_key_warnings(config: dict, path: str) -> list[str]:
    """One warning per key the file has that streamcli does not know, with the nearest
    known one (a typo such as `modle` would otherwise be ignored in silence)."""
    found = [(key, KEYS, "") for key in config if key not in KEYS]
    for name, entry in config.get("providers", {}).items():
        found += [(key, PROVIDER_KEYS, f"providers.{name}.") for key in entry
                  if key not in PROVIDER_KEYS]
    if not found:
        return []
    import difflib  # only when there is something to suggest
    out = []
    for key, known, prefix in found:
        near = difflib.get_close_matches(key, list(known), n=1)
        hint = f" (did you mean {prefix}{near[0]}?)" if near else ""
        out.append(f"config file {path}: unknown key {prefix}{key}{hint}; it is ignored")
    return out
