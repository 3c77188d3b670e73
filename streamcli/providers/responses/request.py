"""The OpenAI Responses API: its endpoint, its models, and a Request as its HTTP request."""

from __future__ import annotations

import re

from streamcli.providers.openai.request import bearer_post
from streamcli.request import HttpRequest, Request

NAME = "openai-responses"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"
URL_ENV = "OPENAI_BASE_URL"
REQUEST_ID_HEADER = "x-request-id"
AUTH_HEADER = "authorization"

# The models OpenAI serves only through the Responses API (its API reference calls them
# ResponsesOnlyModel): o1-pro, o3-pro, the deep research models, computer-use-preview,
# codex-mini-latest, and the GPT-5 -pro and -codex models (gpt-5-pro, gpt-5.2-pro,
# gpt-5-codex, gpt-5.1-codex-max...), dated snapshots included. On OpenAI's own URL they
# pick this protocol by themselves; --api overrides. A name listed here by mistake costs
# nothing: every Chat Completions model is served by the Responses API too.
RESPONSES_ONLY = re.compile(
    r"(o1-pro|o3-pro|computer-use-preview|codex-mini|gpt-5(\.\d+)?-(pro|codex))|.*deep-research")


def responses_only(model: str | None) -> bool:
    return bool(model) and RESPONSES_ONLY.match(model) is not None


def build_request(req: Request) -> HttpRequest:
    body: dict = {"model": req.model, "input": input_of(req)}
    if req.system:
        body["instructions"] = req.system
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
    if req.schema is not None:
        # Structured outputs: text.format of type json_schema (developers.openai.com/api/docs/
        # guides/structured-outputs, the Responses tab), strict when the schema qualifies.
        body["text"] = {"format": {"type": "json_schema", "name": req.schema.name,
                                   "schema": req.schema.json, "strict": req.schema.strict}}
    # streamcli keeps its own log; `-o store=true` is the user's choice.
    body["store"] = False
    body["stream"] = req.stream
    body.update(req.extra)
    return bearer_post(req, "/responses", body)


def input_of(req: Request):
    """`input`: the prompt itself when it is the whole conversation (the API's short form
    of one user message), else the input items."""
    items = messages(req)
    if len(items) == 1 and items[0] == {"role": "user", "content": req.prompt}:
        return req.prompt
    return items


def messages(req: Request) -> list[dict]:
    """The conversation as Responses input items: the earlier turns, then the user turn,
    each {"role": "user"|"assistant", "content": ...}; the system prompt travels as
    `instructions`, not as an item."""
    out = [{"role": m.role, "content": _content(m.role, m.content)} for m in req.history]
    out.append({"role": "user", "content": user_content(req)})
    return out


def _content(role: str, parts: tuple[str, ...]):
    """One text part as a plain string; several as the role's own text parts (an
    assistant's are output_text: the API refuses input_text there)."""
    if len(parts) == 1:
        return parts[0]
    kind = "output_text" if role == "assistant" else "input_text"
    return [{"type": kind, "text": text} for text in parts]


def user_content(req: Request):
    """The content of the user turn: the prompt alone, or with attachments a list of
    parts, the attachments first, in command-line order."""
    if not req.attachments:
        return req.prompt
    parts = [attachment_part(att) for att in req.attachments]
    if req.prompt:
        parts.append({"type": "input_text", "text": req.prompt})
    return parts


def attachment_part(att) -> dict:
    """An `input_image` (a URL, or a data URL for a file; `detail` is required: auto), an
    `input_file` for a PDF (`filename` and `file_data` as a data URL, or `file_url`), or a
    text file as `input_text` headed by its name (developers.openai.com/api/docs/guides/
    images-vision and .../pdf-files, the Responses tabs)."""
    if att.kind == "text":
        return {"type": "input_text", "text": f"{att.name}:\n\n{att.text}"}
    if att.kind == "image":
        return {"type": "input_image", "image_url": att.url or att.data_url(), "detail": "auto"}
    if att.url is not None:
        return {"type": "input_file", "file_url": att.url}
    return {"type": "input_file", "filename": att.name, "file_data": att.data_url()}


def _tool(tool: dict) -> dict:
    if "type" in tool:  # a built-in tool (web_search, file_search...): exactly as written
        return tool
    out = {"type": "function", "name": tool["name"]}
    if tool.get("description") is not None:
        out["description"] = tool["description"]
    out["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    # The Responses API makes a function strict unless told otherwise, and a strict schema
    # must list every property as required: keep the other protocols' non-strict default.
    out["strict"] = bool(tool.get("strict", False))
    return out
