"""Options, config and prompt become a validated `Plan`: request, run and output options.

Every usage error of a prompt run is raised here, before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamcli import attachspec, conversation, headers, prompt, tools, userjson
from streamcli.config import resolve
from streamcli.conversation import Conversation
from streamcli.errors import UsageError
from streamcli.request import Request


@dataclass(frozen=True)
class Output:
    """How the run speaks: the stdout mode and what goes to stderr."""

    mode: str = "text"  # text, jsonl, raw, json (--no-stream)
    show_thinking: bool = False
    newline: bool = True
    usage: bool = False
    quiet: bool = False
    debug: bool = False


@dataclass(frozen=True)
class RunOptions:
    """How the run behaves: retries, timeouts, or a replay instead of a request."""

    retries: int = 2
    max_retry_wait: float = 60.0
    connect_timeout: float = 10.0
    idle_timeout: float = 120.0
    total_timeout: float | None = None
    replay: str | None = None  # a file of captured SSE (or a JSON response), "-" for stdin
    replay_protocol: str | None = None  # from --provider; None: told from the capture
    # Keep a transcript of the answer for the end of the run (the session's Transcript).
    record: bool = True


@dataclass(frozen=True)
class Plan:
    output: Output
    run: RunOptions
    request: Request | None  # None for a replay
    schema: Any = None  # schema.Schema: the answer is checked against it at the end
    conversation: Conversation | None = None  # None for a replay (never recorded)


_MODE_FLAGS = (("raw_sse", "--raw-sse", "raw"), ("jsonl", "--jsonl", "jsonl"),
               ("no_stream", "--no-stream", "json"))


def output_of(params: dict) -> Output:
    """The output options; two output modes at once is a usage error."""
    chosen = [(flag, mode) for name, flag, mode in _MODE_FLAGS if params.get(name)]
    if len(chosen) > 1:
        raise UsageError(f"{chosen[0][0]} cannot be combined with {chosen[1][0]}")
    return Output(mode=chosen[0][1] if chosen else "text",
                  show_thinking=params["show_thinking"], newline=not params["no_newline"],
                  usage=params["usage"], quiet=params["quiet"], debug=params["debug"])


def build(params: dict, output: Output, *, config: dict, provider_is_flag: bool, env,
          ui, model_is_flag: bool = False) -> Plan:
    """`params`: the prompt command's parsed options (flags, environment and config file
    already merged by click); `provider_is_flag`: --provider was given on the command
    line (a STREAMCLI_PROVIDER yields to a model that names its provider);
    `model_is_flag`: -m was given on the command line (a continued conversation's model
    yields only to that)."""
    conversation.check_combination(params)
    _check_no_stdin(params)
    run = RunOptions(
        retries=params["retries"], max_retry_wait=params["max_retry_wait"],
        connect_timeout=params["connect_timeout"], idle_timeout=params["idle_timeout"],
        total_timeout=params["timeout"], replay=params["replay"])
    structure = schema_of(params)
    api = params.get("api")
    if params["replay"] is not None:  # a recording needs no prompt, key or network
        protocol = None
        if params["provider"] and provider_is_flag:
            protocol = resolve(config, model=None, provider=params["provider"],
                               provider_is_flag=True, base_url=None, environ=env.environ,
                               need_key=False, api=api).kind
        elif api:
            protocol = "openai" if api == "chat" else "openai-responses"
        # A replay keeps no transcript, unless --schema must check the answer.
        return Plan(output, RunOptions(**{**run.__dict__, "replay_protocol": protocol,
                                          "record": structure is not None}), None, structure)
    extra = parse_extra(params["extra"])  # the checks that cost nothing come first
    if params["tools_file"] == "-" and params.get("messages") == "-":
        raise UsageError("--tools - and --messages - cannot both read stdin")
    conv = conversation.start(params, env.environ, env.stdin, ui)
    # A continued conversation keeps its provider, model, URL and protocol unless -m or
    # --provider is given on the command line.
    reuse = conv.model is not None and not (model_is_flag or provider_is_flag)
    target = resolve(config, model=conv.model if reuse else params["model"],
                     provider=conv.provider if reuse else params["provider"],
                     provider_is_flag=provider_is_flag or reuse,
                     base_url=params["base_url"] or (conv.base_url if reuse else None),
                     environ=env.environ, headers=headers.parse(params["header"]),
                     api=api or (conversation.api_of(conv.protocol) if reuse else None),
                     key_timeout=params["timeout"])
    if target.kind == "openai-responses" and params["stop"]:
        raise UsageError("--stop: the Responses API has no stop sequences (use --api chat, "
                         "or pass what the server accepts with -o)")
    specs, types = params["attach"], params["attach_type"]
    stdin_taken = _check_stdin_use(params)
    tool_defs = tools.load(params["tools_file"], env.stdin)
    # Attachments before the prompt: a bad one fails before an editor opens or stdin is read.
    found = _attachments(specs, types, target.kind, env, ui) if specs or types else ()
    text = utf8("the prompt", read_prompt(params, env, ui, conv, use_stdin=not stdin_taken,
                                          required=not found))
    system = utf8("--system", params["system"] if params["system"] is not None else conv.system)
    if found:  # the request as a whole, prompt and earlier turns included
        from streamcli import limits
        limits.check_request(found, limits.for_protocol(target.kind),
                             len(text.encode()) + len((system or "").encode())
                             + sum(len(t.encode()) for m in conv.history for t in m.content))
    if structure is not None and not structure.strict and target.kind != "anthropic":
        ui.notice(f"--schema is sent without OpenAI's strict mode: {structure.why_not_strict}")
    request = Request(
        provider=target.kind, model=target.model, prompt=text,
        base_url=target.base_url, api_key=target.api_key, key_source=target.key_source,
        system=system, max_tokens=params["max_tokens"], temperature=params["temperature"],
        stop=tuple(params["stop"]), tools=tool_defs, extra=extra,
        stream=output.mode != "json", attachments=found, schema=structure,
        headers=target.headers, history=conv.history,
    )
    # The provider's name as resolved (a provider of the config file keeps its name in the
    # log, so that continuing finds its key and URL again).
    # The transcript is kept for the log (a long answer waits on disk) and for --schema
    # (which holds the answer whole) only.
    run = RunOptions(**{**run.__dict__, "record": conv.record or structure is not None})
    return Plan(output, run, request, structure, conv._replace(provider=target.name))


def _attachments(specs, types, protocol: str, env, ui) -> tuple:
    # Imported only when -a is given: reading and typing files is no prompt run's cost.
    from streamcli import attachments
    return attachments.load(specs, protocol, types=types, stdin=env.stdin, ui=ui)


def schema_of(params: dict):
    """--schema or --schema-list (one of them) as a schema.Schema; None without either."""
    text, listed = params["schema"], params["schema_list"]
    if text is not None and listed is not None:
        raise UsageError("--schema cannot be combined with --schema-list")
    if text is None and listed is None:
        return None
    from streamcli import schema  # jsonschema: only when a schema is given
    return schema.parse(utf8("--schema", text if listed is None else listed),
                        as_list=listed is not None)


def _check_no_stdin(params: dict) -> None:
    """--no-stdin never reads stdin: an option told to read it ('-') contradicts it."""
    if params["no_stdin"]:
        for name, said in (("tools_file", "--tools -"), ("messages", "--messages -"),
                           ("replay", "--replay -")):
            if params.get(name) == "-":
                raise UsageError(f"{said} reads stdin, but --no-stdin says never to read it")


def _check_stdin_use(params: dict) -> bool:
    """`-a -` takes stdin for the attachment: the prompt then comes from the arguments
    only, and nothing else may want stdin. True when it does."""
    if not any(map(attachspec.reads_stdin, params["attach"])):  # -, /dev/stdin...
        return False
    for clash, said in ((params["no_stdin"], "--no-stdin"),
                        (params["prompt"] == ("-",), "the prompt '-'"),
                        (params["tools_file"] == "-", "--tools -"),
                        (params.get("messages") == "-", "--messages -")):
        if clash:
            raise UsageError(f"-a - reads the attachment from stdin, so {said} cannot "
                             "be used with it")
    return True


def read_prompt(params: dict, env, ui, conv: Conversation | None = None, *,
                use_stdin: bool = True, required: bool = True) -> str:
    """The prompt. `required`: False when attachments were given (they may be the whole
    question). With `--messages -` stdin holds the turns, not the prompt; when the turns
    end with a user turn and no prompt is given, that turn is the prompt."""
    use_stdin = use_stdin and not params["no_stdin"]
    if params["tools_file"] == "-":  # stdin held the tool definitions: it is read
        if params["prompt"] == ("-",):
            raise UsageError("'-' reads the prompt from stdin, but --tools - reads the tool "
                             "definitions from it")
        use_stdin = False
    if params.get("messages") == "-":
        if params["prompt"] == ("-",):
            raise UsageError("'-' reads the prompt from stdin, but --messages - reads the "
                             "turns from it")
        use_stdin = False
    pending = conv.pending if conv is not None else None
    if not params["editor"]:
        text = prompt.assemble(params["prompt"], use_stdin=use_stdin, stdin=env.stdin, ui=ui,
                               required=required and pending is None)
    else:
        text = prompt.compose(params["prompt"], use_stdin=use_stdin, stdin=env.stdin, ui=ui,
                              environ=env.environ, stderr=env.stderr)
    if pending is None:
        return text
    if text.strip():
        raise UsageError("--messages ends with a user turn and a prompt was given too: that "
                         "would be two user turns in a row (drop one of them)")
    return "\n\n".join(pending.content)


def utf8(what: str, text: str | None) -> str | None:
    """Arguments that were not valid UTF-8 arrive as lone surrogates: refuse them clearly."""
    if text is not None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{what} is not valid UTF-8 (check the locale or the file's "
                             f"encoding)") from None
    return text


# -o keys that would break the protocol streamcli speaks with the server, with what to
# use instead: `stream` decides whether the answer comes as events or as one object.
_PROTOCOL_KEYS = {"stream": "the output mode decides it: use --no-stream for a "
                            "non-streaming request"}


def parse_extra(items: tuple[str, ...]) -> dict:
    """-o KEY=VALUE: VALUE as JSON when it parses (numbers, booleans, objects), else text;
    JSON that cannot be sent (NaN, too deep) is a usage error."""
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-o expects KEY=VALUE, not {item!r}")
        if key in _PROTOCOL_KEYS:
            raise UsageError(f"-o {key} cannot be set: {_PROTOCOL_KEYS[key]}")
        try:
            extra[key] = userjson.loads(value, f"-o {key}")
        except ValueError:
            extra[key] = value
    return extra
