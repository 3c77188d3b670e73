"""Each batch item becomes a `Request`, with the command line's options as the defaults of
every item: the same validation and provider resolution as a single run (`plan`,
`config.resolve`), once per model, shared by the worker threads.

Provider lines (Anthropic `params`, OpenAI `body`) are sent as written: the command line
only fills in the top-level fields they lack (model, max_tokens, system...).
"""

from __future__ import annotations

import math
import threading

from streamcli import tools
from streamcli.config import Target, resolve
from streamcli.errors import UsageError
from streamcli.plan import parse_extra, utf8
from streamcli.request import Request

OPENAI_URL = "/v1/chat/completions"
# The body keys of each protocol that stand for a command-line option (Request field ->
# body keys): a provider line that has one keeps its own value.
_OWN_KEYS = {
    "anthropic": {"max_tokens": ("max_tokens",), "temperature": ("temperature",),
                  "stop": ("stop_sequences",), "tools": ("tools",), "system": ("system",)},
    "openai": {"max_tokens": ("max_tokens", "max_completion_tokens"),
               "temperature": ("temperature",), "stop": ("stop",), "tools": ("tools",)},
}
_UNSET = {"max_tokens": None, "temperature": None, "stop": (), "tools": (), "system": None}


class KeyMissing(UsageError):
    """No usable API key for a provider: every item sent there would fail the same way,
    so the run stops dispatching (exit 2)."""


class Defaults:
    """The command line's request options, and where each model's requests go."""

    def __init__(self, params: dict, *, config: dict, provider_is_flag: bool, env,
                 tools_stdin=None) -> None:
        """`params`: the batch command's parsed options; `tools_stdin`: the stream that
        `--tools -` reads (None when stdin is the batch input)."""
        self.config = config
        self.environ = env.environ
        self.model = params["model"]
        self.provider = params["provider"]
        self.provider_is_flag = provider_is_flag
        self.base_url = params["base_url"]
        self.system = utf8("--system", params["system"])
        self.max_tokens = params["max_tokens"]
        self.temperature = params["temperature"]
        self.stop = tuple(utf8("--stop", s) for s in params["stop"])
        if params["tools_file"] == "-" and tools_stdin is None:
            raise UsageError("--tools - reads stdin, but stdin is the batch input")
        self.tools = tools.load(params["tools_file"], tools_stdin)
        self.extra = _no_stream(parse_extra(params["extra"]), "-o")
        self._targets: dict = {}
        self._lock = threading.Lock()

    # -- where a request goes --------------------------------------------------------------

    def target(self, model: str | None, kind: str | None = None) -> Target:
        """The target of `model` (None: the default), for protocol `kind` when a provider
        line fixes it. Resolved once (an api_key_cmd runs once); a failure is remembered.
        Raises KeyMissing when only the key is missing, UsageError otherwise."""
        key = (model, kind)
        with self._lock:
            found = self._targets.get(key)
            if found is None:
                try:
                    found = self._resolve(model, kind)
                except UsageError as err:
                    found = err
                self._targets[key] = found
        if isinstance(found, UsageError):
            raise found
        return found

    def _resolve(self, model: str | None, kind: str | None) -> Target:
        provider, is_flag, base_url = self.provider, self.provider_is_flag, self.base_url
        args = dict(model=model or self.model, provider=provider, provider_is_flag=is_flag,
                    base_url=base_url, environ=self.environ)
        target = resolve(self.config, need_key=False, **args)
        if kind is not None and target.kind != kind:
            # A provider line names its protocol: the command line's provider and URL
            # are for another one.
            args.update(provider=kind, provider_is_flag=True, base_url=None)
            target = resolve(self.config, need_key=False, **args)
        try:
            return resolve(self.config, **args)
        except UsageError as err:  # the same call with the key: only the key is missing
            raise KeyMissing(err.message) from None

    # -- the request of one item -------------------------------------------------------------

    def request(self, item) -> Request:
        """The item's non-streaming Request; UsageError for a field it cannot have."""
        return self.plan(item)[1]

    def plan(self, item) -> tuple[Target, Request]:
        """Where the item's request goes, and the request."""
        if item.kind == "prompt":
            return self._request(self.target(None), prompt=utf8("the prompt", item.data))
        if item.kind == "fields":
            return self._fields(item.data)
        if item.kind == "anthropic":
            return self._provider_line(item.data, "anthropic", "params")
        if item.kind == "openai":
            return self._openai_line(item.data)
        raise UsageError(item.data)  # "invalid": the reason, with its line number

    def _request(self, target: Target, **fields) -> tuple[Target, Request]:
        base = dict(provider=target.kind, model=target.model, prompt="",
                    base_url=target.base_url, api_key=target.api_key, system=self.system,
                    max_tokens=self.max_tokens, temperature=self.temperature,
                    stop=self.stop, tools=self.tools, extra=self.extra, stream=False)
        base.update(fields)
        return target, Request(**base)

    def _fields(self, obj: dict) -> tuple[Target, Request]:
        model = _text(obj, "model")
        target = self.target(model)
        fields: dict = {}
        for name in ("attach", "schema"):
            if obj.get(name) is not None:
                raise UsageError(f"{name!r} in batch items is not supported by this "
                                 f"version of streamcli")
        prompt = _text(obj, "prompt") or ""
        system = _text(obj, "system")
        if system is not None:
            fields["system"] = system
        if obj.get("max_tokens") is not None:
            fields["max_tokens"] = _count(obj["max_tokens"], "max_tokens")
        if obj.get("temperature") is not None:
            fields["temperature"] = _number(obj["temperature"], "temperature")
        extra = self.extra
        options = obj.get("options")
        if options is not None:
            if not isinstance(options, dict):
                raise UsageError("options must be an object of request body fields")
            extra = {**extra, **_no_stream(options, "options")}
        messages = obj.get("messages")
        if messages is not None:
            turns = conversation(target.kind, _turns(messages), prompt,
                                 fields.get("system", self.system))
            extra = {**extra, "messages": turns}
        return self._request(target, prompt=prompt, extra=extra, **fields)

    def _provider_line(self, obj: dict, kind: str, key: str) -> tuple[Target, Request]:
        body = obj.get(key)
        if not isinstance(body, dict):
            raise UsageError(f"{key} must be an object (the request body)")
        if not isinstance(body.get("messages"), list):
            raise UsageError(f"{key} has no messages list")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise UsageError(f"{key}.model must be a string")
        target = self.target(model, kind)
        fields = {name: _UNSET[name] for name, keys in _OWN_KEYS[kind].items()
                  if any(k in body for k in keys)}
        if kind == "openai":
            fields["system"] = None  # a system prompt is a turn of the line's own messages
        extra = {**self.extra, **{k: v for k, v in body.items()
                                  if k not in ("model", "stream", "stream_options")}}
        return self._request(target, extra=extra, **fields)

    def _openai_line(self, obj: dict) -> tuple[Target, Request]:
        if obj.get("url", OPENAI_URL) != OPENAI_URL:
            raise UsageError(f"url {obj.get('url')!r}: only {OPENAI_URL} lines are supported")
        if obj.get("method", "POST") != "POST":
            raise UsageError(f"method {obj.get('method')!r}: only POST is supported")
        return self._provider_line(obj, "openai", "body")


def _no_stream(fields: dict, where: str) -> dict:
    """Batch requests are never streamed: a body field saying otherwise is refused."""
    if "stream" in fields or "stream_options" in fields:
        raise UsageError(f"{where}: stream cannot be set (batch requests are not streamed)")
    return fields


def conversation(kind: str, turns: list, prompt: str, system: str | None) -> list:
    """An item's `messages`, then its prompt as the last user turn, in the protocol's
    form (Chat Completions carries the system prompt as its first turn)."""
    out = list(turns)
    if prompt:
        out.append({"role": "user", "content": prompt})
    if kind == "openai" and system and not any(t.get("role") == "system" for t in out):
        out.insert(0, {"role": "system", "content": system})
    return out


def _turns(messages) -> list:
    if not isinstance(messages, list) or not messages:
        raise UsageError("messages must be a non-empty array of {role, content} objects")
    for i, turn in enumerate(messages):
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) \
                or "content" not in turn:
            raise UsageError(f"messages[{i}] must be an object with role and content")
    return messages


def _text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return utf8(key, value)


def _count(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a whole number of at least 1, not {value!r:.40}")
    return value


def _number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise UsageError(f"{key} must be a number of at least 0, not {value!r:.40}")
    return value
