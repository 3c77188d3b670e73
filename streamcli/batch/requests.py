"""Each batch item becomes a `Request`, the command line's options as its defaults.

Each batch item becomes a `Request`, with the command line's options as the defaults of
every item: the same validation and provider resolution as a single run (`plan`,
`config.resolve`), once per model, shared by the worker threads.

Provider lines (Anthropic `params`, OpenAI `body`) are sent as written: the command line
only fills in the top-level fields they lack (model, max_tokens, system...).
"""

from __future__ import annotations

import threading

from streamcli import attachments, attachspec, headers, limits, redact, tools
from streamcli.batch import fields as check
from streamcli.config import Target, resolve
from streamcli.errors import UsageError
from streamcli.plan import parse_extra, schema_of, utf8
from streamcli.providers import KINDS
from streamcli.request import Request

# The endpoints of OpenAI batch lines, and the protocol of each.
OPENAI_URLS = {"/v1/chat/completions": "openai", "/v1/responses": "openai-responses"}
# The body keys of each protocol that stand for a command-line option (Request field ->
# body keys): a provider line that has one keeps its own value.
_OWN_KEYS = {
    "anthropic": {"max_tokens": ("max_tokens",), "temperature": ("temperature",),
                  "stop": ("stop_sequences",), "tools": ("tools",), "system": ("system",)},
    "openai": {"max_tokens": ("max_tokens", "max_completion_tokens"),
               "temperature": ("temperature",), "stop": ("stop",), "tools": ("tools",)},
    "openai-responses": {"max_tokens": ("max_output_tokens",), "temperature": ("temperature",),
                         "tools": ("tools",), "system": ("instructions",)},
}
_UNSET = {"max_tokens": None, "temperature": None, "stop": (), "tools": (), "system": None}


def secrets_of(target: Target) -> tuple:
    """What of a resolved target must never be shown: its key, the values of its
    credential-like headers, the password in its URL."""
    return ((target.api_key,) if target.api_key else ()) + headers.secrets(target.headers) \
        + tuple(redact.url_secrets(target.base_url))


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
        self.redact = env.redact  # the run's Redactor: each target's secrets join it
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
        self.extra = check.no_stream(parse_extra(params["extra"]), "-o")
        self.headers = headers.parse(params["header"])
        self.schema = schema_of(params)  # --schema / --schema-list, for every item
        if any(map(attachspec.reads_stdin, params["attach"])):  # -, /dev/stdin...
            raise UsageError("-a - cannot be used with batch: every item would read stdin")
        self.attach = (tuple(params["attach"]), tuple(params["attach_type"]))
        self._targets: dict = {}
        self._attached: dict = {}  # protocol -> the -a attachments, loaded once for it
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
                    self.redact.add(*secrets_of(found))  # masked wherever they would show
                except UsageError as err:
                    found = err
                self._targets[key] = found
        if isinstance(found, UsageError):
            raise found
        return found

    def _resolve(self, model: str | None, kind: str | None) -> Target:
        provider, is_flag, base_url = self.provider, self.provider_is_flag, self.base_url
        named = self._named_provider()
        if model and named and not is_flag:
            # -m NAME:MODEL named the provider: an item's own model is for it too.
            provider, is_flag = named, True
        args = dict(model=model or self.model, provider=provider, provider_is_flag=is_flag,
                    base_url=base_url, environ=self.environ, headers=self.headers)
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

    def _named_provider(self) -> str | None:
        """The provider the command line's model names (NAME:MODEL), if it names one."""
        prefix, sep, _ = (self.model or "").partition(":")
        known = (*KINDS, *self.config.get("providers", {}))
        return prefix if sep and prefix in known else None

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
                    stop=self.stop, tools=self.tools, extra=self.extra, stream=False,
                    schema=self.schema, headers=target.headers)
        base.update(fields)
        if "attachments" not in base:
            base["attachments"] = self._cli_attachments(target.kind)
        if base["attachments"]:  # the request as a whole, prompt and earlier turns included
            text = [base["prompt"], base["system"] or ""]
            text += [part for turn in base.get("history", ()) for part in turn.content]
            limits.check_request(base["attachments"], limits.for_protocol(target.kind),
                                 sum(len(t.encode()) for t in text))
        if target.kind == "openai-responses" and base["stop"]:
            raise UsageError("--stop: the Responses API has no stop sequences")
        return target, Request(**base)

    def _cli_attachments(self, kind: str) -> tuple:
        """-a, loaded (and checked against the protocol's limits) once per protocol."""
        specs, types = self.attach
        if not specs and not types:
            return ()
        with self._lock:
            found = self._attached.get(kind)
            if found is None:
                try:
                    found = attachments.load(specs, kind, types=types)
                except UsageError as err:
                    found = err
                self._attached[kind] = found
        if isinstance(found, UsageError):
            raise found
        return found

    def _fields(self, obj: dict) -> tuple[Target, Request]:
        model = check.text(obj, "model")
        target = self.target(model)
        fields: dict = {}
        if obj.get("attach") is not None:
            fields["attachments"] = check.attach(obj["attach"], target.kind)
        if obj.get("schema") is not None:
            fields["schema"] = check.schema(obj["schema"])
        prompt = check.text(obj, "prompt") or ""
        system = check.text(obj, "system")
        if system is not None:
            fields["system"] = system
        if obj.get("max_tokens") is not None:
            fields["max_tokens"] = check.count(obj["max_tokens"], "max_tokens")
        if obj.get("temperature") is not None:
            fields["temperature"] = check.number(obj["temperature"], "temperature")
        extra = self.extra
        options = obj.get("options")
        if options is not None:
            if not isinstance(options, dict):
                raise UsageError("options must be an object of request body fields")
            extra = {**extra, **check.no_stream(options, "options")}
        if obj.get("messages") is not None:
            system, history, prompt = check.conversation(obj["messages"], prompt)
            fields["history"] = history
            if system is not None and "system" not in fields:  # the item's system wins
                fields["system"] = system
        return self._request(target, prompt=prompt, extra=extra, **fields)

    def _provider_line(self, obj: dict, kind: str, key: str) -> tuple[Target, Request]:
        body = obj.get(key)
        if not isinstance(body, dict):
            raise UsageError(f"{key} must be an object (the request body)")
        turns = "input" if kind == "openai-responses" else "messages"
        if kind == "openai-responses" and body.get("input") is None:
            raise UsageError(f"{key} has no input")
        if kind != "openai-responses" and not isinstance(body.get("messages"), list):
            raise UsageError(f"{key} has no {turns} list")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise UsageError(f"{key}.model must be a string")
        target = self.target(model, kind)
        fields = {name: _UNSET[name] for name, keys in _OWN_KEYS[kind].items()
                  if any(k in body for k in keys)}
        if kind == "openai":
            fields["system"] = None  # a system prompt is a turn of the line's own messages
        if kind == "openai-responses":
            fields["stop"] = ()  # the Responses API has no stop sequences
        extra = {**self.extra, **{k: v for k, v in body.items()
                                  if k not in ("model", "stream", "stream_options")}}
        return self._request(target, extra=extra, **fields)

    def _openai_line(self, obj: dict) -> tuple[Target, Request]:
        kind = OPENAI_URLS.get(obj.get("url", "/v1/chat/completions"))
        if kind is None:
            raise UsageError(f"url {obj.get('url')!r}: only {' and '.join(OPENAI_URLS)} "
                             f"lines are supported")
        if obj.get("method", "POST") != "POST":
            raise UsageError(f"method {obj.get('method')!r}: only POST is supported")
        return self._provider_line(obj, kind, "body")
