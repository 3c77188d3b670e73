"""--tools FILE: tool definitions read, validated and made protocol-neutral.

The neutral shape is {name, description, input_schema, ...}; each wire protocol renders
it its own way.
"""

from __future__ import annotations

from streamcli import bounded, userjson
from streamcli.errors import UsageError


def load(path: str | None, stdin=None) -> tuple[dict, ...]:
    """A JSON list of tools: {name, description, input_schema}; OpenAI's
    {"type": "function", "function": {name, description, parameters}} is accepted too,
    as is {"tools": [...]}. `path` "-" reads `stdin` (a text stream, or None)."""
    if path is None:
        return ()
    if not path:
        raise UsageError("--tools needs a file name ('-' for stdin)")
    try:
        if path == "-":
            stream = bounded.piped_stdin(stdin, "--tools - reads stdin",
                                         "the tool definitions")
            text = bounded.read(stream, bounded.TOOLS_LIMIT, "--tools -")
        else:
            with open(path, "rb") as f:
                text = bounded.read(f, bounded.TOOLS_LIMIT, f"--tools file {path}")
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = userjson.loads(text, f"--tools file {path}")
    except OSError as exc:
        raise UsageError(f"cannot read --tools file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--tools file {path} is not valid JSON: it is not UTF-8 text") from None
    except ValueError as exc:
        raise UsageError(f"--tools file {path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = data["tools"]
    if not isinstance(data, list):
        raise UsageError(f"--tools file {path} must hold a JSON list of tool definitions")
    tools = []
    for i, tool in enumerate(data):
        if not isinstance(tool, dict):
            raise UsageError(f"--tools file {path}: tool {i} is not an object")
        tools.append(_normalize(tool, f"--tools file {path}: tool {i}"))
    return tuple(tools)


def _normalize(tool: dict, where: str) -> dict:
    """To {name, description, input_schema, ...other keys kept}; a provider's built-in
    tool (a `type` such as web_search_20250305) is kept exactly as written."""
    kind = tool.get("type")
    if kind not in (None, "function", "custom"):
        return tool
    tool = dict(tool)
    if isinstance(tool.get("function"), dict):  # OpenAI Chat Completions format
        tool = {**tool.pop("function"), **{k: v for k, v in tool.items() if k != "type"}}
    tool = {k: v for k, v in tool.items() if k != "type"}
    if "parameters" in tool and "input_schema" not in tool:  # OpenAI's name for it
        tool["input_schema"] = tool.pop("parameters")
    if not isinstance(tool.get("name"), str):
        raise UsageError(f"{where} has no name")
    return tool
