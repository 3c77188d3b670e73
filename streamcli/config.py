"""The config file, read and validated, and where a request goes (provider, URL, key).

Precedence is flags > environment > config file > built-in defaults. For the plain
settings (max_tokens, retries, timeouts...) click applies it: `defaults()` hands the
file's values to click as its default_map. Model, provider, URL and key have rules of
their own (a model may name its provider), applied by `resolve()`.

The config file is `$XDG_CONFIG_HOME/streamcli/config.toml` (or `$STREAMCLI_CONFIG`):

    model = "claude-sonnet-4-5"        # default model
    provider = "anthropic"             # default provider when the model does not tell
    max_tokens = 4096
    log = false                        # keep no local log of exchanges

    [providers.local]                  # a named provider: -m local:llama3.2
    kind = "openai"                    # wire protocol: openai, openai-responses or anthropic
    base_url = "http://localhost:11434/v1"
    api_key_env = "LOCAL_API_KEY"      # or api_key_cmd = "pass show local-llm"
    model = "llama3.2"                 # its default model
    headers = { "X-Team" = "search" }  # sent with every request to it (-H wins)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from streamcli import headers as extra_headers
from streamcli.errors import UsageError
from streamcli.providers import KINDS

DEFAULT_MODEL = "claude-sonnet-4-5"
# OpenAI's model names, Responses-only ones (codex-mini-latest, computer-use-preview) too
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt-|o1|o3|o4|codex-mini|computer-use-preview)")
_OFFICIAL_OPENAI = "://api.openai.com"


# The plain settings the file may give, with the types it must give them in (the ranges
# are the flags' own, checked by click).
SETTINGS = {"max_tokens": int, "temperature": float, "retries": int, "max_retry_wait": float,
            "connect_timeout": float, "idle_timeout": float, "timeout": float, "log": bool}
_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false"}


def config_path(environ=None) -> str:
    # os.path, not pathlib: pathlib costs ~5 ms of start-up, for one join.
    environ = os.environ if environ is None else environ
    explicit = environ.get("STREAMCLI_CONFIG")
    if explicit:
        return explicit
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(base, "streamcli", "config.toml")


def defaults(config: dict) -> dict:
    """The file's plain settings, for click's default_map (so flags and STREAMCLI_*
    variables win over them, and the flags' ranges apply to them too)."""
    out = {}
    for name, kind in SETTINGS.items():
        if name not in config:
            continue
        value = config[name]
        ok = isinstance(value, kind) or (kind is float and isinstance(value, int))
        if not ok or (isinstance(value, bool) and kind is not bool):
            raise UsageError(f"config file: {name} must be {_KIND_NAMES[kind]}, not {value!r}")
        out[name] = value
    return out


def load_config(path: str | None = None, environ=None) -> dict:
    path = path or config_path(environ)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read the config file {path}: {exc.strerror}") from None
    import tomllib  # only when there is a file: start-up stays lean without one
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path}: {exc}") from None
    providers = config.get("providers", {})
    if not isinstance(providers, dict) or not all(isinstance(p, dict) for p in providers.values()):
        raise UsageError(f"config file {path}: [providers.NAME] must be tables")
    for name, entry in providers.items():
        kind = entry.get("kind", "openai")
        if kind not in KINDS:
            raise UsageError(f"config file {path}: providers.{name}.kind must be one of "
                             f"{', '.join(KINDS)}, not {kind!r}")
    return config


def provider_names(config: dict) -> list[str]:
    return [*KINDS, *sorted(n for n in config.get("providers", {}) if n not in KINDS)]


@dataclass(frozen=True)
class Target:
    """Where a request goes: wire protocol, model, URL and key."""

    kind: str
    name: str  # "anthropic", "openai" or the config's provider name
    model: str
    base_url: str
    api_key: str | None
    headers: tuple[tuple[str, str], ...] = ()  # its config `headers`, -H over them


def resolve(config: dict, *, model: str | None, provider: str | None, provider_is_flag: bool,
            base_url: str | None, environ, need_key: bool = True, api: str | None = None,
            need_model: bool = True, headers: tuple = ()) -> Target:
    """`model` and `provider` as click resolved them (flag, else STREAMCLI_MODEL /
    STREAMCLI_PROVIDER); `provider_is_flag`: the provider came from --provider, which
    beats a model that names its provider, where STREAMCLI_PROVIDER does not. `api`:
    --api ("chat" or "responses"), which picks the protocol of an OpenAI-kind target."""
    env = environ
    named = config.get("providers", {})
    env_provider = None if provider_is_flag else provider
    provider = provider if provider_is_flag else None
    model = model or None
    configured = config.get("model")
    if not provider and model:
        provider, model = _split(model, named)
    elif not model and configured:
        picked, bare = _split(configured, named)
        chosen = provider or env_provider
        if picked and not chosen:  # "local:llama3.2" in the file, nothing said otherwise
            provider, model = picked, bare
        elif picked:  # the file's model is for `picked`: usable only if that is chosen
            configured = bare if picked == chosen else None
    name = (provider or _infer(model) or env_provider
            or config.get("provider") or _infer(None if model else configured)
            or ("openai" if base_url else None))
    if name is None and not (model or configured):
        name = "anthropic"
    if name is None:
        raise UsageError(f"cannot tell the provider of model {model or configured!r}: pass --provider "
                         f"({', '.join(provider_names(config))}) or set STREAMCLI_PROVIDER")
    return _target(config, name, model, configured, base_url, env, need_key, api,
                   need_model and need_key, headers)


def _target(config, name, model, configured, base_url, env, need_key, api=None,
            need_model=True, flag_headers=()) -> Target:
    named = config.get("providers", {})
    entry = named.get(name, {})
    if name not in KINDS and name not in named:
        raise UsageError(f"unknown provider {name!r}: choose one of "
                         f"{', '.join(provider_names(config))}, or define [providers.{name}] "
                         f"in {config_path(env)}")
    kind = entry.get("kind", name if name in KINDS else "openai")
    model = model or entry.get("model") or configured or _default_model(kind)
    if model is None and need_model:
        raise UsageError("no model: pass -m MODEL (or set STREAMCLI_MODEL)")
    from streamcli.providers import load
    prov = load(kind)
    url = (base_url or (env.get(prov.URL_ENV) if name in KINDS else None)
           or entry.get("base_url") or prov.DEFAULT_BASE_URL)
    kind = _protocol(kind, name, api, model, url)
    headers = extra_headers.for_provider(entry, name, flag_headers)
    if load(kind).AUTH_HEADER in extra_headers.names(headers):  # given outright: no key
        need_key = False
    key = _api_key(name, kind, entry, url, env, prov) if need_key else None
    return Target(kind, name, model, url, key, headers)


def _protocol(kind: str, name: str, api: str | None, model: str | None, url: str) -> str:
    """The wire protocol of an OpenAI-kind target: --api decides; else, on OpenAI's own
    URL, a model that exists only in the Responses API picks it."""
    if kind == "anthropic" and api:
        raise UsageError(f"--api {api}: provider {name!r} speaks the Anthropic Messages API; "
                         f"--api chooses between OpenAI's Chat Completions (chat) and "
                         f"Responses (responses) APIs")
    if api and kind != "anthropic":
        return "openai" if api == "chat" else "openai-responses"
    if kind == "openai" and _OFFICIAL_OPENAI in url:
        from streamcli.providers.responses.request import responses_only
        return "openai-responses" if responses_only(model) else kind
    return kind


def _split(model: str, named: dict) -> tuple[str | None, str]:
    """"local:llama3.2" picks a named provider, but only when the part before the first
    colon names one: Ollama model names such as "llama3.2:3b" contain colons."""
    prefix, sep, rest = model.partition(":")
    if sep and (prefix in named or prefix in KINDS):
        return prefix, rest
    return None, model


def _infer(model: str | None) -> str | None:
    if not model:
        return None
    if model.startswith("claude-"):
        return "anthropic"
    if _OPENAI_MODEL.match(model):
        return "openai"
    return None


def _default_model(kind: str) -> str | None:
    return DEFAULT_MODEL if kind == "anthropic" else None


def _api_key(name: str, kind: str, entry: dict, url: str, env, prov) -> str | None:
    # Environment before config file. A named provider never falls back to
    # OPENAI_API_KEY/ANTHROPIC_API_KEY: that key must not travel to a third-party server.
    if name in KINDS and env.get(prov.KEY_ENV):
        return _checked_key(env[prov.KEY_ENV], prov.KEY_ENV)
    if entry.get("api_key_env") and env.get(entry["api_key_env"]):
        return _checked_key(env[entry["api_key_env"]], entry["api_key_env"])
    if entry.get("api_key_cmd"):
        from streamcli.keycmd import key_from_command
        return _checked_key(key_from_command(name, entry["api_key_cmd"]),
                            f"the output of api_key_cmd of provider {name!r}")
    # Anthropic and OpenAI's own URL always need a key; a compatible server (a local
    # vLLM, llama.cpp or Ollama) often has none.
    if kind == "anthropic" or _OFFICIAL_OPENAI in url:
        if name in KINDS:
            raise UsageError(f"no API key: set {prov.KEY_ENV}")
        if entry.get("api_key_env"):
            raise UsageError(f"no API key: set {entry['api_key_env']} (the api_key_env of "
                             f"provider {name!r})")
        raise UsageError(f"no API key for provider {name!r}: set the variable named by its "
                         f"api_key_env, or configure api_key_cmd, in {config_path(env)}")
    return None


def _checked_key(key: str, source: str) -> str:
    """A key pasted with a newline or spaces is trimmed; anything else that cannot be an
    HTTP header value is refused without echoing the key."""
    key = key.strip()
    if not key or not key.isascii() or not key.isprintable():
        raise UsageError(f"the API key in {source} contains characters that cannot be sent "
                         f"in an HTTP header")
    return key
