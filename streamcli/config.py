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

from streamcli import bounded
from streamcli import headers as extra_headers
from streamcli.configkeys import KEYS, PROVIDER_KEYS, SETTINGS, check_key_env, check_types
from streamcli.errors import UsageError
from streamcli.keys import api_key
from streamcli.providers import KINDS

DEFAULT_MODEL = "claude-sonnet-4-5"
# OpenAI's model names, Responses-only ones (codex-mini-latest, computer-use-preview) too
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt-|o1|o3|o4|codex-mini|computer-use-preview)")
_OFFICIAL_OPENAI = "://api.openai.com"


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
    """The file's plain settings (configkeys.SETTINGS), for click's default_map (so flags
    and STREAMCLI_* variables win over them, and the flags' ranges apply to them too);
    their types were checked as the file was loaded."""
    return {name: config[name] for name in SETTINGS if name in config}


def load_config(path: str | None = None, environ=None) -> dict:
    path = path or config_path(environ)
    try:
        with open(path, "rb") as f:
            data = bounded.read(f, bounded.CONFIG_LIMIT, f"the config file {path}")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read the config file {path}: {exc.strerror}") from None
    import tomllib  # only when there is a file: start-up stays lean without one
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path}: {exc}") from None
    except RecursionError:
        raise UsageError(f"config file {path}: nested too deeply") from None
    check_types(config, KEYS, "", path)
    providers = config.get("providers", {})
    if not all(isinstance(p, dict) for p in providers.values()):
        raise UsageError(f"config file {path}: [providers.NAME] must be tables")
    for name, entry in providers.items():
        check_types(entry, PROVIDER_KEYS, f"providers.{name}.", path)
        check_key_env(entry, f"providers.{name}.", path)
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
    key_source: str | None = None  # where api_key came from ("ANTHROPIC_API_KEY", ...)


def resolve(config: dict, *, model: str | None, provider: str | None, provider_is_flag: bool,
            base_url: str | None, environ, need_key: bool = True, api: str | None = None,
            need_model: bool = True, headers: tuple = (),
            key_timeout: float | None = None) -> Target:
    """`model` and `provider` as click resolved them (flag, else STREAMCLI_MODEL /
    STREAMCLI_PROVIDER); `provider_is_flag`: the provider came from --provider, which
    beats a model that names its provider, where STREAMCLI_PROVIDER does not. `api`:
    --api ("chat" or "responses"), which picks the protocol of an OpenAI-kind target.
    `key_timeout`: --timeout, which bounds an api_key_cmd too."""
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
            or _kind_of_url(base_url, env))
    if name is None and not (model or configured):
        name = "anthropic"
    if name is None:
        raise _unknown_provider(model or configured, config, env)
    return _target(config, name, model, configured, base_url, env, need_key, api,
                   need_model and need_key, headers, key_timeout)


def _kind_of_url(base_url: str | None, env) -> str | None:
    """A URL given for one protocol says the model is served that way: --base-url and
    OPENAI_BASE_URL (its environment form) for OpenAI-compatible servers, and
    ANTHROPIC_BASE_URL alone for an Anthropic-compatible one."""
    if base_url or env.get("OPENAI_BASE_URL"):
        return "openai"
    if env.get("ANTHROPIC_BASE_URL"):
        return "anthropic"
    return None


def _unknown_provider(model: str, config: dict, env) -> UsageError:
    names = ", ".join(provider_names(config))
    prefix, sep, _ = model.partition(":")
    if sep and prefix:  # meant as NAME:MODEL, most likely
        return UsageError(f"no provider {prefix!r} in the config file {config_path(env)} (known: "
                          f"{names}); for a model name with a colon, pass --provider")
    return UsageError(f"cannot tell the provider of model {model!r}: pass --provider "
                      f"({names}) or set STREAMCLI_PROVIDER")


def _target(config, name, model, configured, base_url, env, need_key, api=None,
            need_model=True, flag_headers=(), key_timeout=None) -> Target:
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
    url = (base_url or (_text_of(env, prov.URL_ENV) if name in KINDS else None)
           or entry.get("base_url") or prov.DEFAULT_BASE_URL)
    kind = _protocol(kind, name, api, model, url)
    headers = extra_headers.for_provider(entry, name, flag_headers)
    if load(kind).AUTH_HEADER in extra_headers.names(headers):  # given outright: no key
        need_key = False
    key, source = None, None
    if need_key:
        key, source = api_key(name, kind, entry, url, env, prov, KINDS, key_timeout,
                              config_path(env))
    return Target(kind, name, model, url, key, headers, source)


def _text_of(env, name: str) -> str | None:
    """A variable read as text: with bytes that are not UTF-8 it is a usage error here,
    not a crash when the request is encoded."""
    value = env.get(name)
    try:
        value and value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{name} is not valid UTF-8 (check the locale or the variable)") from None
    return value


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
