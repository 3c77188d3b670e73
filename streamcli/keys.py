"""Where a provider's API key comes from, and how to say so in a message.

Where a provider's API key comes from: its environment variable, a named provider's
api_key_env, or its api_key_cmd (keycmd.py); each key is returned with a description of
its source, for the message of a rejected key.
"""

from __future__ import annotations

from streamcli.errors import UsageError


def api_key(name: str, kind: str, entry: dict, url: str, env, prov, kinds,
            timeout: float | None, where: str) -> tuple[str | None, str | None]:
    """(key, where it came from), or (None, None) for a keyless compatible server.
    `kinds`: the built-in provider names; `where`: the config file's path, for advice."""
    # Environment before config file. A named provider never falls back to
    # OPENAI_API_KEY/ANTHROPIC_API_KEY: that key must not travel to a third-party server.
    if name in kinds and env.get(prov.KEY_ENV):
        return checked(env[prov.KEY_ENV], prov.KEY_ENV), prov.KEY_ENV
    var = entry.get("api_key_env")
    if var and env.get(var):
        source = f"{var} (the api_key_env of provider {name!r})"
        return checked(env[var], source), source
    if entry.get("api_key_cmd"):
        source = f"the api_key_cmd of provider {name!r}"
        from streamcli.keycmd import key_from_command  # subprocess: only when there is one
        key = key_from_command(name, entry["api_key_cmd"], timeout)
        return checked(key, f"the output of {source}"), source
    # Anthropic and OpenAI's own URL always need a key; a compatible server (a local
    # vLLM, llama.cpp or Ollama) often has none.
    if kind == "anthropic" or "://api.openai.com" in url:
        if name in kinds:
            raise UsageError(f"no API key: set {prov.KEY_ENV}")
        if var:
            raise UsageError(f"no API key: set {var} (the api_key_env of provider {name!r})")
        raise UsageError(f"no API key for provider {name!r}: set the variable named by its "
                         f"api_key_env, or configure api_key_cmd, in {where}")
    return None, None


def checked(key: str, source: str) -> str:
    """A key pasted with a newline or spaces is trimmed; anything else that cannot be an
    HTTP header value is refused without echoing the key."""
    key = key.strip()
    if not key or not key.isascii() or not key.isprintable():
        raise UsageError(f"the API key in {source} contains characters that cannot be sent "
                         f"in an HTTP header")
    return key
