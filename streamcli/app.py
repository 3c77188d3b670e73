"""Wiring: parsed options -> config, prompt, Request, RunOptions, sink -> one Session.

Configuration and prompt errors are raised inside the session's run, so that in
--jsonl and --no-stream they too end in the mode's own `error` and `end`.
"""

from __future__ import annotations

import json
import sys

from streamcli.errors import StdoutClosed, UsageError
from streamcli.request import Request
from streamcli.session import RunOptions, Session
from streamcli.sinks import make_sink
from streamcli.ui import Stderr


def run_command(prompt_args: tuple[str, ...], opts: dict) -> int:
    ui = Stderr(quiet=opts["quiet"])
    mode = opts["mode"] or "text"
    if opts["no_stream"]:
        if opts["mode"]:
            flag = "--raw-sse" if opts["mode"] == "raw" else "--jsonl"
            raise UsageError(f"--no-stream cannot be combined with {flag}")
        mode = "json"
    sink = make_sink(mode, sys.stdout.buffer, ui, provider=opts["provider"], model=opts["model"],
                     show_thinking=opts["show_thinking"], newline=not opts["no_newline"])

    def prepare():
        return prepare_request(prompt_args, opts, mode, ui)

    try:
        return Session(prepare, sink, ui).run().exit_code
    except BrokenPipeError:
        # Not as an OSError: click's main() would turn EPIPE into a plain exit 1.
        raise StdoutClosed() from None


def prepare_request(prompt_args, opts: dict, mode: str, ui) -> tuple[Request | None, RunOptions]:
    from streamcli.cli import settings
    from streamcli.config import load_config, resolve

    config = load_config()
    s = settings(opts, config)
    run_opts = RunOptions(
        mode=mode, retries=s["retries"], max_retry_wait=s["max_retry_wait"],
        connect_timeout=s["connect_timeout"], idle_timeout=s["idle_timeout"],
        total_timeout=s["timeout"], replay=opts["replay"], usage=opts["usage"],
        debug=opts["debug"],
    )
    if opts["replay"] is not None:
        return None, run_opts  # a recording needs no prompt, key or network
    target = resolve(config, model=opts["model"], provider=opts["provider"],
                     base_url=opts["base_url"])
    text = _utf8("the prompt", read_prompt(prompt_args, opts, ui))
    _utf8("--system", opts["system"])
    request = Request(
        provider=target.kind, model=target.model, prompt=text,
        base_url=target.base_url, api_key=target.api_key, system=opts["system"],
        max_tokens=s["max_tokens"], temperature=s["temperature"], stop=tuple(opts["stop"]),
        tools=load_tools(opts["tools_file"]), extra=parse_extra(opts["extra"]),
        stream=mode != "json",
    )
    return request, run_opts


def _utf8(what: str, text: str | None) -> str | None:
    """Arguments that were not valid UTF-8 arrive as lone surrogates: refuse them clearly."""
    if text is not None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{what} is not valid UTF-8 (check the locale or the file's "
                             f"encoding)") from None
    return text


def read_prompt(args: tuple[str, ...], opts: dict, ui) -> str:
    from streamcli import prompt
    if not opts["editor"]:
        return prompt.assemble(args, use_stdin=not opts["no_stdin"], ui=ui)
    # Piped context is read before the editor starts, so the editor cannot eat it.
    stdin = sys.stdin
    context = ""
    if not opts["no_stdin"] and stdin is not None and not stdin.isatty():
        context = prompt.read_stdin(stdin, ui)
    written = prompt.from_editor(" ".join(args))
    return context.rstrip("\r\n") + "\n\n" + written if context else written


def parse_extra(items: tuple[str, ...]) -> dict:
    """-o KEY=VALUE: VALUE as JSON when it parses (numbers, booleans, objects), else text."""
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-o expects KEY=VALUE, not {item!r}")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    return extra


def load_tools(path: str | None) -> tuple[dict, ...]:
    """A JSON list of tools: {name, description, input_schema}; OpenAI's
    {"type": "function", "function": {name, description, parameters}} is accepted too."""
    if not path:
        return ()
    try:
        with (sys.stdin if path == "-" else open(path, encoding="utf-8")) as f:
            data = json.load(f)
    except OSError as exc:
        raise UsageError(f"cannot read --tools file {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--tools file {path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = data["tools"]
    if not isinstance(data, list):
        raise UsageError(f"--tools file {path} must hold a JSON list of tool definitions")
    tools = []
    for i, tool in enumerate(data):
        if not isinstance(tool, dict):
            raise UsageError(f"--tools file {path}: tool {i} is not an object")
        tools.append(_normalize_tool(tool, f"--tools file {path}: tool {i}"))
    return tuple(tools)


def _normalize_tool(tool: dict, where: str) -> dict:
    """To {name, description, input_schema, ...other keys kept}; a provider's built-in
    tool (a `type` such as web_search_20250305) is kept exactly as written."""
    kind = tool.get("type")
    if kind not in (None, "function", "custom"):
        return tool
    if isinstance(tool.get("function"), dict):  # OpenAI Chat Completions format
        tool = {**tool.pop("function"), **{k: v for k, v in tool.items() if k != "type"}}
    tool = {k: v for k, v in tool.items() if k != "type"}
    if "parameters" in tool and "input_schema" not in tool:  # OpenAI's name for it
        tool["input_schema"] = tool.pop("parameters")
    if not isinstance(tool.get("name"), str):
        raise UsageError(f"{where} has no name")
    return tool
