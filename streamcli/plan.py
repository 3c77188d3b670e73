"""Options, config and prompt become a validated `Plan`: request, run and output options.

Every usage error of a prompt run is raised here, before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamcli import prompt, tools, userjson
from streamcli.config import resolve
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
          ui) -> Plan:
    """`params`: the prompt command's parsed options (flags, environment and config file
    already merged by click); `provider_is_flag`: --provider was given on the command
    line (a STREAMCLI_PROVIDER yields to a model that names its provider)."""
    run = RunOptions(
        retries=params["retries"], max_retry_wait=params["max_retry_wait"],
        connect_timeout=params["connect_timeout"], idle_timeout=params["idle_timeout"],
        total_timeout=params["timeout"], replay=params["replay"])
    api = params.get("api")
    if params["replay"] is not None:  # a recording needs no prompt, key or network
        protocol = None
        if params["provider"] and provider_is_flag:
            protocol = resolve(config, model=None, provider=params["provider"],
                               provider_is_flag=True, base_url=None, environ=env.environ,
                               need_key=False, api=api).kind
        elif api:
            protocol = "openai" if api == "chat" else "openai-responses"
        return Plan(output, RunOptions(**{**run.__dict__, "replay_protocol": protocol,
                                          "record": False}), None)
    extra = parse_extra(params["extra"])  # the checks that cost nothing come first
    target = resolve(config, model=params["model"], provider=params["provider"],
                     provider_is_flag=provider_is_flag, base_url=params["base_url"],
                     environ=env.environ, api=api, key_timeout=params["timeout"])
    if target.kind == "openai-responses" and params["stop"]:
        raise UsageError("--stop: the Responses API has no stop sequences (use --api chat, "
                         "or pass what the server accepts with -o)")
    tool_defs = tools.load(params["tools_file"], env.stdin)
    text = utf8("the prompt", read_prompt(params, env, ui))
    request = Request(
        provider=target.kind, model=target.model, prompt=text,
        base_url=target.base_url, api_key=target.api_key, key_source=target.key_source,
        system=utf8("--system", params["system"]),
        max_tokens=params["max_tokens"], temperature=params["temperature"],
        stop=tuple(params["stop"]), tools=tool_defs, extra=extra,
        stream=output.mode != "json",
    )
    return Plan(output, run, request)


def read_prompt(params: dict, env, ui) -> str:
    use_stdin = not params["no_stdin"]
    if params["tools_file"] == "-":  # stdin held the tool definitions: it is read
        if params["prompt"] == ("-",):
            raise UsageError("'-' reads the prompt from stdin, but --tools - reads the tool "
                             "definitions from it")
        use_stdin = False
    if not params["editor"]:
        return prompt.assemble(params["prompt"], use_stdin=use_stdin, stdin=env.stdin, ui=ui)
    return prompt.compose(params["prompt"], use_stdin=use_stdin, stdin=env.stdin, ui=ui,
                          environ=env.environ, stderr=env.stderr)


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
